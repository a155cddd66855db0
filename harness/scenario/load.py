"""What traffic a scenario drives: open-model pip and browser flows, cron-driven mirror groups
(bandersnatch 1.4 or 1.3), recorded mixes, and the load's own settings.

The `load:` part of a scenario file; frozen models that forbid unknown keys, like the rest.
"""

from __future__ import annotations

from pydantic import Field

from harness.scenario.reader import Frozen
from harness.scenario.traffic import MirrorClient, TrafficName


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
