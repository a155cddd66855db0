"""The steps of a scenario's timeline: faults on links and actions on the lab.

A tagged union on `kind`. Link faults come from three backends: Toxiproxy (latency, bandwidth,
stall, reset, down), the kernel (loss) and a mitmproxy tap on the link (http_status,
http_delay, http_abort: per request, for matching requests only).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from harness.scenario.reader import Frozen


class Stream(StrEnum):
    UPSTREAM = "upstream"  # client to server
    DOWNSTREAM = "downstream"  # server to client (Toxiproxy's default)


class _Step(Frozen):
    at: float = Field(ge=0, description="seconds after traffic starts")
    name: str | None = Field(
        default=None, description="how expectations name this step; default: its label"
    )

    @property
    def label(self) -> str:
        """The step's name, or a description such as `latency shield->origin`."""
        return self.name or self.describe()

    def describe(self) -> str:
        return str(getattr(self, "kind", "step"))

    def on_faster_network(self, factor: float) -> Self:
        """This step on a network whose clock runs `factor` times faster: what it injects in
        milliseconds shrinks with every timeout. Steps that inject no time are unchanged."""
        return self


class _Window(_Step):
    until: float | None = Field(default=None, description="seconds; omitted: to the end")

    @model_validator(mode="after")
    def _until_after_at(self) -> _Window:
        if self.until is not None and self.until <= self.at:
            raise ValueError(f"until ({self.until:g}) must be after at ({self.at:g})")
        return self


class _LinkFault(_Window):
    link: str = Field(description="e.g. shield->origin, edge-iad->shield, edge-*->shield")

    def describe(self) -> str:
        return f"{getattr(self, 'kind', 'fault')} {self.link}"


class LatencyFault(_LinkFault):
    kind: Literal["latency"]
    latency_ms: float = Field(ge=0)
    jitter_ms: float = Field(default=0, ge=0)

    def on_faster_network(self, factor: float) -> Self:
        update = {"latency_ms": self.latency_ms / factor, "jitter_ms": self.jitter_ms / factor}
        return self.model_copy(update=update)
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = Field(default=1.0, ge=0, le=1, description="share of connections hit")


class BandwidthFault(_LinkFault):
    kind: Literal["bandwidth"]
    rate_kbps: int = Field(ge=0)
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = Field(default=1.0, ge=0, le=1)


class StallFault(_LinkFault):
    """No data flows until removed; connections survive and heal (bandwidth 0, not timeout)."""

    kind: Literal["stall"]
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = Field(default=1.0, ge=0, le=1)


class ResetFault(_LinkFault):
    kind: Literal["reset"]
    after_ms: int = Field(default=0, ge=0, description="reset each connection after this long")

    def on_faster_network(self, factor: float) -> Self:
        # Still whole milliseconds (Toxiproxy's unit), and a delayed reset stays delayed.
        after_ms = max(1, round(self.after_ms / factor)) if self.after_ms else 0
        return self.model_copy(update={"after_ms": after_ms})
    toxicity: float = Field(default=1.0, ge=0, le=1)


class DownFault(_LinkFault):
    kind: Literal["down"]


class Direction(StrEnum):
    UPSTREAM = "upstream"  # packets towards the link's server (requests, and ACKs of answers)
    DOWNSTREAM = "downstream"  # packets back to its client (answers)
    BOTH = "both"


class LossFault(_LinkFault):
    """Real packet loss: the kernel drops this share of the link's packets (an iptables
    `statistic` rule in the run's own network namespace); TCP retransmits, as on a real
    network. Needs root; the run then takes place inside a namespace it makes."""

    kind: Literal["loss"]
    probability: float = Field(gt=0, le=1, description="share of packets dropped")
    direction: Direction = Direction.BOTH


class OriginWorkersAction(_Step):
    """Scale the backend, as PyPI's operators did at 20:45."""

    kind: Literal["origin_workers"]
    worker_slots: int = Field(ge=1, description="app workers on each web node")

    def describe(self) -> str:
        return f"workers={self.worker_slots}"


