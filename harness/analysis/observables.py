"""The measurements that would tell two hypotheses apart. Pure.

When more than one family is consistent with a signature (or undecided), the verdict names, for
each pair, the measurements that differ most between their points: which node made the 503s,
each POP's 503 share, each traffic class's p95, each cache layer's hit ratio, the backend's
busiest moment. The catalogue is stated in the expectation language, so every entry is measured
by the one evaluator with its interval, in the window the signature's symptoms use ("while the
cause is on, before the scale-up"): the 503s of each reason a CDN node gives, pages served stale
or after waiting on another fetch, and, read off the nodes' gauges (exact, no interval), each CDN
layer's busiest backend against its connection limit and the share of probe readings saying sick.

Two points' values are compared by a standardised difference: the gap over the combined
standard errors, each read off the 95 % bootstrap interval (half its width over 1.96). A gap
with no spread on either side (both exact) counts as `EXACT_SEPARATION`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from harness.analysis.expectations import RunView
from harness.analysis.judging import measured_runs, value_text
from harness.analysis.uncertainty import CONFIDENCE, Interval
from harness.scenario.expectation import Expectation, Window
from harness.scenario.traffic import Layer
from proxies.contract import CacheState, FetchFailure

EXACT_SEPARATION = 100.0  # a difference without spread: as far apart as the ranking goes
TOP = 3  # measurements named per pair
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))  # an interval's half-width in standard errors


@dataclass(frozen=True)
class Observable:
    name: str
    expectation: Expectation


@dataclass(frozen=True)
class Reading:
    name: str
    value: float | None
    spread: Interval | None


@dataclass(frozen=True)
class Difference:
    name: str
    a: Reading
    b: Reading
    separation: float  # the gap in combined standard errors

    def text(self) -> str:
        a, b = (value_text(r.value, r.spread) for r in (self.a, self.b))
        return f"{self.name} {a} vs {b} ({self.separation:.1f} standard errors apart)"


def _make(name: str, window: list[Window], **fields: object) -> Observable:
    # The bound is never judged: an expectation needs one, and this one only measures.
    data = {"name": name, "window": window, **fields, "bound": "> 0"}
    return Observable(name, Expectation.model_validate(data))


def catalogue(pops: Sequence[str], window: list[Window]) -> list[Observable]:
    """Every entry for a topology's POPs, in the window the symptoms are measured in."""
    entries = [
        _make(f"503s made by the {layer}", window, metric="status_rate", status=503, layer=[layer])
        for layer in (Layer.EDGE, Layer.SHIELD, Layer.ORIGIN_LB)
    ]
    entries += [
        _make(
            f"503s for {reason.value!r}", window, metric="status_rate", status=503, reason=[reason]
        )
        for reason in FetchFailure
    ]
    entries.append(_make("client timeouts", window, metric="error_rate", layer=[Layer.CLIENT]))
    entries += [
        _make(f"503 share at {pop}", window, metric="status_rate", status=503, pop=[pop])
        for pop in pops
    ]
    entries += [
        _make(f"{traffic} p95", window, metric="p95_ms", traffic=[traffic])
        for traffic in ("pip", "browser", "mirror")
    ]
    entries += [
        _make(f"{layer} hit ratio", window, metric="hit_ratio", layer=[layer])
        for layer in (Layer.EDGE, Layer.SHIELD)
    ]
    entries += [
        _make(f"{layer} {name}", window, metric="cache_state_share", layer=[layer], cache=[state])
        for layer in (Layer.EDGE, Layer.SHIELD)
        for name, state in (
            ("served stale", CacheState.HIT_STALE),
            ("waited on another fetch", CacheState.HIT_COLLAPSED),
        )
    ]
    entries.append(_make("backend busiest", window, metric="origin_busy_ratio"))
    entries += [
        _make(f"{layer} {name}", window, metric=metric, layer=[layer])
        for layer in (Layer.EDGE, Layer.SHIELD)
        for name, metric in (
            ("busiest backend vs its max_connections", "backend_busy_ratio"),
            ("probe readings sick", "backend_sick_share"),
        )
    ]
    return entries


def read(observables: list[Observable], views: Sequence[RunView]) -> list[Reading]:
    readings = []
    for o in observables:
        value, spread = measured_runs(o.expectation, views)
        readings.append(Reading(o.name, value, spread))
    return readings


def _standard_error(reading: Reading) -> float:
    if reading.spread is None:
        return 0.0
    return (reading.spread.high - reading.spread.low) / (2 * Z)


def separation(a: Reading, b: Reading) -> float | None:
    """How many combined standard errors apart two readings are; None when one is missing."""
    if a.value is None or b.value is None:
        return None
    gap = abs(a.value - b.value)
    error = math.hypot(_standard_error(a), _standard_error(b))
    if error == 0:
        return EXACT_SEPARATION if gap > 0 else 0.0
    return min(gap / error, EXACT_SEPARATION)


def differences(a: list[Reading], b: list[Reading], top: int = TOP) -> list[Difference]:
    """The measurements that differ most between two points, largest first."""
    found = []
    for ra, rb in zip(a, b, strict=True):
        apart = separation(ra, rb)
        if apart is not None and apart > 0:
            found.append(Difference(ra.name, ra, rb, apart))
    return sorted(found, key=lambda d: -d.separation)[:top]
