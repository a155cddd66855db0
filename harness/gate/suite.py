"""A CI suite (`scenarios/suites/*.yaml`): the scenarios a gate runs, with per-suite overrides.

    name: ci
    description: what this gate protects
    scenarios:
      - {scenario: gate-shield-origin, duration_s: 60, seed: 1}
      - {scenario: gate-shield-origin, topology: {cdn: varnish}}

Every scenario is loaded and checked before anything runs: a broken one stops the gate with
one line and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.errors import BadInput
from harness.scenario.clock import with_duration
from harness.scenario.model import PROJECT_ROOT, Scenario, load_scenario
from harness.scenario.reader import Frozen, load_model, resolve_named
from harness.scenario.topology import CdnKind

SUITE_DIR = PROJECT_ROOT / "scenarios" / "suites"
DEFAULT_SUITE = "ci"


class SuiteEntry(Frozen):
    scenario: str = Field(description="a shipped scenario's name, or a YAML file")
    duration_s: float | None = Field(default=None, gt=0, le=3600, description="timeline scaled")
    seed: int | None = None
    topology: dict[str, Any] = Field(
        default_factory=dict,
        description="topology overrides for this entry, e.g. {cdn: varnish, shield: {vcl_include: F}}",
    )


class Suite(Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    scenarios: list[SuiteEntry] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedSuite:
    path: Path
    suite: Suite
    scenarios: list[Scenario]


def suite_path(name_or_file: str) -> Path:
    return resolve_named(name_or_file, SUITE_DIR, "suite")


def _entry_scenario(entry: SuiteEntry, cdn: CdnKind | None) -> Scenario:
    overrides: dict[str, Any] = {"load": {"seed": entry.seed}} if entry.seed is not None else {}
    topology = {**entry.topology, **({"cdn": cdn.value} if cdn is not None else {})}
    if topology:
        overrides["topology"] = topology
    scenario = load_scenario(entry.scenario, overrides)
    return scenario if entry.duration_s is None else with_duration(scenario, entry.duration_s)


def load_suite(name_or_file: str, cdn: CdnKind | None = None) -> LoadedSuite:
    """`cdn`: run every scenario on this CDN kind (`gate --cdn`), whatever the suite says."""
    path = suite_path(name_or_file)
    suite = load_model(path, Suite)
    scenarios = []
    for index, entry in enumerate(suite.scenarios):
        try:
            scenario = _entry_scenario(entry, cdn)
        except BadInput as error:
            raise BadInput(f"{path}: scenarios[{index}]: {error}") from None
        if not scenario.expect:
            raise BadInput(
                f"{path}: scenarios[{index}].scenario: {scenario.name!r} has no `expect:` list; "
                "a gate needs at least one expectation per scenario"
            )
        scenarios.append(scenario)
    return LoadedSuite(path, suite, scenarios)
