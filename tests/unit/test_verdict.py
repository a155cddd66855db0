"""Scoring hypotheses against the shipped 2014-07-20 signature, on record-model fixtures."""

import pytest

from harness.analysis.expectations import RunView
from harness.analysis.judging import judge_runs
from harness.analysis.uncertainty import Judgement
from harness.errors import BadInput
from harness.scenario.model import parse_scenario
from harness.validate.signature import Signature, load_signature
from harness.validate.verdict import Hypothesis, score, symptom_cell
from tests.unit.run_fixture import make_records, record

SIGNATURE = load_signature("pypi-2014-07-20")
HOLDS, FAILS, UNDECIDED = Judgement.HOLDS, Judgement.FAILS, Judgement.UNDECIDED
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
    """`n` requests spread evenly over [start, end)."""
    step = (end - start) / max(n, 1)
    return [
        record(start + i * step, traffic, status, latency, x_cache="MISS, MISS", error_node=node)
        for i in range(n)
    ]


def each_second(per_s, start=20, end=DURATION, **kw):
    """`per_s` requests in every second of [start, end): a share the same in every bin, so its
    interval is narrow and a bound is decided."""
    return [r for t in range(start, end) for r in requests(n=per_s, start=t, end=t + 1, **kw)]


def view(records, faults=(), busy=2.0):
    times = [float(t) for t in range(DURATION)]
    return RunView(
        scenario(*faults), records, [(t, busy) for t in times], [(t, 16.0) for t in times]
    )


CONTROL = (
    view([r for t in ("pip", "browser", "mirror") for r in each_second(5, start=0, traffic=t)]),
)


def cell(symptom, main, **roles):
    roles = {k: (v,) for k, v in roles.items()}
    return symptom_cell(SYMPTOM[symptom], Hypothesis("h", (main,), **roles), CONTROL)


def test_s1_needs_503s_above_baseline_and_some_502s():
    only_503 = view(each_second(1, status=503, node="shield") + each_second(19))
    assert cell("S1", only_503).judgement is FAILS  # 5 % 503s, but no 502 at all
    with_502 = view(
        each_second(1, status=503, node="shield")
        + each_second(1, status=502, node="origin-lb")
        + each_second(18)
    )
    assert cell("S1", with_502).judgement is HOLDS
    assert cell("S1", with_502).evidence == (
        "503 share 0.05 [0.05, 0.05] vs 0; 503 share below a wall 0.05 [0.05, 0.05]; "
        "502s 20 [15, 25]"
    )
    just_below = view(each_second(1, status=503) + each_second(1, status=502) + each_second(98))
    assert cell("S1", just_below).judgement is FAILS  # 1 point < the 2-point bound
    # a wall of 503s is not "an elevated baseline"
    wall = view(
        each_second(6, status=503, node="shield") + each_second(1, status=502) + each_second(13)
    )
    assert cell("S1", wall).judgement is FAILS
    assert "503 share below a wall 0.3 [0.3, 0.3]" in cell("S1", wall).evidence


def test_a_single_502_is_not_enough_to_decide_some_502s():
    # One 502 in 20 s: a run like it may well show none, so "some 502s" is undecided.
    one = view(each_second(1, status=503, node="shield") + requests(status=502) + each_second(18))
    found = cell("S1", one)
    assert found.judgement is UNDECIDED and found.undecided == ("502s",)


def test_a_share_that_varies_from_second_to_second_straddles_a_bound_it_is_near():
    # 503s in bursts: 2.5 % on average against a bound of 2 points: no decision either way.
    bursty = view(
        [
            r
            for t in range(20, DURATION)
            for r in requests(
                status=503, node="shield", n=5 if t % 4 == 0 else 0, start=t, end=t + 1
            )
            + requests(n=50 - (5 if t % 4 == 0 else 0), start=t, end=t + 1)
        ]
        + each_second(1, status=502)
    )
    found = cell("S1", bursty)
    assert found.judgement is UNDECIDED and found.undecided == ("503 share",), found


def test_a_cell_carries_the_margin_of_its_tightest_expectation():
    # 503 share 0.05 against >= 0.02 (+150 %), <= 0.25 (+80 %), 502s 20 against >= 1
    with_502 = view(
        each_second(1, status=503, node="shield") + each_second(1, status=502) + each_second(18)
    )
    assert cell("S1", with_502).margin == pytest.approx(0.8)
    failing = view(
        each_second(1, status=503, node="shield") + each_second(1, status=502) + each_second(98)
    )
    assert cell("S1", failing).margin == pytest.approx((0.01 - 0.02) / 0.02)


