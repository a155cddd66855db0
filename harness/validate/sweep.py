"""Which runs test which points of which hypothesis families. Pure: families in, scenarios out.

Full mode gives every point its own run, as the family's template times it, with the
signature's scale-up (the backend's workers multiplied) midway through the cause, so `scaled`
symptoms are tested.

Quick mode fits a sweep into one run as a staircase: after a warm-up, the swept step is applied
at each point in turn under its own name (`FAMILY@VALUE`), and each step is scored on its own
(the signature's `*` stands for that step). Families that share a template and topology share one
run, one segment each, so "loss alone" and "loss with the eager mirror" cost one start of the lab;
a combined cause's steps (the eager mirror) are on only in its family's segment. Everything else
(a sweep of the mirror's size, the serial log) runs once per point, shortened, with the scale-up
midway.

Each step of a staircase is the cause unscaled, then the cause with the scale-up (named
`FAMILY@VALUE scale-up`), then the backend is put back for the next step; scoring a step sees
only its own scale-up, so its `before`/`after` windows are its two halves and S4 is measured in
quick mode too.

Toxiproxy lets go of the data a latency toxic holds whenever the toxic is removed or changed, so
at each step's end every answer still being delayed is released early. A step of a data-holding
fault therefore ends with a tail as long as the CDN's longest first-byte timeout, not scored: a
request that started there could wait out the whole timeout. Packet loss holds nothing back and
needs no such tail. Latency-type runs go on a network clock four times faster (timeouts and
latencies together); a run with packet loss does not, as the kernel's retransmission timers
cannot be sped up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from harness.scenario.clock import compress_network, with_duration
from harness.scenario.model import Scenario, parse_scenario, resolve
from harness.scenario.reader import read_yaml_mapping
from harness.scenario.steps import OriginWorkersAction, Step, has_window, step_until
from harness.scenario.topology import TopologyConfig
from harness.validate.families import (
    STEP_LIST,
    Family,
    Scalar,
    family_data,
    point_scenario,
    scalar_str,
    value_str,
)
from harness.validate.signature import ScaleUp

QUICK_NETWORK_FACTOR = 4.0
QUICK_WARMUP_S = 5.0  # caches fill before the first step
QUICK_DELAY_PART_S = 4.0  # each scored half of a latency-type step, on the quick clock
QUICK_LOSS_PART_S = 3.0  # each scored half of a loss step (the kernel's own clock)
QUICK_TAIL_S = 2.0
SCALE_UP_SUFFIX = " scale-up"
SCALE_BACK_SUFFIX = " scale-back"
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
    ignored: frozenset[str] = frozenset()  # steps of other probes (their scale-ups), unseen
    value2: Scalar | None = None  # the family's second parameter at this point, if it has one


def scored(scenario: Scenario, probe: Probe) -> Scenario:
    """The run's scenario as scoring sees it: the focused step's unscored end cut off, the
    other steps' scale-ups (and every scale-back) out of sight."""
    if probe.focus is None:
        return scenario
    steps = []
    for step in scenario.faults:
        if step.name in probe.ignored:
            continue
        until = step_until(step)
        if step.name == probe.focus and until is not None and probe.unscored_s:
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


def with_scale_up(scenario: Scenario, cause: str | None, scale_up: ScaleUp) -> Scenario:
    """The scenario with the backend's workers multiplied midway through the cause's window."""
    windows = [(s, u) for s in scenario.faults if (u := step_until(s)) is not None]
    named = [w for w in windows if w[0].name == cause] or windows
    if not named:
        return scenario
    step, until = named[0]
    slots = scenario.topology.origin.worker_slots * scale_up.worker_factor
    action = OriginWorkersAction(
        kind="origin_workers", at=round((step.at + until) / 2, 3), worker_slots=slots
    )
    return scenario.model_copy(update={"faults": [*scenario.faults, action]})


def full_plan(families: list[Family], scale_up: ScaleUp | None) -> list[PlannedRun]:
    """A run per point; a family with a second parameter, a run per cell."""
    runs = []
    for family in families:
        for value2 in family.seconds(quick=False):
            for value in family.points(quick=False):
                scenario = point_scenario(family, value, value2=value2)
                if family.scale_up and scale_up is not None:
                    cause = family.sweep.step if family.sweep else None
                    scenario = with_scale_up(scenario, cause, scale_up)
                runs.append(PlannedRun(scenario, [Probe(family, value, value2=value2)]))
    return runs


def _shares_a_run(family: Family) -> bool:
    return family.sweep is not None and family.sweep.step is not None


