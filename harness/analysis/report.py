"""`shieldlab report RUN_DIR`: report.md and a self-contained report.html for one run.

The panels are described as data first (`panel_specs`), then drawn; tests check the data.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.analysis import series as ts
from harness.analysis.series import PanelSpec, Series
from harness.analysis.summary import latency_table, traffic_table
from harness.records.run_data import RunData, load_run
from harness.records.spans import Span
from harness.scenario.traffic import TrafficClass
from proxies.contract import ORIGIN_NODE, OriginGauge


def bin_size_s(duration_s: float) -> float:
    """About 60 points across a run, never finer than 1 s."""
    return max(1.0, round(duration_s / 60))


FIXED_PANELS = (
    "requests",
    "errors_status",
    "errors_layer",
    "hit_ratio",
    "origin_slots",
    "queue_wait",
    "loss",
)


def known_panels() -> list[str]:
    """Every panel key a run's report can draw (latency_<class> for each traffic class)."""
    return [*FIXED_PANELS, *(f"latency_{t}" for t in TrafficClass)]


def panel_specs(run: RunData) -> list[PanelSpec]:
    d, b = run.duration_s, bin_size_s(run.duration_s)
    specs = [
        PanelSpec(
            "requests",
            "Request rate per traffic class",
            "requests/s",
            ts.request_rate(run.records, d, b),
        ),
        PanelSpec(
            "errors_status",
            "Error rate by status (client: no HTTP answer)",
            "share of requests",
            ts.error_rate_by_status(run.records, d, b),
            percent=True,
        ),
        PanelSpec(
            "errors_layer",
            "Error rate by the layer that produced the error",
            "share of requests",
            ts.error_rate_by_layer(run.records, d, b),
            percent=True,
        ),
    ]
    for traffic, lines in ts.latency_percentiles(run.records, d, b).items():
        specs.append(
            PanelSpec(
                f"latency_{traffic}",
                f"Latency of {traffic} requests, from intended start",
                "ms (log)",
                lines,
                log_y=True,
            )
        )
    specs += [
        PanelSpec(
            "hit_ratio",
            "Cache hit ratio per layer (GETs answered 200)",
            "hit ratio",
            ts.hit_ratio(run.records, d, b),
            percent=True,
        ),
        PanelSpec(
            "origin_slots",
            "Origin worker slots and queue",
            "count",
            [
                # The limit first, so the busy line is drawn over it where they meet.
                Series(
                    "worker slots",
                    ts.gauge(run.samples, ORIGIN_NODE, OriginGauge.WORKER_SLOTS, d, b),
                ),
                Series(
                    "busy slots",
                    ts.gauge(run.samples, ORIGIN_NODE, OriginGauge.BUSY_SLOTS, d, b),
                ),
                Series(
                    "queue length",
                    ts.gauge(run.samples, ORIGIN_NODE, OriginGauge.QUEUE_LENGTH, d, b),
                ),
            ],
        ),
        PanelSpec(
            "queue_wait",
            "Origin: mean wait for a worker slot",
            "ms",
            [Series("queue wait (ms)", ts.mean_queue_wait_ms(run.samples, d, b))],
        ),
    ]
    loss = ts.loss_fractions(run.samples, run.events, d, b)
    if loss:
        specs.append(
            PanelSpec(
                "loss",
                "Packet loss per link: dropped by the kernel against asked",
                "share of packets",
                loss,
                percent=True,
            )
        )
    return specs


def render(
    spec: PanelSpec, times: list[float], spans: list[Span], styles: dict[str, str] | None = None
) -> bytes:
    from harness.analysis import plots  # matplotlib loads only when something is drawn

    return plots.line_panel(spec, times, spans, styles)


@dataclass(frozen=True)
class Styled:
    """A table cell with a CSS class (its colour in HTML; Markdown shows the text)."""

    text: str
    css: str


TableCell = str | Styled
Rows = Sequence[Sequence[TableCell]]
Table = tuple[str, list[str], Rows]  # heading, header, rows


def _text(cell: TableCell) -> str:
    return cell.text if isinstance(cell, Styled) else cell


def markdown_table(header: list[str], rows: Rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(_text(c).replace("|", "/").replace("\n", " ") for c in row) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def _html_cell(cell: TableCell) -> str:
    text = html.escape(_text(cell)).replace("\n", "<br>")
    return f'<td class="{cell.css}">{text}</td>' if isinstance(cell, Styled) else f"<td>{text}</td>"


def html_table(header: list[str], rows: Rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


HTML_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%;display:block;margin:1em 0}.pass{color:#2a7a2a}.fail{color:#b22}"
    ".holds,.consistent{background:#c8ecc8}.fails,.ruled-out{background:#f6c6c6}"
    ".undecided{background:#fbe3a6}.na,.void,.not-tested{background:#e4e4e4;color:#555}"
    ".answer{font-size:17px;border-left:6px solid #888;padding:.4em 1em;background:#fafafa}"
    "details{margin:.6em 0}summary{cursor:pointer;font-weight:bold}"
)


@dataclass(frozen=True)
class Document:
    """What a report shows, in the order it shows it: the answer first, then the tables, then
    the panels (key, title, PNG)."""

    title: str
    intro_md: str
    intro_html: str
    tables: list[Table]
    panels: list[tuple[str, str, bytes]]


def write_document(out_dir: Path, stem: str, document: Document) -> Path:
    """<stem>.md (PNG files beside it) and a self-contained <stem>.html with the same content."""
    out_dir.mkdir(parents=True, exist_ok=True)
    title = document.title
    md = [f"# {title}", "", document.intro_md, ""]
    body = [f"<h1>{html.escape(title)}</h1>", document.intro_html]
    for heading, header, rows in document.tables:
        md += [f"## {heading}", "", markdown_table(header, rows), ""]
        body += [f"<h2>{html.escape(heading)}</h2>", html_table(header, rows)]
    md.append("## Panels\n")
    body.append("<h2>Panels</h2>")
    for key, panel_title, png in document.panels:
        image = out_dir / f"{stem}-{key}.png"
        image.write_bytes(png)
        md += [f"![{panel_title}]({image.name})", ""]
        encoded = base64.b64encode(png).decode()
        body.append(
            f'<img alt="{html.escape(panel_title)}" data-panel="{key}" src="data:image/png;base64,{encoded}">'
        )
    (out_dir / f"{stem}.md").write_text("\n".join(md))
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head><body>{''.join(body)}</body></html>"
    target = out_dir / f"{stem}.html"
    target.write_text(page)
    return target


def write_report(run_dir: Path) -> Path:
    run = load_run(run_dir)
    times = ts.bin_starts(run.duration_s, bin_size_s(run.duration_s))
    panels = [(spec.key, spec.title, render(spec, times, run.spans)) for spec in panel_specs(run)]
    intro = f"{run.scenario.description}\n\nHypothesis: {run.scenario.hypothesis}\n\nRun: `{run_dir.name}`, seed {run.scenario.load.seed}, {len(run.records)} requests."
    intro_html = "".join(f"<p>{html.escape(p)}</p>" for p in intro.split("\n\n"))
    document = Document(
        f"shieldlab run: {run.scenario.name}",
        intro,
        intro_html,
        [
            ("Windows (before / during / after each fault)", *traffic_table(run.summary)),
            (
                "Latency per window, ms from the intended start (p50 / p95 / p99)",
                *latency_table(run.summary),
            ),
        ],
        panels,
    )
    return write_document(run_dir, "report", document)
