"""The phases of one run, each a function of the run's context, in the order they run:

prepare -> (the lab comes up) -> steady state before -> equip (fault backends, scraper,
publisher) -> start load -> traffic and timeline -> drain -> (what the load phases made is
removed) -> steady state after -> (the lab goes down) -> write the summary.

Everything the load phases start (Locust, the scraper, the publisher, the fault backends'
clients, every fault) is entered into the context's exit stack the moment it exists, so it is
removed however the run ends, Ctrl-C included, faults first.
"""

from __future__ import annotations

import platform
from importlib import metadata

import yaml

from harness.analysis.expectations import RunView
from harness.analysis.judging import evaluate
from harness.analysis.summary import summarize
from harness.errors import InfrastructureError
from harness.load.plan import build_plan
from harness.records import files
from harness.records.base import write_json_model
from harness.records.events import ProcessFailed
from harness.records.request import read_requests
from harness.records.samples import read_samples
from harness.run.clock import LoadStart, RunClock, SinceLoadStart
from harness.run.context import LoadTools, RunContext, Sampler
from harness.run.run_dir import RunDir
from harness.run.timeline import Timeline
from harness.scenario.model import Scenario

RECOVERY_TRIES = 4  # the steady state after the run: tries, RECOVERY_WAIT_S apart
RECOVERY_WAIT_S = 5.0
# A node that answers nothing for this long is hung: its metrics are served outside the
# modelled capacity and apart from every link, so no fault of a scenario can silence them.
NODE_SILENCE_S = 15.0
START_POLL_S = 0.2  # how often the load generator is checked while it starts
TICK_S = 0.5  # how often the timeline checks the lab between its steps


class LabBroken(InfrastructureError):
    """A process of the lab died or the lab did not recover: the run is void, not a result."""


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


def prepare(scenario: Scenario, run: RunDir, clock: RunClock) -> None:
    """The scenario as run, and what the run is, written before anything starts."""
    run.file(files.SCENARIO_FILE).write_text(
        yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
    )
    run.update_info(
        scenario=scenario.name,
        seed=scenario.load.seed,
        versions=_versions(),
        started_at=clock.epoch(),
        duration_s=scenario.load.duration_s,
    )


def steady_state_before(ctx: RunContext) -> None:
    topology = ctx.lab.topology().model_copy(update={"cdn": ctx.scenario.topology.cdn.value})
    ctx.run.update_info(topology=topology)
    ctx.phase("steady state before")
    before = ctx.lab.steady_state()
    ctx.run.update_info(steady_state_before=before)
    if not healthy(before):
        raise LabBroken(f"the topology is not healthy before the run: {before}")


def equip(ctx: RunContext) -> LoadTools:
    """The fault backends, the scraper and the publisher, made (not started) before the load
    starts. Registered so that, whatever happens, the unwinding goes: faults removed, the
    publisher stopped, Locust stopped (its records joined), the scraper stopped, clients closed."""
    faults = ctx.lab.fault_tools(ctx.cleanup)  # its clients: closed last
    publisher = ctx.lab.publisher(ctx.scenario.load, ctx.run.record_event, ctx.cleanup)
    scraper = ctx.lab.scraper(ctx.run.file(files.SAMPLES_FILE))
    ctx.cleanup.callback(scraper.stop)
    return LoadTools(faults, scraper, publisher)


def start_load(ctx: RunContext, tools: LoadTools) -> LoadStart:
    """Locust started on the scenario's plan and the scraper on the same time zero; returns
    at that time zero, once the load generator has started without dying."""
    names, last_serial = ctx.lab.origin_index()
    records = ctx.run.file(files.REQUESTS_FILE)
    plan = build_plan(ctx.scenario, ctx.lab.load_urls(), names, records, last_serial)
    ctx.phase("starting load")

    def stop_load() -> None:
        ctx.run.update_info(load_parts=ctx.lab.stop_load())

    ctx.cleanup.callback(stop_load)  # before starting: a half-started generator is stopped too
    start = ctx.lab.start_load(plan, ctx.run.path, ctx.clock)
    ctx.run.update_info(t0_epoch=start.t0_epoch)
    tools.scraper.start(start.t0_monotonic)
    while ctx.clock.monotonic() < start.t0_monotonic:
        ctx.lab.check_load()
        ctx.phase("starting load")
        ctx.clock.sleep(min(START_POLL_S, start.t0_monotonic - ctx.clock.monotonic()))
    return start


