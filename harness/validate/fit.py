"""Fitting hypothesis families to a signature, and the verdict in words. Pure.

A family's points are scored one by one (harness.validate.verdict), each consistent, ruled out
or undecided. The family is consistent where some point is consistent (its region), ruled out
when every point is, undecided otherwise. Its ruling symptoms are those that failed at every
point, and within them the expectations that failed at every point.

The verdict's words come only from decided points, and name no number that noise moves: which
segment is consistent and where, which is ruled out and by which symptom, which is undecided
and the command that would decide it. The numbers (margins, the closest point) are in each
family's own sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.analysis.observables import Difference, Reading, differences
from harness.analysis.uncertainty import Judgement
from harness.records.validation import FamilyStatus, PointStatus
from harness.validate.families import Family
from harness.validate.signature import Signature
from harness.validate.verdict import Cell


@dataclass(frozen=True)
class PointResult:
    value: float | None
    cells: dict[str, Cell]
    status: PointStatus
    runs: tuple[str, ...]  # the run directories it was measured in
    void: str | None = None  # why its runs could not be scored
    readings: tuple[Reading, ...] = ()  # the catalogue of observables at this point
    value2: float | str | None = None  # the family's second parameter, if it sweeps one

    def text(self, family: Family) -> str:
        return family.value_text(self.value, self.value2)


@dataclass(frozen=True)
class FamilyFit:
    family: Family
    points: list[PointResult]
    untested: str | None = None  # why the family could not be run here

    @property
    def region(self) -> list[PointResult]:
        return [p for p in self.points if p.status is PointStatus.CONSISTENT]

    @property
    def fits(self) -> bool:
        return bool(self.region)

    @property
    def status(self) -> FamilyStatus:
        if self.untested or not self.points:
            return FamilyStatus.UNTESTED
        if self.fits:
            return FamilyStatus.CONSISTENT
        if all(p.status is PointStatus.RULED_OUT for p in self.points):
            return FamilyStatus.RULED_OUT
        return FamilyStatus.UNDECIDED

    @property
    def open_points(self) -> list[PointResult]:
        """The points left undecided or void."""
        return [p for p in self.points if p.status in (PointStatus.UNDECIDED, PointStatus.VOID)]


def _holds(cell: Cell) -> bool:
    return cell.judgement is Judgement.HOLDS


def _rank(signature: Signature, point: PointResult) -> tuple[bool, int, int, float]:
    if point.void is not None:
        return (False, -1, -1, -math.inf)
    required = [s.id for s in signature.symptoms if s.required]
    margins = [point.cells[i].margin for i in required]
    tightest = min((m for m in margins if m is not None), default=-math.inf)
    if None in margins:
        tightest = -math.inf
    return (
        point.status is PointStatus.CONSISTENT,
        sum(_holds(point.cells[i]) for i in required),
        sum(_holds(c) for c in point.cells.values()),
        tightest,
    )


def best_fit(signature: Signature, fit: FamilyFit) -> PointResult | None:
    scored = [p for p in fit.points if p.void is None]
    if not scored:
        return None
    return max(scored, key=lambda p: _rank(signature, p))


def ruling_symptoms(signature: Signature, points: list[PointResult]) -> list[str]:
    """The symptoms that failed at every point (empty unless every point is ruled out)."""
    if not points or any(p.status is not PointStatus.RULED_OUT for p in points):
        return []
    return [
        s.id
        for s in signature.symptoms
        if all(p.cells[s.id].judgement is Judgement.FAILS for p in points)
    ]


def failed_everywhere(points: list[PointResult], symptom: str) -> list[str]:
    """The expectations of a symptom that failed at every point, in the signature's order."""
    names = list(dict.fromkeys(n for p in points for n in p.cells[symptom].failed))
    return [n for n in names if all(n in p.cells[symptom].failed for p in points)]


def ruled_text(signature: Signature, points: list[PointResult], first_only: bool = False) -> str:
    """`S1 (502s)`: what rules the points out. `first_only`: the first ruling symptom alone,
    as the verdict's headline names it, so a second one that is near its bound (fails in one
    run, undecided in the next) does not move the words."""
    ruling = ruling_symptoms(signature, points)
    if not ruling:
        return "a different symptom at different points"
    parts = []
    for symptom in ruling[:1] if first_only else ruling:
        names = failed_everywhere(points, symptom)
        parts.append(f"{symptom} ({', '.join(names)})" if names else symptom)
    return " and ".join(parts)


def _values(fit: FamilyFit, points: list[PointResult]) -> str:
    texts = [p.text(fit.family) for p in points]
    if len(texts) > 2:
        return f"{texts[0]} to {texts[-1]}"
    return " and ".join(texts)


def margins_text(signature: Signature, point: PointResult) -> str:
    parts = []
    for s in signature.symptoms:
        cell = point.cells[s.id]
        if cell.judgement is None:
            continue
        shown = "-" if cell.margin is None else f"{cell.margin * 100:+.0f} %"
        parts.append(f"{s.id} {shown}")
    return ", ".join(parts)


def _judged(signature: Signature, point: PointResult, judgement: Judgement) -> list[str]:
    return [s.id for s in signature.symptoms if point.cells[s.id].judgement is judgement]


def misses(signature: Signature, point: PointResult) -> str:
    failed = _judged(signature, point, Judgement.FAILS)
    return " and ".join(f"{i} ({', '.join(point.cells[i].failed)})" for i in failed) or "nothing"


def runs_text(point: PointResult) -> str:
    return f"{len(point.runs)} run{'s' if len(point.runs) != 1 else ''}"


