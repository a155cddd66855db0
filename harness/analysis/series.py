"""Time series of a run, cut into fixed bins of scenario time: the data behind every plot. Pure.

Every function takes records, samples or events and returns plain lists, so the plots are
tested through the data handed to them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from harness.analysis.windows import hit_ratio as window_hit_ratio
from harness.analysis.windows import percentile
from harness.records.events import Event, FaultApplied, FaultRemoved
from harness.records.request import RequestRecord
from harness.records.samples import DROPPED, LOSS_METRIC, LOSS_NODE, SEEN, Sample
from harness.scenario.steps import LossFault
from harness.scenario.traffic import CACHE_LAYERS, Layer, traffic_classes
from proxies import contract

ERROR_STATUSES = ("502", "503", "504", "client")
ERROR_LAYERS = tuple(Layer)


@dataclass(frozen=True)
class Series:
    """One line on a plot: a name and a value (or None: no data) per bin."""

    name: str
    values: list[float | None]


@dataclass(frozen=True)
class PanelSpec:
    """One plot: its key (file and HTML anchor), title, y axis, lines and scale."""

    key: str
    title: str
    ylabel: str
    series: list[Series]
    log_y: bool = False
    percent: bool = False


def bin_starts(duration_s: float, bin_s: float) -> list[float]:
    return [i * bin_s for i in range(max(1, math.ceil(duration_s / bin_s)))]


def _bins(
    records: list[RequestRecord], duration_s: float, bin_s: float
) -> list[list[RequestRecord]]:
    bins: list[list[RequestRecord]] = [[] for _ in bin_starts(duration_s, bin_s)]
    for record in records:
        index = int(record.intended_s // bin_s)
        if 0 <= index < len(bins):
            bins[index].append(record)
    return bins


def request_rate(records: list[RequestRecord], duration_s: float, bin_s: float) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    return [
        Series(traffic, [sum(r.traffic == traffic for r in b) / bin_s for b in bins])
        for traffic in traffic_classes(r.traffic for r in records)
    ]


def _status_key(record: RequestRecord) -> str:
    return "client" if record.status == 0 else str(record.status)


def error_rate_by_status(
    records: list[RequestRecord], duration_s: float, bin_s: float
) -> list[Series]:
    """Share of all requests in a bin that ended in each error status (0..1)."""
    bins = _bins(records, duration_s, bin_s)
    result = []
    for status in ERROR_STATUSES:
        values: list[float | None] = [
            (sum(r.is_error and _status_key(r) == status for r in b) / len(b)) if b else None
            for b in bins
        ]
        result.append(Series(status, values))
    return result


def error_rate_by_layer(
    records: list[RequestRecord], duration_s: float, bin_s: float
) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    return [
        Series(
            layer.value,
            [(sum(r.error_layer == layer for r in b) / len(b)) if b else None for b in bins],
        )
        for layer in ERROR_LAYERS
    ]


def latency_percentiles(
    records: list[RequestRecord], duration_s: float, bin_s: float
) -> dict[str, list[Series]]:
    """Per traffic class: p50, p95, p99 latency (ms, from the intended start) per bin."""
    bins = _bins(records, duration_s, bin_s)
    result = {}
    for traffic in traffic_classes(r.traffic for r in records):
        per_bin = [[r.latency_ms for r in b if r.traffic == traffic] for b in bins]
        if not any(per_bin):
            continue
        result[traffic] = [
            Series(name, [percentile(values, q) if values else None for values in per_bin])
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        ]
    return result


def hit_ratio(records: list[RequestRecord], duration_s: float, bin_s: float) -> list[Series]:
    bins = _bins(records, duration_s, bin_s)
    return [
        Series(layer.value, [window_hit_ratio(b, layer) for b in bins]) for layer in CACHE_LAYERS
    ]


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
        if s.node == contract.ORIGIN_NODE and s.metric in (
            f"{contract.QUEUE_WAIT_HISTOGRAM}_sum",
            f"{contract.QUEUE_WAIT_HISTOGRAM}_count",
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


def loss_fractions(
    samples: list[Sample], events: list[Event], duration_s: float, bin_s: float
) -> list[Series]:
    """Per link with a loss fault: the share of its packets the kernel dropped in each bin
    (from the rules' counters), beside the share the scenario asked for while it was on."""
    totals: dict[str, dict[float, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for s in samples:
        if s.node != LOSS_NODE or s.metric != LOSS_METRIC:
            continue
        labels = s.label_map
        per_time = totals[labels.get("link", "?")][s.t_s]
        key = labels.get("count", "?")
        per_time[key] = per_time.get(key, 0.0) + s.value  # both directions together
    result = []
    bins = len(bin_starts(duration_s, bin_s))
    for link, by_time in sorted(totals.items()):
        points = sorted((t, v.get(SEEN, 0.0), v.get(DROPPED, 0.0)) for t, v in by_time.items())
        seen: dict[int, float] = defaultdict(float)
        dropped: dict[int, float] = defaultdict(float)
        for (_, seen0, dropped0), (t1, seen1, dropped1) in zip(points, points[1:], strict=False):
            if seen1 >= seen0 and 0 <= t1 < duration_s:  # a reset counter starts a new rule
                seen[int(t1 // bin_s)] += seen1 - seen0
                dropped[int(t1 // bin_s)] += dropped1 - dropped0
        result.append(
            Series(
                f"{link} dropped",
                [dropped[i] / seen[i] if seen.get(i) else None for i in range(bins)],
            )
        )
        asked: list[float | None] = [None] * bins
        for event in events:
            if (
                isinstance(event, FaultApplied)
                and isinstance(event.step, LossFault)
                and link in event.links
            ):
                end = next(
                    (
                        e.t_s
                        for e in events
                        if isinstance(e, FaultRemoved) and e.index == event.index
                    ),
                    duration_s,
                )
                for i in range(int(event.t_s // bin_s), min(bins, int(end // bin_s) + 1)):
                    asked[i] = event.step.probability
        result.append(Series(f"{link} asked", asked))
    return result
