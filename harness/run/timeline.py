"""Running a scenario's fault timeline against an injected clock and injected backends.

Every change is registered for removal the moment it is applied and removed in `finally`,
Ctrl-C included. With a fake clock and fake backends the whole timeline runs instantly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from harness.errors import ShieldlabError
from harness.faults.backend import ActionBackend, FaultBackend, FaultChange, LinkTarget, change_for
from harness.records.events import ActionApplied, ActionEnded, FaultApplied, FaultRemoved
from harness.records.events import Event as RunEvent
from harness.scenario.model import Scenario, expand_link
from harness.scenario.steps import (
    LINK_FAULT_TYPES,
    JournalsIndexAction,
    MirrorsAction,
    OriginWorkersAction,
    Step,
    step_until,
)


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class Moment(Enum):
    REMOVE = "remove"  # at the same instant, ends come before starts
    APPLY = "apply"
    END = "end"  # the run is over


@dataclass(frozen=True)
class Event:
    """A moment on the timeline: step `index` starts (APPLY) or ends (REMOVE) at `t_s`."""

    t_s: float
    action: Moment
    index: int


def plan_events(steps: list[Step]) -> list[Event]:
    """Every start and end, in time order; at the same instant, ends come before starts."""
    events = []
    for index, step in enumerate(steps):
        events.append(Event(step.at, Moment.APPLY, index))
        until = step_until(step)
        if until is not None:
            events.append(Event(until, Moment.REMOVE, index))
    return sorted(events, key=lambda e: (e.t_s, e.action is not Moment.REMOVE, e.index))


EventSink = Callable[[RunEvent], None]


class Timeline:
    def __init__(
        self,
        scenario: Scenario,
        links: dict[str, LinkTarget],
        faults: FaultBackend,
        actions: ActionBackend,
        clock: Clock,
        record: EventSink,
    ) -> None:
        self.scenario = scenario
        self.links = links
        self.faults = faults
        self.actions = actions
        self.clock = clock
        self.record = record
        self._applied: dict[int, list[FaultChange]] = {}

    def run(
        self,
        duration_s: float,
        on_tick: Callable[[float], None] = lambda _t: None,
        tick_s: float = 0.5,
    ) -> None:
        """Apply and remove every step on time; return at `duration_s`."""
        for event in [*plan_events(self.scenario.faults), Event(duration_s, Moment.END, -1)]:
            while self.clock.now() < event.t_s:
                self.clock.sleep(min(tick_s, event.t_s - self.clock.now()))
                on_tick(self.clock.now())
            if event.action is Moment.APPLY:
                self._apply(event.index)
            elif event.action is Moment.REMOVE:
                self._remove(event.index)

    def _apply(self, index: int) -> None:
        step = self.scenario.faults[index]
        if isinstance(step, LINK_FAULT_TYPES):
            links = expand_link(step.link, list(self.links))
            self._applied[index] = []
            for link in links:
                change = change_for(step, link, self.links[link], f"step{index}")
                self._applied[index].append(
                    change
                )  # registered before the call: removed even if it half-fails
                self.faults.apply(change)
            self.record(FaultApplied(t_s=self._now(), index=index, step=step, links=links))
            return
        if isinstance(step, OriginWorkersAction):
            self.actions.set_worker_slots(step.worker_slots)
        elif isinstance(step, JournalsIndexAction):
            self.actions.set_journals_id_index(step.enabled)
        # A mirrors window needs no call: the load plan already runs the group inside it.
        self.record(ActionApplied(t_s=self._now(), index=index, step=step))

    def _remove(self, index: int) -> None:
        step = self.scenario.faults[index]
        changes = self._applied.pop(index, None)
        if changes is not None:
            failures = []
            for change in changes:
                try:
                    self.faults.remove(change)
                except ShieldlabError as error:  # keep removing the others
                    failures.append(str(error))
            self.record(FaultRemoved(t_s=self._now(), index=index, step=step, failures=failures))
        elif isinstance(step, MirrorsAction):
            self.record(ActionEnded(t_s=self._now(), index=index, step=step))

    def remove_all(self) -> None:
        """Remove whatever is still applied (the run ended early, or a step has no `until`)."""
        for index in sorted(self._applied, reverse=True):
            self._remove(index)

    def _now(self) -> float:
        return round(self.clock.now(), 3)