def test_s2_needs_every_class_slower():
    all_slow = view(
        [r for t in ("pip", "browser", "mirror") for r in each_second(2, traffic=t, latency=50)]
    )
    assert cell("S2", all_slow).judgement is HOLDS
    one_slow = view(
        each_second(2, traffic="pip", latency=50)
        + each_second(2, traffic="browser")
        + each_second(2, traffic="mirror")
    )
    assert cell("S2", one_slow).judgement is FAILS
    assert "browser p95 10 [10, 10] vs 10 (x1.0)" in cell("S2", one_slow).evidence
    missing = view(each_second(2, traffic="pip", latency=50))
    assert cell("S2", missing).judgement is FAILS  # no browser or mirror data: not slower


def test_s3_fails_when_the_backend_made_the_errors_not_when_it_was_busy():
    assert cell("S3", view(each_second(5), busy=16)).judgement is HOLDS  # busy is not to blame
    origin_errors = view(each_second(1, status=502, node="origin-lb") + each_second(49), busy=5)
    assert cell("S3", origin_errors).judgement is FAILS  # 2 % of requests
    # a few 502s beside many CDN-made 503s: the backend made few of the errors
    mostly_cdn = view(
        each_second(1, status=502, node="origin-lb")
        + each_second(9, status=503, node="shield")
        + each_second(190)
    )
    assert cell("S3", mostly_cdn).judgement is HOLDS
    mostly_backend = view(
        each_second(1, status=502, node="origin-lb")
        + each_second(1, status=503, node="shield")
        + each_second(198)
    )
    assert cell("S3", mostly_backend).judgement is FAILS  # half of the errors


def test_s4_and_s5_are_not_applicable_without_their_runs_or_windows():
    fault = {"kind": "latency", "at": 20, "until": 40, "link": "shield->origin", "latency_ms": 9}
    scale = {"kind": "origin_workers", "at": 30, "worker_slots": 64}
    assert cell("S4", view(each_second(2), [fault])).judgement is None  # no scale-up window
    assert cell("S5", view(each_second(2))).judgement is None  # no serial-log fix in the run
    still_failing = view(each_second(1, status=503) + each_second(9), [fault, scale])
    assert cell("S4", still_failing).judgement is HOLDS
    recovered = view(each_second(10), [fault, scale])
    assert cell("S4", recovered).judgement is FAILS
    fix = {"kind": "journals_id_index", "at": 30}
    before = each_second(1, traffic="mirror", latency=300, start=10, end=30)
    fixed = view(before + each_second(1, traffic="mirror", latency=30, start=30), [fix])
    assert cell("S5", fixed).judgement is HOLDS
    not_fixed = view(before + each_second(1, traffic="mirror", latency=300, start=30), [fix])
    assert cell("S5", not_fixed).judgement is FAILS


def test_repeated_runs_of_a_point_are_pooled_into_one_narrower_judgement():
    # 503s in bursts, two runs with their bursts in different seconds: pooled, the share is
    # the same but its interval narrower than either run's own.
    def bursty(phase):
        return view(
            [
                r
                for t in range(20, DURATION)
                for r in requests(
                    status=503, node="shield", n=4 if t % 4 == phase else 0, start=t, end=t + 1
                )
                + requests(n=40 - (4 if t % 4 == phase else 0), start=t, end=t + 1)
            ]
            + each_second(1, status=502)
        )

    share = SYMPTOM["S1"].expect[0]
    one = judge_runs(share, [bursty(0)], share.against_expectation(), CONTROL)
    both = judge_runs(share, [bursty(0), bursty(2)], share.against_expectation(), CONTROL)
    assert one.value == pytest.approx(both.value)
    assert both.spread.high - both.spread.low < one.spread.high - one.spread.low


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
        each_second(5, start=10, end=20)
        + each_second(1, status=503, node="shield", start=20, end=30)
        + each_second(1, status=502, start=20, end=30)
        + each_second(8, start=20, end=30)
        + each_second(5, status=503, node="shield", start=30, end=40)
    )
    run = view(records, steps)
    s1 = {s.id: s for s in SIGNATURE.focused_on("s@9000").symptoms}["S1"]
    assert symptom_cell(s1, Hypothesis("h", (run,)), CONTROL).judgement is HOLDS
    for other in ("s@1000", "s@20000"):
        s1 = {s.id: s for s in SIGNATURE.focused_on(other).symptoms}["S1"]
        assert symptom_cell(s1, Hypothesis("h", (run,)), CONTROL).judgement is FAILS
    # unfocused, `*` is any step: the three together (0 %, 10 % and 100 % 503s by second)
    # are no steady baseline: a share of 0.3 that its own seconds cannot pin down
    assert cell("S1", run).judgement is UNDECIDED


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
    cells = score(SIGNATURE, Hypothesis("shield-origin", (main,)), (control,))
    assert cells["S2"].judgement is HOLDS
    assert cells["S4"].judgement is (HOLDS if with_scale_up else None)  # more workers: no help


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
