"""validate.json: what `shieldlab validate` decided, point by point, and on which runs.

Written by harness.validate's report, read back by the tests and by any tool through this model
(`shieldlab schema --records` gives its JSON Schema). Judgements are the evaluator's words:
holds, fails, undecided; a cell with no judgement was not tested (n/a).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from harness.records.base import Record, read_json_model

VALIDATE_FILE = "validate.json"


class Mode(StrEnum):
    QUICK = "quick"
    FULL = "full"


class Judgement(StrEnum):
    """What a bound says of a measured interval (harness.analysis.uncertainty decides it)."""

    HOLDS = "holds"
    FAILS = "fails"
    UNDECIDED = "undecided"


class MeasuredValue(Record):
    value: float | None
    low: float | None = Field(description="the 95 % interval's low end; None: no interval")
    high: float | None


class MeasuredRecord(Record):
    name: str = Field(description="the expectation's name in the signature")
    value: float | None
    low: float | None = Field(description="the interval's low end; None: no interval")
    high: float | None
    baseline: float | None = Field(description="the value on the role compared with")
    judgement: Judgement


class CellRecord(Record):
    judgement: Judgement | None = Field(description="None: not tested (n/a)")
    evidence: str = Field(description="each expectation's value [interval] vs its baseline")
    margin: float | None = Field(description="the tightest expectation's room to its bound")
    failed: list[str] = Field(description="the expectations that failed")
    undecided: list[str] = Field(description="the expectations whose interval straddles")
    measured: list[MeasuredRecord] = Field(description="each expectation as judged")

    def value(self, name: str) -> float | None:
        return next(m.value for m in self.measured if m.name == name)


class PointStatus(StrEnum):
    CONSISTENT = "consistent"
    RULED_OUT = "ruled out"
    UNDECIDED = "undecided"
    VOID = "void"  # its runs could not be scored (the load generator fell behind, ...)


class PointRecord(Record):
    value: float | None = Field(description="the swept value; None: the family as shipped")
    value2: float | str | None = Field(description="the second parameter's value, if any")
    status: PointStatus
    runs: list[str] = Field(description="the run directories scored (repeats pooled)")
    void: str | None = Field(description="why its runs could not be scored")
    cells: dict[str, CellRecord] = Field(description="symptom id -> its cell")


class FamilyStatus(StrEnum):
    CONSISTENT = "consistent"
    RULED_OUT = "ruled out"
    UNDECIDED = "undecided"
    UNTESTED = "not tested"


class FamilyRecord(Record):
    title: str
    segment: str | None
    status: FamilyStatus
    sentence: str
    untested: str | None
    ruling: list[str] = Field(description="the symptoms that failed at every point")
    ruled_by: str | None = Field(
        description="the first of `ruling` in the signature's order: the one the verdict names"
    )
    consistent_at: list[float | None]
    best_fit: float | None
    points: list[PointRecord]


class DifferenceRecord(Record):
    name: str = Field(description="the observable")
    a: MeasuredValue
    b: MeasuredValue
    separation: float = Field(description="the gap in combined standard errors")


class TellApartRecord(Record):
    """Two families left standing, at their best points, and what differs most between them."""

    a: str = Field(description="a family's name")
    a_point: float | None
    b: str
    b_point: float | None
    differences: list[DifferenceRecord]
    text: str


class Validation(Record):
    mode: Mode
    took_s: float
    signature: str
    verdict: list[str] = Field(description="the answer in words, headline first")
    families: dict[str, FamilyRecord]
    runs: list[str] = Field(description="every run directory, the control first")
    void_runs: list[str] = Field(description="runs not scored, with why")
    max_runs_per_point: int = Field(description="the cap on repeats of an undecided point")
    tell_apart: list[TellApartRecord] = Field(
        description="for each pair of families left standing, what would tell them apart"
    )


def read_validation(path: Path) -> Validation:
    return read_json_model(path, Validation)
