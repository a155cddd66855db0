"""Measuring expectations on runs: one evaluator for scenarios, CI suites and signatures. Pure.

Here: which requests an expectation selects, its value on one run or on repeated runs pooled,
and its data cut into the 1 s bins its interval is bootstrapped from. Judging the value against
its bound is harness.analysis.judging.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.uncertainty import (
    Binned,
    Kind,
)
from harness.analysis.windows import (
    Spans,
    after,
    before,
    during,
    inside,
    intersect,
    percentile,
    steady,
    total_span_s,
    values_inside,
)
from harness.records.request import RequestRecord
from harness.records.samples import OriginSlots, Sample
from harness.scenario.expectation import (
    GAUGE_METRICS,
    LATENCY_QUANTILES,
    Expectation,
    Metric,
    Window,
)
from harness.scenario.model import Scenario
from harness.scenario.traffic import Layer
from proxies.contract import BackendGauge

_BACKEND_GAUGES = frozenset(BackendGauge)


@dataclass(frozen=True)
class RunView:
    """What an expectation needs of a run: its scenario, its requests, the origin's gauges."""

    scenario: Scenario
    records: list[RequestRecord]
    busy: list[tuple[float, float]] = field(default_factory=list)
    slots: list[tuple[float, float]] = field(default_factory=list)
    backends: list[Sample] = field(default_factory=list)  # the CDN nodes' backend gauges

    @classmethod
    def of(cls, scenario: Scenario, records: list[RequestRecord], samples: list[Sample]) -> RunView:
        origin = OriginSlots.of(samples)
        backends = [s for s in samples if s.metric in _BACKEND_GAUGES]
        return cls(scenario, records, origin.busy, origin.slots, backends)

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
    """An error the expectation's layers made (any layer when it names none), for one of its
    reasons (any when it names none)."""
    return lambda r: (
        r.is_error
        and (e.layer is None or r.error_layer in e.layer)
        and (e.reason is None or r.error_reason in e.reason)
    )


def _per_record(
    e: Expectation, records: list[RequestRecord]
) -> tuple[Kind, list[float], list[float]]:
    """What each request adds to the metric's numerator and denominator."""
    if e.metric == Metric.REQUESTS_PER_S:
        return Kind.PER_SECOND, [1.0] * len(records), [0.0] * len(records)
    if e.metric in (Metric.HIT_RATIO, Metric.CACHE_STATE_SHARE):
        assert e.layer is not None  # the model requires it
        layer = e.layer[0]
        states = [
            r.cache_state(layer) if r.method == "GET" and r.status == 200 else None for r in records
        ]
        counted = (lambda s: s.is_hit) if e.cache is None else (lambda s: s in (e.cache or []))
        return (
            Kind.RATIO,
            [float(s is not None and counted(s)) for s in states],
            [float(s is not None) for s in states],
        )
    made_by = _made_by(e)
    if e.metric == Metric.ERROR_RATE:
        return Kind.RATIO, [float(made_by(r)) for r in records], [1.0] * len(records)
    if e.metric == Metric.ERROR_SHARE:
        return (
            Kind.RATIO,
            [float(made_by(r)) for r in records],
            [float(r.is_error) for r in records],
        )
    matching = [
        float(
            r.status == e.status
            and (e.layer is None or r.error_layer in e.layer)
            and (e.reason is None or r.error_reason in e.reason)
        )
        for r in records
    ]
    kind = Kind.COUNT if e.metric == Metric.STATUS_COUNT else Kind.RATIO
    return kind, matching, [1.0] * len(records)


def _seconds(spans: Spans) -> list[int]:
    """The 1 s bins a window covers, by the second they start in."""
    return sorted({s for a, b in spans for s in range(math.floor(a), math.ceil(b))})


