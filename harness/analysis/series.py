"""Time series of a run, cut into fixed bins of scenario time: the data behind every plot. Pure.

Every function takes records, samples or events and returns plain lists, so the plots are
tested through the data handed to them.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.analysis.windows import (
    TRAFFIC_CLASSES,
    cache_layers,
    error_layer,
    is_error,
    percentile,
)
from harness.load.plan import Record

ERROR_STATUSES = ("502", "503", "504", "client")
ERROR_LAYERS = ("edge", "shield", "origin-lb", "origin", "client")


@dataclass(frozen=True)
class Series:
    """One line on a plot: a name and a value (or None: no data) per bin."""

    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Span:
    """A shaded band on every plot: a fault, an action window, or an instant (end == start)."""

    label: str
    start_s: float
    end_s: float


def bin_starts(duration_s: float, bin_s: float) -> list[float]:
    return [i * bin_s for i in range(max(1, math.ceil(duration_s / bin_s)))]


def _bins(records: list[Record], duration_s: float, bin_s: float) -> list[list[Record]]:
    bins: list[list[Record]] = [[] for _ in bin_starts(duration_s, bin_s)]
    for record in records:
        index = int(record.intended_s // bin_s)
        if 0 <= index < len(bins):
            bins[index].append(record)
    return bins


def request_rate(records: list[Record], duration_s: float, bin_s: float) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    return [
        Series(traffic, [sum(r.traffic == traffic for r in b) / bin_s for b in bins])
        for traffic in TRAFFIC_CLASSES
    ]


def _status_key(record: Record) -> str:
    return "client" if record.status == 0 else str(record.status)


def error_rate_by_status(records: list[Record], duration_s: float, bin_s: float) -> list[Series]:
    """Share of all requests in a bin that ended in each error status (0..1)."""
    bins = _bins(records, duration_s, bin_s)
    result = []
    for status in ERROR_STATUSES:
        values: list[float | None] = [
            (sum(is_error(r) and _status_key(r) == status for r in b) / len(b)) if b else None
            for b in bins
        ]
        result.append(Series(status, values))
    return result


def error_rate_by_layer(records: list[Record], duration_s: float, bin_s: float) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    return [
        Series(
            layer,
            [
                (sum(is_error(r) and error_layer(r) == layer for r in b) / len(b)) if b else None
                for b in bins
            ],
        )
        for layer in ERROR_LAYERS
    ]


def latency_percentiles(
    records: list[Record], duration_s: float, bin_s: float
) -> dict[str, list[Series]]:
    """Per traffic class: p50, p95, p99 latency (ms, from the intended start) per bin."""
    bins = _bins(records, duration_s, bin_s)
    result = {}
    for traffic in TRAFFIC_CLASSES:
        per_bin = [[r.latency_ms for r in b if r.traffic == traffic] for b in bins]
        if not any(per_bin):
            continue
        result[traffic] = [
            Series(name, [percentile(values, q) if values else None for values in per_bin])
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        ]
    return result


def hit_ratio(records: list[Record], duration_s: float, bin_s: float) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    result = []
    for layer in ("edge", "shield"):
        values: list[float | None] = []
        for b in bins:
            states = [
                cache_layers(r.x_cache).get(layer)
                for r in b
                if r.method == "GET" and r.status == 200
            ]
            looked = [s for s in states if s]
            values.append(
                sum(s.startswith("HIT") for s in looked) / len(looked) if looked else None
            )
        result.append(Series(layer, values))
    return result


@dataclass(frozen=True)
class Sample:
    t_s: float
    node: str
    metric: str
    labels: str
    value: float


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [
            Sample(float(r["t_s"]), r["node"], r["metric"], r["labels"], float(r["value"]))
            for r in csv.DictReader(handle)
        ]


def points(samples: list[Sample], node: str, metric: str) -> list[tuple[float, float]]:
    """(t_s, value) of one node's metric, in scrape order."""
    return [(s.t_s, s.value) for s in samples if s.node == node and s.metric == metric]


def gauge(
    samples: list[Sample], node: str, metric: str, duration_s: float, bin_s: float
) -> list[float | None]:
    """The mean of a gauge's samples in each bin."""
    sums: dict[int, list[float]] = defaultdict(list)
    for s in samples:
        if s.node == node and s.metric == metric and 0 <= s.t_s < duration_s:
            sums[int(s.t_s // bin_s)].append(s.value)
    return [
        (sum(sums[i]) / len(sums[i])) if sums.get(i) else None
        for i in range(len(bin_starts(duration_s, bin_s)))
    ]


def mean_queue_wait_ms(
    samples: list[Sample], duration_s: float, bin_s: float
) -> list[float | None]:
    """Mean wait for a worker slot per bin, from the histogram's running sum and count."""
    totals: dict[float, dict[str, float]] = defaultdict(dict)
    for s in samples:
        if s.node == "origin" and s.metric in (
            "shieldlab_origin_queue_wait_seconds_sum",
            "shieldlab_origin_queue_wait_seconds_count",
        ):
            totals[s.t_s][s.metric.rsplit("_", 1)[1]] = s.value
    points = sorted((t, v.get("sum", 0.0), v.get("count", 0.0)) for t, v in totals.items())
    waits: dict[int, list[float]] = defaultdict(list)
    for (_, sum0, count0), (t1, sum1, count1) in zip(points, points[1:], strict=False):
        if count1 > count0 and 0 <= t1 < duration_s:
            waits[int(t1 // bin_s)].append((sum1 - sum0) / (count1 - count0) * 1000)
    return [
        (sum(waits[i]) / len(waits[i])) if waits.get(i) else None
        for i in range(len(bin_starts(duration_s, bin_s)))
    ]


def spans_from_events(path: Path, duration_s: float) -> list[Span]:
    """Fault and action windows as they really happened, from events.jsonl."""
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    open_at: dict[int, tuple[str, float]] = {}
    spans = []
    for event in events:
        kind = event.get("kind")
        if kind is None:
            continue
        label = _label(event)
        if event["event"] == "applied" or (event["event"] == "action" and kind == "mirrors"):
            open_at[event["step"]] = (label, event["t_s"])
        elif event["event"] in ("removed", "action_end") and event["step"] in open_at:
            label, start = open_at.pop(event["step"])
            spans.append(Span(label, start, event["t_s"]))
        elif event["event"] == "action":
            spans.append(Span(label, event["t_s"], event["t_s"]))
    spans.extend(Span(label, start, duration_s) for label, start in open_at.values())
    return sorted(spans, key=lambda s: s.start_s)


def _label(event: dict[str, Any]) -> str:
    kind = str(event["kind"])
    if "link" in event:
        detail = f" {float(event['latency_ms']):.0f} ms" if kind == "latency" else ""
        return f"{kind}{detail} {event['link']}"
    if kind == "origin_workers":
        return f"workers={event['worker_slots']}"
    if kind == "journals_id_index":
        return f"journals.id index={'on' if event.get('enabled') else 'off'}"
    if kind == "mirrors":
        return f"mirrors {event['group']}"
    return kind
