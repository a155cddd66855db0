"""Scoring hypotheses against the 2014-07-20 incident signature (FACTS.md). Pure.

S1  user-facing 503s well above baseline, and some 502s
S2  latency up for every traffic class, not just one
S3  the origin not saturated: busy slots well below the limit, few origin-produced errors
S4  adding backend workers does not bring errors back to baseline
S5  the serial-log fix cuts mirror latency

A cell is pass, fail, or n/a (the hypothesis's runs cannot test it); a hypothesis is consistent
when no cell fails and at least S1-S3 were tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from harness.analysis.windows import WARMUP_SHARE, percentile, split_windows
from harness.records.request import Layer, RequestRecord, TrafficClass
from harness.records.summary import WindowPhase
from harness.scenario import OriginWorkersAction, Scenario

SYMPTOMS = ("S1", "S2", "S3", "S4", "S5")
SYMPTOM_TEXT = {
    "S1": "503s well above baseline, some 502s",
    "S2": "latency up for every traffic class",
    "S3": "origin not saturated",
    "S4": "more backend workers do not restore baseline",
    "S5": "the serial-log fix cuts mirror latency",
}


class Thresholds(BaseModel):
    """Every threshold a verdict uses; printed with the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    s1_min_503_increase: float = Field(default=0.02, description="503 share above baseline")
    s1_min_502_count: int = Field(default=1, description="'some 502s'")
    s2_min_p95_factor: float = Field(default=2.0, description="p95 vs baseline, every class")
    s3_max_busy_ratio: float = Field(default=0.9, description="busy slots / slots")
    s3_max_origin_error_share: float = Field(
        default=0.01, description="origin-made errors / requests"
    )
    s4_min_error_increase: float = Field(
        default=0.02, description="errors above baseline after scale-up"
    )
    s5_min_mirror_p95_cut: float = Field(
        default=0.3, description="share of mirror p95 the fix removes"
    )


@dataclass(frozen=True)
class Phase:
    """The requests and origin samples of one stretch of a run."""

    records: list[RequestRecord]
    busy: list[float]
    slots: list[float]

    @property
    def n(self) -> int:
        return len(self.records)

    def share(self, predicate: Callable[[RequestRecord], bool]) -> float:
        return sum(1 for r in self.records if predicate(r)) / self.n if self.n else 0.0

    def count_status(self, status: int) -> int:
        return sum(1 for r in self.records if r.status == status)

    def p95(self, traffic: TrafficClass) -> float | None:
        values = [r.latency_ms for r in self.records if r.traffic == traffic]
        return percentile(values, 0.95) if values else None


def cut(
    records: list[RequestRecord],
    busy: list[tuple[float, float]],
    slots: list[tuple[float, float]],
    spans: list[tuple[float, float]],
) -> Phase:
    inside = lambda t: any(a <= t < b for a, b in spans)  # noqa: E731
    return Phase(
        [r for r in records if inside(r.intended_s)],
        [v for t, v in busy if inside(t)],
        [v for t, v in slots if inside(t)],
    )


