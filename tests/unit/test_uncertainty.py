"""Intervals from a run's 1 s bins, and bounds judged on them: holds, fails, undecided."""

import numpy as np
import pytest

from harness.analysis.expectations import RunView, binned, measure
from harness.analysis.judging import evaluate, judge
from harness.analysis.uncertainty import (
    Binned,
    Interval,
    Judgement,
    Kind,
    interval,
    judge_room,
    room_interval,
)
from harness.scenario.expectation import Expectation
from harness.scenario.model import parse_scenario
from tests.unit.run_fixture import record

EMPTY = np.zeros(0)


def ratio(numer: list[float], denom: list[float]) -> Binned:
    return Binned(Kind.RATIO, np.array(numer), np.array(denom), EMPTY, EMPTY.astype(np.intp))


def test_a_steady_share_gives_a_narrow_interval_around_it():
    steady = ratio([5.0] * 60, [10.0] * 60)
    spread = interval(steady)
    assert spread is not None and spread.low == spread.high == 0.5


def test_a_share_that_swings_from_second_to_second_gives_a_wide_interval():
    swinging = ratio([0.0, 10.0] * 10, [10.0] * 20)  # 0 % and 100 % in turn: 50 % overall
    spread = interval(swinging)
    assert spread is not None
    assert spread.low < 0.4 and spread.high > 0.6  # 20 seconds cannot pin it down


def test_more_seconds_of_the_same_swing_narrow_the_interval():
    short = interval(ratio([0.0, 10.0] * 10, [10.0] * 20))
    long = interval(Binned.pooled([ratio([0.0, 10.0] * 10, [10.0] * 20)] * 8))
    assert short is not None and long is not None
    assert long.high - long.low < (short.high - short.low) / 2


def test_a_count_over_pooled_runs_is_a_count_per_run():
    # One 502 in each of three runs is "one 502 per run", not three: repeats of a point must
    # not make a bound such as "at least one 502" easier to hold.
    one = Binned(
        Kind.COUNT, np.array([1.0] + [0.0] * 19), np.zeros(20), EMPTY, EMPTY.astype(np.intp)
    )
    three = Binned.pooled([one] * 3)
    assert one.point() == 1.0 and three.point() == 1.0 and three.runs == 3
    spread = interval(three)
    assert spread is not None and spread.low < 1.0 < spread.high


def test_the_same_seed_gives_the_same_interval():
    data = ratio([0.0, 3.0, 10.0, 1.0] * 5, [10.0] * 20)
    assert interval(data, seed=7) == interval(data, seed=7)


def test_one_second_is_too_little_to_tell():
    assert interval(ratio([1.0], [10.0])) is None
    assert judge_room(None, strict=False) is Judgement.UNDECIDED


def test_a_weighted_quantile_is_numpys_inverted_cdf():
    values = np.sort(np.random.default_rng(1).lognormal(3, 1, 500))
    bins = np.random.default_rng(2).integers(0, 25, 500)
    sample = Binned(Kind.QUANTILE, np.zeros(25), np.zeros(25), values, bins, q=0.95)
    assert sample.point() == pytest.approx(np.quantile(values, 0.95, method="inverted_cdf"))


def test_a_count_of_nothing_is_exactly_nothing():
    none = Binned(Kind.COUNT, np.zeros(30), np.zeros(30), EMPTY, EMPTY.astype(np.intp))
    assert interval(none) == Interval(0.0, 0.0)


@pytest.mark.parametrize(
    ("low", "high", "strict", "expected"),
    [
        (0.1, 0.5, False, Judgement.HOLDS),
        (-0.5, -0.1, False, Judgement.FAILS),
        (-0.1, 0.1, False, Judgement.UNDECIDED),
        (0.0, 0.2, False, Judgement.HOLDS),  # >= with the interval's low end on the bound
        (0.0, 0.2, True, Judgement.UNDECIDED),  # > does not hold at the bound
        (-0.2, 0.0, True, Judgement.FAILS),
        (-0.2, 0.0, False, Judgement.UNDECIDED),
    ],
)
def test_the_room_to_a_bound_decides_three_ways(low, high, strict, expected):
    assert judge_room(Interval(low, high), strict) is expected


