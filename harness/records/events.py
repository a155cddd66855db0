"""events.jsonl: what happened to the lab during a run, one JSON object per line.

A tagged union on `event`: faults applied and removed (with the step as the scenario gave it),
actions, the end of an action's window, releases published, and processes that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from harness.errors import BadInput
from harness.records.base import Record, first_error
from harness.scenario.steps import Step


class _Event(Record):
    t_s: float = Field(description="scenario seconds")
    wall_time: float | None = Field(
        default=None, description="seconds since the epoch; set when the event is written"
    )


class FaultApplied(_Event):
    event: Literal["fault_applied"] = "fault_applied"
    index: int = Field(description="the step's index in the scenario's faults")
    step: Step
    links: list[str]


class FaultRemoved(_Event):
    event: Literal["fault_removed"] = "fault_removed"
    index: int
    step: Step
    failures: list[str] = Field(default_factory=list)


class ActionApplied(_Event):
    event: Literal["action"] = "action"
    index: int
    step: Step


class ActionEnded(_Event):
    """The end of an action's window (a mirror group stops)."""

    event: Literal["action_end"] = "action_end"
    index: int
    step: Step


class ReleasePublished(_Event):
    event: Literal["release_published"] = "release_published"
    name: str
    version: str
    serial: int
    surrogate_key: str


class PublishFailed(_Event):
    event: Literal["publish_failed"] = "publish_failed"
    error: str


class ProcessFailed(_Event):
    """A process the lab needs died or stopped answering: the run is void."""

    event: Literal["process_failed"] = "process_failed"
    process: str
    detail: str


Event = Annotated[
    FaultApplied
    | FaultRemoved
    | ActionApplied
    | ActionEnded
    | ReleasePublished
    | PublishFailed
    | ProcessFailed,
    Field(discriminator="event"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def read_events(path: Path) -> list[Event]:
    if not path.exists():
        return []
    events = []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError as error:
            raise BadInput(f"{path}: line {line_no}: {first_error(error)}") from None
    return events