def _group_key(family: Family) -> str:
    """Families share a staircase when their template, topology and fixed values agree (a
    second parameter pinned at different values gives different runs)."""
    data = family_data(family, family.name)
    return json.dumps([family.scenario, data.get("topology") or {}, family.set], sort_keys=True)


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


def held_tail_s(topology: TopologyConfig) -> float:
    """How long a data-holding fault's answers can still be held at its step's end: the
    longest first-byte timeout a CDN node waits, on the quick clock."""
    longest = max(node.backend.first_byte_timeout_s for node in (topology.shield, topology.edge))
    return longest / QUICK_NETWORK_FACTOR


def _scale_steps(
    name: str, at: float, back_at: float, slots: int, scale_up: ScaleUp
) -> list[dict[str, Any]]:
    """A step's scale-up at `at`, and the backend put back for the next step at `back_at`."""
    kind = "origin_workers"
    return [
        {
            "kind": kind,
            "name": name + SCALE_UP_SUFFIX,
            "at": at,
            "worker_slots": slots * scale_up.worker_factor,
        },
        {"kind": kind, "name": name + SCALE_BACK_SUFFIX, "at": back_at, "worker_slots": slots},
    ]


def staircase(
    families: list[Family], scale_up: ScaleUp | None, value2: Scalar | None = None
) -> PlannedRun:
    """One run: each family's segment in turn, each of its quick points one step long (the
    cause, then the cause scaled up, then a tail when the fault holds data). `value2`: the
    second parameter the families are pinned at, if any."""
    first = family_data(families[0], families[0].name)
    groups: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    planned: list[tuple[Family, float, str]] = []
    t = QUICK_WARMUP_S
    holds_data = _cause_step(families[0], first).get("kind") in DELAYING_KINDS
    part_s = QUICK_DELAY_PART_S if holds_data else QUICK_LOSS_PART_S
    topology = TopologyConfig.model_validate(first.get("topology") or {})
    unscored_s = held_tail_s(topology) if holds_data else 0.0
    scaled = scale_up is not None and any(f.scale_up for f in families)
    step_s = part_s * (2 if scaled else 1) + unscored_s
    slots = topology.origin.worker_slots
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
            if scaled and scale_up is not None:
                steps += _scale_steps(name, t + part_s, t + step_s, slots, scale_up)
            planned.append((family, value, name))
            t += step_s
        for added in _added_steps(family):
            # Windows (faults, mirror storms) last the segment; actions happen at its start.
            windowed = has_window(STEP_MODEL.validate_python(added))
            steps.append({**added, "at": start, **({"until": t} if windowed else {})})
    load = {**(first.get("load") or {}), "mirrors": groups, "duration_s": t + QUICK_TAIL_S}
    name = "-".join(dict.fromkeys(f.scenario for f in families)) + "-staircase"
    if value2 is not None:
        name += "-" + scalar_str(value2)
    data = {**first, "name": name, "load": load, STEP_LIST: steps}
    source = f"staircase of {', '.join(f.name for f in families)}"
    scale_names = {
        n
        for s in steps
        if (n := s.get("name") or "").endswith((SCALE_UP_SUFFIX, SCALE_BACK_SUFFIX))
    }
    probes = [
        Probe(
            family,
            value,
            focus=name,
            unscored_s=unscored_s,
            ignored=frozenset(scale_names - {name + SCALE_UP_SUFFIX}),
            value2=value2,
        )
        for family, value, name in planned
    ]
    return PlannedRun(parse_scenario(source, data), probes)


def quick_plan(families: list[Family], scale_up: ScaleUp | None) -> list[PlannedRun]:
    runs: list[PlannedRun] = []
    shared: dict[str, tuple[list[Family], Scalar | None]] = {}
    for whole in families:
        for value2 in whole.seconds(quick=True):
            family = whole.pinned(value2)
            if _shares_a_run(family):
                shared.setdefault(_group_key(family), ([], value2))[0].append(family)
                continue
            for value in family.points(quick=True):
                scenario = with_duration(point_scenario(family, value), QUICK_POINT_S)
                if family.scale_up and scale_up is not None:
                    scenario = with_scale_up(scenario, None, scale_up)
                runs.append(PlannedRun(scenario, [Probe(family, value, value2=value2)]))
    stairs = [staircase(group, scale_up, value2) for group, value2 in shared.values()]
    return [_quickened(run) for run in stairs + runs]


def _quickened(run: PlannedRun) -> PlannedRun:
    if run.scenario.needs_packet_loss:
        return run
    return PlannedRun(compress_network(run.scenario, QUICK_NETWORK_FACTOR), run.probes)
