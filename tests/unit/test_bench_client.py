import pytest

from harness.bench.client import Tally, Target, parse_head


def test_parse_head_reads_status_and_length():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 42"
    assert parse_head(head) == (200, 42)
    assert parse_head(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x") == (301, 0)


def test_target_parse_and_request_bytes():
    target = Target.parse("http://127.0.0.1:8080/simple/a/")
    assert (target.host, target.port, target.path) == ("127.0.0.1", 8080, "/simple/a/")
    assert target.request("/x?y=1").startswith(b"GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
    with pytest.raises(ValueError, match="http://host:port/path"):
        Target.parse("https://example/x")


def test_tally_and_percentiles():
    tally = Tally()
    for i in range(1, 101):
        tally.count(200 if i % 10 else 503, i / 1000)
    assert tally.total == 100
    assert tally.statuses == {200: 90, 503: 10}
    assert tally.percentile_ms(0.5) == pytest.approx(50, abs=1)
    assert tally.percentile_ms(0.99) == pytest.approx(99, abs=1)
