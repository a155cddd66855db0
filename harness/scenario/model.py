"""Named scenarios: a hypothesis, the topology it runs on, its traffic and its fault timeline.

Files live in `scenarios/*.yaml`. Everything is a frozen model that forbids unknown keys; the
loader merges `topology` over the defaults and checks links and times against the topology.
"""

from __future__ import annotations

import difflib
import fnmatch
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.errors import BadInput
from harness.scenario import topology_plan as plan
from harness.scenario.expectation import Expectation
from harness.scenario.load import LoadSpec
from harness.scenario.mix import load_mix, resolve_mix
from harness.scenario.reader import Frozen, deep_merge, read_yaml_mapping, resolve_named, validate
from harness.scenario.steps import (
    HTTP_FAULT_TYPES,
    LINK_FAULT_TYPES,
    LinkFault,
    LossFault,
    MirrorsAction,
    Step,
)
from harness.scenario.topology import TopologyConfig, defaults_dict
from harness.scenario.traffic import TrafficClass

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = PROJECT_ROOT / "scenarios"


class Scenario(Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    hypothesis: str
    topology: TopologyConfig = TopologyConfig()
    load: LoadSpec = LoadSpec()
    tap: list[str] = Field(
        default_factory=list,
        description="links (or patterns) a mitmproxy tap is put into, for the http_* faults",
    )
    faults: list[Step] = Field(default_factory=list)
    expect: list[Expectation] = Field(
        default_factory=list, description="what must hold for the run to pass (see expectation)"
    )

    def link_faults(self) -> list[tuple[int, LinkFault]]:
        return [(i, f) for i, f in enumerate(self.faults) if isinstance(f, LINK_FAULT_TYPES)]

    def traffic_names(self) -> list[str]:
        """The traffic classes a run of this scenario records."""
        return [t.value for t in TrafficClass] + [m.name for m in self.load.mixes if m.name]

    def tapped_links(self) -> list[str]:
        """Every link a `tap` entry names, in the topology's order."""
        known = known_links(self.topology)
        return [name for name in known if any(expand_link(p, [name]) for p in self.tap)]

    @property
    def needs_packet_loss(self) -> bool:
        """Loss faults need the kernel: the run moves into a network namespace of its own."""
        return any(isinstance(f, LossFault) for f in self.faults)


def known_links(topology: TopologyConfig) -> list[str]:
    return [
        link.name
        for link in plan.plan_links(
            topology.edges, topology.origin.web_nodes, topology.origin.static_mirror
        )
    ]


def expand_link(pattern: str, known: list[str]) -> list[str]:
    """The links a pattern names: itself, or every match of a `*` wildcard. A link to one of
    the origin's web nodes also answers to its group: `shield->origin` is every
    `shield->origin-N`."""
    return [
        name
        for name in known
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(plan.link_group(name), pattern)
    ]


def _unknown_link(where: str, pattern: str, known: list[str]) -> BadInput:
    groups = sorted({plan.link_group(name) for name in known} - set(known))
    known = known + groups
    close = difflib.get_close_matches(pattern, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return BadInput(
        f"{where}: unknown link; got {pattern!r}; allowed: {', '.join(known)}, "
        f"or a pattern such as 'edge-*->shield'{hint}"
    )


def _check_against_topology(source: str, scenario: Scenario) -> None:
    known = known_links(scenario.topology)
    groups = [g.name for g in scenario.load.mirrors]
    duration = scenario.load.duration_s
    for index, pattern in enumerate(scenario.tap):
        if not expand_link(pattern, known):
            raise _unknown_link(f"{source}: tap[{index}]", pattern, known)
    tapped = scenario.tapped_links()
    for index, step in enumerate(scenario.faults):
        where = f"{source}: faults[{index}]"
        if step.at >= duration:
            raise BadInput(
                f"{where}.at: after the end of the run ({duration:g} s); got {step.at:g}"
            )
        if isinstance(step, LINK_FAULT_TYPES) and not expand_link(step.link, known):
            raise _unknown_link(f"{where}.link", step.link, known)
        if isinstance(step, HTTP_FAULT_TYPES):
            untapped = [name for name in expand_link(step.link, known) if name not in tapped]
            if untapped:
                raise BadInput(
                    f"{where}.link: {step.kind} needs a tap on the link, and {untapped[0]!r} has "
                    f"none; got {step.link!r}; add it to the scenario's `tap:` list"
                )
        if isinstance(step, MirrorsAction) and step.group not in groups:
            raise BadInput(
                f"{where}.group: no such mirror group; got {step.group!r}; allowed: {', '.join(groups)}"
            )
    share = scenario.load.pop_share
    if share is not None:
        unknown = sorted(set(share) - set(scenario.topology.edges))
        if unknown:
            raise BadInput(
                f"{source}: load.pop_share: unknown POP {unknown[0]!r}; allowed: {', '.join(scenario.topology.edges)}"
            )
        if sum(share.values()) <= 0:
            raise BadInput(
                f"{source}: load.pop_share: shares must add up to more than 0; got {share}"
            )


def step_names(scenario: Scenario) -> list[str]:
    """What a window may name: every step's label and kind, and `*` (any fault or window)."""
    names = dict.fromkeys(["*"])
    for step in scenario.faults:
        names.update(dict.fromkeys([step.label, step.kind]))
    return list(names)


def check_expectations(
    source: str, scenario: Scenario, expectations: list[Expectation], field: str = "expect"
) -> None:
    """Windows must name steps the scenario has, POPs must be in its topology."""
    known = step_names(scenario)
    for index, expectation in enumerate(expectations):
        where = f"{source}: {field}[{index}]"
        for window in expectation.windows():
            for name in window.names():
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise BadInput(
                        f"{where}.window: no such step; got {name!r}; allowed: "
                        f"{', '.join(repr(k) for k in known)}{hint}"
                    )
        for name in expectation.traffic or []:
            if name not in scenario.traffic_names():
                close = difflib.get_close_matches(name, scenario.traffic_names(), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise BadInput(
                    f"{where}.traffic: no such traffic class; got {name!r}; allowed: "
                    f"{', '.join(scenario.traffic_names())}{hint}"
                )
        for pop in expectation.pop or []:
            if pop not in scenario.topology.edges:
                close = difflib.get_close_matches(pop, scenario.topology.edges, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise BadInput(
                    f"{where}.pop: unknown POP; got {pop!r}; allowed: "
                    f"{', '.join(scenario.topology.edges)}{hint}"
                )


def parse_scenario(source: str, data: dict[str, Any]) -> Scenario:
    topology = data.get("topology") or {}
    if not isinstance(topology, dict):
        raise BadInput(f"{source}: topology: must be a mapping of overrides; got {topology!r}")
    merged = {**data, "topology": deep_merge(defaults_dict(), topology)}
    scenario = _resolve_mixes(source, validate(source, Scenario, merged))
    _check_against_topology(source, scenario)
    check_expectations(source, scenario, scenario.expect)
    return scenario


def _resolve_mixes(source: str, scenario: Scenario) -> Scenario:
    """Each mix read and checked now; the scenario keeps its file's full path and its class name."""
    mixes = []
    for index, entry in enumerate(scenario.load.mixes):
        where = f"{source}: load.mixes[{index}]"
        try:
            path = resolve_mix(entry.mix, Path(source))
            mix = load_mix(str(path))
        except BadInput as error:
            raise BadInput(f"{where}.mix: {error}") from None
        mixes.append(
            entry.model_copy(update={"mix": str(path.resolve()), "name": entry.name or mix.name})
        )
    names = [t.value for t in TrafficClass] + [m.name for m in mixes if m.name]
    for name in names:
        if names.count(name) > 1:
            raise BadInput(
                f"{source}: load.mixes: two traffic classes named {name!r}; give one a `name:`"
            )
    load = scenario.load.model_copy(update={"mixes": mixes})
    return scenario.model_copy(update={"load": load})


def resolve(name_or_file: str) -> Path:
    """A scenario name (`baseline`) or a path to a YAML file."""
    return resolve_named(name_or_file, SCENARIO_DIR, "scenario")


def load_scenario(name_or_file: str, overrides: dict[str, Any] | None = None) -> Scenario:
    path = resolve(name_or_file)
    data = read_yaml_mapping(path)
    if overrides:
        data = deep_merge(data, overrides)
    return parse_scenario(str(path), data)


def shipped_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def json_schema() -> dict[str, Any]:
    return Scenario.model_json_schema()
