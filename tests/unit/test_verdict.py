"""Scoring hypotheses against the shipped 2014-07-20 signature, on record-model fixtures."""

import pytest

from harness.analysis.expectations import RunView
from harness.analysis.verdict import Cell, Hypothesis, consistent, score, symptom_cell
from harness.errors import BadInput
from harness.scenario import parse_scenario
from harness.signature import Signature, load_signature
from tests.unit.run_fixture import make_records, record

SIGNATURE = load_signature("pypi-2014-07-20")
SYMPTOM = {s.id: s for s in SIGNATURE.symptoms}
DURATION = 40


def scenario(*faults):
    return parse_scenario(
        "t",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": DURATION},
            "faults": list(faults),
        },
    )


def requests(traffic="pip", status=200, latency=10.0, node="", n=1, start=20.0, end=DURATION):
    """`n` requests spread over [start, end)."""
    step = (end - start) / n
    return [
        record(start + i * step, traffic, status, latency, x_cache="MISS, MISS", error_node=node)
        for i in range(n)
    ]


def view(records, faults=(), busy=2.0):
    times = [float(t) for t in range(DURATION)]
    return RunView(
        scenario(*faults), records, [(t, busy) for t in times], [(t, 16.0) for t in times]
    )


CONTROL = view([r for t in ("pip", "browser", "mirror") for r in requests(t, latency=10, n=50)])


def cell(symptom, main, **roles):
    return symptom_cell(SYMPTOM[symptom], Hypothesis("h", main, **roles), CONTROL)


def test_s1_needs_503s_above_baseline_and_some_502s():
    only_503 = view(requests(status=503, node="shield", n=5) + requests(n=95))
    assert cell("S1", only_503).passed is False  # 5% 503s, but no 502
    with_502 = view(
        requests(status=503, node="shield", n=5)
        + requests(status=502, node="origin-lb")
        + requests(n=94)
    )
    assert cell("S1", with_502).passed is True
    just_below = view(requests(status=503) + requests(status=502) + requests(n=98))
    assert cell("S1", just_below).passed is False  # 1 point < the 2-point bound
    assert cell("S1", with_502).evidence == (
        "503 share 0.05 vs 0; 503 share below a wall 0.05; 502s 1"
    )
    # a wall of 503s is not "an elevated baseline"
    wall = view(requests(status=503, node="shield", n=30) + requests(status=502) + requests(n=69))
    assert cell("S1", wall).passed is False
    assert "503 share below a wall 0.3" in cell("S1", wall).evidence


def test_a_cell_carries_the_margin_of_its_tightest_expectation():
    # 503 share 0.05 against >= 0.02 (+150 %), <= 0.25 (+80 %), 502s 1 against >= 1 (0 %)
    with_502 = view(
        requests(status=503, node="shield", n=5) + requests(status=502) + requests(n=94)
    )
    assert cell("S1", with_502).margin == pytest.approx(0.0)
    with_3_502s = view(
        requests(status=503, node="shield", n=5) + requests(status=502, n=3) + requests(n=92)
    )
    assert cell("S1", with_3_502s).margin == pytest.approx(0.8)
    failing = view(
        requests(status=503, node="shield", n=1) + requests(status=502, n=3) + requests(n=96)
    )
    assert cell("S1", failing).margin == pytest.approx((0.01 - 0.02) / 0.02)


def test_s2_needs_every_class_slower():
    all_slow = view(
        [r for t in ("pip", "browser", "mirror") for r in requests(t, latency=50, n=20)]
    )
    assert cell("S2", all_slow).passed is True
    one_slow = view(
        requests("pip", latency=50, n=20) + requests("browser", n=20) + requests("mirror", n=20)
    )
    assert cell("S2", one_slow).passed is False
    assert "browser p95 10 vs 10 (x1.0)" in cell("S2", one_slow).evidence
    missing = view(requests("pip", latency=50, n=20))
    assert cell("S2", missing).passed is False  # no browser or mirror data: not slower


def test_s3_fails_when_the_backend_made_the_errors_not_when_it_was_busy():
    assert cell("S3", view(requests(n=100), busy=16)).passed is True  # busy is not to blame
    origin_errors = view(requests(status=502, node="origin-lb", n=2) + requests(n=98), busy=5)
    assert cell("S3", origin_errors).passed is False  # 2 % of requests
    # a few 502s beside many CDN-made 503s: the backend made few of the errors
    mostly_cdn = view(
        requests(status=502, node="origin-lb", n=1)
        + requests(status=503, node="shield", n=9)
        + requests(n=190)
    )
    assert cell("S3", mostly_cdn).passed is True
    mostly_backend = view(
        requests(status=502, node="origin-lb", n=1)
        + requests(status=503, node="shield", n=1)
        + requests(n=198)
    )
    assert cell("S3", mostly_backend).passed is False  # half of the errors


