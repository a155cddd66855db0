"""A run's summary: windowed metrics, whether the load generator kept up, and the tables."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from harness.analysis.windows import measure, percentile, split_windows
from harness.records.request import RequestRecord
from harness.records.samples import OriginSlots, Sample
from harness.records.summary import ClassLoad, LoadGeneratorCheck, Summary
from harness.scenario.model import Scenario
from harness.scenario.traffic import Layer, TrafficClass, traffic_classes
from proxies.contract import EndpointClass

LAG_LIMIT_S = 0.1  # arrivals starting later than this behind schedule: the generator fell behind
FIRST_OF_FLOW = {
    TrafficClass.PIP: EndpointClass.SIMPLE_PROJECT,
    TrafficClass.BROWSER: EndpointClass.PROJECT_JSON,
}


def load_generator_check(scenario: Scenario, records: list[RequestRecord]) -> LoadGeneratorCheck:
    """Did the open-model traffic start when it was meant to, at the rate it was asked for?

    A flow's first request carries its arrival time (intended start) apart from when it was sent;
    for a recorded mix that is a session's first request, whatever its endpoint."""
    duration = scenario.load.duration_s
    asked: dict[str, tuple[float, EndpointClass | None]] = {
        TrafficClass.PIP: (
            scenario.load.pip.installs_per_s * duration,
            FIRST_OF_FLOW[TrafficClass.PIP],
        ),
        TrafficClass.BROWSER: (
            scenario.load.browser.visits_per_s * duration,
            FIRST_OF_FLOW[TrafficClass.BROWSER],
        ),
    }
    for mix in scenario.load.mixes:
        if mix.name and mix.sessions_per_s > 0:
            asked[mix.name] = (mix.sessions_per_s * duration, None)
    classes: dict[str, ClassLoad] = {}
    for traffic, (expected, endpoint) in asked.items():
        firsts = [
            r
            for r in records
            if r.traffic == traffic
            and (endpoint is None or r.endpoint == endpoint)
            and r.intended_s != r.start_s
        ]
        lags = [max(0.0, r.start_s - r.intended_s) for r in firsts]
        lag_p99 = percentile(lags, 0.99) if lags else 0.0
        # Poisson arrivals: allow four standard deviations below the asked count.
        enough = len(firsts) >= expected - 4 * math.sqrt(expected) - 1
        classes[traffic] = ClassLoad(
            asked_flows=round(expected),
            started_flows=len(firsts),
            start_lag_p99_ms=round(lag_p99 * 1000, 1),
            kept_up=bool(enough and lag_p99 <= LAG_LIMIT_S),
        )
    return LoadGeneratorCheck(kept_up=all(c.kept_up for c in classes.values()), classes=classes)


def summarize(
    scenario: Scenario,
    records: list[RequestRecord],
    samples: list[Sample],
    measured: dict[str, float | None] | None = None,
    spread: dict[str, tuple[float, float]] | None = None,
) -> Summary:
    duration = scenario.load.duration_s
    origin = OriginSlots.of(samples)
    busy, slots = origin.busy, origin.slots
    return Summary(
        scenario=scenario.name,
        seed=scenario.load.seed,
        duration_s=duration,
        requests=len(records),
        windows=[measure(w, records, busy, slots) for w in split_windows(scenario, duration)],
        load_generator=load_generator_check(scenario, records),
        measured=measured or {},
        spread=spread or {},
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _counts(counts: dict[int, int] | dict[Layer, int]) -> str:
    return " ".join(f"{k}:{v}" for k, v in counts.items()) or "-"


TableRows = tuple[list[str], list[list[str]]]


def traffic_table(summary: Summary) -> TableRows:
    """Traffic, errors, caches and the origin per window: the console's and the report's table."""
    header = [
        "window",
        "s",
        "req/s",
        "errors",
        "by status",
        "by layer",
        "hit edge",
        "hit shield",
        "origin busy mean / max",
    ]
    rows = []
    for w in summary.windows:
        busy = (
            "-"
            if w.origin_busy_mean is None
            else f"{w.origin_busy_mean:.1f} / {w.origin_busy_max or 0:.0f} of {w.origin_slots or 0:.0f}"
        )
        rows.append(
            [
                w.label,
                f"{w.start_s:g}-{w.end_s:g}",
                f"{w.rate_per_s:.1f}",
                _pct(w.error_ratio),
                _counts(w.errors_by_status),
                _counts(w.errors_by_layer),
                _pct(w.hit_ratio.get(Layer.EDGE)),
                _pct(w.hit_ratio.get(Layer.SHIELD)),
                busy,
            ]
        )
    return header, rows


def latency_table(summary: Summary) -> TableRows:
    """p50 / p95 / p99 per traffic class per window, in ms from the intended start."""
    rows = []
    classes = traffic_classes(t for w in summary.windows for t in w.latency)
    for w in summary.windows:
        cells = []
        for traffic in classes:
            p = w.latency.get(traffic)
            cells.append("-" if p is None else f"{p.p50_ms:.0f} / {p.p95_ms:.0f} / {p.p99_ms:.0f}")
        rows.append([w.label, *cells])
    return ["window", *classes], rows


def _rich_table(title: str, table_rows: TableRows) -> Table:
    header, rows = table_rows
    table = Table(title=title, title_justify="left")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def print_summary(summary: Summary, console: Console) -> None:
    console.print(
        _rich_table(f"{summary.scenario}: traffic and errors per window", traffic_table(summary))
    )
    console.print(
        _rich_table("latency from intended start, ms (p50 / p95 / p99)", latency_table(summary))
    )
    shortfall = summary.load_generator.shortfall()
    if shortfall:
        console.print("[bold yellow]warning:[/] " + shortfall)
