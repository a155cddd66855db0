"""What the Locust process is told: the traffic to drive, where, and when. No locust import.

The harness writes a LoadPlan as JSON; `locustfile.py` reads it. Times are scenario seconds
from `t0_epoch`, the wall-clock instant the timeline starts, shared by both processes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.scenario.load import BrowserTraffic, PipTraffic
from harness.scenario.mix import MixSession, load_mix
from harness.scenario.model import Scenario
from harness.scenario.steps import MirrorsAction, step_end
from harness.scenario.traffic import MirrorClient


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MirrorPlan(Frozen):
    group: str
    count: int
    workers: int
    interval_s: float  # already divided by the topology's time_scale
    synchronized: bool
    backlog_serials: int
    retry_backoff_s: list[float]  # bandersnatch: 3 tries, 1 s then 2 s, scaled
    client: MirrorClient = MirrorClient.BANDERSNATCH_1_4
    active: list[tuple[float, float]]  # windows in scenario seconds


class MixPlan(Frozen):
    name: str  # the traffic class its records carry
    sessions_per_s: float
    sessions: list[MixSession]


def mirror_class(index: int) -> str:
    """The Locust user class of mirror group `index` (each group is a class of its own)."""
    return f"MirrorGroup{index}"


def mix_class(index: int) -> str:
    return f"MixGroup{index}"


# `shieldlab bench` (load generator): one Locust process sustained 1,200 requests/s of pip
# installs here (start lag p99 31 ms) and fell behind at 1,600; 1,000 leaves room for bursts.
ONE_PROCESS_REQUESTS_PER_S = 1000.0


def load_processes(requests_per_s: float, cpus: int) -> int:
    """How many Locust processes the open-model rate needs: one while one keeps up."""
    return max(1, min(cpus, math.ceil(requests_per_s / ONE_PROCESS_REQUESTS_PER_S)))


class LoadPlan(Frozen):
    # Scenario time zero on the wall clock: stamped by the lab when it starts the load
    # generator (its start margin ahead), never guessed when the plan is built.
    t0_epoch: float | None = None
    duration_s: float
    seed: int
    pops: dict[str, str]  # POP -> the client link's URL
    pop_share: dict[str, float]
    client_timeout_s: float
    pip: PipTraffic
    browser: BrowserTraffic
    mirrors: list[MirrorPlan] = Field(default_factory=list)
    mixes: list[MixPlan] = Field(default_factory=list)
    projects: list[str]
    last_serial: int = 0  # the origin's newest serial when the run starts (for mix replays)
    processes: int = 1  # Locust processes: 1, or a master's workers (each its share of the rate)

    def open_requests_per_s(self) -> float:
        """The open-model traffic's requests per second: pip and browser flows are two
        requests each; a mix's session, its mean number of steps."""
        mixes = sum(
            m.sessions_per_s * sum(len(s.steps) for s in m.sessions) / len(m.sessions)
            for m in self.mixes
        )
        return 2 * self.pip.installs_per_s + 2 * self.browser.visits_per_s + mixes

    popularity_exponent: float
    records_path: str


def _mirror_windows(
    scenario: Scenario, group: str, start_active: bool
) -> list[tuple[float, float]]:
    duration = scenario.load.duration_s
    windows = [
        (step.at, step_end(step, duration))
        for step in scenario.faults
        if isinstance(step, MirrorsAction) and step.group == group
    ]
    if start_active or not windows:
        return [(0.0, duration)] if start_active else []
    return sorted(windows)


def build_plan(
    scenario: Scenario,
    pops: dict[str, str],
    projects: list[str],
    records_path: Path,
    last_serial: int = 0,
) -> LoadPlan:
    scale = scenario.topology.time_scale
    load = scenario.load
    share = load.pop_share or {pop: 1.0 for pop in pops}
    mirrors = [
        MirrorPlan(
            group=group.name,
            count=group.count,
            workers=group.workers,
            interval_s=group.interval_s / scale,
            synchronized=group.synchronized,
            backlog_serials=group.backlog_serials,
            retry_backoff_s=[1.0 / scale, 2.0 / scale],
            active=_mirror_windows(scenario, group.name, group.start_active),
            client=group.client,
        )
        for group in load.mirrors
        if group.count > 0
    ]
    plan = LoadPlan(
        duration_s=load.duration_s,
        seed=load.seed,
        pops=pops,
        pop_share={pop: share.get(pop, 0.0) for pop in pops},
        client_timeout_s=load.client_timeout_s,
        pip=load.pip,
        browser=load.browser,
        mirrors=mirrors,
        mixes=[
            MixPlan(
                name=entry.name or "",
                sessions_per_s=entry.sessions_per_s,
                sessions=load_mix(entry.mix).sessions,
            )
            for entry in load.mixes
            if entry.sessions_per_s > 0
        ],
        projects=projects,
        last_serial=last_serial,
        popularity_exponent=load.popularity_exponent,
        records_path=str(records_path),
    )
    processes = load.processes or load_processes(plan.open_requests_per_s(), os.cpu_count() or 1)
    return plan.model_copy(update={"processes": processes})