@dataclass(frozen=True)
class RunView:
    """What scoring needs of a run: its scenario, records and origin gauges."""

    scenario: Scenario
    records: list[RequestRecord]
    busy: list[tuple[float, float]] = field(default_factory=list)
    slots: list[tuple[float, float]] = field(default_factory=list)

    def fault_spans(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(during a fault before any scale-up, during a fault after it)."""
        windows = split_windows(self.scenario, self.scenario.load.duration_s)
        scale_at = min(
            (s.at for s in self.scenario.faults if isinstance(s, OriginWorkersAction)), default=None
        )
        before: list[tuple[float, float]] = []
        after: list[tuple[float, float]] = []
        for w in windows:
            if w.phase != WindowPhase.DURING:
                continue
            (after if scale_at is not None and w.start_s >= scale_at else before).append(
                (w.start_s, w.end_s)
            )
        return before, after

    def phase(self, spans: list[tuple[float, float]]) -> Phase:
        return cut(self.records, self.busy, self.slots, spans)

    def steady(self) -> Phase:
        """The run after its warm-up (cold caches, the mirrors' first sync): its steady state."""
        duration = self.scenario.load.duration_s
        return self.phase([(duration * WARMUP_SHARE, duration)])


@dataclass(frozen=True)
class Cell:
    passed: bool | None  # None: not tested by this hypothesis's runs
    evidence: str


@dataclass(frozen=True)
class Hypothesis:
    name: str
    main: RunView  # the fault run (or the scaled one, whose pre-scale-up part stands in)
    scaled: RunView | None = None  # the same fault with the mid-run scale-up
    fixed: RunView | None = None  # the same traffic with the serial-log fix


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def s1(fault: Phase, base: Phase, t: Thresholds) -> Cell:
    share503 = fault.share(lambda r: r.status == 503)
    base503 = base.share(lambda r: r.status == 503)
    n502 = fault.count_status(502)
    passed = share503 - base503 >= t.s1_min_503_increase and n502 >= t.s1_min_502_count
    return Cell(passed, f"503 {_pct(share503)} vs {_pct(base503)}; 502s: {n502}")


def s2(fault: Phase, base: Phase, t: Thresholds) -> Cell:
    ratios = []
    passed = True
    for traffic in TrafficClass:
        now, before = fault.p95(traffic), base.p95(traffic)
        if now is None or before is None or before <= 0:
            ratios.append(f"{traffic} -")
            passed = False
            continue
        ratio = now / before
        passed = passed and ratio >= t.s2_min_p95_factor
        ratios.append(f"{traffic} x{ratio:.1f}")
    return Cell(passed, "p95 " + ", ".join(ratios))


def s3(fault: Phase, t: Thresholds) -> Cell:
    slots = max(fault.slots, default=0.0)
    busy = max(fault.busy, default=0.0)
    origin_errors = fault.share(lambda r: r.error_layer in (Layer.ORIGIN_LB, Layer.ORIGIN))
    ratio = busy / slots if slots else 0.0
    passed = ratio < t.s3_max_busy_ratio and origin_errors < t.s3_max_origin_error_share
    return Cell(
        passed, f"busy max {busy:.0f}/{slots:.0f}; origin-made errors {_pct(origin_errors)}"
    )


def s4(after_scale: Phase | None, base: Phase, t: Thresholds) -> Cell:
    if after_scale is None or after_scale.n == 0:
        return Cell(None, "no scale-up run")
    errors = after_scale.share(lambda r: r.is_error)
    base_errors = base.share(lambda r: r.is_error)
    passed = errors - base_errors >= t.s4_min_error_increase
    return Cell(passed, f"errors after scale-up {_pct(errors)} vs baseline {_pct(base_errors)}")


def s5(without: Phase | None, with_fix: Phase | None, t: Thresholds) -> Cell:
    if without is None or with_fix is None:
        return Cell(None, "no run with the fix")
    slow, fast = without.p95(TrafficClass.MIRROR), with_fix.p95(TrafficClass.MIRROR)
    if slow is None or fast is None or slow <= 0:
        return Cell(False, "no mirror requests")
    reduction = 1 - fast / slow
    return Cell(
        reduction >= t.s5_min_mirror_p95_cut,
        f"mirror p95 {slow:.0f} -> {fast:.0f} ms ({_pct(reduction)} less)",
    )


def score(h: Hypothesis, baseline: RunView, t: Thresholds) -> dict[str, Cell]:
    base = baseline.steady()
    before_scale, after_scale = h.main.fault_spans()
    fault = h.main.phase(before_scale) if before_scale else h.main.steady()
    scaled_after = None
    if h.scaled is not None:
        scaled_after = h.scaled.phase(h.scaled.fault_spans()[1])
    elif after_scale:
        scaled_after = h.main.phase(after_scale)
    return {
        "S1": s1(fault, base, t),
        "S2": s2(fault, base, t),
        "S3": s3(fault, t),
        "S4": s4(scaled_after, base, t),
        "S5": s5(fault, h.fixed.steady() if h.fixed else None, t),
    }


def consistent(cells: dict[str, Cell]) -> bool:
    return all(cells[s].passed is True for s in ("S1", "S2", "S3")) and all(
        cell.passed is not False for cell in cells.values()
    )


def verdict(matrix: dict[str, dict[str, Cell]]) -> str:
    winners = [name for name, cells in matrix.items() if consistent(cells)]
    if not winners:
        return "No hypothesis is consistent with every symptom: the evidence supports none of them as tested."
    if len(winners) == 1:
        return f"Only '{winners[0]}' is consistent with every symptom tested."
    return (
        "Several hypotheses are consistent with every symptom tested: "
        + ", ".join(f"'{w}'" for w in winners)
        + "; the evidence does not tell them apart."
    )
