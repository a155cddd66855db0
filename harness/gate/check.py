"""`shieldlab check RUN_DIR... [--expect FILE]`: judge runs already on disk; nothing runs.

Without `--expect` each run is judged on its own scenario's `expect:` list.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import Field
from rich.console import Console

from harness.analysis.expectations import RunView
from harness.analysis.judging import evaluate
from harness.errors import BadInput
from harness.gate.baseline import read_baseline
from harness.gate.results import HEADER, ScenarioResult, exit_code, rows, table
from harness.records.run_data import load_run
from harness.scenario.expectation import Expectation
from harness.scenario.model import check_expectations
from harness.scenario.reader import Frozen, load_model


class ExpectFile(Frozen):
    expect: list[Expectation] = Field(min_length=1)


def check_runs(
    run_dirs: list[Path], expect_path: Path | None, baseline_dir: Path, out: Console
) -> int:
    given = load_model(expect_path, ExpectFile).expect if expect_path is not None else None
    results = []
    for run_dir in run_dirs:
        started = time.monotonic()
        run = load_run(run_dir)
        expectations = given if given is not None else run.scenario.expect
        source = str(expect_path) if expect_path is not None else f"{run_dir}/scenario.yaml"
        if not expectations:
            raise BadInput(
                f"{source}: expect: the scenario has no expectations; pass --expect FILE"
            )
        check_expectations(source, run.scenario, expectations)
        void = run.void
        view = RunView.of(run.scenario, run.records, run.samples)
        outcomes = evaluate(expectations, view, read_baseline(baseline_dir, run.scenario.name))
        scenario = run.scenario.model_copy(update={"expect": expectations})
        results.append(
            ScenarioResult(scenario, run_dir, outcomes, void, time.monotonic() - started)
        )
    out.print(table("check", HEADER, rows([results])))
    return exit_code([results])