class JournalsIndexAction(_Step):
    """Apply (or undo) the 2014 fix: an index on journals.id."""

    kind: Literal["journals_id_index"]
    enabled: bool = True

    def describe(self) -> str:
        return f"journals_id_index={'on' if self.enabled else 'off'}"


class MirrorsAction(_Window):
    """Run a mirror group only inside this window (a storm starting and stopping)."""

    kind: Literal["mirrors"]
    group: str

    def describe(self) -> str:
        return f"mirrors {self.group}"


class HttpMatch(Frozen):
    """Which requests an HTTP fault hits: all of these must hold (globs, as in `fnmatch`)."""

    method: str | None = Field(default=None, description="e.g. POST; omitted: any")
    path: str = Field(default="*", description="a glob on the path, query included: /pypi*")
    headers: dict[str, str] = Field(
        default_factory=dict, description="name: glob on its value (names case-insensitive)"
    )

    def describe(self) -> str:
        words = [self.method or "*", self.path]
        words += [f"{name}: {value}" for name, value in self.headers.items()]
        return " ".join(words)


class _HttpFault(_LinkFault):
    """A fault carried out per request by the mitmproxy tap on the link (see `tap:`)."""

    match: HttpMatch = HttpMatch()
    probability: float = Field(
        default=1.0, gt=0, le=1, description="share of matching requests hit, rolled per request"
    )
    first_n: int | None = Field(
        default=None, ge=1, description="hit only the first N matching requests instead"
    )

    @model_validator(mode="after")
    def _one_selection(self) -> _HttpFault:
        if self.first_n is not None and self.probability != 1.0:
            raise ValueError("give probability or first_n, not both")
        return self

    def describe(self) -> str:
        return f"{getattr(self, 'kind', 'http')} {self.link} {self.match.describe()}"


class HttpStatusFault(_HttpFault):
    """The tap answers matching requests itself with this status; they never reach the node."""

    kind: Literal["http_status"]
    status: int = Field(default=503, ge=400, le=599)


class HttpDelayFault(_HttpFault):
    """Matching requests wait this long at the tap before they go on to the node."""

    kind: Literal["http_delay"]
    delay_ms: float = Field(gt=0)
    jitter_ms: float = Field(default=0, ge=0, description="uniform, +/- this much")

    def on_faster_network(self, factor: float) -> Self:
        update = {"delay_ms": self.delay_ms / factor, "jitter_ms": self.jitter_ms / factor}
        return self.model_copy(update=update)


class HttpAbortFault(_HttpFault):
    """The node's answer starts, then the tap closes the connection halfway through its body."""

    kind: Literal["http_abort"]


HTTP_FAULT_TYPES = (HttpStatusFault, HttpDelayFault, HttpAbortFault)
HttpFault = HttpStatusFault | HttpDelayFault | HttpAbortFault
LINK_FAULT_TYPES = (
    LatencyFault,
    BandwidthFault,
    StallFault,
    ResetFault,
    DownFault,
    LossFault,
    *HTTP_FAULT_TYPES,
)
LinkFault = (
    LatencyFault | BandwidthFault | StallFault | ResetFault | DownFault | LossFault | HttpFault
)
Step = Annotated[
    LatencyFault
    | BandwidthFault
    | StallFault
    | ResetFault
    | DownFault
    | LossFault
    | HttpStatusFault
    | HttpDelayFault
    | HttpAbortFault
    | OriginWorkersAction
    | JournalsIndexAction
    | MirrorsAction,
    Field(discriminator="kind"),
]


def has_window(step: Step) -> bool:
    """Faults and mirror windows last; the other actions happen at an instant."""
    return isinstance(step, _Window)


def step_until(step: Step) -> float | None:
    """When a lasting step is removed; None for an instant, or for a window left to the end."""
    return step.until if isinstance(step, _Window) else None


def step_end(step: Step, duration_s: float) -> float:
    """When a lasting step is over within a run of `duration_s` (to the end when open)."""
    until = step_until(step)
    return min(until if until is not None else duration_s, duration_s)
