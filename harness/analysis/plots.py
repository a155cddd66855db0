"""Drawing panels as PNG bytes (matplotlib, Agg). The only module that imports matplotlib.

Every panel shares the conventions a reader relies on: scenario seconds on x, fault and action
windows shaded and labelled, the legend outside the axes, and one colour per layer, status and
traffic class across every plot of every report.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from harness.analysis.series import PanelSpec, Series  # noqa: E402
from harness.records.spans import Span  # noqa: E402
from harness.scenario.traffic import Layer, TrafficClass  # noqa: E402

COLORS: dict[str, str] = {  # StrEnum members are their values as keys
    # layers
    Layer.EDGE: "#1f77b4",
    Layer.SHIELD: "#ff7f0e",
    Layer.ORIGIN_LB: "#d62728",
    Layer.ORIGIN: "#8c564b",
    Layer.CLIENT: "#7f7f7f",
    Layer.TAP: "#e377c2",
    # statuses
    "502": "#d62728",
    "503": "#ff7f0e",
    "504": "#9467bd",
    # traffic classes
    TrafficClass.PIP: "#2ca02c",
    TrafficClass.BROWSER: "#17becf",
    TrafficClass.MIRROR: "#bcbd22",
    # percentiles
    "p50": "#2ca02c",
    "p95": "#ff7f0e",
    "p99": "#d62728",
    # origin gauges
    "busy slots": "#d62728",
    "worker slots": "#000000",
    "queue length": "#9467bd",
    "queue wait (ms)": "#8c564b",
}
RUN_COLORS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
]
SPAN_COLORS = ["#999999", "#e6a817", "#5b9bd5", "#c55a11", "#70ad47"]


def color_for(name: str, index: int) -> str:
    return COLORS.get(name, RUN_COLORS[index % len(RUN_COLORS)])


def shade(ax: Axes, spans: list[Span]) -> None:
    """Shade each fault window and mark each instant, labelled at the top of the axes."""
    for index, span in enumerate(spans):
        color = SPAN_COLORS[index % len(SPAN_COLORS)]
        if span.end_s > span.start_s:
            ax.axvspan(span.start_s, span.end_s, color=color, alpha=0.15, lw=0)
        else:
            ax.axvline(span.start_s, color=color, ls="--", lw=1.2)
        ax.text(
            span.start_s,
            1.0 - 0.07 * (index % 4),
            " " + span.label,
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            ha="left",
            color="#333333",
            clip_on=True,
        )


def _finish(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def line_panel(
    spec: PanelSpec, times: list[float], spans: list[Span], styles: dict[str, str] | None = None
) -> bytes:
    """One panel of lines over scenario time; `styles` maps a series name to a line style."""
    title, ylabel, series, log_y, percent = (
        spec.title, spec.ylabel, spec.series, spec.log_y, spec.percent
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(10, 3.4))
    drawn = 0
    for index, line in enumerate(series):
        points = [(t, v) for t, v in zip(times, line.values, strict=False) if v is not None]
        if not points or (log_y and not any(v > 0 for _, v in points)):
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(
            xs,
            ys,
            label=line.name,
            color=color_for(line.name.split(" · ")[-1], index),
            ls=(styles or {}).get(line.name, "-"),
            lw=1.4,
        )
        drawn += 1
    shade(ax, spans)
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel("scenario time (s)")
    ax.set_ylabel(ylabel)
    if times:
        ax.set_xlim(0, times[-1] + (times[1] - times[0] if len(times) > 1 else 1))
    if log_y:
        ax.set_yscale("log")
    elif percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(bottom=0)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(
            0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#777777"
        )
    return _finish(fig)


def small_multiples(
    title: str,
    ylabel: str,
    times: list[float],
    rows: list[tuple[str, list[Series], list[Span]]],
    log_y: bool = False,
    percent: bool = False,
) -> bytes:
    """The same panel once per run, stacked on one time axis, each with its own fault windows."""
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(10, 1.9 * len(rows) + 0.6), sharex=True, squeeze=False
    )
    handles: dict[str, object] = {}
    for ax, (label, series, spans) in zip(axes[:, 0], rows, strict=True):
        for index, line in enumerate(series):
            points = [(t, v) for t, v in zip(times, line.values, strict=False) if v is not None]
            if not points or not any(v > 0 for _, v in points):
                continue  # an all-zero line adds nothing but clutter
            xs, ys = zip(*points, strict=True)
            (drawn,) = ax.plot(xs, ys, color=color_for(line.name, index), lw=1.3, label=line.name)
            handles.setdefault(line.name, drawn)
        shade(ax, spans)
        ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        if log_y:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
            if percent:
                ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_title(f"{title} ({ylabel})", fontsize=11, loc="left")
    axes[-1, 0].set_xlabel("scenario time (s)")
    if times:
        axes[-1, 0].set_xlim(0, times[-1] + (times[1] - times[0] if len(times) > 1 else 1))
    if handles:
        axes[0, 0].legend(
            handles.values(),
            handles.keys(),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
        )
    return _finish(fig)
