"""The expectation language and its evaluator, on records built with the record models."""

import pytest

from harness.analysis.expectations import RunView, measure, window_spans
from harness.analysis.judging import evaluate, judge
from harness.errors import BadInput
from harness.records.samples import Sample
from harness.scenario.expectation import Bound, Expectation, Window
from harness.scenario.model import parse_scenario
from proxies.contract import BackendGauge
from tests.unit.run_fixture import record

FAULT = {
    "kind": "latency",
    "name": "slow",
    "at": 10,
    "until": 20,
    "link": "shield->origin",
    "latency_ms": 5,
}


def scenario(*faults, expect=(), duration=30):
    return parse_scenario(
        "t.yaml",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": duration},
            "faults": list(faults),
            "expect": list(expect),
        },
    )


def expectation(**fields):
    return Expectation.model_validate({"bound": "< 1", **fields})


# Before the fault: 4 quiet requests; during it: a shield 503, a slow miss, an edge hit and a
# mirror timeout; after it: two quiet requests at ams.
RECORDS = [
    record(2, latency_ms=10),
    record(4, latency_ms=20, x_cache="HIT, MISS"),
    record(6, latency_ms=30, traffic="browser"),
    record(8, latency_ms=40, pop="ams"),
    record(11, status=503, latency_ms=15000, x_cache="MISS, MISS", error_node="shield"),
    record(12, latency_ms=3000, x_cache="MISS, MISS"),
    record(13, latency_ms=5, x_cache="MISS, HIT"),
    record(14, traffic="mirror", status=0, latency_ms=30000, error_node="client"),
    record(25, latency_ms=10, pop="ams"),
    record(27, latency_ms=10, pop="ams", status=502, error_node="origin-lb"),
]
BUSY = [(float(t), 4.0 if t < 15 else 12.0) for t in range(30)]
SLOTS = [(float(t), 16.0) for t in range(30)]


def view(s=None):
    return RunView(s or scenario(FAULT), RECORDS, BUSY, SLOTS)


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"metric": "error_rate", "window": "during slow"}, 2 / 4),
        ({"metric": "error_rate", "window": "during slow", "layer": "shield"}, 1 / 4),
        ({"metric": "error_rate", "window": "before slow"}, 0.0),
        ({"metric": "status_rate", "status": 503, "window": "during slow"}, 1 / 4),
        ({"metric": "status_count", "status": 503}, 1.0),
        ({"metric": "status_count", "status": 502, "pop": "ams"}, 1.0),
        ({"metric": "status_count", "status": 502, "layer": "shield"}, 0.0),
        ({"metric": "p50_ms", "window": "before slow"}, 25.0),
        ({"metric": "p95_ms", "window": "before slow", "traffic": "pip"}, 38.0),
        ({"metric": "p99_ms", "window": "during slow", "traffic": ["pip"]}, pytest.approx(14760.0)),
        ({"metric": "requests_per_s", "window": "during slow"}, 0.4),
        ({"metric": "requests_per_s", "window": "after slow", "pop": "ams"}, 0.2),
        ({"metric": "hit_ratio", "layer": "edge", "window": "during slow"}, 0.5),
        ({"metric": "hit_ratio", "layer": "shield", "window": "before slow"}, 1 / 4),
        ({"metric": "origin_busy_ratio", "window": "before slow"}, 0.25),
        ({"metric": "origin_busy_ratio"}, 0.75),
        ({"metric": "error_share", "layer": "shield", "window": "during slow"}, 0.5),
        ({"metric": "error_share", "layer": ["client", "shield"], "window": "during slow"}, 1.0),
        ({"metric": "error_share", "layer": "shield", "window": "before slow"}, 0.0),
    ],
)
def test_every_metric_and_selector_measures_what_falls_inside(fields, value):
    assert measure(expectation(**fields), view()) == value