def _point_line(signature: Signature, fit: FamilyFit, point: PointResult) -> str:
    where = f"{point.text(fit.family)} ({runs_text(point)})"
    if point.void is not None:
        return f"{where}: void, {point.void}"
    if point.status is PointStatus.RULED_OUT:
        detail = "; ".join(
            point.cells[i].evidence for i in _judged(signature, point, Judgement.FAILS)
        )
        return f"{where}: ruled out by {misses(signature, point)}: {detail}"
    if point.status is PointStatus.UNDECIDED:
        open_ = _judged(signature, point, Judgement.UNDECIDED)
        detail = "; ".join(f"{i} {point.cells[i].evidence}" for i in open_)
        return f"{where}: undecided ({detail or 'a required symptom was not tested'})"
    return f"{where}: consistent, margins {margins_text(signature, point)}"


def family_sentence(signature: Signature, fit: FamilyFit) -> str:
    """One line per family: its status, then each point with the numbers behind it."""
    family = fit.family
    if fit.untested:
        return f"{family.title}: not tested here ({fit.untested})."
    if not fit.points:
        return f"{family.title}: no point was run."
    head = {
        FamilyStatus.CONSISTENT: f"consistent at {_values(fit, fit.region)}",
        FamilyStatus.RULED_OUT: f"ruled out by {ruled_text(signature, fit.points)}",
        FamilyStatus.UNDECIDED: f"undecided at {_values(fit, fit.open_points)}",
        FamilyStatus.UNTESTED: "not tested",
    }[fit.status]
    points = "; ".join(_point_line(signature, fit, p) for p in fit.points)
    return f"{family.title}: {head}. {points}."


def decide_command(fits: list[FamilyFit]) -> str:
    return "shieldlab validate " + " ".join(f"--family {f.family.name}" for f in fits)


def _segment_line(signature: Signature, title: str, mine: list[FamilyFit], quick: bool) -> str:
    fitting = [f for f in mine if f.fits]
    if fitting:
        parts = []
        for f in fitting:
            how = "alone" if f.family.alone else f"only with {f.family.plus_text}"
            if not f.family.alone and any(
                g.fits and g.family.alone and g.family.cause == f.family.cause for g in fitting
            ):
                how = f"also with {f.family.plus_text}"
            parts.append(f"{f.family.cause} {how}, at {_values(f, f.region)}")
        return f"{title}: consistent with {signature.name}: " + "; ".join(parts) + "."
    causes = " or ".join(dict.fromkeys(f.family.cause for f in mine))
    open_ = [f for f in mine if f.status is FamilyStatus.UNDECIDED]
    if open_:
        resolution = "at quick resolution" if quick else "after the repeats allowed"
        return (
            f"{title}: {causes} there is undecided {resolution} "
            f"({', '.join(f.family.title for f in open_)}); `{decide_command(open_)}` decides."
        )
    points = [p for f in mine for p in f.points]
    return (
        f"{title}: {causes} there is ruled out at every intensity tested, alone or combined, "
        f"by {ruled_text(signature, points, first_only=True)}."
    )


def answer(signature: Signature, fits: list[FamilyFit], quick: bool = False) -> list[str]:
    """The verdict: a headline, then one line per segment of the working theory, then one per
    other kind of cause. Only decided points speak; an undecided family names its command."""
    lines = []
    tested = [f for f in fits if not f.untested]
    for segment in signature.segments:
        mine = [f for f in tested if f.family.segment == segment.id]
        if any(f.family.segment == segment.id for f in fits) and not mine:
            lines.append(f"{segment.text}: not tested here.")
        elif mine:
            lines.append(_segment_line(signature, segment.text, mine, quick))
    for f in [f for f in tested if f.family.segment is None]:
        if f.fits:
            lines.append(f"{f.family.title}: also consistent, at {_values(f, f.region)}.")
        elif f.status is FamilyStatus.RULED_OUT:
            ruled = ruled_text(signature, f.points, first_only=True)
            lines.append(f"{f.family.title}: ruled out by {ruled}.")
        else:
            lines.append(f"{f.family.title}: undecided; `{decide_command([f])}` decides.")
    if not any(f.fits for f in fits):
        undecided = sum(f.status is FamilyStatus.UNDECIDED for f in fits)
        head = f"No family is consistent with {signature.name} at any intensity tested"
        head += f"; {undecided} undecided." if undecided else "."
        lines.insert(0, head)
    return lines


@dataclass(frozen=True)
class TellApart:
    """Two families both left standing, and the measurements that differ most between them."""

    a: FamilyFit
    b: FamilyFit
    a_point: PointResult
    b_point: PointResult
    differences: list[Difference]

    def text(self) -> str:
        def where(fit: FamilyFit, point: PointResult) -> str:
            return f"{fit.family.title} at {point.text(fit.family)}"

        found = "; ".join(d.text() for d in self.differences) or "nothing measured differs"
        return f"to tell {where(self.a, self.a_point)} from {where(self.b, self.b_point)}: {found}"


def standing(fits: list[FamilyFit]) -> list[FamilyFit]:
    return [f for f in fits if f.status in (FamilyStatus.CONSISTENT, FamilyStatus.UNDECIDED)]


def tell_apart(signature: Signature, fits: list[FamilyFit]) -> list[TellApart]:
    """For each pair of families left consistent or undecided, their representative points
    (the best fit) and the observables that differ most between them."""
    left = [(f, p) for f in standing(fits) if (p := best_fit(signature, f)) and p.readings]
    return [
        TellApart(fa, fb, pa, pb, differences(list(pa.readings), list(pb.readings)))
        for i, (fa, pa) in enumerate(left)
        for fb, pb in left[i + 1 :]
    ]
