"""The two CDN kinds' runs of one scenario, side by side: what each measured per phase, and
whether the difference is within the stated tolerance, beyond it, or undecided. Pure.

A share (errors per layer and per reason, hits per layer) is compared through the 95 %
interval of its difference (Newcomb's, from statsmodels); a latency percentile through a
bootstrap interval of its difference (scipy). Within: the whole interval inside the
tolerance. Beyond: the whole interval outside it. Otherwise undecided: one pair of runs cannot
tell.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from harness.analysis.compare import phases
from harness.analysis.windows import inside
from harness.records.request import RequestRecord
from harness.records.run_data import RunData
from harness.records.summary import WindowPhase
from harness.scenario.traffic import Layer, traffic_classes

# Tolerances (assumption: below these a difference changes no expectation, finding or verdict
# the lab ships; the gate's tightest bound on a share is 0.01 of errors, on latency 1.5 s).
SHARE_TOLERANCE = 0.05  # absolute, on a share of requests
LATENCY_TOLERANCE_MS = 5.0  # absolute floor ...
LATENCY_TOLERANCE_RELATIVE = 0.25  # ... or this share of the larger percentile
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
SEED = 20140720
CACHE_LAYERS = (Layer.EDGE, Layer.SHIELD)
PERCENTILES = {"p50": 50.0, "p95": 95.0}


class Agreement(StrEnum):
    WITHIN = "within"
    BEYOND = "beyond"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Share:
    count: int
    of: int

    @property
    def value(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(frozen=True)
class Row:
    phase: str
    metric: str
    model: float | None
    varnish: float | None
    low: float | None  # the interval of varnish - model
    high: float | None
    tolerance: float
    agreement: Agreement | None  # None: one side has no value


def judge(low: float, high: float, tolerance: float) -> Agreement:
    if -tolerance <= low and high <= tolerance:
        return Agreement.WITHIN
    if high < -tolerance or low > tolerance:
        return Agreement.BEYOND
    return Agreement.UNDECIDED


def compare_shares(phase: str, metric: str, model: Share, varnish: Share) -> Row:
    a, b = model.value, varnish.value
    if a is None or b is None:
        return Row(phase, metric, a, b, None, None, SHARE_TOLERANCE, None)
    if model.count in (0, model.of) and varnish.count == model.count and model.of == varnish.of:
        low = high = 0.0  # the same extreme on both sides: no interval to speak of
    else:
        low, high = confint_proportions_2indep(
            varnish.count, varnish.of, model.count, model.of, method="newcomb",
            alpha=1 - CONFIDENCE,
        )  # fmt: skip
    return Row(
        phase, metric, a, b, float(low), float(high), SHARE_TOLERANCE,
        judge(float(low), float(high), SHARE_TOLERANCE),
    )  # fmt: skip


def compare_percentiles(
    phase: str, metric: str, q: float, model: list[float], varnish: list[float]
) -> Row:
    if len(model) < 2 or len(varnish) < 2:
        a = float(np.percentile(model, q)) if model else None
        b = float(np.percentile(varnish, q)) if varnish else None
        return Row(phase, metric, a, b, None, None, LATENCY_TOLERANCE_MS, None)
    a, b = float(np.percentile(model, q)), float(np.percentile(varnish, q))
    tolerance = max(LATENCY_TOLERANCE_MS, LATENCY_TOLERANCE_RELATIVE * max(a, b))

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.percentile(y, q, axis=axis) - np.percentile(x, q, axis=axis))

    result = stats.bootstrap(
        (np.asarray(model), np.asarray(varnish)),
        difference,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(SEED),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Row(phase, metric, a, b, low, high, tolerance, judge(low, high, tolerance))


def _errors_by(records: list[RequestRecord], key: str) -> Counter[str]:
    return Counter(str(getattr(r, key)) for r in records if r.is_error and getattr(r, key))


def _hits(records: list[RequestRecord], layer: Layer) -> Share:
    """Hits among the GETs answered 200 that this layer looked up (as `hit_ratio`)."""
    states = [r.cache_state(layer) for r in records if r.method == "GET" and r.status == 200]
    looked = [s for s in states if s is not None]
    return Share(sum(s.is_hit for s in looked), len(looked))


def phase_rows(phase: str, model: list[RequestRecord], varnish: list[RequestRecord]) -> list[Row]:
    rows = [
        compare_shares(
            phase, "errors",
            Share(sum(r.is_error for r in model), len(model)),
            Share(sum(r.is_error for r in varnish), len(varnish)),
        )
    ]  # fmt: skip
    for key, label in (("error_layer", "errors at"), ("error_reason", "errors for")):
        a, b = _errors_by(model, key), _errors_by(varnish, key)
        for name in sorted(set(a) | set(b)):
            metric = f"{label} {name}"
            rows.append(
                compare_shares(
                    phase, metric, Share(a[name], len(model)), Share(b[name], len(varnish))
                )
            )
    for layer in CACHE_LAYERS:
        rows.append(
            compare_shares(
                phase, f"hit ratio {layer.value}", _hits(model, layer), _hits(varnish, layer)
            )
        )
    for traffic in traffic_classes(r.traffic for r in [*model, *varnish]):
        a_ms = [r.latency_ms for r in model if r.traffic == traffic]
        b_ms = [r.latency_ms for r in varnish if r.traffic == traffic]
        for name, q in PERCENTILES.items():
            rows.append(compare_percentiles(phase, f"{name} {traffic} ms", q, a_ms, b_ms))
    return rows


def compare_runs(model: RunData, varnish: RunData) -> list[Row]:
    """Every phase both runs have (before the first fault, during any, after the last)."""
    rows = []
    a_phases, b_phases = phases(model), phases(varnish)
    for phase in WindowPhase:
        if not a_phases[phase] or not b_phases[phase]:
            continue
        rows += phase_rows(
            phase.value,
            inside(model.records, a_phases[phase]),
            inside(varnish.records, b_phases[phase]),
        )
    return rows


def tally(rows: list[Row]) -> dict[str, int]:
    counts = Counter(row.agreement.value for row in rows if row.agreement is not None)
    return {a.value: counts.get(a.value, 0) for a in Agreement}