# During the fault: 503s with two reasons, a page the edge served stale, one the shield gave
# after waiting on another request's fetch, and a plain miss. The shield's gauges: its backend
# a quarter busy before the fault and three quarters during it, probed sick half of the time.
REASONED = [
    record(11, status=503, error_node="shield", error_reason="first byte timeout"),
    record(12, status=503, error_node="edge-iad", error_reason="Connection timed out"),
    record(13, x_cache="MISS, HIT-STALE"),
    record(14, x_cache="HIT-COLLAPSED, MISS"),
    record(15, x_cache="MISS, MISS"),
]
SHIELD_BACKEND = "backend=origin-1"
GAUGES = [
    Sample(
        t_s=0, node="shield", metric=BackendGauge.MAX_CONNECTIONS, labels=SHIELD_BACKEND, value=200
    ),
    Sample(t_s=5, node="shield", metric=BackendGauge.BUSY_FETCHES, labels=SHIELD_BACKEND, value=50),
    Sample(
        t_s=12, node="shield", metric=BackendGauge.BUSY_FETCHES, labels=SHIELD_BACKEND, value=150
    ),
    *(
        Sample(t_s=t, node="shield", metric=BackendGauge.HEALTHY, labels=SHIELD_BACKEND, value=v)
        for t, v in ((11, 1), (12, 0), (13, 0), (14, 1))
    ),
    Sample(t_s=12, node="edge-iad", metric=BackendGauge.HEALTHY, labels="backend=shield", value=1),
    Sample(t_s=12, node="edge-iad", metric="shieldlab_requests_total", labels="", value=9),
]


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"metric": "status_rate", "status": 503, "reason": "first byte timeout"}, 1 / 5),
        ({"metric": "status_count", "status": 503, "reason": ["Connection timed out"]}, 1.0),
        (
            {"metric": "error_rate", "reason": ["first byte timeout", "Connection timed out"]},
            2 / 5,
        ),
        ({"metric": "error_share", "layer": "shield", "reason": "first byte timeout"}, 1 / 2),
        ({"metric": "cache_state_share", "layer": "edge", "cache": "HIT-STALE"}, 1 / 3),
        ({"metric": "cache_state_share", "layer": "shield", "cache": ["HIT-COLLAPSED"]}, 1 / 3),
        ({"metric": "backend_busy_ratio", "layer": "shield"}, 0.75),
        ({"metric": "backend_busy_ratio", "layer": "shield", "window": "before slow"}, 0.25),
        ({"metric": "backend_sick_share", "layer": "shield"}, 0.5),
        ({"metric": "backend_sick_share", "layer": "edge"}, 0.0),
        ({"metric": "backend_busy_ratio", "layer": "edge"}, None),
    ],
)
def test_reasons_cache_states_and_the_cdn_gauges_measure_what_they_name(fields, value):
    run = RunView.of(scenario(FAULT), REASONED, GAUGES)
    window = {} if "window" in fields else {"window": "during slow"}
    assert measure(expectation(**fields, **window), run) == value


def test_windows_intersect_and_fall_back_to_the_first_that_is_not_empty():
    s = scenario(FAULT, {"kind": "origin_workers", "at": 15, "worker_slots": 64})
    assert window_spans(s, Window(during="*", before="origin_workers")) == [(10, 15)]
    assert window_spans(s, Window(after="origin_workers", steady=True)) == [(15, 30)]
    assert window_spans(s, Window(steady=True)) == [(7.5, 30)]
    quiet = scenario()
    e = expectation(metric="requests_per_s", window=[{"during": "*"}, "steady"])
    assert measure(e, view(quiet)) == pytest.approx(7 / 22.5)  # no fault: the steady part


def test_no_data_fails_instead_of_passing():
    e = expectation(metric="p95_ms", traffic="browser", window="after slow", bound="< 100")
    (outcome,) = evaluate([e], view())
    assert outcome.value is None and outcome.passed is False
    assert "no data" in outcome.detail


@pytest.mark.parametrize(
    ("text", "measured", "passed"),
    [
        ("< 0.01", 0.009, True),
        ("< 0.01", 0.01, False),
        ("<= 0.01", 0.01, True),
        ("> 3", 3, False),
        (">= 3", 3, True),
    ],
)
def test_absolute_bounds_compare_as_written(text, measured, passed):
    e = expectation(metric="error_rate", bound=text)
    assert judge(e, measured, None).passed is passed


