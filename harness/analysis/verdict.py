"""Scoring one point of a hypothesis against an incident signature (see harness.signature). Pure.

Each symptom is a cell: pass, fail, or n/a (a run or a window the symptom needs is not there),
with the numbers behind it and its margin: how far the tightest of its expectations is inside
its bound (negative: outside), relative to the bound. The expectations are judged by the one
evaluator every gate uses. Families of points are fitted in `harness.analysis.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.expectations import Outcome, RunView, chosen_spans, fmt, judge, measure
from harness.signature import Role, Signature, Symptom, SymptomExpectation


@dataclass(frozen=True)
class Hypothesis:
    name: str
    main: RunView  # the cause as hypothesised (or its scaled variant, standing in)
    scaled: RunView | None = None  # the same with the mid-run scale-up
    fixed: RunView | None = None  # the same traffic with the fix applied


@dataclass(frozen=True)
class Cell:
    passed: bool | None  # None: not tested by this hypothesis's runs
    evidence: str
    margin: float | None = None  # the tightest expectation's distance to its bound, relative
    failed: tuple[str, ...] = ()  # the names of the expectations that did not hold


def margin(outcome: Outcome) -> float | None:
    """How far inside its bound a value is, as a share of the bound: 0.5 is 50 % of room,
    negative is outside. None when there was nothing to measure or no bound to compare with."""
    if outcome.value is None or outcome.threshold is None:
        return None
    room = outcome.value - outcome.threshold
    if outcome.expectation.bound.op in ("<", "<="):
        room = -room
    return room / abs(outcome.threshold) if outcome.threshold else room


def run_for(role: Role, h: Hypothesis, control: RunView) -> RunView | None:
    return {
        Role.MAIN: h.main,
        Role.SCALED: h.scaled or h.main,
        Role.FIXED: h.fixed,
        Role.CONTROL: control,
    }[role]


def _evidence(e: SymptomExpectation, value: float | None, baseline: float | None) -> str:
    text = f"{e.name or e.metric} {fmt(value)}"
    if baseline is not None:
        text += f" vs {fmt(baseline)}"
        if e.bound.baseline_factor is not None and value is not None and baseline > 0:
            text += f" (x{value / baseline:.1f})"
    return text


def _judge_one(e: SymptomExpectation, h: Hypothesis, control: RunView) -> Cell:
    view = run_for(e.run, h, control)
    if view is None:
        return Cell(None, f"no {e.run} run")
    if not chosen_spans(view.scenario, e.windows()):
        return Cell(None, f"the {e.run} run has no {' | '.join(w.text() for w in e.windows())}")
    baseline = None
    if e.against is not None:
        other = run_for(e.against, h, control)
        if other is None:
            return Cell(None, f"no {e.against} run to compare with")
        baseline = measure(e.against_expectation(), other)
    value = measure(e, view)
    outcome = judge(e, value, baseline)
    failed = (e.name or e.key,) if outcome.passed is False else ()
    return Cell(outcome.passed, _evidence(e, value, baseline), margin(outcome), failed)


def symptom_cell(symptom: Symptom, h: Hypothesis, control: RunView) -> Cell:
    cells = [_judge_one(e, h, control) for e in symptom.expect]
    untested = [c for c in cells if c.passed is None]
    if untested:
        return Cell(None, untested[0].evidence)
    margins = [c.margin for c in cells]
    tightest = None if None in margins else min(m for m in margins if m is not None)
    failed = tuple(name for c in cells for name in c.failed)
    evidence = "; ".join(c.evidence for c in cells)
    return Cell(all(c.passed for c in cells), evidence, tightest, failed)


def score(signature: Signature, h: Hypothesis, control: RunView) -> dict[str, Cell]:
    return {s.id: symptom_cell(s, h, control) for s in signature.symptoms}


def consistent(signature: Signature, cells: dict[str, Cell]) -> bool:
    """No symptom fails, and every required one was tested and passed."""
    required = all(cells[s.id].passed is True for s in signature.symptoms if s.required)
    return required and all(cell.passed is not False for cell in cells.values())
