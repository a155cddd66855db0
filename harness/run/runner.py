"""`shieldlab run`: one scenario, end to end, as phases over one context.

up -> steady state -> traffic + timeline (faults applied and removed on time) -> drain ->
steady state again -> summary. Faults are removed in `finally`, Ctrl-C included; an
interrupted run keeps its records under `<run-id>.interrupted`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
import yaml

from harness.analysis.expectations import RunView
from harness.analysis.judging import evaluate
from harness.analysis.summary import summarize
from harness.errors import InfrastructureError, ShieldlabError
from harness.faults.backend import LinkFaults, LinkTarget, OriginAdmin, ToxiproxyBackend
from harness.faults.http import TapBackend
from harness.load.plan import build_plan
from harness.records import files
from harness.records.base import write_json_model
from harness.records.events import ProcessFailed
from harness.records.request import read_requests
from harness.records.run_info import Mode, RunStatus, RunTopology
from harness.records.samples import read_samples
from harness.run.lab import Lab, lab_up, refuse_unless_possible
from harness.run.publisher import Publisher
from harness.run.run_dir import RunDir
from harness.run.scraper import LiveRates, Scraper
from harness.run.timeline import Timeline, WallClock
from harness.scenario.model import Scenario
from harness.topology.state import TopologyState
from harness.toxiproxy_api import ToxiproxyApi
from proxies import contract

RECOVERY_TRIES = 4  # the steady state after the run: tries, RECOVERY_WAIT_S apart
RECOVERY_WAIT_S = 5.0
# A node that answers nothing for this long is hung: its metrics are served outside the
# modelled capacity and apart from every link, so no fault of a scenario can silence them.
NODE_SILENCE_S = 15.0


class RunInterrupted(ShieldlabError):
    """Ctrl-C or SIGTERM during a run: everything was cleaned up, the records kept."""

    exit_code = 130


class LabBroken(InfrastructureError):
    """A process of the lab died or the lab did not recover: the run is void, not a result."""


@dataclass
class Progress:
    """What the live display shows; the runner updates it, the CLI renders it."""

    phase: str = "starting"
    elapsed_s: float = 0.0
    total_s: float = 0.0
    live: LiveRates = field(default_factory=LiveRates)


ProgressSink = Callable[[Progress], None]


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("shieldlab", "locust", "aiohttp", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    return versions


def healthy(results: dict[str, int]) -> bool:
    return all(code == 200 for code in results.values())


def steady_state(state: TopologyState) -> dict[str, int]:
    """The status of the simple index through every POP: all 200 means healthy."""
    with httpx.Client(timeout=20, trust_env=False) as client:
        results = {}
        for pop in state.edges:
            try:
                results[pop] = client.get(state.client_url(pop) + "/simple/").status_code
            except httpx.HTTPError:
                results[pop] = 0
        return results


def origin_index(state: TopologyState) -> tuple[list[str], int]:
    """The origin's project names and its newest serial, asked directly (no CDN)."""
    with httpx.Client(timeout=30, trust_env=False) as client:
        page = client.get(
            state.nodes[contract.ORIGIN_NODE].url + "/simple/",
            headers={"Accept": contract.PEP691_JSON},
        )
        page.raise_for_status()
        names = [p["name"] for p in page.json()["projects"]]
        return names, int(page.headers.get(contract.HEADER_LAST_SERIAL, 0))


def run_scenario(
    scenario: Scenario,
    results_dir: Path,
    state_dir: Path,
    progress: ProgressSink,
    mode: Mode = Mode.LOCAL,
    workers: int | None = None,
) -> Path:
    """`workers`: compose mode's Locust workers (None: as many as the rate needs)."""
    refuse_unless_possible(scenario, mode, state_dir)
    run = RunDir.create(results_dir, scenario.name)
    try:
        (run.file(files.SCENARIO_FILE)).write_text(
            yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
        )
        run.update_info(
            scenario=scenario.name,
            seed=scenario.load.seed,
            versions=_versions(),
            started_at=time.time(),
            duration_s=scenario.load.duration_s,
        )
        state_progress = Progress(total_s=scenario.load.duration_s)

        def report(message: str) -> None:
            state_progress.phase = message
            progress(state_progress)

        with lab_up(scenario, mode, state_dir, report, workers) as lab:
            _drive(scenario, lab, run, state_progress, progress)
        report("summarizing")
        records = read_requests(run.file(files.REQUESTS_FILE))
        samples = read_samples(run.file(files.SAMPLES_FILE))
        outcomes = evaluate(scenario.expect, RunView.of(scenario, records, samples))
        measured = {o.expectation.key: o.value for o in outcomes}
        spread = {
            o.expectation.key: (o.spread.low, o.spread.high)
            for o in outcomes
            if o.spread is not None
        }
        write_json_model(
            run.file(files.SUMMARY_FILE), summarize(scenario, records, samples, measured, spread)
        )
    except KeyboardInterrupt:
        kept = run.finish(RunStatus.INTERRUPTED, "interrupted by the user")
        raise RunInterrupted(
            f"interrupted; faults removed, topology down; partial records in {kept}"
        ) from None
    except BaseException as error:
        kept = run.finish(RunStatus.FAILED, str(error))
        if isinstance(error, ShieldlabError):
            raise type(error)(f"{error}; the run is void, its records are in {kept}") from None
        raise
    return run.finish(RunStatus.COMPLETE)


