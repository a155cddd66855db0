"""Running a plan until its points are decided.

Every planned run is run once. A run the gate would void (the lab broke, the load generator fell
behind) is never scored: it is run again once, then its points are reported void. In full mode
a run whose points are still undecided is run again with a new seed, its runs pooled, until
every point is decided or the plan's cap is reached; quick mode runs each once. The loop
(`decide`) takes the run and the scoring as functions, so a test drives it with fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from harness.records.run_data import RunData, load_run
from harness.records.validation import PointStatus
from harness.run.phases import LabBroken
from harness.run.progress import LiveProgress, minutes
from harness.run.runner import run_scenario
from harness.scenario.model import Scenario
from harness.scenario.topology import CdnKind
from harness.validate.fit import PointResult
from harness.validate.plan import Plan
from harness.validate.sweep import PlannedRun

SEED_STEP = 1000  # a repeat's seed: the scenario's own plus this times the attempt


@dataclass(frozen=True)
class Attempt:
    run: RunData | None  # None: the lab broke before the run finished
    path: str
    void: str | None  # why it cannot be scored; None: it counts


@dataclass
class Decided:
    """One planned run's attempts and the points they decided."""

    planned: PlannedRun
    runs: list[RunData] = field(default_factory=list)
    voided: list[Attempt] = field(default_factory=list)
    points: list[PointResult] = field(default_factory=list)


Execute = Callable[[Scenario], Attempt]
Score = Callable[[PlannedRun, list[RunData]], list[PointResult]]


def reseeded(scenario: Scenario, attempt: int) -> Scenario:
    """The scenario with its own seed on the first attempt, a new one on each repeat."""
    if attempt == 0:
        return scenario
    load = scenario.load.model_copy(update={"seed": scenario.load.seed + SEED_STEP * attempt})
    return scenario.model_copy(update={"load": load})


def void_points(planned: PlannedRun, voided: list[Attempt]) -> list[PointResult]:
    why = voided[-1].void if voided else "not run"
    paths = tuple(a.path for a in voided if a.path)
    return [
        PointResult(p.value, {}, PointStatus.VOID, paths, why, (), p.value2) for p in planned.probes
    ]


def decide(planned: PlannedRun, execute: Execute, score: Score, max_runs: int) -> Decided:
    """Run until every point of the run is decided, `max_runs` scored runs are pooled, or a
    void run has been retried once."""
    decided = Decided(planned)
    while True:
        attempt = execute(reseeded(planned.scenario, len(decided.runs) + len(decided.voided)))
        if attempt.void is not None or attempt.run is None:
            decided.voided.append(attempt)
            if len(decided.voided) > 1:
                break
            continue
        decided.runs.append(attempt.run)
        decided.points = score(planned, decided.runs)
        open_ = any(p.status is PointStatus.UNDECIDED for p in decided.points)
        if not open_ or len(decided.runs) >= max_runs:
            break
    if not decided.runs:
        decided.points = void_points(planned, decided.voided)
    return decided


def on_cdn(scenario: Scenario, cdn: CdnKind | None) -> Scenario:
    """The scenario on this CDN kind (None: as it says)."""
    if cdn is None:
        return scenario
    topology = scenario.topology.model_copy(update={"cdn": cdn})
    return scenario.model_copy(update={"topology": topology})


class Runner:
    """Runs scenarios for real, one at a time, with a live line and an ETA."""

    def __init__(
        self,
        plan: Plan,
        out_dir: Path,
        state_dir: Path,
        console: Console,
        cdn: CdnKind | None = None,
    ) -> None:
        self.out_dir, self.state_dir, self.console = out_dir, state_dir, console
        self.cdn = cdn  # every run on this CDN kind (`validate --cdn`)
        self.remaining_s = plan.expected_s
        self.total = len(plan.all_runs)
        self.done = 0
        self.started = time.monotonic()

    def execute(self, scenario: Scenario, planned_s: float) -> Attempt:
        self.done += 1
        if self.done > self.total:  # a repeat or a retry: one more run than announced
            self.total, self.remaining_s = self.done, self.remaining_s + planned_s
        eta = time.strftime("%H:%M:%S", time.localtime(time.time() + self.remaining_s))
        where = f"[{self.done}/{self.total}, done by about {eta}] {scenario.name}"
        scenario = on_cdn(scenario, self.cdn)
        try:
            with LiveProgress(self.console, where + ": ") as live:
                run_dir = run_scenario(scenario, self.out_dir / "runs", self.state_dir, live.update)
        except LabBroken as error:  # a process died: void, tried once more
            attempt = Attempt(None, "", str(error))
        else:
            run = load_run(run_dir)
            attempt = Attempt(run, str(run_dir), run.void)
        self.remaining_s = max(0.0, self.remaining_s - planned_s)
        state = f"VOID: {attempt.void}" if attempt.void else attempt.path
        took = minutes(time.monotonic() - self.started)
        self.console.print(f"{where}: {state} ({took} so far)", highlight=False, markup=False)
        return attempt

    def decide(self, planned: PlannedRun, score: Score, max_runs: int) -> Decided:
        return decide(planned, lambda s: self.execute(s, planned.expected_s), score, max_runs)
