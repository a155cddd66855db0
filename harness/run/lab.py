"""Where a run's topology runs: processes on the host (local mode, in a network namespace of
its own for packet loss) or containers under Docker Compose. Either way the runner gets the
same `TopologyState`, a loss backend when the scenario needs one, and Locust to start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.compose.lab import compose_up, container_loss, refuse_unless_ready
from harness.compose.locust import LocustContainers, container_plan
from harness.compose.project import ComposeProject
from harness.errors import BadInput, InfrastructureError
from harness.faults.backend import LinkFaults, LinkTarget, OriginAdmin, ToxiproxyBackend
from harness.faults.http import TapBackend
from harness.faults.loss import LossBackend
from harness.load.driver import LocustProcess
from harness.load.plan import LoadPlan
from harness.records import files
from harness.records.run_info import Mode, RunTopology
from harness.run.clock import LoadStart, RunClock
from harness.run.context import EventSink, FaultTools
from harness.run.publisher import Publisher
from harness.run.scraper import Scraper
from harness.scenario.load import LoadSpec
from harness.scenario.model import Scenario
from harness.scenario.topology import CdnKind
from harness.topology import netns
from harness.topology.control import default_state_dir
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from harness.topology.taps import find_mitmdump
from harness.topology.varnish import check_vcl, require_varnish
from harness.toxiproxy_api import ToxiproxyApi
from proxies import contract

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
    """A topology that is up, and what a run does to it: the run's phases see only this."""

    state: TopologyState
    loss: LossBackend | None
    project: ComposeProject | None = None  # compose mode's project
    workers: int | None = None  # compose mode: Locust workers asked for (None: as the plan)
    _locust: Locust | None = field(default=None, init=False, repr=False)

    @property
    def mode(self) -> Mode:
        return Mode.LOCAL if self.project is None else Mode.COMPOSE

    @property
    def log_dir(self) -> str:
        return self.state.work_dir

    def topology(self) -> RunTopology:
        state = self.state
        return RunTopology(
            mode=self.mode,
            nodes={name: node.url for name, node in state.nodes.items()},
            links={name: link.listen for name, link in state.links.items()},
            toxiproxy_api=state.toxiproxy.api,
        )

    def steady_state(self) -> dict[str, int]:
        """The status of the simple index through every POP: all 200 means healthy."""
        state = self.state
        with httpx.Client(timeout=20, trust_env=False) as client:
            results = {}
            for pop in state.edges:
                try:
                    results[pop] = client.get(state.client_url(pop) + "/simple/").status_code
                except httpx.HTTPError:
                    results[pop] = 0
            return results

    def origin_index(self) -> tuple[list[str], int]:
        """The origin's project names and its newest serial, asked directly (no CDN)."""
        with httpx.Client(timeout=30, trust_env=False) as client:
            page = client.get(
                self.state.nodes[contract.ORIGIN_NODE].url + "/simple/",
                headers={"Accept": contract.PEP691_JSON},
            )
            page.raise_for_status()
            names = [p["name"] for p in page.json()["projects"]]
            return names, int(page.headers.get(contract.HEADER_LAST_SERIAL, 0))

    def load_urls(self) -> dict[str, str]:
        """POP -> where the load generator sends (the client link)."""
        return {pop: self.state.load_url(pop) for pop in self.state.edges}

    def dead_process(self) -> str | None:
        return self.state.dead_process()

    def fault_tools(self, cleanup: ExitStack) -> FaultTools:
        """The backends the timeline applies faults and actions with, closed by `cleanup`."""
        state = self.state
        origin = cleanup.enter_context(
            closing(OriginAdmin(str(state.nodes[contract.ORIGIN_NODE].admin_url)))
        )
        toxiproxy = cleanup.enter_context(closing(ToxiproxyApi(state.toxiproxy.api)))
        taps = cleanup.enter_context(closing(TapBackend()))
        links = {
            name: LinkTarget(link.proxy, link.port, link.tap_url)
            for name, link in state.links.items()
        }
        faults = LinkFaults(ToxiproxyBackend(toxiproxy), self.loss, taps)
        return FaultTools(links, faults, origin)

    def scraper(self, samples_path: Path) -> Scraper:
        nodes = {name: node.url for name, node in self.state.nodes.items()}
        return Scraper(nodes, samples_path, loss=self.loss)

    def publisher(self, load: LoadSpec, record: EventSink, cleanup: ExitStack) -> Publisher:
        """New releases at the origin, each purged from every CDN node (shield first)."""
        nodes = self.state.nodes
        origin = cleanup.enter_context(
            closing(OriginAdmin(str(nodes[contract.ORIGIN_NODE].admin_url)))
        )
        purge = [str(n.admin_url) for name, n in nodes.items() if name != contract.ORIGIN_NODE]
        return Publisher(origin, purge, load, record)

    def _start_margin_s(self, plan: LoadPlan) -> float:
        if self.project is not None:
            return LOCUST_CONTAINERS_START_MARGIN_S
        return LOCUST_START_MARGIN_S if plan.processes == 1 else LOCUST_WORKERS_START_MARGIN_S

    def start_load(self, plan: LoadPlan, directory: Path, clock: RunClock) -> LoadStart:
        """Locust on `plan`, its plan, logs and records in `directory`; scenario time zero is
        this lab's start margin from now, stamped into the plan Locust reads."""
        if self.project is not None:
            plan = container_plan(plan, self.workers or plan.processes)
        margin_s = self._start_margin_s(plan)
        start = LoadStart.after(clock, margin_s)
        plan = plan.model_copy(update={"t0_epoch": start.t0_epoch})
        if self.project is not None:
            self._locust = LocustContainers(self.project, plan, directory, margin_s)
        else:
            self._locust = LocustProcess(
                plan, directory / files.PLAN_FILE, directory / files.LOCUST_LOG, margin_s
            )
        return start

    def check_load(self) -> None:
        """Raises when a load generator process exited before its time."""
        if self._locust is not None:
            self._locust.check_alive()

    def wait_load(self) -> None:
        """Until the load generator has finished on its own (its in-flight requests drained)."""
        if self._locust is not None:
            self._locust.wait()

    def stop_load(self) -> dict[str, int]:
        """Stop the load generator (whatever state it is in); its records per process."""
        locust, self._locust = self._locust, None
        if locust is None:
            return {}
        locust.stop()
        return locust.parts


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
        varnish = scenario.topology.cdn is CdnKind.VARNISH
        refuse_unless_ready(state_dir or default_state_dir(), varnish)
    if scenario.topology.cdn is CdnKind.VARNISH:
        require_varnish()  # the nodes' VCL is compiled here first, in either mode
    check_vcl(scenario.topology)
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
    """The scenario's topology, up for a `with` block, in `mode`; down after it."""
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
