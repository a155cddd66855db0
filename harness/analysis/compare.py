"""`shieldlab compare RUN_DIR...`: the same panels overlaid across runs, and a table of deltas.

Runs of different scenarios have different windows, so the table compares three phases every
run has: before the first fault, during any fault, after the last one.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from pathlib import Path

from harness.analysis import series as ts
from harness.analysis.report import (
    Document,
    bin_size_s,
    panel_specs,
    write_document,
)
from harness.analysis.series import Series
from harness.analysis.windows import Spans, hit_ratio, inside, percentile, share, split_windows
from harness.errors import BadInput
from harness.records.run_data import RunData, load_run
from harness.records.spans import Span
from harness.records.summary import WindowPhase
from harness.scenario.traffic import Layer, traffic_classes


@dataclass(frozen=True)
class PhaseMetrics:
    requests: int
    error_ratio: float | None
    p95_ms: dict[str, float | None]
    edge_hit: float | None


def phases(run: RunData) -> dict[WindowPhase, Spans]:
    """Before the first fault, during any, after the last, as lists of spans of the run's own
    windows (split_windows); empty when the run has no such phase."""
    windows = split_windows(run.scenario, run.duration_s)
    first, last = windows[0], windows[-1]
    return {
        WindowPhase.BEFORE: [first.span] if first.phase == WindowPhase.BEFORE else [],
        WindowPhase.DURING: [w.span for w in windows if w.phase == WindowPhase.DURING],
        WindowPhase.AFTER: [last.span] if last.phase == WindowPhase.AFTER else [],
    }


def phase_metrics(run: RunData, spans: Spans) -> PhaseMetrics:
    within = inside(run.records, spans)
    p95: dict[str, float | None] = {}
    for traffic in traffic_classes(r.traffic for r in run.records):
        values = [r.latency_ms for r in within if r.traffic == traffic]
        p95[traffic] = percentile(values, 0.95) if values else None
    return PhaseMetrics(
        requests=len(within),
        error_ratio=share(within, lambda r: r.is_error),
        p95_ms=p95,
        edge_hit=hit_ratio(within, Layer.EDGE),
    )


def _row(phase: WindowPhase, metric: str, values: list[float | None], scale: float, unit: str) -> list[str]:
    """One metric across runs; every run after the first shows its delta against the first."""
    first = values[0]
    cells = []
    for index, value in enumerate(values):
        if value is None:
            cells.append("-")  # no request of that kind fell in the phase
            continue
        text = f"{value * scale:.1f}{unit}"
        if index > 0 and first is not None:
            text += f" ({(value - first) * scale:+.1f})"
        cells.append(text)
    return [phase.value, metric, *cells]


def comparison_table(runs: list[RunData]) -> tuple[list[str], list[list[str]]]:
    header = ["phase", "metric"] + [f"{i + 1}: {run.label}" for i, run in enumerate(runs)]
    own = [phases(run) for run in runs]
    # A run without faults (a baseline) is cut where the first run with faults has them.
    reference = next((p for p in own if p[WindowPhase.DURING]), None)
    cuts = [reference if reference is not None and not p[WindowPhase.DURING] else p for p in own]
    rows = []
    for phase in WindowPhase:
        metrics = [phase_metrics(run, cut[phase]) for run, cut in zip(runs, cuts, strict=True)]
        rows.append(_row(phase, "errors", [m.error_ratio for m in metrics], 100, "%"))
        for traffic in traffic_classes(r.traffic for run in runs for r in run.records):
            p95 = [m.p95_ms.get(traffic) for m in metrics]
            rows.append(_row(phase, f"p95 {traffic} ms", p95, 1, ""))
        rows.append(_row(phase, "edge hit ratio", [m.edge_hit for m in metrics], 100, "%"))
    return header, rows


@dataclass(frozen=True)
class Multiple:
    """One panel across runs: a row per run, aligned on scenario time."""

    key: str
    title: str
    ylabel: str
    rows: list[tuple[str, list[Series], list[Span]]]
    log_y: bool
    percent: bool


def multiples(runs: list[RunData]) -> list[Multiple]:
    per_run = [{spec.key: spec for spec in panel_specs(run)} for run in runs]
    keys = list(dict.fromkeys(key for specs in per_run for key in specs))
    result = []
    for key in keys:
        template = next(specs[key] for specs in per_run if key in specs)
        rows = [
            (f"{i + 1}: {runs[i].label}", specs[key].series, runs[i].spans)
            for i, specs in enumerate(per_run)
            if key in specs
        ]
        result.append(
            Multiple(key, template.title, template.ylabel, rows, template.log_y, template.percent)
        )
    return result


def draw(multiple: Multiple, times: list[float]) -> bytes:
    from harness.analysis import plots

    return plots.small_multiples(
        multiple.title, multiple.ylabel, times, multiple.rows, multiple.log_y, multiple.percent
    )


def on_one_clock(runs: list[RunData]) -> tuple[list[RunData], list[float]]:
    """Every run binned on the longest run's time axis, so the rows line up."""
    duration = max(run.duration_s for run in runs)
    aligned = [
        dataclasses.replace(
            r,
            scenario=r.scenario.model_copy(
                update={"load": r.scenario.load.model_copy(update={"duration_s": duration})}
            ),
        )
        for r in runs
    ]
    return aligned, ts.bin_starts(duration, bin_size_s(duration))


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Path:
    if not run_dirs:
        raise BadInput("compare: give at least one run directory")
    runs = [load_run(path) for path in run_dirs]
    aligned, times = on_one_clock(runs)
    panels = [(m.key, m.title, draw(m, times)) for m in multiples(aligned)]
    header, rows = comparison_table(runs)
    listing = [
        f"{i + 1}. `{run.path}` ({run.label}): {run.scenario.hypothesis}"
        for i, run in enumerate(runs)
    ]
    intro = "Deltas are against run 1; shaded windows are run 1's faults.\n\n" + "\n".join(listing)
    intro_html = (
        "<p>Deltas are against run 1; shaded windows are run 1's faults.</p><ol>"
        + "".join(
            f"<li><code>{html.escape(str(run.path))}</code> ({html.escape(run.label)}): {html.escape(run.scenario.hypothesis)}</li>"
            for run in runs
        )
        + "</ol>"
    )
    document = Document(
        "shieldlab comparison",
        intro,
        intro_html,
        [("Before / during / after, side by side", header, rows)],
        panels,
    )
    return write_document(out_dir, "compare", document)
