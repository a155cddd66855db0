"""Where a run's topology runs: processes on the host (local mode, in a network namespace of
its own for packet loss) or containers under Docker Compose. Either way the runner gets the
same `TopologyState`, a loss backend when the scenario needs one, and Locust to start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.compose.lab import compose_up, container_loss, refuse_unless_ready
from harness.compose.locust import LocustContainers, container_plan
from harness.compose.project import ComposeProject
from harness.errors import BadInput, InfrastructureError
from harness.faults.loss import LossBackend
from harness.load.driver import LocustProcess
from harness.load.plan import LoadPlan
from harness.records import files
from harness.records.run_info import Mode
from harness.scenario.model import Scenario
from harness.topology import netns
from harness.topology.control import default_state_dir
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from harness.topology.taps import find_mitmdump

Report = Callable[[str], None]
LOCUST_START_MARGIN_S = 3.0  # Locust imports and spawns its users in about 1.5 s here
# A master waits for its workers to import Locust and connect before it sends them users:
# with 3 s, the first 4 s of a two-worker run started up to 1.7 s late (measured).
LOCUST_WORKERS_START_MARGIN_S = 6.0
# Containers add their own start (about 1-2 s here) before the master's workers connect.
LOCUST_CONTAINERS_START_MARGIN_S = 10.0


Locust = LocustProcess | LocustContainers


@dataclass
class Lab:
    state: TopologyState
    loss: LossBackend | None
    project: ComposeProject | None = None  # compose mode's project
    workers: int | None = None  # compose mode: Locust workers asked for (None: as the plan)

    @property
    def mode(self) -> Mode:
        return Mode.LOCAL if self.project is None else Mode.COMPOSE

    def load_plan(self, plan: LoadPlan) -> LoadPlan:
        if self.project is None:
            return plan
        return container_plan(plan, self.workers or plan.processes)

    def start_margin_s(self, plan: LoadPlan) -> float:
        if self.project is not None:
            return LOCUST_CONTAINERS_START_MARGIN_S
        return LOCUST_START_MARGIN_S if plan.processes == 1 else LOCUST_WORKERS_START_MARGIN_S

    def start_locust(self, plan: LoadPlan, directory: Path, start_margin_s: float) -> Locust:
        """Locust on `plan` (from `load_plan`), its plan, logs and records in `directory`."""
        if self.project is not None:
            return LocustContainers(self.project, plan, directory, start_margin_s)
        return LocustProcess(
            plan, directory / files.PLAN_FILE, directory / files.LOCUST_LOG, start_margin_s
        )


def refuse_unless_possible(
    scenario: Scenario, mode: Mode = Mode.LOCAL, state_dir: Path | None = None
) -> None:
    """A run that cannot take place here is refused before anything starts."""
    if mode is Mode.COMPOSE:
        if scenario.tap:
            raise BadInput(
                f"scenario {scenario.name!r}: tap: {scenario.tap}: taps run in local mode only; "
                "run it without --mode compose"
            )
        refuse_unless_ready(state_dir or default_state_dir())
    if scenario.needs_packet_loss:
        missing = netns.missing_privileges()
        if missing is not None:
            raise InfrastructureError(f"scenario {scenario.name!r}: {missing}")
    if scenario.tap:
        try:
            find_mitmdump()
        except InfrastructureError as error:
            raise InfrastructureError(f"scenario {scenario.name!r} taps links: {error}") from None


@contextmanager
def _local_network(scenario: Scenario, report: Report) -> Iterator[LossBackend | None]:
    """The host's loopback, or (for packet loss) a namespace of the run's own."""
    if not scenario.needs_packet_loss:
        yield None
        return
    for name in netns.sweep():
        report(f"removed network namespace {name}, left by a killed run")
    with netns.own_namespace():
        yield LossBackend()


@contextmanager
def lab_up(
    scenario: Scenario, mode: Mode, state_dir: Path, report: Report, workers: int | None = None
) -> Iterator[Lab]:
    if mode is Mode.COMPOSE:
        with compose_up(scenario.topology, state_dir, report) as (state, project):
            loss = container_loss(state) if scenario.needs_packet_loss else None
            yield Lab(state, loss, project, workers)
        return
    with (
        _local_network(scenario, report) as loss,
        topology_up(scenario.topology, state_dir, report, scenario.tapped_links()) as state,
    ):
        yield Lab(state, loss)
