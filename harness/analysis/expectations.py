"""Evaluating expectations on runs: one evaluator for scenarios, CI suites and signatures. Pure.

A measurement with no data (no request in the window and selectors) fails: an expectation that
cannot be checked must not pass quietly. A relative bound without a baseline value is not
judged at all (`passed` is None) and the caller decides what that means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.analysis.windows import (
    Spans,
    after,
    before,
    during,
    hit_ratio,
    inside,
    intersect,
    percentile,
    steady,
    total_span_s,
    values_inside,
)
from harness.expectation import LATENCY_QUANTILES, Expectation, Metric, Window
from harness.records.request import RequestRecord
from harness.records.samples import Sample, points
from harness.scenario import Scenario
from proxies.contract import ORIGIN_NODE, OriginGauge


@dataclass(frozen=True)
class RunView:
    """What an expectation needs of a run: its scenario, its requests, the origin's gauges."""

    scenario: Scenario
    records: list[RequestRecord]
    busy: list[tuple[float, float]] = field(default_factory=list)
    slots: list[tuple[float, float]] = field(default_factory=list)

    @classmethod
    def of(cls, scenario: Scenario, records: list[RequestRecord], samples: list[Sample]) -> RunView:
        return cls(
            scenario,
            records,
            points(samples, ORIGIN_NODE, OriginGauge.BUSY_SLOTS),
            points(samples, ORIGIN_NODE, OriginGauge.WORKER_SLOTS),
        )

    @property
    def duration_s(self) -> float:
        return self.scenario.load.duration_s


def window_spans(scenario: Scenario, window: Window) -> Spans:
    """The stretches of the run a window selects: the intersection of what it names."""
    d = scenario.load.duration_s
    spans: Spans = [(0.0, d)]
    if window.before is not None:
        spans = intersect(spans, before(scenario, window.before, d))
    if window.during is not None:
        spans = intersect(spans, during(scenario, window.during, d))
    if window.after is not None:
        spans = intersect(spans, after(scenario, window.after, d))
    if window.steady:
        spans = intersect(spans, steady(d))
    return spans


def chosen_spans(scenario: Scenario, windows: list[Window]) -> Spans:
    """The first of the windows that is not empty (an empty list when all are)."""
    for window in windows:
        spans = window_spans(scenario, window)
        if spans:
            return spans
    return []


def selected(records: list[RequestRecord], e: Expectation) -> list[RequestRecord]:
    return [
        r
        for r in records
        if (e.traffic is None or r.traffic in e.traffic) and (e.pop is None or r.pop in e.pop)
    ]


def _made_by(e: Expectation) -> Callable[[RequestRecord], bool]:
    """An error the expectation's layers made (any layer when it names none)."""
    return lambda r: r.is_error and (e.layer is None or r.error_layer in e.layer)


def _ratio(count: int, total: int) -> float | None:
    return count / total if total else None


def measure(e: Expectation, view: RunView) -> float | None:
    """The expectation's metric on the run; None when nothing was there to measure."""
    spans = chosen_spans(view.scenario, e.windows())
    records = selected(inside(view.records, spans), e)
    if e.metric == Metric.ORIGIN_BUSY_RATIO:
        busy, slots = values_inside(view.busy, spans), values_inside(view.slots, spans)
        return max(busy) / max(slots) if busy and slots and max(slots) > 0 else None
    if e.metric == Metric.REQUESTS_PER_S:
        span = total_span_s(spans)
        return len(records) / span if span > 0 else None
    if e.metric in LATENCY_QUANTILES:
        latencies = [r.latency_ms for r in records]
        return percentile(latencies, LATENCY_QUANTILES[e.metric]) if latencies else None
    if e.metric == Metric.HIT_RATIO:
        assert e.layer is not None  # the model requires it
        return hit_ratio(records, e.layer[0])
    made_by = _made_by(e)
    if e.metric == Metric.ERROR_RATE:
        return _ratio(sum(made_by(r) for r in records), len(records))
    if e.metric == Metric.ERROR_SHARE:
        errors = [r for r in records if r.is_error]
        return _ratio(sum(made_by(r) for r in errors), len(errors)) if errors else 0.0
    matching = sum(
        r.status == e.status and (e.layer is None or r.error_layer in e.layer) for r in records
    )
    if e.metric == Metric.STATUS_COUNT:
        return float(matching) if spans else None
    return _ratio(matching, len(records))  # STATUS_RATE


@dataclass(frozen=True)
class Outcome:
    """One expectation judged on one run."""

    expectation: Expectation
    value: float | None
    threshold: float | None
    baseline: float | None
    passed: bool | None  # None: a relative bound without a baseline value, not judged

    @property
    def detail(self) -> str:
        if self.passed is None:
            return "no baseline value to compare with"
        if self.value is None:
            return "no data: nothing in the window matched the selectors"
        against = f" (baseline {fmt(self.baseline)})" if self.baseline is not None else ""
        return f"measured {fmt(self.value)}, bound {self.expectation.bound.op} {fmt(self.threshold)}{against}"


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"


def judge(e: Expectation, value: float | None, baseline: float | None) -> Outcome:
    baseline = baseline if e.bound.relative else None  # an absolute bound has no baseline
    threshold = e.bound.threshold(baseline, e.floor)
    if threshold is None:
        return Outcome(e, value, None, baseline, None)
    passed = value is not None and e.bound.holds(value, threshold)
    return Outcome(e, value, threshold, baseline, passed)


def evaluate(
    expectations: list[Expectation], view: RunView, baseline: dict[str, float | None] | None = None
) -> list[Outcome]:
    """Every expectation on one run; relative bounds read `baseline` (key -> value)."""
    values = baseline or {}
    return [judge(e, measure(e, view), values.get(e.key)) for e in expectations]