def link_targets(state: TopologyState) -> dict[str, LinkTarget]:
    return {
        name: LinkTarget(link.proxy, link.port, link.tap_url) for name, link in state.links.items()
    }


def _drive(
    scenario: Scenario, lab: Lab, run: RunDir, shown: Progress, progress: ProgressSink
) -> None:
    state, loss = lab.state, lab.loss
    run.update_info(
        topology=RunTopology(
            mode=lab.mode,
            nodes={name: node.url for name, node in state.nodes.items()},
            links={name: link.listen for name, link in state.links.items()},
            toxiproxy_api=state.toxiproxy.api,
        )
    )
    shown.phase = "steady state before"
    progress(shown)
    before = steady_state(state)
    run.update_info(steady_state_before=before)
    if not healthy(before):
        raise LabBroken(f"the topology is not healthy before the run: {before}")

    pops = {pop: state.load_url(pop) for pop in state.edges}
    names, last_serial = origin_index(state)
    plan = build_plan(scenario, pops, names, 0.0, run.file(files.REQUESTS_FILE), last_serial)
    plan = lab.load_plan(plan)
    margin_s = lab.start_margin_s(plan)
    t0_epoch = time.time() + margin_s
    t0_monotonic = time.monotonic() + margin_s
    plan = plan.model_copy(update={"t0_epoch": t0_epoch})
    origin_admin = OriginAdmin(str(state.nodes[contract.ORIGIN_NODE].admin_url))
    toxiproxy = ToxiproxyApi(state.toxiproxy.api)
    taps = TapBackend()
    scraper = Scraper(
        {n: s.url for n, s in state.nodes.items()},
        run.file(files.SAMPLES_FILE),
        t0_monotonic,
        loss=loss,
    )
    purge_urls = [str(state.nodes[n].admin_url) for n in state.nodes if n != contract.ORIGIN_NODE]
    publisher = Publisher(
        origin_admin,
        purge_urls,
        scenario.load.publish_per_min,
        scenario.load.seed,
        t0_monotonic,
        scenario.load.duration_s,
        run.record_event,
    )
    timeline = Timeline(
        scenario,
        link_targets(state),
        LinkFaults(ToxiproxyBackend(toxiproxy), loss, taps),
        origin_admin,
        WallClock(start=t0_monotonic),
        run.record_event,
    )
    locust = lab.start_locust(plan, run.path, margin_s)
    run.update_info(t0_epoch=t0_epoch)
    finished = False
    try:
        scraper.start()
        shown.phase = "starting load"
        while time.monotonic() < t0_monotonic:
            locust.check_alive()
            progress(shown)
            time.sleep(0.2)
        publisher.start()

        def tick(t_s: float) -> None:
            dead = state.dead_process()
            if dead is not None:
                run.record_event(ProcessFailed(t_s=round(t_s, 3), process=dead, detail="exited"))
                raise LabBroken(f"{dead} died at {t_s:.0f} s; its log is in {state.work_dir}")
            for node in scraper.silent(NODE_SILENCE_S):
                detail = f"no answer for {NODE_SILENCE_S:.0f} s"
                run.record_event(ProcessFailed(t_s=round(t_s, 3), process=node, detail=detail))
                raise LabBroken(f"{node} stopped answering at {t_s:.0f} s ({detail})")
            if t_s < scenario.load.duration_s - 1:  # near the end Locust may finish on its own
                locust.check_alive()
            shown.phase, shown.elapsed_s, shown.live = "traffic and faults", t_s, scraper.live
            progress(shown)

        timeline.run(scenario.load.duration_s, on_tick=tick)
        finished = True
    finally:
        # Faults first, whatever happened: the topology must be left as it was found.
        timeline.remove_all()
        publisher.stop()
        try:
            if finished:
                shown.phase = "draining in-flight requests"
                progress(shown)
                locust.wait()
        finally:
            locust.stop()
            run.update_info(load_parts=locust.parts)
            scraper.stop()
            origin_admin.close()
            toxiproxy.close()
            taps.close()
    shown.phase = "steady state after"
    progress(shown)
    check_recovered(state, run)


def check_recovered(state: TopologyState, run: RunDir) -> None:
    """The lab must serve again once faults are gone and load has stopped; else the run is void."""
    after: dict[str, int] = {}
    for attempt in range(RECOVERY_TRIES):
        dead = state.dead_process()
        if dead is not None:
            raise LabBroken(f"{dead} died by the end of the run; its log is in {state.work_dir}")
        after = steady_state(state)
        run.update_info(steady_state_after=after)
        if healthy(after):
            return
        if attempt + 1 < RECOVERY_TRIES:
            time.sleep(RECOVERY_WAIT_S)
    raise LabBroken(
        f"the topology did not recover after the run (status of /simple/ per POP: {after})"
    )
