"""Judging expectations: each measured value with its interval against its bound, three ways:
holds, fails, or undecided where the interval straddles the bound (harness.analysis.uncertainty).
A measurement with no data fails: an expectation that cannot be checked must not pass quietly. A
relative bound without a baseline value is not judged at all (`judgement` is None) and the
caller decides what that means. The measuring itself is harness.analysis.expectations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from harness.analysis.expectations import RunView, binned_runs, measure_runs, sample_value
from harness.analysis.uncertainty import (
    Binned,
    Interval,
    Judgement,
    interval,
    judge_room,
    room_interval,
)
from harness.scenario.expectation import GAUGE_METRICS, Expectation


@dataclass(frozen=True)
class Outcome:
    """One expectation judged on one run (or on several runs of one scenario, pooled)."""

    expectation: Expectation
    value: float | None
    threshold: float | None
    baseline: float | None
    passed: bool | None  # the value itself against the bound; None: not judged (no baseline)
    spread: Interval | None = None  # the value's confidence interval
    judgement: Judgement | None = None  # the bound on the interval; None: not judged

    @property
    def detail(self) -> str:
        if self.judgement is None:
            return "no baseline value to compare with"
        if self.value is None:
            return "no data: nothing in the window matched the selectors"
        against = f" (baseline {fmt(self.baseline)})" if self.baseline is not None else ""
        bound = f"bound {self.expectation.bound.op} {fmt(self.threshold)}{against}"
        return f"measured {value_text(self.value, self.spread)}, {bound}: {self.judgement}"


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"


def value_text(value: float | None, spread: Interval | None) -> str:
    """`0.153 [0.121, 0.19]`: the value and its interval."""
    if value is None or spread is None:
        return fmt(value)
    return f"{fmt(value)} [{fmt(spread.low)}, {fmt(spread.high)}]"


def judge(
    e: Expectation,
    value: float | None,
    baseline: float | None,
    spread: Interval | None = None,
) -> Outcome:
    """The bound on the value and on its interval. The interval's room to the bound decides:
    inside all of it holds, outside all of it fails, across it is undecided. No data fails; a
    value with no interval decides only when it is exact (a gauge)."""
    baseline = baseline if e.bound.relative else None  # an absolute bound has no baseline
    threshold = e.bound.threshold(baseline, e.floor)
    if threshold is None:
        return Outcome(e, value, None, baseline, None, spread)
    passed = value is not None and e.bound.holds(value, threshold)
    if value is None:
        judgement = Judgement.FAILS
    elif spread is None:
        exact = e.metric in GAUGE_METRICS
        judgement = (
            (Judgement.HOLDS if passed else Judgement.FAILS) if exact else Judgement.UNDECIDED
        )
    else:
        judgement = judge_room(room(e, spread, threshold), strict=e.bound.op in ("<", ">"))
    return Outcome(e, value, threshold, baseline, passed, spread, judgement)


def room(e: Expectation, spread: Interval, threshold: float) -> Interval:
    """How far inside the bound the interval is: positive inside, negative outside."""
    if e.bound.op in (">", ">="):
        return Interval(spread.low - threshold, spread.high - threshold)
    return Interval(threshold - spread.high, threshold - spread.low)


def _measured(
    e: Expectation, views: Sequence[RunView]
) -> tuple[Binned | None, float | None, Interval | None]:
    """The bins, the value and its interval, the runs' records binned once. A quantile's value
    is numpy's linear rule and its resamples the inverted CDF; the two differ by at most a
    rank, so the interval is widened to hold the value. A gauge has no bins and no interval."""
    if e.metric in GAUGE_METRICS:
        return None, measure_runs(e, views), None
    sample = binned_runs(e, views)
    value = sample_value(sample)
    found = interval(sample) if sample is not None else None
    return sample, value, _holding(found, value)


def measured_runs(e: Expectation, views: Sequence[RunView]) -> tuple[float | None, Interval | None]:
    """The value on one run or on repeated runs pooled, and its interval."""
    _sample, value, spread = _measured(e, views)
    return value, spread


def _holding(found: Interval | None, value: float | None) -> Interval | None:
    if found is None or value is None:
        return found
    return Interval(min(found.low, value), max(found.high, value))


def _inside_sign(e: Expectation) -> float:
    return 1.0 if e.bound.op in (">", ">=") else -1.0


def threshold_of(e: Expectation) -> Callable[[np.ndarray], np.ndarray]:
    """A relative bound's number for each resampled baseline value (Bound.threshold, vectorised)."""
    bound = e.bound

    def of(baseline: np.ndarray) -> np.ndarray:
        if bound.baseline_factor is not None:
            limit = baseline * bound.baseline_factor
        else:
            limit = baseline + (bound.baseline_offset or 0.0)
        return limit if e.floor is None else np.maximum(limit, e.floor)

    return of


def judge_runs(
    e: Expectation,
    views: Sequence[RunView],
    against: Expectation | None = None,
    against_views: Sequence[RunView] = (),
) -> Outcome:
    """The expectation on a point's runs; a relative bound against another set of runs (the
    control, or the point's own run in another window) whose noise counts too: the room to
    the bound is bootstrapped from both samples at once."""
    sample, value, spread = _measured(e, views)
    if not e.bound.relative:
        return judge(e, value, None, spread)
    base, baseline, _ = _measured(against, against_views) if against is not None else (None,) * 3
    outcome = judge(e, value, baseline, spread)
    if outcome.judgement is None or outcome.threshold is None or value is None:
        return outcome
    if sample is None or base is None:  # a gauge: exact, judged on its value
        return outcome
    sign = _inside_sign(e)
    found = room_interval(sample, sign, (base, threshold_of(e)))
    room_now = _holding(found, sign * (value - outcome.threshold))
    judgement = judge_room(room_now, strict=e.bound.op in ("<", ">"))
    return replace(outcome, judgement=judgement)


def evaluate(
    expectations: list[Expectation], view: RunView, baseline: dict[str, float | None] | None = None
) -> list[Outcome]:
    """Every expectation on one run; relative bounds read `baseline` (key -> value)."""
    values = baseline or {}
    outcomes = []
    for e in expectations:
        value, spread = measured_runs(e, [view])
        outcomes.append(judge(e, value, values.get(e.key), spread))
    return outcomes