def test_a_relative_bound_counts_the_baselines_own_noise():
    run = ratio([3.0, 2.0, 4.0, 3.0] * 10, [10.0] * 40)  # 30 %
    quiet = ratio([1.0, 0.0, 2.0, 1.0] * 10, [10.0] * 40)  # 10 %
    plus = lambda b: b + 0.02  # noqa: E731  ">= baseline + 0.02"
    clear = room_interval(run, 1.0, (quiet, plus))
    assert judge_room(clear, strict=False) is Judgement.HOLDS
    near = ratio([1.0, 0.0, 3.0, 1.0] * 10, [10.0] * 40)  # 12.5 %: 0.5 points above the bound
    close = room_interval(near, 1.0, (quiet, plus))
    assert judge_room(close, strict=False) is Judgement.UNDECIDED


def _expectation(text: str, metric: str = "error_rate") -> Expectation:
    return Expectation.model_validate({"metric": metric, "bound": text})


def test_judge_holds_fails_or_leaves_undecided_by_the_interval():
    e = _expectation("< 0.05")
    assert judge(e, 0.01, None, Interval(0.0, 0.03)).judgement is Judgement.HOLDS
    assert judge(e, 0.09, None, Interval(0.07, 0.12)).judgement is Judgement.FAILS
    straddling = judge(e, 0.04, None, Interval(0.02, 0.07))
    assert straddling.judgement is Judgement.UNDECIDED and straddling.passed is True
    assert "0.04 [0.02, 0.07]" in straddling.detail and "undecided" in straddling.detail
    assert judge(e, None, None, None).judgement is Judgement.FAILS  # no data
    assert judge(e, 0.01, None, None).judgement is Judgement.UNDECIDED  # no spread to tell
    gauge = _expectation("< 0.9", "origin_busy_ratio")
    assert judge(gauge, 0.5, None, None).judgement is Judgement.HOLDS  # a gauge is exact
    relative = _expectation("<= baseline * 2")
    assert judge(relative, 0.01, None, Interval(0.0, 0.02)).judgement is None  # no baseline


def _view(records, duration_s: float = 30.0) -> RunView:
    scenario = parse_scenario(
        "test",
        {"name": "t", "description": "d", "hypothesis": "h", "load": {"duration_s": duration_s}},
    )
    return RunView(scenario, records)


def test_a_run_with_errors_in_a_few_seconds_only_is_undecided_near_its_bound():
    # Every request of the first 3 seconds failed: 10 % overall.
    records = [
        record(t + i / 10, status=503 if t < 3 else 200) for t in range(30) for i in range(10)
    ]
    view = _view(records)
    e = _expectation("< 0.12")
    [outcome] = evaluate([e], view)
    assert outcome.value == pytest.approx(0.1)
    assert outcome.judgement is Judgement.UNDECIDED  # a burst: it could as well be 20 %
    [clear] = evaluate([_expectation("< 0.5")], view)
    assert clear.judgement is Judgement.HOLDS


def test_a_share_of_errors_without_errors_holds_a_bound_on_it():
    view = _view([record(t / 5) for t in range(150)])
    share = Expectation.model_validate(
        {"metric": "error_share", "layer": "origin", "bound": "< 0.5"}
    )
    [outcome] = evaluate([share], view)
    assert outcome.value == 0.0 and outcome.spread == Interval(0.0, 0.0)
    assert outcome.judgement is Judgement.HOLDS


def test_binning_keeps_every_metrics_value():
    records = [record(t / 7, latency_ms=float(t % 50)) for t in range(200)]
    view = _view(records)
    expected = {
        ("error_rate", "< 1"): 0.0,
        ("p95_ms", "< 100"): float(np.percentile([t % 50 for t in range(200)], 95)),
        ("requests_per_s", "> 0"): 200 / 30,
    }
    for (metric, bound), value in expected.items():
        e = _expectation(bound, metric)
        sample = binned(e, view)
        assert sample is not None and sample.bins > 1, metric
        assert measure(e, view) == pytest.approx(value), metric
        [outcome] = evaluate([e], view)
        assert outcome.spread is not None, metric
        assert outcome.spread.low <= outcome.value <= outcome.spread.high, metric
    count = Expectation.model_validate({"metric": "status_count", "status": 200, "bound": ">= 0"})
    assert measure(count, view) == 200
