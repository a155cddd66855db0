import math

import pytest

from harness.analysis.summary import load_generator_check
from harness.analysis.windows import (
    after,
    before,
    during,
    hit_ratio,
    measure,
    percentile,
    split_windows,
)
from harness.records.request import parse_x_cache
from harness.records.summary import WindowPhase
from harness.scenario.model import parse_scenario
from harness.scenario.traffic import Layer, TrafficClass
from proxies.contract import CacheState
from tests.unit.run_fixture import record


def rec(t=1.0, latency=10.0, start=None, **fields):
    return record(t, latency_ms=latency, start_s=t if start is None else start, **fields)


def scenario(*faults, duration=90):
    return parse_scenario(
        "t.yaml",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "load": {"duration_s": duration},
            "faults": list(faults),
        },
    )


def test_one_fault_gives_before_during_after():
    s = scenario(
        {"kind": "latency", "at": 30, "until": 70, "link": "shield->origin", "latency_ms": 5}
    )
    windows = split_windows(s, 90)
    assert [(w.label, w.start_s, w.end_s) for w in windows] == [
        ("before", 0, 30),
        ("during latency shield->origin", 30, 70),
        ("after", 70, 90),
    ]


def test_actions_split_windows_and_are_named():
    s = scenario(
        {"kind": "latency", "at": 30, "until": 70, "link": "shield->origin", "latency_ms": 5},
        {"kind": "origin_workers", "at": 50, "worker_slots": 64},
    )
    labels = [w.label for w in split_windows(s, 90)]
    assert labels == [
        "before",
        "during latency shield->origin",
        "during latency shield->origin [workers=64]",
        "after [workers=64]",
    ]


def test_a_run_without_faults_is_one_window():
    assert [(w.label, w.span_s) for w in split_windows(scenario(), 60)] == [("before", 60)]


def test_exact_percentiles_interpolate_like_numpy():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))


def test_errors_are_attributed_to_the_layer_that_made_them():
    assert rec(status=503, error_node="shield").error_layer == Layer.SHIELD
    assert rec(status=503, error_node="edge-ams").error_layer == Layer.EDGE
    assert rec(status=502, error_node="origin-lb").error_layer == Layer.ORIGIN_LB
    assert rec(status=0, error_node="client").error_layer == Layer.CLIENT
    assert rec(status=500).error_layer == Layer.ORIGIN
    assert rec(status=200).error_layer is None


def test_x_cache_per_layer_and_hit_ratios():
    assert parse_x_cache("MISS, HIT") == (CacheState.HIT, CacheState.MISS)
    assert parse_x_cache("PASS") == (CacheState.PASS, None)
    assert parse_x_cache("") == (None, None)
    assert parse_x_cache("MISS, WEIRD") == (None, CacheState.MISS)  # a foreign entry is absent
    records = [
        rec(x_cache="MISS, HIT"),
        rec(x_cache="HIT, MISS"),
        rec(x_cache="MISS, MISS"),
        rec(x_cache="MISS, HIT", status=503),
        rec(x_cache="PASS", method="POST"),
    ]
    assert hit_ratio(records, Layer.EDGE) == pytest.approx(1 / 3)
    assert hit_ratio(records, Layer.SHIELD) == pytest.approx(1 / 3)
    assert hit_ratio([], Layer.EDGE) is None


def test_window_metrics_count_what_falls_inside():
    s = scenario({"kind": "down", "at": 10, "until": 20, "link": "shield->origin"}, duration=30)
    during = split_windows(s, 30)[1]
    records = [
        rec(t=5),
        rec(t=12, status=503, error_node="shield", latency=15000),
        rec(t=15, latency=20),
        rec(t=18, traffic="mirror", status=0, error_node="client"),
        rec(t=25),
    ]
    busy = [(9.0, 1.0), (11.0, 3.0), (19.0, 5.0), (21.0, 9.0)]
    slots = [(11.0, 16.0)]
    m = measure(during, records, busy, slots)
    assert m.requests == 3
    assert m.rate_per_s == pytest.approx(0.3)
    assert m.error_ratio == pytest.approx(2 / 3)
    assert m.errors_by_status == {0: 1, 503: 1}
    assert m.errors_by_layer == {Layer.CLIENT: 1, Layer.SHIELD: 1}
    assert m.latency[TrafficClass.PIP].p50_ms == pytest.approx(7510)
    assert m.phase == WindowPhase.DURING
    assert (m.origin_busy_mean, m.origin_busy_max, m.origin_slots) == (4.0, 5.0, 16.0)


def test_the_load_generator_check_flags_late_starts():
    s = scenario(duration=10)  # asks pip 8/s and browser 3/s: 80 and 30 flows
    on_time = [rec(t=i / 8, start=i / 8 + 0.001) for i in range(80)]
    on_time += [
        rec(t=i / 3, start=i / 3 + 0.001, traffic="browser", endpoint="project_json")
        for i in range(30)
    ]
    assert load_generator_check(s, on_time).kept_up is True
    late = [
        rec(t=r.intended_s, start=r.intended_s + 0.5, traffic=r.traffic, endpoint=r.endpoint)
        for r in on_time
    ]
    check = load_generator_check(s, late)
    assert check.kept_up is False
    assert check.classes[TrafficClass.PIP].start_lag_p99_ms == pytest.approx(500, abs=1)
    half = load_generator_check(s, on_time[:40])  # half the asked flows
    assert half.classes[TrafficClass.PIP].kept_up is False


def test_named_windows_before_during_after_a_step():
    s = scenario(
        {"kind": "latency", "at": 30, "until": 70, "link": "shield->origin", "latency_ms": 5},
        {"kind": "origin_workers", "at": 50, "worker_slots": 64, "name": "scale-up"},
        {"kind": "mirrors", "at": 10, "until": 20, "group": "mirrors"},
    )
    assert during(s, "latency shield->origin", 90) == [(30, 70)]
    assert during(s, "latency", 90) == [(30, 70)]  # by kind
    assert during(s, "*", 90) == [(10, 20), (30, 70)]  # any fault or action window
    assert before(s, "scale-up", 90) == [(0, 50)]
    assert after(s, "scale-up", 90) == [(50, 90)]
    assert after(s, "origin_workers", 90) == [(50, 90)]
    assert before(s, "no-such-step", 90) == [(0, 90)]  # nothing happened: all of it is before
    assert after(s, "no-such-step", 90) == []