def test_s4_and_s5_are_not_applicable_without_their_runs_or_windows():
    fault = {"kind": "latency", "at": 20, "until": 40, "link": "shield->origin", "latency_ms": 9}
    scale = {"kind": "origin_workers", "at": 30, "worker_slots": 64}
    assert cell("S4", view(requests(n=10), [fault])).passed is None  # no scale-up window
    assert cell("S5", view(requests(n=10))).passed is None  # no serial-log fix in the run
    still_failing = view(requests(status=503, n=10) + requests(n=90), [fault, scale])
    assert cell("S4", still_failing).passed is True
    recovered = view(requests(n=100), [fault, scale])
    assert cell("S4", recovered).passed is False
    fix = {"kind": "journals_id_index", "at": 30}
    before = requests("mirror", latency=300, n=10, start=10, end=30)
    fixed = view(before + requests("mirror", latency=30, n=10, start=30), [fix])
    assert cell("S5", fixed).passed is True
    not_fixed = view(before + requests("mirror", latency=300, n=10, start=30), [fix])
    assert cell("S5", not_fixed).passed is False


def test_consistency_needs_the_required_symptoms_and_no_failure():
    good = {s: Cell(True, "") for s in ("S1", "S2", "S3")} | {
        "S4": Cell(None, ""),
        "S5": Cell(None, ""),
    }
    bad = good | {"S2": Cell(False, "")}
    untested = good | {"S1": Cell(None, "")}
    assert consistent(SIGNATURE, good)
    assert not consistent(SIGNATURE, bad) and not consistent(SIGNATURE, untested)


def test_a_focused_signature_scores_one_step_of_a_staircase():
    steps = [
        {
            "kind": "latency",
            "name": f"s@{ms}",
            "at": at,
            "until": at + 10,
            "link": "shield->origin",
            "latency_ms": ms,
        }
        for ms, at in ((1000, 10), (9000, 20), (20000, 30))
    ]
    # 503s only during the middle step: an elevated baseline there, nothing before, a wall after
    records = (
        requests(n=50, start=10, end=20)
        + requests(status=503, node="shield", n=5, start=20, end=30)
        + requests(status=502, n=1, start=20, end=30)
        + requests(n=44, start=20, end=30)
        + requests(status=503, node="shield", n=50, start=30, end=40)
    )
    run = view(records, steps)
    s1 = {s.id: s for s in SIGNATURE.focused_on("s@9000").symptoms}["S1"]
    assert symptom_cell(s1, Hypothesis("h", run), CONTROL).passed is True
    for other in ("s@1000", "s@20000"):
        s1 = {s.id: s for s in SIGNATURE.focused_on(other).symptoms}["S1"]
        assert symptom_cell(s1, Hypothesis("h", run), CONTROL).passed is False
    # unfocused, `*` is any step: the three together are a wall, not a baseline
    assert cell("S1", run).passed is False


@pytest.mark.parametrize("with_scale_up", [False, True])
def test_scoring_a_scaled_run_uses_the_fault_before_the_scale_up_for_s1_to_s3(with_scale_up):
    faults = [
        {"kind": "latency", "at": 20, "until": 50, "link": "shield->origin", "latency_ms": 20000}
    ]
    if with_scale_up:
        faults.append({"kind": "origin_workers", "at": 35, "worker_slots": 64})
    main = RunView(
        parse_scenario(
            "t",
            {
                "name": "t",
                "description": "d",
                "hypothesis": "h",
                "topology": {"edges": ["iad", "ams"]},
                "load": {"duration_s": 60},
                "faults": faults,
            },
        ),
        make_records(60, (20, 50), "shield-origin"),
    )
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
    control = RunView(clean, make_records(60, None, None))
    cells = score(SIGNATURE, Hypothesis("shield-origin", main), control)
    assert cells["S2"].passed is True
    assert cells["S4"].passed is (True if with_scale_up else None)  # more workers do not help


def test_a_users_signature_is_validated_when_loaded(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text(
        "name: mine\nsymptoms:\n  - id: A\n    text: t\n    expect:\n"
        "      - {metric: p95_ms, bound: '>= baseline * 2'}\n"
    )
    with pytest.raises(BadInput, match="needs `against`"):
        load_signature(str(own))
    own.write_text(
        "name: mine\nsymptoms:\n  - id: A\n    text: t\n    expect:\n"
        "      - {metric: p95_ms, run: fixd, bound: '< 2'}\n"
    )
    with pytest.raises(BadInput, match="did you mean 'fixed'"):
        load_signature(str(own))
    assert isinstance(SIGNATURE, Signature) and [s.id for s in SIGNATURE.symptoms] == [
        "S1",
        "S2",
        "S3",
        "S4",
        "S5",
    ]