def test_relative_bounds_read_the_baseline_and_keep_a_floor():
    e = expectation(metric="p95_ms", bound="<= baseline * 1.5", floor=300)
    assert judge(e, 400, baseline=100).threshold == 300  # 150 would be impossible: the floor
    assert judge(e, 400, baseline=100).passed is False
    assert judge(e, 400, baseline=1000).passed is True
    assert judge(e, 400, baseline=None).passed is None  # not judged without a baseline
    plus = expectation(metric="status_rate", status=503, bound=">= baseline + 0.02")
    assert judge(plus, 0.03, baseline=0.0).passed is True
    assert judge(plus, 0.01, baseline=0.0).passed is False
    minus = Bound.model_validate("<= baseline - 5")
    assert minus.threshold(10, None) == 5
    (outcome,) = evaluate([e], view(), {e.key: 10.0})
    assert outcome.threshold == 300 and outcome.baseline == 10.0


def test_bound_and_window_texts_parse_or_say_what_they_accept():
    assert Bound.model_validate("<= baseline").baseline_factor == 1.0
    assert Window.model_validate("during latency shield->origin").during == "latency shield->origin"
    for bad in ("about 3", "< three", "=< 3"):
        with pytest.raises(ValueError, match="a bound reads"):
            Bound.model_validate(bad)
    with pytest.raises(ValueError, match="needs a comparison"):
        Bound.model_validate(0.01)
    with pytest.raises(ValueError, match="a window is"):
        Window.model_validate("around slow")


def test_keys_name_metric_and_selectors_not_the_bound():
    a = expectation(metric="p95_ms", traffic="pip", window="during slow", bound="< 5")
    b = expectation(metric="p95_ms", traffic=["pip"], window={"during": "slow"}, bound="> 1")
    assert a.key == b.key == "p95_ms[during slow; traffic=pip]"
    c = expectation(metric="status_rate", status=503, reason="first byte timeout")
    assert c.key == "status_rate[whole; reason=first byte timeout; status=503]"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"metric": "eror_rate", "bound": "< 1"},
            "metric: must be one of .*did you mean 'error_rate'",
        ),
        ({"metric": "p95_ms", "layer": "shield", "bound": "< 1"}, "p95_ms takes no 'layer'"),
        ({"metric": "status_rate", "bound": "< 1"}, "status_rate needs 'status'"),
        ({"metric": "hit_ratio", "layer": "origin", "bound": "< 1"}, "hit_ratio takes one layer"),
        (
            {"metric": "error_rate", "traffic": "pipp", "bound": "< 1"},
            "traffic: no such.*did you mean 'pip'",
        ),
        ({"metric": "error_rate", "layer": "shild", "bound": "< 1"}, "did you mean 'shield'"),
        ({"metric": "error_rate", "window": "during slwo", "bound": "< 1"}, "did you mean 'slow'"),
        ({"metric": "error_rate", "pop": "iaad", "bound": "< 1"}, "did you mean 'iad'"),
        ({"metric": "error_rate", "bound": "less than 1"}, "a bound reads"),
        (
            {"metric": "status_rate", "status": 503, "reason": "first byte timout", "bound": "< 1"},
            "no node gives the reason 'first byte timout' \\(did you mean 'first byte timeout'",
        ),
        ({"metric": "p95_ms", "reason": "first byte timeout", "bound": "< 1"}, "takes no 'reason'"),
        ({"metric": "cache_state_share", "layer": "edge", "bound": "< 1"}, "needs 'cache'"),
        (
            {"metric": "backend_sick_share", "layer": "origin", "bound": "< 1"},
            "backend_sick_share takes one layer",
        ),
        ({"metric": "error_rate", "bound": "< 1", "colour": 1}, "unknown setting"),
    ],
)
def test_a_wrong_expectation_fails_when_the_scenario_is_loaded(item, message):
    with pytest.raises(BadInput, match=message) as caught:
        scenario(FAULT, expect=[item])
    assert str(caught.value).startswith("t.yaml: expect[0]")
