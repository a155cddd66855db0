"""A traffic mix recorded from real clients (`shieldlab workload` writes it; a scenario's
`load.mixes` replays it as an open-model class under its own name).

Per recorded client session: the sequence of requests as endpoint classes, methods and Accept
headers, which of the session's projects each names, the think time before each, and how many
the client had in flight at most. Projects are slots (the session's first, second, ... project),
so a replay draws its own projects from the lab's popularity law.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from harness.scenario.reader import Frozen, load_model, resolve_named
from harness.scenario.traffic import TrafficClass, TrafficName
from proxies.contract import EndpointClass

MIX_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "mixes"


class RpcParam(Frozen):
    """One XML-RPC argument as a replay rebuilds it: a project slot, a serial some way behind
    the newest one, or a value as recorded."""

    project: int | None = Field(default=None, ge=0)
    serial_lag: int | None = Field(default=None, ge=0)
    value: str | int | float | bool | None = None


class MixStep(Frozen):
    endpoint: EndpointClass
    method: str = "GET"
    accept: str | None = None
    project: int | None = Field(default=None, ge=0, description="the session's n-th project")
    think_s: float = Field(default=0.0, ge=0, description="after the last answer, before this")
    rpc: str | None = Field(default=None, description="the XML-RPC method of a POST /pypi")
    rpc_params: list[RpcParam] = Field(default_factory=list)


class MixSession(Frozen):
    concurrency: int = Field(ge=1, description="most requests the client had in flight at once")
    duration_s: float = Field(ge=0, description="as recorded")
    steps: list[MixStep] = Field(min_length=1)

    @property
    def projects(self) -> int:
        return 1 + max((s.project for s in self.steps if s.project is not None), default=-1)


class RecordedFrom(Frozen):
    file: str
    client: str = Field(description="the User-Agent's first word, e.g. pip/24.2")
    exchanges: int = Field(ge=0)
    session_gap_s: float = Field(gt=0)


class Mix(Frozen):
    name: TrafficName
    description: str = ""
    recorded: RecordedFrom
    endpoint_shares: dict[EndpointClass, float] = Field(
        description="share of each endpoint class in the recording (what a replay should show)"
    )
    sessions: list[MixSession] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _not_a_hand_written_class(cls, name: str) -> str:
        if name in {t.value for t in TrafficClass}:
            raise ValueError(f"{name!r} is a hand-written traffic class; give the mix its own")
        return name

    @model_validator(mode="after")
    def _shares_add_up(self) -> Mix:
        total = sum(self.endpoint_shares.values())
        if abs(total - 1) > 0.01:
            raise ValueError(f"endpoint_shares must add up to 1; they add up to {total:.3f}")
        return self


def endpoint_shares(endpoints: list[EndpointClass]) -> dict[EndpointClass, float]:
    counts = Counter(endpoints)
    return {e: round(n / len(endpoints), 4) for e, n in sorted(counts.items())}


def resolve_mix(name_or_file: str, relative_to: Path | None = None) -> Path:
    """A shipped mix (`pip-install`), or a file, relative to the scenario that names it."""
    if relative_to is not None and not Path(name_or_file).is_absolute():
        candidate = relative_to.parent / name_or_file
        if candidate.is_file():
            return candidate
    return resolve_named(name_or_file, MIX_DIR, "mix")


def load_mix(name_or_file: str, relative_to: Path | None = None) -> Mix:
    return load_model(resolve_mix(name_or_file, relative_to), Mix)
