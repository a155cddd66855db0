"""`shieldlab run`: one scenario, end to end, as phases over one context.

The phases (run/phases.py) over one context (run/context.py), with the lab brought up and
down around them and the clock injected: `run_phases` runs a whole scenario against a fake lab
and a fake clock in a unit test. Faults are removed however the run ends, Ctrl-C included; an
interrupted run keeps its records under `<run-id>.interrupted`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from harness.errors import ShieldlabError
from harness.records.run_info import Mode, RunStatus
from harness.run import phases
from harness.run.clock import RunClock, SystemClock
from harness.run.context import Progress, ProgressSink, RunContext, RunLab
from harness.run.lab import lab_up, refuse_unless_possible
from harness.run.run_dir import RunDir
from harness.scenario.model import Scenario

Report = Callable[[str], None]
BringUp = Callable[[Report], AbstractContextManager[RunLab]]


class RunInterrupted(ShieldlabError):
    """Ctrl-C or SIGTERM during a run: everything was cleaned up, the records kept."""

    exit_code = 130


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

    def bring_up(report: Report) -> AbstractContextManager[RunLab]:
        return lab_up(scenario, mode, state_dir, report, workers)

    return run_phases(scenario, results_dir, bring_up, SystemClock(), progress)


def run_phases(
    scenario: Scenario,
    results_dir: Path,
    bring_up: BringUp,
    clock: RunClock,
    progress: ProgressSink,
) -> Path:
    """Every phase of one run in order; the run directory it leaves, finished as complete,
    failed or interrupted."""
    run = RunDir.create(results_dir, scenario.name)
    try:
        phases.prepare(scenario, run, clock)
        shown = Progress(total_s=scenario.load.duration_s)

        def report(message: str) -> None:
            shown.phase = message
            progress(shown)

        with bring_up(report) as lab:
            ctx = RunContext(scenario, lab, clock, run, progress, shown)
            phases.steady_state_before(ctx)
            with ctx.cleanup:
                tools = phases.equip(ctx)
                start = phases.start_load(ctx, tools)
                phases.traffic(ctx, start, tools)
                phases.drain(ctx)
            phases.steady_state_after(ctx)
        report("summarizing")
        phases.write_summary(scenario, run)
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
