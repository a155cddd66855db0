"""A Varnish node's counters and log lines under the model's metric names."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from proxies.contract import CacheState, FetchFailure
from proxies.varnish.daemon import parse_listen_addresses
from proxies.varnish.logs import FailedAttempt, FetchErrors, parse_answer, worth_keeping
from proxies.varnish.stats import StatsBackend, metric_families

COUNTERS = {
    "MAIN.cache_hit": {"value": 40},
    "MAIN.cache_hit_grace": {"value": 3},
    "MAIN.backend_busy": {"value": 2},
    "VBE.boot.origin_1.conn": {"value": 5},
    "VBE.boot.origin_2.conn": {"value": 0},
    "VBE.boot.shieldlab_metrics.conn": {"value": 1},
}
BACKEND_LIST = {
    "boot.origin_1": {
        "type": "backend",
        "admin_health": "probe",
        "probe_message": [3, 8, "healthy"],
    },
    "boot.origin_2": {"type": "backend", "admin_health": "probe", "probe_message": [0, 8, "sick"]},
    "boot.mirror": {"type": "backend", "admin_health": "sick", "probe_message": [8, 8, "healthy"]},
}
BACKENDS = [
    StatsBackend("origin-1", "origin_1", 200),
    StatsBackend("origin-2", "origin_2", 200),
    StatsBackend("mirror", "mirror", 50),
]


def scrape() -> str:
    class Fixed(Collector):
        def collect(self):
            return metric_families(COUNTERS, BACKEND_LIST, BACKENDS)

    registry = CollectorRegistry()
    registry.register(Fixed())
    return generate_latest(registry).decode()


def test_backend_health_busy_fetches_and_limits_use_the_models_names():
    text = scrape()
    assert 'shieldlab_backend_healthy{backend="origin-1"} 1.0' in text
    assert 'shieldlab_backend_healthy{backend="origin-2"} 0.0' in text
    assert 'shieldlab_backend_healthy{backend="mirror"} 0.0' in text  # forced sick by an admin
    assert 'shieldlab_backend_busy_fetches{backend="origin-1"} 5.0' in text
    assert 'shieldlab_backend_max_connections{backend="mirror"} 50.0' in text
    assert "shieldlab_metrics" not in text  # the node's own metrics backend is not the lab's


def test_varnish_counters_are_kept_under_their_own_names():
    text = scrape()
    assert "shieldlab_varnish_cache_hit_total 40.0" in text
    assert "shieldlab_varnish_cache_hit_grace_total 3.0" in text
    assert "shieldlab_varnish_backend_busy_total 2.0" in text
    assert "shieldlab_varnish_fetch_failed_total 0.0" in text  # absent counts as 0


def test_an_answer_line_gives_the_status_and_this_nodes_cache_state():
    answer = parse_answer("200\tMISS, HIT\t-\n", "edge-iad")
    assert answer is not None and answer.status == "200" and answer.cache_state is CacheState.HIT
    stale = parse_answer("200\tHIT-STALE\t-", "shield")
    assert stale is not None and stale.cache_state is CacheState.HIT_STALE


def test_this_nodes_own_error_counts_no_cache_state_but_an_upstreams_does():
    own = parse_answer("503\tMISS\tedge-iad", "edge-iad")
    assert own is not None and own.status == "503" and own.cache_state is None
    passed_on = parse_answer("503\tMISS, MISS\tshield", "edge-iad")
    assert passed_on is not None and passed_on.cache_state is CacheState.MISS


def test_a_malformed_answer_line_is_skipped():
    assert parse_answer("garbage", "shield") is None
    assert parse_answer("-\tMISS\t-", "shield") is None


def _follow(errors: FetchErrors, lines: list[str]) -> list[FailedAttempt]:
    return [a for a in map(errors.attempt, lines) if a is not None]


def test_only_the_first_fetch_error_of_a_fetch_names_its_cause_at_its_end():
    errors = FetchErrors()
    lines = [
        "   11 BackendOpen    b 27 origin_1 127.0.0.1 20001 127.0.0.1 40000 reuse",
        "   11 FetchError     b Resource temporarily unavailable",
        "   11 FetchError     b straight insufficient bytes",
        "   14 FetchError     b HTC eof (-1)",
        "not a record",
    ]
    assert _follow(errors, lines) == []  # nothing is reported before a transaction ends
    assert _follow(errors, ["   11 End            b ", "   14 End            b "]) == [
        FailedAttempt(FetchFailure.BETWEEN_BYTES_TIMEOUT, "origin_1", retried=False),
        FailedAttempt(FetchFailure.READ_ERROR, "", retried=False),
    ]


def test_a_transaction_the_vcl_tried_again_is_a_retry_and_a_clean_one_is_nothing():
    errors = FetchErrors()
    lines = [
        "   21 BackendOpen    b 27 shield 127.0.0.1 20010 127.0.0.1 40001 reuse",
        "   21 FetchError     b first byte timeout",
        "   21 Link           b bereq 23 retry",
        "   21 End            b ",
        "   23 BackendOpen    b 28 shield 127.0.0.1 20010 127.0.0.1 40002 connect",
        "   23 End            b ",
    ]
    assert _follow(errors, lines) == [
        FailedAttempt(FetchFailure.FIRST_BYTE_TIMEOUT, "shield", retried=True)
    ]


def test_transactions_whose_end_was_lost_are_forgotten_oldest_first():
    errors = FetchErrors(remembered=2)
    for vxid in (1, 2, 3):
        errors.attempt(f"   {vxid} FetchError     b HTC eof (-1)")
    ends = [f"   {vxid} End            b " for vxid in (1, 2, 3)]
    assert [a.reason for a in _follow(errors, ends)] == [FetchFailure.READ_ERROR] * 2


def test_a_nodes_log_keeps_fetch_errors_and_retries_only():
    assert worth_keeping("   21 FetchError     b first byte timeout")
    assert worth_keeping("   21 Link           b bereq 23 retry")
    assert not worth_keeping("   21 End            b ")
    assert not worth_keeping("   23 BackendOpen    b 28 shield 127.0.0.1 1 127.0.0.1 2 connect")


def test_listen_addresses_name_each_socket_and_its_port():
    text = "main 127.0.0.1 43661\nadmin 127.0.0.1 40001\n"
    assert parse_listen_addresses(text) == {"main": 43661, "admin": 40001}
    assert parse_listen_addresses("garbage\n") == {}
