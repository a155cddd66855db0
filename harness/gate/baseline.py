"""Baselines: a run's summary kept as `<dir>/<scenario>.json`; relative bounds compare with the
value it measured for the same expectation (same metric, same selectors)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import BadInput
from harness.records.base import read_json_model, write_json_model
from harness.records.summary import Summary
from harness.scenario.model import SCENARIO_DIR, Scenario

DEFAULT_BASELINE_DIR = SCENARIO_DIR / "baselines"


def baseline_file(directory: Path, scenario: str) -> Path:
    return directory / f"{scenario}.json"


def read_baseline(directory: Path, scenario: str) -> dict[str, float | None]:
    path = baseline_file(directory, scenario)
    return read_json_model(path, Summary).measured if path.is_file() else {}


def store_baseline(directory: Path, summary: Summary) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = baseline_file(directory, summary.scenario)
    write_json_model(path, summary)
    return path


def require_baselines(directory: Path, scenarios: list[Scenario]) -> None:
    """Every relative bound needs its baseline value; say which is missing before running."""
    for scenario in scenarios:
        values = read_baseline(directory, scenario.name)
        for index, e in enumerate(scenario.expect):
            if e.bound.relative and values.get(e.key) is None:
                raise BadInput(
                    f"{baseline_file(directory, scenario.name)}: no baseline value for "
                    f"{scenario.name} expect[{index}] ({e.key}); run the gate once with "
                    "--update-baseline, or pass --baseline DIR"
                )
