"""A run's summary: windowed metrics, whether the load generator kept up, and the tables."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.analysis.series import points, read_samples
from harness.analysis.windows import (
    TRAFFIC_CLASSES,
    WindowMetrics,
    measure,
    percentile,
    split_windows,
)
from harness.load.plan import Record
from harness.scenario import Scenario

SCHEMA_VERSION = 1
LAG_LIMIT_S = 0.1  # arrivals starting later than this behind schedule: the generator fell behind
FIRST_OF_FLOW = {"pip": "simple_project", "browser": "project_json"}


def load_generator_check(scenario: Scenario, records: list[Record]) -> dict[str, Any]:
    """Did the open-model traffic start when it was meant to, at the rate it was asked for?"""
    asked = {
        "pip": scenario.load.pip.installs_per_s * scenario.load.duration_s,
        "browser": scenario.load.browser.visits_per_s * scenario.load.duration_s,
    }
    result: dict[str, Any] = {}
    for traffic, endpoint in FIRST_OF_FLOW.items():
        firsts = [
            r
            for r in records
            if r.traffic == traffic and r.endpoint == endpoint and r.intended_s != r.start_s
        ]
        lags = [max(0.0, r.start_s - r.intended_s) for r in firsts]
        lag_p99 = percentile(lags, 0.99) if lags else 0.0
        expected = asked[traffic]
        # Poisson arrivals: allow four standard deviations below the asked count.
        enough = len(firsts) >= expected - 4 * math.sqrt(expected) - 1
        result[traffic] = {
            "asked_flows": round(expected),
            "started_flows": len(firsts),
            "start_lag_p99_ms": round(lag_p99 * 1000, 1),
            "kept_up": bool(enough and lag_p99 <= LAG_LIMIT_S),
        }
    result["kept_up"] = all(v["kept_up"] for v in result.values() if isinstance(v, dict))
    return result


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def window_dict(metrics: WindowMetrics) -> dict[str, Any]:
    data = asdict(metrics)
    window = data.pop("window")
    return _rounded(
        {"label": window["label"], "start_s": window["start_s"], "end_s": window["end_s"], **data}
    )


def summarize(scenario: Scenario, records: list[Record], samples_path: Path) -> dict[str, Any]:
    duration = scenario.load.duration_s
    samples = read_samples(samples_path)
    busy = points(samples, "origin", "shieldlab_origin_busy_slots")
    slots = points(samples, "origin", "shieldlab_origin_worker_slots")
    windows = [measure(w, records, busy, slots) for w in split_windows(scenario, duration)]
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "seed": scenario.load.seed,
        "duration_s": duration,
        "requests": len(records),
        "windows": [window_dict(w) for w in windows],
        "load_generator": load_generator_check(scenario, records),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k}:{v}" for k, v in counts.items()) or "-"


TableRows = tuple[list[str], list[list[str]]]


def traffic_table(summary: dict[str, Any]) -> TableRows:
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
    for w in summary["windows"]:
        busy = (
            "-"
            if w["origin_busy_mean"] is None
            else f"{w['origin_busy_mean']:.1f} / {w['origin_busy_max']:.0f} of {w['origin_slots']:.0f}"
        )
        rows.append(
            [
                w["label"],
                f"{w['start_s']:g}-{w['end_s']:g}",
                f"{w['rate_per_s']:.1f}",
                _pct(w["error_ratio"]),
                _counts(w["errors_by_status"]),
                _counts(w["errors_by_layer"]),
                _pct(w["hit_ratio"]["edge"]),
                _pct(w["hit_ratio"]["shield"]),
                busy,
            ]
        )
    return header, rows


def latency_table(summary: dict[str, Any]) -> TableRows:
    """p50 / p95 / p99 per traffic class per window, in ms from the intended start."""
    rows = []
    for w in summary["windows"]:
        cells = []
        for cls in TRAFFIC_CLASSES:
            p = w["latency_ms"].get(cls)
            cells.append("-" if p is None else f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}")
        rows.append([w["label"], *cells])
    return ["window", *TRAFFIC_CLASSES], rows


def _rich_table(title: str, table_rows: TableRows) -> Table:
    header, rows = table_rows
    table = Table(title=title, title_justify="left")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def print_summary(summary: dict[str, Any], console: Console) -> None:
    console.print(
        _rich_table(f"{summary['scenario']}: traffic and errors per window", traffic_table(summary))
    )
    console.print(
        _rich_table("latency from intended start, ms (p50 / p95 / p99)", latency_table(summary))
    )
    check = summary["load_generator"]
    if not check["kept_up"]:
        console.print(
            "[bold yellow]warning:[/] the load generator did not keep the asked rate: "
            + "; ".join(
                f"{cls}: {v['started_flows']} of {v['asked_flows']} flows, start lag p99 {v['start_lag_p99_ms']} ms"
                for cls, v in check.items()
                if isinstance(v, dict)
            )
        )
