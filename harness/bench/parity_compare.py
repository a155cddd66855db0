"""The two CDN kinds' runs of one scenario, side by side: what each measured per phase, and
whether the difference is within the stated tolerance, beyond it, or undecided. Pure.

Each value (a share of errors per layer and per reason, a hit ratio per layer, a latency
percentile per class) is compared through the 95 % interval of its difference, varnish -
model, from the bootstrap the gate uses (analysis.uncertainty): each run's requests cut into
1 s bins, the bins of each run resampled independently, so requests that share a second stay
together as a run's noise does. Within: the whole interval inside the tolerance. Beyond: the
whole interval outside it. Otherwise undecided: one pair of runs cannot tell.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from harness.analysis.compare import phases
from harness.analysis.uncertainty import SEED, Binned, Kind, room_interval
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
CACHE_LAYERS = (Layer.EDGE, Layer.SHIELD)
PERCENTILES = {"p50": 0.5, "p95": 0.95}


class Agreement(StrEnum):
    WITHIN = "within"
    BEYOND = "beyond"
    UNDECIDED = "undecided"


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


# A share's data: the records, and per record its numerator and denominator (0 or 1).
Shares = tuple[list[RequestRecord], list[float], list[float]]


def _bins(records: list[RequestRecord]) -> np.ndarray:
    seconds = np.array([math.floor(r.intended_s) for r in records], dtype=np.intp)
    _, where = np.unique(seconds, return_inverse=True)
    return np.asarray(where, dtype=np.intp)


def share_sample(records: list[RequestRecord], numer: list[float], denom: list[float]) -> Binned:
    """A share over 1 s bins; a second with nothing to divide by is left out."""
    where = _bins(records)
    bins = int(where.max()) + 1 if len(where) else 0
    numer_b = np.bincount(where, weights=numer, minlength=bins)
    denom_b = np.bincount(where, weights=denom, minlength=bins)
    keep = denom_b > 0
    empty = np.zeros(0)
    return Binned(Kind.RATIO, numer_b[keep], denom_b[keep], empty, empty.astype(np.intp))


def quantile_sample(records: list[RequestRecord], q: float) -> Binned:
    where = _bins(records)
    latencies = np.array([r.latency_ms for r in records], dtype=float)
    order = np.argsort(latencies, kind="stable")
    bins = int(where.max()) + 1 if len(where) else 0
    zeros = np.zeros(bins)
    return Binned(Kind.QUANTILE, zeros, zeros, latencies[order], where[order], q=q)


def _compare(
    phase: str, metric: str, model: Binned, varnish: Binned, tolerance_of: float | None
) -> Row:
    a, b = model.point(), varnish.point()
    if a is None or b is None:
        return Row(phase, metric, a, b, None, None, tolerance_of or 0.0, None)
    tolerance = (
        tolerance_of
        if tolerance_of is not None
        else max(LATENCY_TOLERANCE_MS, LATENCY_TOLERANCE_RELATIVE * max(a, b))
    )
    difference = room_interval(varnish, 1.0, (model, lambda value: value), SEED)
    if difference is None:  # too few seconds to show a spread
        return Row(phase, metric, a, b, None, None, tolerance, Agreement.UNDECIDED)
    low, high = difference.low, difference.high
    return Row(phase, metric, a, b, low, high, tolerance, judge(low, high, tolerance))


def compare_shares(phase: str, metric: str, model: Shares, varnish: Shares) -> Row:
    """Each side: its records, and per record its numerator and denominator (0 or 1)."""
    return _compare(phase, metric, share_sample(*model), share_sample(*varnish), SHARE_TOLERANCE)


def compare_percentiles(
    phase: str, metric: str, q: float, model: list[RequestRecord], varnish: list[RequestRecord]
) -> Row:
    """`q` between 0 and 1; the tolerance grows with the larger percentile."""
    if not model or not varnish:  # a class one side never sent in this phase
        a = quantile_sample(model, q).point() if model else None
        b = quantile_sample(varnish, q).point() if varnish else None
        return Row(phase, metric, a, b, None, None, LATENCY_TOLERANCE_MS, None)
    return _compare(phase, metric, quantile_sample(model, q), quantile_sample(varnish, q), None)


def _every(records: list[RequestRecord], numer: Callable[[RequestRecord], bool]) -> Shares:
    """A share of all requests: (records, numerators, denominators)."""
    return records, [float(numer(r)) for r in records], [1.0] * len(records)


def _hits(records: list[RequestRecord], layer: Layer) -> Shares:
    """Hits among the GETs answered 200 that this layer looked up (as `hit_ratio`)."""
    answered = [r for r in records if r.method == "GET" and r.status == 200]
    looked = [(r, state) for r in answered if (state := r.cache_state(layer)) is not None]
    return [r for r, _ in looked], [float(state.is_hit) for _, state in looked], [1.0] * len(looked)


def phase_rows(phase: str, model: list[RequestRecord], varnish: list[RequestRecord]) -> list[Row]:
    def errors(r: RequestRecord) -> bool:
        return r.is_error

    rows = [compare_shares(phase, "errors", _every(model, errors), _every(varnish, errors))]
    for key, label in (("error_layer", "errors at"), ("error_reason", "errors for")):
        names = {str(getattr(r, key)) for r in [*model, *varnish] if r.is_error and getattr(r, key)}
        for name in sorted(names):

            def made(r: RequestRecord, key: str = key, name: str = name) -> bool:
                return r.is_error and str(getattr(r, key)) == name

            rows.append(
                compare_shares(phase, f"{label} {name}", _every(model, made), _every(varnish, made))
            )
    for layer in CACHE_LAYERS:
        rows.append(
            compare_shares(
                phase, f"hit ratio {layer.value}", _hits(model, layer), _hits(varnish, layer)
            )
        )
    for traffic in traffic_classes(r.traffic for r in [*model, *varnish]):
        of_model = [r for r in model if r.traffic == traffic]
        of_varnish = [r for r in varnish if r.traffic == traffic]
        for name, q in PERCENTILES.items():
            rows.append(compare_percentiles(phase, f"{name} {traffic} ms", q, of_model, of_varnish))
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
