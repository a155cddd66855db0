"""What every phase of a run takes: one `RunContext` (the scenario, the lab, the clock, the run
directory, the progress shown, and the registry of what to remove), and the narrow interfaces
the phases see the lab through, so a unit test runs a whole run against fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.faults.backend import ActionBackend, FaultBackend, LinkTarget
from harness.load.plan import LoadPlan
from harness.records.events import Event
from harness.records.run_info import Mode, RunTopology
from harness.run.clock import LoadStart, RunClock
from harness.run.run_dir import RunDir
from harness.run.scraper import LiveRates
from harness.scenario.load import LoadSpec
from harness.scenario.model import Scenario

EventSink = Callable[[Event], None]


@dataclass
class Progress:
    """What the live display shows; the phases update it, the CLI renders it."""

    phase: str = "starting"
    elapsed_s: float = 0.0
    total_s: float = 0.0
    live: LiveRates = field(default_factory=LiveRates)


ProgressSink = Callable[[Progress], None]


@dataclass(frozen=True)
class FaultTools:
    """What the timeline changes the lab with: each link's address, faults, origin actions."""

    links: dict[str, LinkTarget]
    faults: FaultBackend
    actions: ActionBackend


class Background(Protocol):
    """Work in a thread of its own on scenario time: stop() is safe before start()."""

    def start(self, t0_monotonic: float) -> None: ...

    def stop(self) -> None: ...


class Sampler(Background, Protocol):
    """The nodes' metrics, scraped in the background into samples.csv."""

    live: LiveRates

    def silent(self, limit_s: float) -> list[str]: ...


@dataclass(frozen=True)
class LoadTools:
    """What the load phases use, all made before the load starts (so nothing is built after
    time zero, when the first fault may be due)."""

    faults: FaultTools
    scraper: Sampler
    publisher: Background


class RunLab(Protocol):
    """A topology that is up, as the phases see it (run.lab.Lab, or a fake in unit tests)."""

    @property
    def mode(self) -> Mode: ...

    @property
    def log_dir(self) -> str: ...

    def topology(self) -> RunTopology: ...

    def steady_state(self) -> dict[str, int]: ...

    def origin_index(self) -> tuple[list[str], int]: ...

    def load_urls(self) -> dict[str, str]: ...

    def dead_process(self) -> str | None: ...

    def fault_tools(self, cleanup: ExitStack) -> FaultTools: ...

    def scraper(self, samples_path: Path) -> Sampler: ...

    def publisher(self, load: LoadSpec, record: EventSink, cleanup: ExitStack) -> Background: ...

    def start_load(self, plan: LoadPlan, directory: Path, clock: RunClock) -> LoadStart: ...

    def check_load(self) -> None: ...

    def wait_load(self) -> None: ...

    def stop_load(self) -> dict[str, int]: ...


@dataclass
class RunContext:
    scenario: Scenario
    lab: RunLab
    clock: RunClock
    run: RunDir
    progress: ProgressSink
    shown: Progress
    # Everything a phase starts or applies is entered here the moment it exists, and removed
    # (last in, first out) when the load phases end, Ctrl-C included.
    cleanup: ExitStack = field(default_factory=ExitStack)

    def phase(self, name: str, elapsed_s: float | None = None) -> None:
        self.shown.phase = name
        if elapsed_s is not None:
            self.shown.elapsed_s = elapsed_s
        self.progress(self.shown)
