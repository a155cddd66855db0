"""Cutting a run into windows (before / during / after each fault) and measuring each. Pure.

Percentiles are exact, computed from every request record, not from histogram buckets.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from harness.load.plan import Record
from harness.scenario import LINK_FAULT_TYPES, MirrorsAction, Scenario, Step

TRAFFIC_CLASSES = ("pip", "browser", "mirror")


@dataclass(frozen=True)
class Window:
    label: str
    start_s: float
    end_s: float

    @property
    def span_s(self) -> float:
        return self.end_s - self.start_s


def _short(step: Step) -> str:
    if isinstance(step, LINK_FAULT_TYPES):
        return f"{step.kind} {step.link}"
    if isinstance(step, MirrorsAction):
        return f"mirrors {step.group}"
    value = getattr(step, "worker_slots", None)
    if value is not None:
        return f"workers={value}"
    return f"journals_id_index={getattr(step, 'enabled', '?')}"


def _is_window(step: Step) -> bool:
    return isinstance(step, (*LINK_FAULT_TYPES, MirrorsAction))


def split_windows(scenario: Scenario, duration_s: float) -> list[Window]:
    """Consecutive windows between every start and end on the timeline, named by what is on."""
    bounds = {0.0, duration_s}
    for step in scenario.faults:
        bounds.add(min(step.at, duration_s))
        until = getattr(step, "until", None)
        if until is not None:
            bounds.add(min(until, duration_s))
    edges = sorted(b for b in bounds if b <= duration_s)
    windows = []
    for start, end in zip(edges, edges[1:], strict=False):
        if end - start <= 0:
            continue
        active = [
            _short(s)
            for s in scenario.faults
            if _is_window(s) and s.at <= start < (getattr(s, "until", None) or duration_s)
        ]
        done = [_short(s) for s in scenario.faults if not _is_window(s) and s.at <= start]
        if active:
            label = "during " + ", ".join(active)
        elif start == 0:
            label = "before"
        else:
            label = "after"
        if done:
            label += " [" + ", ".join(done) + "]"
        windows.append(Window(label, start, end))
    return windows


def percentile(values: list[float], q: float) -> float:
    """Exact percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def is_error(record: Record) -> bool:
    return record.status == 0 or record.status >= 500


def error_layer(record: Record) -> str:
    """Which layer produced an error: an edge, the shield, the origin's balancer, the client."""
    if record.error_node.startswith("edge-"):
        return "edge"
    if record.error_node:
        return record.error_node  # shield | origin-lb | client
    return "origin"  # a 5xx the origin app itself returned


def cache_layers(x_cache: str) -> dict[str, str]:
    """X-Cache per layer: with two entries the first is the shield's, the last is always the edge's."""
    parts = [p.strip() for p in x_cache.split(",") if p.strip()]
    if not parts:
        return {}
    layers = {"edge": parts[-1]}
    if len(parts) >= 2:
        layers["shield"] = parts[0]
    return layers


def hit_ratios(records: list[Record]) -> dict[str, float | None]:
    hits: Counter[str] = Counter()
    lookups: Counter[str] = Counter()
    for record in records:
        if record.method != "GET" or record.status != 200:
            continue
        for layer, state in cache_layers(record.x_cache).items():
            lookups[layer] += 1
            hits[layer] += state.startswith("HIT")
    return {
        layer: (hits[layer] / lookups[layer] if lookups[layer] else None)
        for layer in ("edge", "shield")
    }


@dataclass(frozen=True)
class WindowMetrics:
    window: Window
    requests: int
    rate_per_s: float
    error_ratio: float
    errors_by_status: dict[str, int]
    errors_by_layer: dict[str, int]
    latency_ms: dict[str, dict[str, float]]  # class -> p50/p95/p99
    hit_ratio: dict[str, float | None]
    origin_busy_mean: float | None
    origin_busy_max: float | None
    origin_slots: float | None


def measure(
    window: Window,
    records: list[Record],
    busy: list[tuple[float, float]],
    slots: list[tuple[float, float]],
) -> WindowMetrics:
    inside = [r for r in records if window.start_s <= r.intended_s < window.end_s]
    errors = [r for r in inside if is_error(r)]
    latency = {}
    for traffic in TRAFFIC_CLASSES:
        values = [r.latency_ms for r in inside if r.traffic == traffic]
        if values:
            latency[traffic] = {
                "p50": percentile(values, 0.50),
                "p95": percentile(values, 0.95),
                "p99": percentile(values, 0.99),
                "n": float(len(values)),
            }
    busy_in = [v for t, v in busy if window.start_s <= t < window.end_s]
    slots_in = [v for t, v in slots if window.start_s <= t < window.end_s]
    return WindowMetrics(
        window=window,
        requests=len(inside),
        rate_per_s=len(inside) / window.span_s if window.span_s else 0.0,
        error_ratio=len(errors) / len(inside) if inside else 0.0,
        errors_by_status=dict(sorted(Counter(str(r.status) for r in errors).items())),
        errors_by_layer=dict(sorted(Counter(error_layer(r) for r in errors).items())),
        latency_ms=latency,
        hit_ratio=hit_ratios(inside),
        origin_busy_mean=sum(busy_in) / len(busy_in) if busy_in else None,
        origin_busy_max=max(busy_in) if busy_in else None,
        origin_slots=max(slots_in) if slots_in else None,
    )
