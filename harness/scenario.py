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
from harness.expectation import Expectation
from harness.mix import load_mix, resolve_mix
from harness.model_file import Frozen, deep_merge, read_yaml_mapping, resolve_named, validate
from harness.steps import (
    HTTP_FAULT_TYPES,
    LINK_FAULT_TYPES,
    LinkFault,
    LossFault,
    MirrorsAction,
    Step,
)
from harness.topology import plan
from harness.topology.config import TopologyConfig, defaults_dict
from harness.traffic import MirrorClient, TrafficClass, TrafficName

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = PROJECT_ROOT / "scenarios"


class PipTraffic(Frozen):
    """`pip install`: the project's simple page, then one of its files."""

    installs_per_s: float = Field(default=8.0, ge=0)
    json_share: float = Field(default=0.5, ge=0, le=1, description="share asking for PEP 691")


class BrowserTraffic(Frozen):
    """People looking at projects: the JSON page and the project page."""

    visits_per_s: float = Field(default=3.0, ge=0)


class MirrorGroup(Frozen):
    """bandersnatch-style mirrors: poll the serial log, then fetch what changed."""

    name: str = "mirrors"
    count: int = Field(default=2, ge=0, le=200)
    workers: int = Field(
        default=3, ge=1, le=400, description="syncs at once (bandersnatch: up to 10)"
    )
    interval_s: float = Field(default=120.0, gt=0, description="cron period, incident seconds")
    synchronized: bool = Field(default=False, description="all poll at the same cron minute")
    backlog_serials: int = Field(default=50, ge=0, description="serials behind at start")
    start_active: bool = Field(default=True, description="false: only inside mirrors actions")
    client: MirrorClient = Field(
        default=MirrorClient.BANDERSNATCH_1_4,
        description="bandersnatch-1.4: JSON pages through the CDN; bandersnatch-1.3: XML-RPC "
        "per project, straight to the backend",
    )


class MixLoad(Frozen):
    """A recorded traffic mix, replayed open-model: client sessions arrive at a Poisson rate."""

    mix: str = Field(description="a shipped mix (scenarios/mixes) or a file, relative to here")
    sessions_per_s: float = Field(ge=0)
    name: TrafficName | None = Field(default=None, description="its class; default: the mix's")


class LoadSpec(Frozen):
    duration_s: float = Field(default=90.0, gt=0, le=3600)
    seed: int = 1
    pop_share: dict[str, float] | None = Field(default=None, description="default: equal")
    client_timeout_s: float = Field(
        default=30.0, gt=0, description="per socket operation; pip's own default is 15 s"
    )
    pip: PipTraffic = PipTraffic()
    browser: BrowserTraffic = BrowserTraffic()
    mirrors: list[MirrorGroup] = Field(default_factory=lambda: [MirrorGroup()])
    mixes: list[MixLoad] = Field(default_factory=list, description="recorded traffic mixes")
    processes: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Locust processes (a master and workers); default: as many as the open-model "
        "rate needs, one per 1,000 requests/s, at most one per CPU",
    )
    publish_per_min: float = Field(default=6.0, ge=0, description="new releases at the origin")
    popularity_exponent: float = Field(
        default=1.1, ge=0, le=3, description="Zipf exponent of project popularity; 0: uniform"
    )


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
    return [link.name for link in plan.plan_links(topology.edges, topology.origin.web_nodes)]


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


def with_duration(scenario: Scenario, duration_s: float) -> Scenario:
    """The same scenario over `duration_s`: the timeline is stretched or squeezed to fit."""
    factor = duration_s / scenario.load.duration_s
    steps = []
    for step in scenario.faults:
        update: dict[str, Any] = {"at": round(step.at * factor, 3)}
        until = getattr(step, "until", None)
        if until is not None:
            update["until"] = round(until * factor, 3)
        steps.append(step.model_copy(update=update))
    load = scenario.load.model_copy(update={"duration_s": duration_s})
    return scenario.model_copy(update={"faults": steps, "load": load})


def compress_network(scenario: Scenario, factor: float) -> Scenario:
    """The same scenario with the network's clock running `factor` times faster.

    Every timeout (CDN backends, the origin's queue and hard kill, the clients) and every injected
    latency shrink together, so which fetch times out first is unchanged; runs get shorter.
    """

    def probe(settings: Any) -> Any:
        if settings is None:
            return None
        return settings.model_copy(
            update={
                "interval_s": settings.interval_s / factor,
                "timeout_s": settings.timeout_s / factor,
            }
        )

    def backend(settings: Any) -> Any:
        return settings.model_copy(
            update={
                "connect_timeout_s": settings.connect_timeout_s / factor,
                "first_byte_timeout_s": settings.first_byte_timeout_s / factor,
                "between_bytes_timeout_s": settings.between_bytes_timeout_s / factor,
                "probe": probe(settings.probe),
            }
        )

    def node(settings: Any) -> Any:
        return settings.model_copy(
            update={
                "backend": backend(settings.backend),
                "pass_backend": backend(settings.pass_backend),
            }
        )

    topology = scenario.topology
    origin = topology.origin.model_copy(
        update={
            "read_timeout_s": topology.origin.read_timeout_s / factor,
            "worker_kill_s": topology.origin.worker_kill_s / factor,
        }
    )
    topology = topology.model_copy(
        update={
            "shield": node(topology.shield),
            "edge": node(topology.edge),
            "origin": origin,
        }
    )
    steps = []
    for step in scenario.faults:
        update = {
            name: getattr(step, name) / factor
            for name in ("latency_ms", "jitter_ms", "after_ms", "delay_ms")
            if hasattr(step, name)
        }
        steps.append(step.model_copy(update=update))
    load = scenario.load.model_copy(
        update={"client_timeout_s": scenario.load.client_timeout_s / factor}
    )
    return scenario.model_copy(update={"topology": topology, "faults": steps, "load": load})
