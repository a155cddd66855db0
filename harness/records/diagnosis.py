"""What `shieldlab diagnose --json` prints: every segment named, with its window, its effect and
its confidence, and the origin's capacity as a finding of its own.

The one model the command, the tests and any other tool read (`shieldlab schema --records`
gives its JSON Schema). Shares are 0..1; a value is None where its population had no requests.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from harness.records.base import SCHEMA_VERSION, Record


class ChangeTest(StrEnum):
    SHIFT = "latency shift"  # Mann-Whitney U, within endpoint classes
    TAIL = "slow share"  # Cochran-Mantel-Haenszel: 100 ms past the class's quiet median
    FAILED = "failed share"  # Fisher: attempts that failed on the segment


class PassedTest(Record):
    test: ChangeTest
    p_value: float = Field(description="the window against the rest of the run, one-sided")
    q_value: float = Field(description="p adjusted over this segment's windows and tests (BH)")
    neighbour_p_value: float | None = Field(
        description="the crossing requests against those stopping just before the segment, "
        "in the same window; None: no such requests to compare with"
    )


class Change(Record):
    quiet: float | None
    window: float | None


class Effect(Record):
    p50_ms: Change
    p95_ms: Change
    slow_share: Change = Field(description="successes 100 ms past their class's quiet median")
    failed_share: Change
    requests_window: int
    requests_quiet: int


class SegmentFinding(Record):
    segment: str = Field(
        description="client->edge-<pop> | edge-<pop>->shield | shield->origin | "
        "edge-<pop>->origin | edge-*->... (k of n POPs): how the report names it"
    )
    link: str = Field(
        description="the link as a scenario names it: one POP's (edge-iad->shield), every "
        "POP's (edge-*->shield), or shield->origin; what a tool compares, not `segment`"
    )
    pops: list[str] = Field(description="the POPs whose link it is; empty for shield->origin")
    onset_s: float
    end_s: float
    q_value: float = Field(
        description="the segment's Simes p-value over its windows and tests, adjusted over "
        "every segment (BH)"
    )
    confidence: float = Field(description="1 - q_value")
    tests: list[PassedTest] = Field(description="the tests that passed in this window")
    effect: Effect


class OriginCapacity(Record):
    onset_s: float
    end_s: float
    balancer_answers: int = Field(description="502s and 503s made by the origin's balancer")
    saturated_s: float = Field(description="time every worker slot was busy, from the samples")


class Diagnosis(Record):
    schema_version: int = SCHEMA_VERSION
    fdr_level: float = Field(description="Benjamini-Hochberg level: the expected false share")
    tests_run: int
    windows: int
    findings: list[SegmentFinding] = Field(description="most confident first")
    origin_capacity: OriginCapacity | None

    @property
    def segments(self) -> list[str]:
        return [f.segment for f in self.findings]

    @property
    def links(self) -> list[str]:
        return [f.link for f in self.findings]

    @property
    def fault_found(self) -> bool:
        return bool(self.findings) or self.origin_capacity is not None
