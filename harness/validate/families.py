"""Hypotheses as data: a family is a scenario template, causes combined with it, and a parameter
to sweep. Files live in `scenarios/hypotheses/*.yaml`; a user adds a family by adding a file.

    name: loss-shield-origin
    title: loss on shield->backend
    segment: b                          # the signature's segment it blames (an id it declares)
    cause: loss
    scenario: shield-origin-loss        # the template, a scenario name or file
    plus: [eager-mirror]                # other scenarios combined: their steps and mirror groups
    set: {"load.seed": 2}               # fixed values, paths as in `sweep.parameter`
    sweep:
      parameter: faults.lossy-backend.probability   # a step by its name, then its field
      values: [0.005, 0.01, 0.02, 0.05, 0.1]
      quick: [0.01, 0.05]

A path walks the scenario's mapping; in a list of mappings (`faults`, `load.mirrors`) the next
part picks the entry by its `name`. Building is pure: template -> combined -> set -> scenario.

A family may sweep a second parameter (`second:`, e.g. the eager mirror's size or its client
kind): its points are then every pair, and its region a set of cells (drawn as a map).

    second:
      parameter: load.mirrors.eager.workers
      values: [50, 200]
      quick: [200]
      unit: syncs at once
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from harness.errors import BadInput
from harness.scenario.model import SCENARIO_DIR, Scenario, parse_scenario, resolve
from harness.scenario.reader import Frozen, deep_merge, load_model, read_yaml_mapping, resolve_named

HYPOTHESIS_DIR = SCENARIO_DIR / "hypotheses"
STEP_LIST = "faults"
Scalar = float | int | bool | str


class Sweep(Frozen):
    parameter: str = Field(description="a path such as faults.STEP.probability")
    values: list[float] = Field(min_length=1, description="the full sweep, in order")
    quick: list[float] | None = Field(default=None, description="`validate --quick`'s points")
    unit: str = Field(default="", description="how values read in words: '%', 'ms', 'workers'")

    @property
    def step(self) -> str | None:
        """The step a `faults.STEP.field` parameter addresses (a staircase can step it)."""
        parts = self.parameter.split(".")
        return parts[1] if len(parts) == 3 and parts[0] == STEP_LIST else None

    @property
    def field(self) -> str:
        """The name the swept value has in its mapping (for a step: the step's field)."""
        return self.parameter.split(".")[-1]

    def points(self, quick: bool) -> list[float]:
        return list(self.quick or self.values) if quick else list(self.values)

    def text(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:g} %"
        return f"{value_str(value)} {self.unit}".strip()


class Axis(Frozen):
    """A second swept parameter: numbers or words (a mirror's client kind)."""

    parameter: str = Field(description="a path such as load.mirrors.eager.workers")
    values: list[Scalar] = Field(min_length=1)
    quick: list[Scalar] | None = None
    unit: str = ""

    def points(self, quick: bool) -> list[Scalar]:
        return list(self.quick or self.values) if quick else list(self.values)

    def text(self, value: Scalar) -> str:
        return f"{scalar_str(value)} {self.unit}".strip()


class Family(Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    cause: str = Field(description="e.g. latency, loss, eager mirror")
    segment: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="the id of the signature's segment it blames; none: another kind of cause",
    )
    scenario: str
    plus: list[str] = Field(default_factory=list, description="scenarios whose causes it adds")
    plus_text: str = Field(default="", description="the added causes in words")
    set: dict[str, Scalar] = Field(default_factory=dict)
    sweep: Sweep | None = None
    second: Axis | None = Field(default=None, description="a second parameter swept with `sweep`")
    scale_up: bool = Field(
        default=True, description="its runs include the signature's scale-up (the scaled role)"
    )
    in_quick_mode: bool = Field(
        default=True, description="false: only full `validate` runs it (quick mode names it)"
    )

    @model_validator(mode="after")
    def _plus_named(self) -> Family:
        if self.plus and not self.plus_text:
            raise ValueError("`plus` needs `plus_text`: the added causes in words")
        if self.second is not None and self.sweep is None:
            raise ValueError("`second` sweeps a parameter beside `sweep`, which is missing")
        return self

    @property
    def alone(self) -> bool:
        return not self.plus

    def points(self, quick: bool) -> list[float | None]:
        return list(self.sweep.points(quick)) if self.sweep else [None]

    def seconds(self, quick: bool) -> list[Scalar | None]:
        """The second parameter's values ([None] without a second axis)."""
        return list(self.second.points(quick)) if self.second else [None]

    def value_text(self, value: float | None, value2: Scalar | None = None) -> str:
        text = self.sweep.text(value) if self.sweep and value is not None else "as shipped"
        if self.second is not None and value2 is not None:
            text += f", {self.second.text(value2)}"
        return text

    def pinned(self, value2: Scalar | None) -> Family:
        """The family with its second parameter fixed at `value2` (itself without one)."""
        if self.second is None or value2 is None:
            return self
        update = {"set": {**self.set, self.second.parameter: value2}, "second": None}
        return self.model_copy(update=update)


def value_str(value: float) -> str:
    """A sweep value as names show it: 0.02, 12000, 1500000 (never 1.5e+06)."""
    return f"{value:f}".rstrip("0").rstrip(".")


def scalar_str(value: Scalar) -> str:
    """A second parameter's value as names show it: a number as value_str, a word as itself."""
    return value_str(float(value)) if isinstance(value, int | float) else str(value)


def set_path(data: dict[str, Any], path: str, value: Any, source: str) -> dict[str, Any]:
    """A copy of `data` with the value at `path` replaced; a path that leads nowhere is bad input."""
    out = copy.deepcopy(data)
    parts = path.split(".")
    node: Any = out
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            named = [item for item in node if isinstance(item, dict) and item.get("name") == part]
            if not named:
                names = [str(i.get("name")) for i in node if isinstance(i, dict) and i.get("name")]
                raise BadInput(
                    f"{source}: {path}: no entry named {part!r} at {where}; named: {', '.join(names) or 'none'}"
                )
            if last:
                raise BadInput(f"{source}: {path}: names a whole entry, not a value")
            node = named[0]
            continue
        if not isinstance(node, dict):
            raise BadInput(f"{source}: {path}: {where} is not a mapping or a list")
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})
    return out


