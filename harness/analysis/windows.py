"""Cutting a run into windows and measuring them: the one place that decides what "before",
"during" and "after" a fault mean. Pure.

Percentiles are exact, computed from every request record, not from histogram buckets.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy

from harness.records.request import RequestRecord
from harness.records.summary import LatencyPercentiles, WindowPhase, WindowSummary
from harness.scenario.expectation import ANY_STEP
from harness.scenario.model import Scenario
from harness.scenario.steps import Step, has_window, step_end
from harness.scenario.traffic import CACHE_LAYERS, Layer, traffic_classes

Spans = list[tuple[float, float]]
WARMUP_SHARE = 0.25  # the first quarter of a run: cold caches, the mirrors' first sync


@dataclass(frozen=True)
class Window:
    phase: WindowPhase
    start_s: float
    end_s: float
    active: tuple[str, ...]  # labels of the faults and action windows on
    done: tuple[str, ...]  # labels of the instant actions already taken

    @property
    def label(self) -> str:
        text = self.phase.value
        if self.active:
            text += " " + ", ".join(self.active)
        if self.done:
            text += " [" + ", ".join(self.done) + "]"
        return text

    @property
    def span(self) -> tuple[float, float]:
        return (self.start_s, self.end_s)

    @property
    def span_s(self) -> float:
        return self.end_s - self.start_s


def split_windows(scenario: Scenario, duration_s: float) -> list[Window]:
    """Consecutive windows between every start and end on the timeline, named by what is on."""
    bounds = {0.0, duration_s}
    for step in scenario.faults:
        bounds.add(min(step.at, duration_s))
        if has_window(step):
            bounds.add(step_end(step, duration_s))
    edges = sorted(bounds)
    windows = []
    for start, end in zip(edges, edges[1:], strict=False):
        active = tuple(
            s.label
            for s in scenario.faults
            if has_window(s) and s.at <= start < step_end(s, duration_s)
        )
        done = tuple(s.label for s in scenario.faults if not has_window(s) and s.at <= start)
        started = any(s.at <= start for s in scenario.faults)
        phase = (
            WindowPhase.DURING if active else (WindowPhase.AFTER if started else WindowPhase.BEFORE)
        )
        windows.append(Window(phase, start, end, active, done))
    return windows


def matches(step: Step, name: str) -> bool:
    """A selector names a step by its name or label, by its kind, or `*` for any window."""
    if name == ANY_STEP:
        return has_window(step)
    return name in (step.label, step.kind)


def named_steps(scenario: Scenario, name: str) -> list[Step]:
    return [s for s in scenario.faults if matches(s, name)]


def intersect(a: Spans, b: Spans) -> Spans:
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def during(scenario: Scenario, name: str, duration_s: float) -> Spans:
    spans = [
        (s.at, step_end(s, duration_s) if has_window(s) else duration_s)
        for s in named_steps(scenario, name)
    ]
    return merge(spans)


def before(scenario: Scenario, name: str, duration_s: float) -> Spans:
    """Up to the first time a matching step starts; the whole run when none does."""
    starts = [s.at for s in named_steps(scenario, name)]
    return [(0.0, min(starts, default=duration_s))]


def after(scenario: Scenario, name: str, duration_s: float) -> Spans:
    """From the last time a matching step ends (an instant action: when it is taken)."""
    ends = [step_end(s, duration_s) if has_window(s) else s.at for s in named_steps(scenario, name)]
    if not ends:
        return []
    return [(max(ends), duration_s)] if max(ends) < duration_s else []


def merge(spans: Spans) -> Spans:
    merged: Spans = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def steady(duration_s: float) -> Spans:
    """The run after its warm-up."""
    return [(duration_s * WARMUP_SHARE, duration_s)]


def inside(records: Iterable[RequestRecord], spans: Spans) -> list[RequestRecord]:
    return [r for r in records if any(a <= r.intended_s < b for a, b in spans)]


def values_inside(points: list[tuple[float, float]], spans: Spans) -> list[float]:
    return [v for t, v in points if any(a <= t < b for a, b in spans)]


def total_span_s(spans: Spans) -> float:
    return sum(b - a for a, b in spans)


def percentile(values: list[float], q: float) -> float:
    """Exact percentile (0 <= q <= 1), linear between closest ranks; nan without values."""
    return float(numpy.percentile(values, q * 100)) if values else math.nan


def latency_percentiles(values: list[float]) -> LatencyPercentiles | None:
    if not values:
        return None
    return LatencyPercentiles(
        p50_ms=round(percentile(values, 0.50), 3),
        p95_ms=round(percentile(values, 0.95), 3),
        p99_ms=round(percentile(values, 0.99), 3),
        n=len(values),
    )


def share(records: list[RequestRecord], predicate: Callable[[RequestRecord], bool]) -> float | None:
    return sum(1 for r in records if predicate(r)) / len(records) if records else None


def hit_ratio(records: list[RequestRecord], layer: Layer) -> float | None:
    """Hits among the GETs answered 200 that this cache layer looked up."""
    states = [r.cache_state(layer) for r in records if r.method == "GET" and r.status == 200]
    looked = [s for s in states if s is not None]
    return sum(s.is_hit for s in looked) / len(looked) if looked else None


def measure(
    window: Window,
    records: list[RequestRecord],
    busy: list[tuple[float, float]],
    slots: list[tuple[float, float]],
) -> WindowSummary:
    spans = [(window.start_s, window.end_s)]
    within = inside(records, spans)
    errors = [r for r in within if r.is_error]
    latency = {}
    for traffic in traffic_classes(r.traffic for r in records):
        p = latency_percentiles([r.latency_ms for r in within if r.traffic == traffic])
        if p is not None:
            latency[traffic] = p
    busy_in = values_inside(busy, spans)
    slots_in = values_inside(slots, spans)
    return WindowSummary(
        label=window.label,
        phase=window.phase,
        start_s=window.start_s,
        end_s=window.end_s,
        active=list(window.active),
        done=list(window.done),
        requests=len(within),
        rate_per_s=round(len(within) / window.span_s, 4) if window.span_s else 0.0,
        error_ratio=round(len(errors) / len(within), 6) if within else 0.0,
        errors_by_status=dict(sorted(Counter(r.status for r in errors).items())),
        errors_by_layer={
            layer: n for layer, n in sorted(Counter(r.error_layer for r in errors).items()) if layer
        },
        latency=latency,
        hit_ratio={layer: _round(hit_ratio(within, layer)) for layer in CACHE_LAYERS},
        origin_busy_mean=_round(statistics.fmean(busy_in)) if busy_in else None,
        origin_busy_max=max(busy_in) if busy_in else None,
        origin_slots=max(slots_in) if slots_in else None,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
