"""Which runs test which points of which hypothesis families. Pure: families in, scenarios out.

Full mode gives every point its own run, as the family's template times it, with the 2014
scale-up (the backend's workers x4) midway through the cause so `scaled` symptoms are tested.

Quick mode fits a sweep into one run as a staircase: after a warm-up, the swept step is applied
at each point in turn under its own name (`FAMILY@VALUE`), and each step is scored on its own
(the signature's `*` stands for that step). Families that share a template and topology share one
run, one segment each, so "loss alone" and "loss with the eager mirror" cost one start of the lab;
a combined cause's steps (the eager mirror) are on only in its family's segment. Everything else
(a sweep of the mirror's size, the serial log) runs once per point, shortened.

Toxiproxy lets go of the data a latency toxic holds whenever the toxic is removed or changed, so
at each step's end every answer still being delayed is released early. A latency step therefore
lasts twice the shield's first-byte timeout and only its first half is scored: a request that
started there could wait out the whole timeout. Packet loss holds nothing back and needs no such
margin. Latency-type runs go on a network clock four times faster (timeouts and latencies
together); a run with packet loss does not, as the kernel's retransmission timers cannot be sped up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from harness.analysis.windows import has_window
from harness.hypothesis import STEP_LIST, Family, family_data, point_scenario, value_str
from harness.model_file import read_yaml_mapping
from harness.scenario import Scenario, parse_scenario, resolve
from harness.scenario_clock import compress_network, with_duration
from harness.steps import OriginWorkersAction, Step

SCALE_UP_FACTOR = 4  # 2014: the backend cluster was scaled up at about 20:45
QUICK_NETWORK_FACTOR = 4.0
QUICK_WARMUP_S = 5.0  # caches fill before the first step
QUICK_DELAY_STEP_S = 8.0  # twice the shield's first-byte timeout on the quick clock (15 s / 4)
QUICK_LOSS_STEP_S = 4.0
QUICK_TAIL_S = 2.0
QUICK_POINT_S = 18.0  # a quick run of one point (no staircase)
DELAYING_KINDS = ("latency", "bandwidth", "stall")  # Toxiproxy toxics that hold data back
RUN_OVERHEAD_S = 7.0  # starting the lab, steady states, Locust's start and end (measured here)
STEP_MODEL: TypeAdapter[Step] = TypeAdapter(Step)


@dataclass(frozen=True)
class Probe:
    """One point of one family, as some run tests it."""

    family: Family
    value: float | None
    focus: str | None = None  # the step the signature's `*` stands for; None: any of the run's
    unscored_s: float = 0.0  # the end of the focused step that is not scored


def scored(scenario: Scenario, probe: Probe) -> Scenario:
    """The run's scenario as scoring sees it: the focused step's unscored end cut off."""
    if probe.focus is None or not probe.unscored_s:
        return scenario
    steps = []
    for step in scenario.faults:
        until = getattr(step, "until", None)
        if step.name == probe.focus and until is not None:
            step = step.model_copy(update={"until": until - probe.unscored_s})
        steps.append(step)
    return scenario.model_copy(update={"faults": steps})


@dataclass(frozen=True)
class PlannedRun:
    scenario: Scenario
    probes: list[Probe] = field(default_factory=list)

    @property
    def expected_s(self) -> float:
        return self.scenario.load.duration_s + RUN_OVERHEAD_S


def step_name(family: Family, value: float) -> str:
    return f"{family.name}@{value_str(value)}"


def with_scale_up(scenario: Scenario, cause: str | None) -> Scenario:
    """The scenario with the backend's workers multiplied midway through the cause's window."""
    windows = [(s, u) for s in scenario.faults if (u := getattr(s, "until", None)) is not None]
    named = [w for w in windows if w[0].name == cause] or windows
    if not named:
        return scenario
    step, until = named[0]
    slots = scenario.topology.origin.worker_slots * SCALE_UP_FACTOR
    action = OriginWorkersAction(
        kind="origin_workers", at=round((step.at + until) / 2, 3), worker_slots=slots
    )
    return scenario.model_copy(update={"faults": [*scenario.faults, action]})


def full_plan(families: list[Family]) -> list[PlannedRun]:
    runs = []
    for family in families:
        for value in family.points(quick=False):
            scenario = point_scenario(family, value)
            if family.scale_up:
                scenario = with_scale_up(scenario, family.sweep.step if family.sweep else None)
            runs.append(PlannedRun(scenario, [Probe(family, value)]))
    return runs


def _shares_a_run(family: Family) -> bool:
    return family.sweep is not None and family.sweep.step is not None


def _group_key(family: Family) -> str:
    data = family_data(family, family.name)
    return json.dumps([family.scenario, data.get("topology") or {}], sort_keys=True)


def _cause_step(family: Family, data: dict[str, Any]) -> dict[str, Any]:
    assert family.sweep is not None and family.sweep.step is not None
    for step in data.get(STEP_LIST) or []:
        if step.get("name") == family.sweep.step:
            return dict(step)
    raise AssertionError("load_family checked that the swept step exists")


def _added_steps(family: Family) -> list[dict[str, Any]]:
    return [
        dict(step)
        for name in family.plus
        for step in read_yaml_mapping(resolve(name)).get(STEP_LIST) or []
    ]


def staircase(families: list[Family]) -> PlannedRun:
    """One run: each family's segment in turn, each of its quick points one step long."""
    first = family_data(families[0], families[0].name)
    groups: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    probes = []
    t = QUICK_WARMUP_S
    holds_data = _cause_step(families[0], first).get("kind") in DELAYING_KINDS
    step_s = QUICK_DELAY_STEP_S if holds_data else QUICK_LOSS_STEP_S
    unscored_s = step_s / 2 if holds_data else 0.0
    for family in families:
        data = family_data(family, family.name)
        for group in (data.get("load") or {}).get("mirrors") or []:
            if group.get("name") not in {g.get("name") for g in groups}:
                groups.append(group)
        start = t
        for value in family.points(quick=True):
            assert value is not None
            name = step_name(family, value)
            assert family.sweep is not None  # only step sweeps share a run
            cause = {**_cause_step(family, data), "name": name, "at": t, "until": t + step_s}
            steps.append({**cause, family.sweep.field: value})
            probes.append(Probe(family, value, focus=name, unscored_s=unscored_s))
            t += step_s
        for added in _added_steps(family):
            # Windows (faults, mirror storms) last the segment; actions happen at its start.
            windowed = has_window(STEP_MODEL.validate_python(added))
            steps.append({**added, "at": start, **({"until": t} if windowed else {})})
    load = {**(first.get("load") or {}), "mirrors": groups, "duration_s": t + QUICK_TAIL_S}
    name = "-".join(dict.fromkeys(f.scenario for f in families)) + "-staircase"
    data = {**first, "name": name, "load": load, STEP_LIST: steps}
    source = f"staircase of {', '.join(f.name for f in families)}"
    return PlannedRun(parse_scenario(source, data), probes)


def quick_plan(families: list[Family]) -> list[PlannedRun]:
    runs: list[PlannedRun] = []
    shared: dict[str, list[Family]] = {}
    for family in families:
        if _shares_a_run(family):
            shared.setdefault(_group_key(family), []).append(family)
            continue
        for value in family.points(quick=True):
            scenario = with_duration(point_scenario(family, value), QUICK_POINT_S)
            if family.scale_up:
                scenario = with_scale_up(scenario, None)
            runs.append(PlannedRun(scenario, [Probe(family, value)]))
    stairs = [staircase(group) for group in shared.values()]
    return [_quickened(run) for run in stairs + runs]


def _quickened(run: PlannedRun) -> PlannedRun:
    if run.scenario.needs_packet_loss:
        return run
    return PlannedRun(compress_network(run.scenario, QUICK_NETWORK_FACTOR), run.probes)
