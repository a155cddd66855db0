"""Scoring one point of a hypothesis against an incident signature (see harness.validate.signature). Pure.

Each symptom is a cell judged three ways: it holds, fails, or is undecided (an interval of one
of its expectations straddles the bound), or it is n/a (a run or a window it needs is not
there). Each expectation is judged by the one evaluator every gate uses, on the point's runs
pooled (one run, or several after repeats), against the other role's runs with their own noise
(harness.analysis.expectations.judge_runs). A cell also carries its margin: how far the
tightest of its expectations is inside its bound (negative: outside), relative to the bound.

A point is consistent when every required symptom holds and no tested symptom fails or is
undecided, ruled out when any symptom fails, undecided otherwise. Families of points are fitted
in `harness.validate.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.expectations import RunView, chosen_spans
from harness.analysis.judging import Outcome, fmt, judge_runs, value_text
from harness.analysis.uncertainty import Interval, Judgement
from harness.records.validation import PointStatus
from harness.validate.signature import Role, Signature, Symptom, SymptomExpectation

Runs = tuple[RunView, ...]  # one point's runs of one role: one, or several after repeats


@dataclass(frozen=True)
class Hypothesis:
    name: str
    main: Runs  # the cause as hypothesised (or its scaled variant, standing in)
    scaled: Runs = ()  # the same with the mid-run scale-up; empty: main stands in
    fixed: Runs = ()  # the same traffic with the fix applied; empty: not run


@dataclass(frozen=True)
class Measured:
    """One expectation of a symptom as judged: its value, interval and baseline."""

    name: str
    value: float | None
    spread: Interval | None
    baseline: float | None
    judgement: Judgement


@dataclass(frozen=True)
class Cell:
    judgement: Judgement | None  # None: not tested by this hypothesis's runs (n/a)
    evidence: str
    margin: float | None = None  # the tightest expectation's distance to its bound, relative
    failed: tuple[str, ...] = ()  # the names of the expectations that failed
    undecided: tuple[str, ...] = ()  # the names of those whose interval straddles the bound
    measured: tuple[Measured, ...] = ()

    def value(self, name: str) -> float | None:
        """The measured value of one of its expectations, by name."""
        return next(m.value for m in self.measured if m.name == name)

    @property
    def word(self) -> str:
        return "n/a" if self.judgement is None else str(self.judgement)


def margin(outcome: Outcome) -> float | None:
    """How far inside its bound a value is, as a share of the bound: 0.5 is 50 % of room,
    negative is outside. None when there was nothing to measure or no bound to compare with."""
    if outcome.value is None or outcome.threshold is None:
        return None
    room = outcome.value - outcome.threshold
    if outcome.expectation.bound.op in ("<", "<="):
        room = -room
    return room / abs(outcome.threshold) if outcome.threshold else room


def runs_for(role: Role, h: Hypothesis, control: Runs) -> Runs:
    return {
        Role.MAIN: h.main,
        Role.SCALED: h.scaled or h.main,
        Role.FIXED: h.fixed,
        Role.CONTROL: control,
    }[role]


def _evidence(e: SymptomExpectation, outcome: Outcome) -> str:
    text = f"{e.name or e.metric} {value_text(outcome.value, outcome.spread)}"
    baseline, value = outcome.baseline, outcome.value
    if baseline is not None:
        text += f" vs {fmt(baseline)}"
        if e.bound.baseline_factor is not None and value is not None and baseline > 0:
            text += f" (x{value / baseline:.1f})"
    return text


def _judge_one(e: SymptomExpectation, h: Hypothesis, control: Runs) -> Cell:
    views = runs_for(e.run, h, control)
    if not views:
        return Cell(None, f"no {e.run} run")
    if not chosen_spans(views[0].scenario, e.windows()):
        return Cell(None, f"the {e.run} run has no {' | '.join(w.text() for w in e.windows())}")
    against: Runs = ()
    if e.against is not None:
        against = runs_for(e.against, h, control)
        if not against:
            return Cell(None, f"no {e.against} run to compare with")
    outcome = judge_runs(e, views, e.against_expectation() if against else None, against)
    name = e.name or e.key
    judgement = outcome.judgement or Judgement.UNDECIDED  # no baseline value: cannot tell
    return Cell(
        judgement,
        _evidence(e, outcome),
        margin(outcome),
        (name,) if judgement is Judgement.FAILS else (),
        (name,) if judgement is Judgement.UNDECIDED else (),
        (Measured(name, outcome.value, outcome.spread, outcome.baseline, judgement),),
    )


def symptom_cell(symptom: Symptom, h: Hypothesis, control: Runs) -> Cell:
    cells = [_judge_one(e, h, control) for e in symptom.expect]
    untested = [c for c in cells if c.judgement is None]
    if untested:
        return Cell(None, untested[0].evidence)
    margins = [c.margin for c in cells]
    tightest = None if None in margins else min(m for m in margins if m is not None)
    failed = tuple(name for c in cells for name in c.failed)
    undecided = tuple(name for c in cells for name in c.undecided)
    judgement = Judgement.FAILS if failed else Judgement.UNDECIDED if undecided else Judgement.HOLDS
    evidence = "; ".join(c.evidence for c in cells)
    measured = tuple(m for c in cells for m in c.measured)
    return Cell(judgement, evidence, tightest, failed, undecided, measured)


def score(signature: Signature, h: Hypothesis, control: Runs) -> dict[str, Cell]:
    return {s.id: symptom_cell(s, h, control) for s in signature.symptoms}


def status(signature: Signature, cells: dict[str, Cell]) -> PointStatus:
    """Ruled out when a symptom fails; consistent when every required one holds and nothing
    tested is left undecided; undecided otherwise."""
    judged = [cells[s.id].judgement for s in signature.symptoms]
    if Judgement.FAILS in judged:
        return PointStatus.RULED_OUT
    required = all(
        cells[s.id].judgement is Judgement.HOLDS for s in signature.symptoms if s.required
    )
    if required and Judgement.UNDECIDED not in judged:
        return PointStatus.CONSISTENT
    return PointStatus.UNDECIDED