def combine(base: dict[str, Any], plus: dict[str, Any]) -> dict[str, Any]:
    """Two causes at once: the base scenario plus the other's steps, mirror groups and topology."""
    load = dict(base.get("load") or {})
    groups = list(load.get("mirrors") or [{"name": "mirrors"}])
    known = {g.get("name", "mirrors") for g in groups}
    groups += [
        g for g in (plus.get("load") or {}).get("mirrors") or [] if g.get("name") not in known
    ]
    load["mirrors"] = groups
    return {
        **base,
        "topology": deep_merge(base.get("topology") or {}, plus.get("topology") or {}),
        "load": load,
        STEP_LIST: list(base.get(STEP_LIST) or []) + list(plus.get(STEP_LIST) or []),
    }


def family_data(family: Family, source: str) -> dict[str, Any]:
    """The template with the added causes and the fixed values, as a scenario mapping."""
    data = read_yaml_mapping(resolve(family.scenario))
    for name in family.plus:
        data = combine(data, read_yaml_mapping(resolve(name)))
    for path, value in family.set.items():
        data = set_path(data, path, value, f"{source}: set")
    return data


def point_scenario(
    family: Family, value: float | None, source: str = "", value2: Scalar | None = None
) -> Scenario:
    """The family at one point of its sweep (or as shipped, without a sweep)."""
    source = source or family.name
    data = family_data(family, source)
    name = family.name
    if family.sweep is not None and value is not None:
        data = set_path(data, family.sweep.parameter, value, f"{source}: sweep.parameter")
        name = f"{family.name}-{value_str(value)}"
    if family.second is not None and value2 is not None:
        data = set_path(data, family.second.parameter, value2, f"{source}: second.parameter")
        name += f"-{scalar_str(value2)}"
    text = family.value_text(value, value2)
    return parse_scenario(f"{source} at {text}", {**data, "name": name.replace(".", "p")})


def family_path(name_or_file: str) -> Path:
    return resolve_named(name_or_file, HYPOTHESIS_DIR, "hypothesis family")


def load_family(name_or_file: str) -> Family:
    """A family, checked: its template loads and every path it sets or sweeps leads somewhere."""
    path = family_path(name_or_file)
    family = load_model(path, Family)
    for quick in (False, True):
        for value2 in family.seconds(quick):
            point_scenario(family, family.points(quick)[0], str(path), value2)
    return family


def shipped_families() -> list[str]:
    return sorted(p.stem for p in HYPOTHESIS_DIR.glob("*.yaml"))