def traffic(ctx: RunContext, start: LoadStart, tools: LoadTools) -> None:
    """The fault timeline on scenario time while the load runs, the lab watched every tick;
    every fault removed and the publisher stopped when it ends."""
    scenario, faults = ctx.scenario, tools.faults
    ctx.cleanup.callback(tools.publisher.stop)
    timeline = Timeline(
        scenario,
        faults.links,
        faults.faults,
        faults.actions,
        SinceLoadStart(ctx.clock, start),
        ctx.run.record_event,
    )
    ctx.cleanup.callback(timeline.remove_all)  # last in: faults are the first thing removed
    tools.publisher.start(start.t0_monotonic)

    def tick(t_s: float) -> None:
        _watch(ctx, tools.scraper, t_s)
        ctx.shown.live = tools.scraper.live
        ctx.phase("traffic and faults", t_s)

    timeline.run(scenario.load.duration_s, on_tick=tick, tick_s=TICK_S)
    timeline.remove_all()
    tools.publisher.stop()


def _watch(ctx: RunContext, scraper: Sampler, t_s: float) -> None:
    """A process that died or a node gone silent makes the run void, at once."""
    dead = ctx.lab.dead_process()
    if dead is not None:
        ctx.run.record_event(ProcessFailed(t_s=round(t_s, 3), process=dead, detail="exited"))
        raise LabBroken(f"{dead} died at {t_s:.0f} s; its log is in {ctx.lab.log_dir}")
    for node in scraper.silent(NODE_SILENCE_S):
        detail = f"no answer for {NODE_SILENCE_S:.0f} s"
        ctx.run.record_event(ProcessFailed(t_s=round(t_s, 3), process=node, detail=detail))
        raise LabBroken(f"{node} stopped answering at {t_s:.0f} s ({detail})")
    if t_s < ctx.scenario.load.duration_s - 1:  # near the end Locust may finish on its own
        ctx.lab.check_load()


def drain(ctx: RunContext) -> None:
    """The requests still in flight at the end finish (or time out) on their own."""
    ctx.phase("draining in-flight requests")
    ctx.lab.wait_load()


def steady_state_after(ctx: RunContext) -> None:
    """The lab must serve again once faults are gone and load has stopped; else the run is void."""
    ctx.phase("steady state after")
    after: dict[str, int] = {}
    for attempt in range(RECOVERY_TRIES):
        dead = ctx.lab.dead_process()
        if dead is not None:
            raise LabBroken(f"{dead} died by the end of the run; its log is in {ctx.lab.log_dir}")
        after = ctx.lab.steady_state()
        ctx.run.update_info(steady_state_after=after)
        if healthy(after):
            return
        if attempt + 1 < RECOVERY_TRIES:
            ctx.clock.sleep(RECOVERY_WAIT_S)
    raise LabBroken(
        f"the topology did not recover after the run (status of /simple/ per POP: {after})"
    )


def write_summary(scenario: Scenario, run: RunDir) -> None:
    """The run's records and samples judged against its expectations, into summary.json."""
    records = read_requests(run.file(files.REQUESTS_FILE))
    samples = read_samples(run.file(files.SAMPLES_FILE))
    outcomes = evaluate(scenario.expect, RunView.of(scenario, records, samples))
    measured = {o.expectation.key: o.value for o in outcomes}
    spread = {
        o.expectation.key: (o.spread.low, o.spread.high) for o in outcomes if o.spread is not None
    }
    write_json_model(
        run.file(files.SUMMARY_FILE), summarize(scenario, records, samples, measured, spread)
    )
