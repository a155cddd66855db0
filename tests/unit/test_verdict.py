import pytest

from harness.analysis.verdict import (
    Cell,
    Hypothesis,
    Phase,
    RunView,
    Thresholds,
    consistent,
    s1,
    s2,
    s3,
    s4,
    s5,
    score,
    verdict,
)
from harness.scenario import parse_scenario
from tests.unit.run_fixture import make_records, record

T = Thresholds()


def rec(traffic="pip", status=200, latency=10.0, node=""):
    return record(1, traffic, status, latency, x_cache="MISS, MISS", error_node=node)


def phase(records, busy=(2.0,), slots=(16.0,)):
    return Phase(records, list(busy), list(slots))


BASE = phase([rec(t, latency=10) for t in ("pip", "browser", "mirror") for _ in range(50)])


def test_s1_needs_503s_above_baseline_and_some_502s():
    only_503 = phase([rec(status=503, node="shield")] * 5 + [rec()] * 95)
    assert s1(only_503, BASE, T).passed is False  # 5% 503s, but no 502
    with_502 = phase(
        [rec(status=503, node="shield")] * 5 + [rec(status=502, node="origin-lb")] + [rec()] * 94
    )
    assert s1(with_502, BASE, T).passed is True
    just_below = phase([rec(status=503)] * 1 + [rec(status=502)] + [rec()] * 98)
    assert s1(just_below, BASE, T).passed is False  # 1% < the 2-point threshold
    assert s1(with_502, BASE, T).evidence == "503 5.0% vs 0.0%; 502s: 1"


def test_s2_needs_every_class_slower():
    all_slow = phase([rec(t, latency=50) for t in ("pip", "browser", "mirror") for _ in range(20)])
    assert s2(all_slow, BASE, T).passed is True
    one_slow = phase([rec("pip", latency=50)] * 20 + [rec("browser")] * 20 + [rec("mirror")] * 20)
    assert s2(one_slow, BASE, T).passed is False
    assert "browser x1.0" in s2(one_slow, BASE, T).evidence
    missing = phase([rec("pip", latency=50)] * 20)
    assert s2(missing, BASE, T).passed is False


def test_s3_origin_saturation_or_origin_errors_fail_it():
    assert s3(phase([rec()] * 100, busy=[5], slots=[16]), T).passed is True
    assert s3(phase([rec()] * 100, busy=[16], slots=[16]), T).passed is False
    origin_errors = phase(
        [rec(status=502, node="origin-lb")] * 2 + [rec()] * 98, busy=[5], slots=[16]
    )
    assert s3(origin_errors, T).passed is False


def test_s4_and_s5_are_not_applicable_without_their_runs():
    assert s4(None, BASE, T).passed is None
    assert s5(None, None, T).passed is None
    still_failing = phase([rec(status=503)] * 10 + [rec()] * 90)
    assert s4(still_failing, BASE, T).passed is True
    recovered = phase([rec()] * 100)
    assert s4(recovered, BASE, T).passed is False
    slow = phase([rec("mirror", latency=300)] * 20)
    fast = phase([rec("mirror", latency=30)] * 20)
    assert s5(slow, fast, T).passed is True
    assert s5(slow, slow, T).passed is False


def test_consistency_and_the_verdict_wording():
    good = {s: Cell(True, "") for s in ("S1", "S2", "S3")} | {
        "S4": Cell(None, ""),
        "S5": Cell(None, ""),
    }
    bad = good | {"S2": Cell(False, "")}
    assert consistent(good) and not consistent(bad)
    assert "Only 'a'" in verdict({"a": good, "b": bad})
    assert verdict({"a": bad}).startswith("No hypothesis")
    assert "Several" in verdict({"a": good, "b": good})


@pytest.mark.parametrize("with_scale_up", [False, True])
def test_scoring_a_scaled_run_uses_the_fault_before_the_scale_up_for_s1_to_s3(with_scale_up):
    faults = [
        {"kind": "latency", "at": 20, "until": 50, "link": "shield->origin", "latency_ms": 20000}
    ]
    if with_scale_up:
        faults.append({"kind": "origin_workers", "at": 35, "worker_slots": 64})
    scenario = parse_scenario(
        "t",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": 60},
            "faults": faults,
        },
    )
    main = RunView(scenario, make_records(60, (20, 50), "shield-origin"))
    clean = parse_scenario(
        "b",
        {
            "name": "b",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": 60},
        },
    )
    baseline = RunView(clean, make_records(60, None, None))
    cells = score(Hypothesis("shield-origin", main), baseline, T)
    assert cells["S2"].passed is True
    assert cells["S3"].passed is True
    assert (cells["S4"].passed is None) is (not with_scale_up)
    if with_scale_up:
        assert cells["S4"].passed is True  # a network fault: more workers do not help
