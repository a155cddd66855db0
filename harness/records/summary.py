"""summary.json: the run cut into windows and measured, and whether the load generator kept up."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field

from harness.records.base import Record, read_json_model
from harness.scenario.traffic import Layer, TrafficName


class WindowPhase(StrEnum):
    """Where a window sits against the run's faults and action windows."""

    BEFORE = "before"  # nothing has been applied yet
    DURING = "during"  # at least one fault or action window is on
    AFTER = "after"  # something was applied and is over


class LatencyPercentiles(Record):
    p50_ms: float
    p95_ms: float
    p99_ms: float
    n: int


class WindowSummary(Record):
    label: str
    phase: WindowPhase
    start_s: float
    end_s: float
    active: list[str] = Field(description="faults and action windows on in this window")
    done: list[str] = Field(description="instant actions already taken (e.g. a scale-up)")
    requests: int
    rate_per_s: float
    error_ratio: float
    errors_by_status: dict[int, int]
    errors_by_layer: dict[Layer, int]
    latency: dict[TrafficName, LatencyPercentiles]
    hit_ratio: dict[Layer, float | None]
    origin_busy_mean: float | None
    origin_busy_max: float | None
    origin_slots: float | None

    @property
    def span_s(self) -> float:
        return self.end_s - self.start_s


class ClassLoad(Record):
    asked_flows: int
    started_flows: int
    start_lag_p99_ms: float
    kept_up: bool


class LoadGeneratorCheck(Record):
    """Did open-model traffic start when it was meant to, at the rate asked? If not, the
    measurement is void: latency and error rates describe the generator, not the lab."""

    kept_up: bool
    classes: dict[TrafficName, ClassLoad]

    def shortfall(self) -> str | None:
        """Why the generator's traffic does not count, in one line; None when it kept up."""
        if self.kept_up:
            return None
        return "the load generator did not keep the asked rate: " + "; ".join(
            f"{traffic}: {c.started_flows} of {c.asked_flows} flows, "
            f"start lag p99 {c.start_lag_p99_ms} ms"
            for traffic, c in self.classes.items()
        )


class Summary(Record):
    schema_version: Literal[2] = 2  # records.base.SCHEMA_VERSION; older summaries are refused
    scenario: str
    seed: int
    duration_s: float
    requests: int
    windows: list[WindowSummary]
    load_generator: LoadGeneratorCheck
    measured: dict[str, float | None] = Field(
        default_factory=dict,
        description="each of the scenario's expectations (by key) and its measured value",
    )
    spread: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="each expectation's confidence interval (low, high): a bootstrap over the "
        "run's 1 s bins; absent where there were too few seconds to tell, or for a gauge",
    )


def read_summary(path: Path) -> Summary:
    return read_json_model(path, Summary)
