"""`shieldlab gate [SUITE]`: run a suite's scenarios, judge every expectation, report for CI.

Exit codes: 0 every expectation held; 1 one failed; 2 bad input (found before anything runs);
3 the infrastructure failed or the load generator fell behind, so a measurement is void.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness.analysis.expectations import RunView
from harness.analysis.judging import Outcome, judge, measured_runs
from harness.analysis.uncertainty import Interval, Judgement
from harness.errors import InfrastructureError
from harness.gate.baseline import read_baseline, require_baselines, store_baseline
from harness.gate.results import (
    HEADER,
    SPREAD_HEADER,
    Pooled,
    ScenarioResult,
    exit_code,
    markdown,
    rows,
    spread,
    table,
    write_junit,
)
from harness.gate.suite import LoadedSuite, load_suite
from harness.records import files
from harness.records.run_data import load_run
from harness.records.summary import Summary, read_summary
from harness.run.lab import refuse_unless_possible
from harness.run.progress import LiveProgress
from harness.run.runner import run_scenario
from harness.scenario.model import Scenario
from harness.scenario.topology import CdnKind


@dataclass(frozen=True)
class GateOptions:
    suite: str
    out_dir: Path
    state_dir: Path
    baseline_dir: Path
    junit: Path | None = None
    update_baseline: bool = False
    repeat: int = 1
    cdn: CdnKind | None = None  # every scenario on this CDN kind (None: as each says)


def judged(
    scenario: Scenario, summary: Summary, baseline: dict[str, float | None]
) -> list[Outcome]:
    """Each expectation on the run's value and its interval, against the stored baseline."""
    outcomes = []
    for e in scenario.expect:
        spread = summary.spread.get(e.key)
        interval = Interval(*spread) if spread is not None else None
        outcomes.append(judge(e, summary.measured.get(e.key), baseline.get(e.key), interval))
    return outcomes


def run_one(
    scenario: Scenario, label: str, options: GateOptions, err: Console
) -> tuple[ScenarioResult, Summary | None]:
    started = time.monotonic()
    try:
        with LiveProgress(err, label) as live:
            run_dir = run_scenario(
                scenario, options.out_dir / "runs", options.state_dir, live.update
            )
    except InfrastructureError as error:
        return ScenarioResult(scenario, None, [], str(error), time.monotonic() - started), None
    took = time.monotonic() - started
    summary = read_summary(run_dir / files.SUMMARY_FILE)
    void = summary.load_generator.shortfall()
    outcomes = judged(scenario, summary, read_baseline(options.baseline_dir, scenario.name))
    return ScenarioResult(scenario, run_dir, outcomes, void, took), summary


def run_gate(options: GateOptions, out: Console, err: Console) -> int:
    loaded = load_suite(options.suite, options.cdn)  # a broken suite or scenario stops here, exit 2
    for scenario in loaded.scenarios:
        refuse_unless_possible(scenario)  # e.g. packet loss without root: exit 3, nothing run
    if not options.update_baseline:
        require_baselines(options.baseline_dir, loaded.scenarios)
    started = time.monotonic()
    rounds: list[list[ScenarioResult]] = []
    for number in range(1, options.repeat + 1):
        results = []
        for index, scenario in enumerate(loaded.scenarios, start=1):
            label = f"[{loaded.suite.name} {index}/{len(loaded.scenarios)}"
            label += f", round {number}/{options.repeat}] " if options.repeat > 1 else "] "
            result, summary = run_one(scenario, label + f"{scenario.name}: ", options, err)
            if options.update_baseline and summary is not None and result.void is None:
                path = store_baseline(options.baseline_dir, summary)
                err.print(f"baseline for {scenario.name} stored in {path}")
                result = ScenarioResult(
                    scenario,
                    result.run_dir,
                    judged(scenario, summary, summary.measured),
                    None,
                    result.took_s,
                )
            err.print(
                f"{label}{scenario.name}: {_state(result)} ({result.took_s:.0f} s)", markup=False
            )
            results.append(result)
        rounds.append(results)
    took = time.monotonic() - started
    report(loaded, rounds, options, took, out)
    return exit_code(rounds)


def _state(result: ScenarioResult) -> str:
    if result.void is not None:
        return f"VOID: {result.void}"
    if result.passed:
        return "passed"
    of = len(result.outcomes)
    failed, undecided = result.count(Judgement.FAILS), result.count(Judgement.UNDECIDED)
    parts = [f"{failed} of {of} expectations failed"] if failed else []
    parts += (
        [f"{undecided} of {of} undecided (the interval straddles the bound)"] if undecided else []
    )
    unjudged = sum(o.judgement is None for o in result.outcomes)
    parts += [f"{unjudged} of {of} not judged (no baseline value)"] if unjudged else []
    return "; ".join(parts)


def pooled(rounds: list[list[ScenarioResult]], baseline_dir: Path) -> Pooled:
    """Each scenario's expectations judged on its runs of every round at once (void rounds
    left out): the same bins pooled, so the interval narrows as rounds are added."""
    table: Pooled = []
    for index, first in enumerate(rounds[0]):
        dirs = [
            r.run_dir
            for results in rounds
            if (r := results[index]).void is None and r.run_dir is not None
        ]
        if not dirs:
            table.append([None] * len(first.scenario.expect))
            continue
        views = [RunView.of(run.scenario, run.records, run.samples) for run in map(load_run, dirs)]
        baseline = read_baseline(baseline_dir, first.scenario.name)
        row: list[Outcome | None] = []
        for e in first.scenario.expect:
            value, spread = measured_runs(e, views)
            row.append(judge(e, value, baseline.get(e.key), spread))
        table.append(row)
    return table


def report(
    loaded: LoadedSuite,
    rounds: list[list[ScenarioResult]],
    options: GateOptions,
    took_s: float,
    out: Console,
) -> None:
    cdn = ", ".join(sorted({scenario.topology.cdn.value for scenario in loaded.scenarios}))
    out.print(table(f"gate {loaded.suite.name} (cdn: {cdn})", HEADER, rows(rounds)))
    together = None
    if len(rounds) > 1:
        together = pooled(rounds, options.baseline_dir)
        passed = sum(all(r.passed for r in results) for results in rounds)
        out.print(table(f"over {len(rounds)} rounds", SPREAD_HEADER, spread(rounds, together)))
        out.print(f"rounds that passed: {passed}/{len(rounds)}")
    text = markdown(loaded.suite.name, rounds, took_s, together, cdn)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = options.out_dir / "gate.md"
    summary_path.write_text(text)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(text)
    if options.junit is not None:
        write_junit(options.junit, loaded.suite.name, rounds)
        out.print(f"JUnit: {options.junit}")
    out.print(f"summary: {summary_path}")
