"""Fitting hypothesis families to a signature, and the verdict in words. Pure.

A family's points are scored one by one (harness.analysis.verdict). Its consistent region is the
points where every symptom holds; its best fit is the point that passes the most required
symptoms, then the most symptoms, then has the most room to its tightest bound. Where no point
is consistent, the ruling symptom is the required symptom that failed at every point (or, when
each fails somewhere else, the one the best fit misses), with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.analysis.verdict import Cell
from harness.hypothesis import Family
from harness.signature import Signature


@dataclass(frozen=True)
class PointResult:
    value: float | None
    cells: dict[str, Cell]
    consistent: bool
    run: str  # the run directory it was measured in


@dataclass(frozen=True)
class FamilyFit:
    family: Family
    points: list[PointResult]
    untested: str | None = None  # why the family could not be run here

    @property
    def region(self) -> list[PointResult]:
        return [p for p in self.points if p.consistent]

    @property
    def fits(self) -> bool:
        return bool(self.region)


def _rank(signature: Signature, point: PointResult) -> tuple[bool, int, int, float]:
    required = [s.id for s in signature.symptoms if s.required]
    margins = [point.cells[i].margin for i in required]
    tightest = min((m for m in margins if m is not None), default=-math.inf)
    if None in margins:
        tightest = -math.inf
    return (
        point.consistent,
        sum(point.cells[i].passed is True for i in required),
        sum(c.passed is True for c in point.cells.values()),
        tightest,
    )


def best_fit(signature: Signature, fit: FamilyFit) -> PointResult | None:
    if not fit.points:
        return None
    return max(fit.points, key=lambda p: _rank(signature, p))


def ruling_symptoms(signature: Signature, fit: FamilyFit) -> list[str]:
    """The required symptoms that failed at every point tested (empty when the family fits)."""
    if fit.fits or not fit.points:
        return []
    return [
        s.id
        for s in signature.symptoms
        if s.required and all(p.cells[s.id].passed is False for p in fit.points)
    ]


def _values(fit: FamilyFit, points: list[PointResult]) -> str:
    texts = [fit.family.value_text(p.value) for p in points]
    if len(texts) > 2:
        return f"{texts[0]} to {texts[-1]}"
    return " and ".join(texts)


def margins_text(signature: Signature, point: PointResult) -> str:
    parts = []
    for s in signature.symptoms:
        cell = point.cells[s.id]
        if cell.passed is None:
            continue
        shown = "-" if cell.margin is None else f"{cell.margin * 100:+.0f} %"
        parts.append(f"{s.id} {shown}")
    return ", ".join(parts)


def failed_text(points: list[PointResult], symptom: str) -> str:
    """What failed in a symptom across points: its expectations' names, most often first."""
    counts: dict[str, int] = {}
    for p in points:
        for name in p.cells[symptom].failed:
            counts[name] = counts.get(name, 0) + 1
    names = sorted(counts, key=lambda n: -counts[n])
    return ", ".join(f"{n} at {counts[n]} of {len(points)}" for n in names) or "failed"


def most_missed(signature: Signature, points: list[PointResult]) -> str:
    """The required symptoms that failed at the most points, and what in them failed."""
    required = [s.id for s in signature.symptoms if s.required]
    counts = {i: sum(p.cells[i].passed is False for p in points) for i in required}
    top = max(counts.values(), default=0)
    if not top:
        return "nothing"
    worst = [i for i in required if counts[i] == top]
    return " and ".join(f"{i} ({failed_text(points, i)})" for i in worst)


def failed_symptoms(signature: Signature, point: PointResult) -> list[str]:
    return [s.id for s in signature.symptoms if point.cells[s.id].passed is False]


def misses(signature: Signature, point: PointResult) -> str:
    failed = failed_symptoms(signature, point)
    return " and ".join(f"{i} ({', '.join(point.cells[i].failed)})" for i in failed)


def closest(signature: Signature, fits: list[FamilyFit]) -> str:
    """The point nearest to fitting among several families, and what it misses."""
    candidates = [(f, p) for f in fits for p in f.points]
    if not candidates:
        return "none"
    fit, point = max(candidates, key=lambda c: _rank(signature, c[1]))
    how = "alone" if fit.family.alone else f"with {fit.family.plus_text}"
    return (
        f"{fit.family.cause} {how} at {fit.family.value_text(point.value)}, which misses "
        f"{misses(signature, point)}"
    )


def family_sentence(signature: Signature, fit: FamilyFit) -> str:
    """One line per family: where it fits and how well, or what rules it out."""
    family = fit.family
    if fit.untested:
        return f"{family.title}: not tested here ({fit.untested})."
    best = best_fit(signature, fit)
    if best is None:
        return f"{family.title}: no point was run."
    tested = f"{len(fit.points)} point{'s' if len(fit.points) != 1 else ''} tested"
    if fit.fits:
        return (
            f"{family.title}: consistent at {_values(fit, fit.region)} ({tested}); best fit "
            f"{family.value_text(best.value)}, margins {margins_text(signature, best)}."
        )
    ruling = ruling_symptoms(signature, fit)
    if ruling:
        symptom = ruling[0]
        spread = "; ".join(
            f"{family.value_text(p.value)}: {p.cells[symptom].evidence}" for p in fit.points
        )
        return (
            f"{family.title}: ruled out by {symptom} ({failed_text(fit.points, symptom)}), "
            f"which failed at every point ({spread})."
        )
    detail = "; ".join(f"{i} {best.cells[i].evidence}" for i in failed_symptoms(signature, best))
    return (
        f"{family.title}: not consistent at any point ({tested}); each symptom holds somewhere "
        f"but never all at once; the closest, {family.value_text(best.value)}, misses {detail}."
    )


def answer(signature: Signature, fits: list[FamilyFit]) -> list[str]:
    """The verdict's first lines: which part of the theory fits, at what intensity, alone or
    only with another cause; then what is ruled out, and by which symptom."""
    lines = []
    segments = list(dict.fromkeys(f.family.segment for f in fits if f.family.segment))
    for segment in segments:
        mine = [f for f in fits if f.family.segment == segment and not f.untested]
        fitting = [f for f in mine if f.fits]
        if not mine:
            lines.append(f"{segment}: not tested here.")
            continue
        if not fitting:
            causes = " or ".join(dict.fromkeys(f.family.cause for f in mine))
            lines.append(
                f"{segment}: {causes} there is not consistent with {signature.name} at any "
                f"intensity tested, alone or combined. Closest: {closest(signature, mine)}; "
                f"most often missed: {most_missed(signature, [p for f in mine for p in f.points])}."
            )
            continue
        parts = []
        for f in fitting:
            how = "alone" if f.family.alone else f"only with {f.family.plus_text}"
            if not f.family.alone and any(
                g.fits and g.family.alone and g.family.cause == f.family.cause for g in fitting
            ):
                how = f"also with {f.family.plus_text}"
            parts.append(f"{f.family.cause} {how}, at {_values(f, f.region)}")
        lines.append(f"{segment}: consistent with {signature.name}: " + "; ".join(parts) + ".")
    others = [f for f in fits if not f.family.segment and not f.untested]
    for f in others:
        if f.fits:
            lines.append(f"{f.family.title}: also consistent, at {_values(f, f.region)}.")
        elif f.points:
            lines.append(f"{f.family.title}: ruled out by {most_missed(signature, f.points)}.")
    if not any(f.fits for f in fits):
        lines.insert(0, f"No family is consistent with {signature.name} at any intensity tested.")
    return lines
