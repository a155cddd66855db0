from proxies.cdn.headers import TrailEntry, compose, synthetic_error
from proxies.contract import CacheState, FetchFailure


def as_dict(headers):
    return dict(headers)


def test_first_node_starts_the_trail():
    h = as_dict(
        compose(
            [("Content-Type", "text/html")], TrailEntry("shield", CacheState.MISS, 0, 0.0, 10.0, 10.02)
        )
    )
    assert h["X-Served-By"] == "shield"
    assert h["X-Cache"] == "MISS"
    assert h["X-Cache-Hits"] == "0"
    assert h["Age"] == "0"
    assert h["X-Timer"].endswith("VE20")
    assert h["Content-Type"] == "text/html"


def test_edge_appends_to_the_shields_trail_and_adds_age():
    upstream = [
        ("X-Served-By", "shield"),
        ("X-Cache", "MISS"),
        ("X-Cache-Hits", "0"),
        ("Age", "5"),
        ("X-Timer", "S1,VS0,VE3"),
    ]
    h = compose(upstream, TrailEntry("edge-iad", CacheState.HIT, 4, 7.9, 0.0, 0.0))
    assert as_dict(h)["X-Served-By"] == "shield, edge-iad"
    assert as_dict(h)["X-Cache"] == "MISS, HIT"
    assert as_dict(h)["X-Cache-Hits"] == "0, 4"
    assert as_dict(h)["Age"] == "12"
    assert sum(1 for k, _ in h if k == "X-Served-By") == 1  # replaced, not duplicated


def test_synthetic_error_names_node_and_reason():
    h = as_dict(synthetic_error("shield", FetchFailure.FIRST_BYTE_TIMEOUT, 0.0, 1.0))
    assert h["X-Shieldlab-Error-Node"] == "shield"
    assert h["X-Shieldlab-Error-Reason"] == "first byte timeout"
    assert h["X-Served-By"] == "shield"