def binned(e: Expectation, view: RunView) -> Binned | None:
    """The expectation's data cut into 1 s bins; None without a window or for a gauge."""
    spans = chosen_spans(view.scenario, e.windows())
    if not spans or e.metric in GAUGE_METRICS:
        return None
    records = selected(inside(view.records, spans), e)
    seconds = _seconds(spans)
    position = {second: index for index, second in enumerate(seconds)}
    where = np.array([position[math.floor(r.intended_s)] for r in records], dtype=np.intp)
    if e.metric in LATENCY_QUANTILES:
        used = np.unique(where)  # the seconds that have a latency to give
        latencies = np.array([r.latency_ms for r in records], dtype=float)
        order = np.argsort(latencies, kind="stable")
        return Binned(
            Kind.QUANTILE,
            np.zeros(len(used)),
            np.zeros(len(used)),
            latencies[order],
            np.searchsorted(used, where[order]),
            q=LATENCY_QUANTILES[e.metric],
        )
    kind, numer, denom = _per_record(e, records)
    numer_b = np.bincount(where, weights=numer, minlength=len(seconds))
    denom_b = np.bincount(where, weights=denom, minlength=len(seconds))
    if_empty = 0.0 if e.metric == Metric.ERROR_SHARE else None  # no errors: none are its
    if kind is Kind.RATIO:
        # A second with nothing to divide by says nothing of a share, except for a share of
        # errors: a second with requests and no errors is evidence of a share of none.
        requests_b = np.bincount(where, minlength=len(seconds))
        keep = requests_b > 0 if if_empty is not None else denom_b > 0
        numer_b, denom_b = numer_b[keep], denom_b[keep]
    empty = np.zeros(0)
    return Binned(
        kind,
        numer_b,
        denom_b,
        empty,
        empty.astype(np.intp),
        seconds=total_span_s(spans),
        if_empty=if_empty,
    )


def binned_runs(e: Expectation, views: Sequence[RunView]) -> Binned | None:
    """The expectation's bins on one run, or on repeated runs of one point pooled."""
    parts = [b for v in views if (b := binned(e, v)) is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Binned.pooled(parts)


def measure(e: Expectation, view: RunView) -> float | None:
    """The expectation's metric on the run; None when nothing was there to measure."""
    return measure_runs(e, [view])


def measure_runs(e: Expectation, views: Sequence[RunView]) -> float | None:
    """The metric on one run or on repeated runs pooled (a gauge: its peak over them, a share
    of readings: its mean)."""
    if e.metric in GAUGE_METRICS:
        values = [g for v in views if (g := _gauge(e, v)) is not None]
        if not values:
            return None
        return float(np.mean(values)) if e.metric == Metric.BACKEND_SICK_SHARE else max(values)
    return sample_value(binned_runs(e, views))


def sample_value(sample: Binned | None) -> float | None:
    """The metric's value from its bins; None when nothing was there to measure."""
    if sample is None:
        return None
    if sample.kind is Kind.QUANTILE:  # exact, linear between ranks, as every report shows it
        return percentile(list(sample.values), sample.q) if sample.values.size else None
    if sample.kind is Kind.PER_SECOND and sample.seconds <= 0:
        return None
    return sample.point()


def _gauge(e: Expectation, view: RunView) -> float | None:
    spans = chosen_spans(view.scenario, e.windows())
    if e.metric == Metric.ORIGIN_BUSY_RATIO:
        busy, slots = values_inside(view.busy, spans), values_inside(view.slots, spans)
        return max(busy) / max(slots) if busy and slots and max(slots) > 0 else None
    assert e.layer is not None  # the model requires one cache layer
    layer = e.layer[0]
    mine = [s for s in view.backends if Layer.of_node(s.node) is layer]
    within = [s for s in mine if any(a <= s.t_s < b for a, b in spans)]
    if e.metric == Metric.BACKEND_SICK_SHARE:
        readings = [s.value for s in within if s.metric == BackendGauge.HEALTHY]
        return sum(v == 0 for v in readings) / len(readings) if readings else None
    limits = {(s.node, s.labels): s.value for s in mine if s.metric == BackendGauge.MAX_CONNECTIONS}
    ratios = [
        s.value / limit
        for s in within
        if s.metric == BackendGauge.BUSY_FETCHES and (limit := limits.get((s.node, s.labels)))
    ]
    return max(ratios) if ratios else None
