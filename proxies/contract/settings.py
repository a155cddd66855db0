"""The settings each node is started with, written as JSON by the harness. Every default is a
number from the real 2014 system (the README's "The real system"), or an assumption saying why."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from proxies.contract.names import HEALTH_PATH, ORIGIN_PROBE_PATH, EndpointClass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ServiceTime(Settings):
    """Time an app worker spends on a request, before its real SQL time: lognormal."""

    median_ms: float = Field(ge=0)
    sigma: float = Field(default=0.5, ge=0, le=3)


def _default_service_times() -> dict[EndpointClass, ServiceTime]:
    return {
        EndpointClass.SIMPLE_INDEX: ServiceTime(median_ms=80),
        EndpointClass.SIMPLE_PROJECT: ServiceTime(median_ms=15),
        EndpointClass.PROJECT_JSON: ServiceTime(median_ms=25),
        EndpointClass.PACKAGE_FILE: ServiceTime(median_ms=5),
        EndpointClass.SERVERSIG: ServiceTime(median_ms=10),
        EndpointClass.PROJECT_PAGE: ServiceTime(median_ms=40),
        EndpointClass.XMLRPC: ServiceTime(median_ms=10),
        EndpointClass.OTHER: ServiceTime(median_ms=5),
    }


class OriginSettings(Settings):
    """The mock 2014 PyPI backend: its data set and each web node's nginx + uWSGI capacity."""

    seed: int = 20140720
    projects: int = Field(default=300, ge=1, le=100_000)
    releases_per_project: int = Field(default=3, ge=1, le=50)
    # The serial was about 1,154,164 on 2014-07-11 (the journals table's size then).
    journal_rows: int = Field(default=1_154_000, ge=1, le=20_000_000)
    journals_id_index: bool = False  # as in 2014: the serial had no index
    # Package file sizes, lognormal (assumption: no 2014 distribution is on record). Fitted to
    # a crawl of 34,923 PyPI packages on 2013-10-18 (ysar.net, "Python Package Statistics":
    # mean 161 KB, standard deviation 1 MB, largest 36 MB): median 25 KB, sigma 1.93.
    file_size_median_kb: float = Field(default=25.0, gt=0, le=100_000)
    file_size_sigma: float = Field(default=1.93, ge=0, le=4)
    file_size_max_kb: float = Field(default=36_864.0, gt=0, le=1_000_000)
    # Two web VMs behind Fastly's director that day (three by September 2014).
    web_nodes: int = Field(default=2, ge=1, le=8)
    # A static mirror in another data centre that the CDN fell back to when every web node was
    # probed sick (distutils-sig 2014-May/024321: "seamlessly fallback to the static mirror").
    static_mirror: bool = True
    # uWSGI processes per web node: not public (the salt template's default is 2, the first
    # config had 5); an assumption, so that two nodes have the 16 of the lab's earlier model.
    worker_slots: int = Field(default=8, ge=1, le=10_000)
    queue_max: int = Field(default=1024, ge=0)  # uWSGI `listen` and net.core.somaxconn: 1024
    read_timeout_s: float = Field(default=60.0, gt=0)  # nginx's uwsgi_read_timeout default: 504
    worker_kill_s: float = Field(default=60.0, gt=0)  # uWSGI harakiri
    service_times: dict[EndpointClass, ServiceTime] = Field(default_factory=_default_service_times)
    json_browser_max_age_s: int = 600
    json_cdn_max_age_s: int = 86_400


class ProbeSettings(Settings):
    """A backend health probe (Varnish's `.probe`; Fastly's health check).

    PyPI's own values are not public: these are Varnish's defaults, except `initial`, which
    starts a backend healthy (a running CDN had long been probing it).
    """

    path: str = ORIGIN_PROBE_PATH
    interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=2.0, gt=0)
    window: int = Field(default=8, ge=1, le=64)
    threshold: int = Field(default=3, ge=1, le=64)
    initial: int = Field(default=3, ge=0, le=64)

    @model_validator(mode="after")
    def _validate_counts(self) -> ProbeSettings:
        if self.threshold > self.window:
            raise ValueError(f"threshold must be <= window; got {self.threshold} > {self.window}")
        if self.initial > self.window:
            raise ValueError(f"initial must be <= window; got {self.initial} > {self.window}")
        return self


class BackendSettings(Settings):
    """How a CDN node talks to one backend: Fastly's defaults."""

    connect_timeout_s: float = Field(default=1.0, gt=0)
    first_byte_timeout_s: float = Field(default=15.0, gt=0)
    between_bytes_timeout_s: float = Field(default=10.0, gt=0)
    # Per backend; at the limit Varnish fails the fetch at once (nothing queues).
    max_connections: int = Field(default=200, ge=1)
    # Varnish 2.1 retries a fetch once, silently, when a reused connection fails before the
    # first byte (a first-byte timeout included).
    retry_reused: bool = True
    # How long an idle pooled connection is kept (assumption: Varnish keeps backend
    # connections until the backend closes them; nginx's keepalive is 65 s).
    keepalive_s: float = Field(default=60.0, gt=0)
    probe: ProbeSettings | None = ProbeSettings()
    # Connections kept open ahead of use (Fastly keeps pools open between its POPs); 0: none,
    # the pool grows only as requests need it.
    warm_connections: int = Field(default=0, ge=0)


class CacheRule(Settings):
    """Objects whose path matches `path_regex` live `ttl_s` seconds in the cache."""

    path_regex: str
    ttl_s: float = Field(ge=0)


def _default_cache_rules() -> list[CacheRule]:
    # pypi.wsgi's Surrogate-Control (and the VCL's 60 s default for anything without one).
    return [
        CacheRule(path_regex=r"^/simple/", ttl_s=86_400),
        CacheRule(path_regex=r"^/packages/", ttl_s=86_400),
        CacheRule(path_regex=r"^/pypi/[^/]+(/[^/]+)?/json$", ttl_s=86_400),
        CacheRule(path_regex=r"^/serversig/", ttl_s=86_400),
        CacheRule(path_regex=r"^/pypi", ttl_s=60),
    ]


class CdnNodeSettings(Settings):
    """A Varnish/Fastly-like caching node: the shield or an edge POP."""

    backend: BackendSettings = BackendSettings()  # where GET and HEAD go
    pass_backend: BackendSettings = BackendSettings()  # where POSTs go: always the origin
    # The static mirror: it has no /daytime, so it is probed on a static path.
    fallback_backend: BackendSettings = BackendSettings(probe=ProbeSettings(path=HEALTH_PATH))
    cache_rules: list[CacheRule] = Field(default_factory=_default_cache_rules)
    not_found_ttl_s: float = Field(default=60.0, ge=0)  # the VCL: every 404 lives 60 s
    # req.grace in PyPI's VCL: 15 s while the backend is healthy, 24 h while it is sick; in
    # Varnish 2.1 stale is served only while another request fetches the object, or while
    # the probe says sick. beresp.grace (how long objects are kept past their TTL) is 24 h.
    grace_healthy_s: float = Field(default=15.0, ge=0)
    grace_sick_s: float = Field(default=86_400.0, ge=0)
    cache_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    # A team's own VCL 4.1 fragment (its vcl_recv, vcl_backend_response, ... logic), included
    # in the generated VCL after the lab's logic and before its decisions; `cdn: varnish` only.
    vcl_include: str | None = None


# Assumption: the size of Fastly's pools between POPs is not public; a small pool per POP.
EDGE_WARM_CONNECTIONS = 10


def default_edge_settings() -> CdnNodeSettings:
    """Edges reach the shield over Fastly's network: the VCL runs again at the shield POP, so
    the first-byte timeout is the service's own (15 s); between bytes is fixed at 60 s. An
    edge probes the shield's own health page, so only the POP-to-shield network makes it sick.
    Fastly's POPs keep pools of open connections to each other; their size is not public, so
    `EDGE_WARM_CONNECTIONS` is an assumption.
    """
    return CdnNodeSettings(
        backend=BackendSettings(
            between_bytes_timeout_s=60.0,
            probe=ProbeSettings(path=HEALTH_PATH),
            warm_connections=EDGE_WARM_CONNECTIONS,
        )
    )


class NodeLaunch(Settings):
    """Everything a node process is told at start, written as JSON by the harness."""

    name: str
    # CDN nodes: the backends GET/HEAD go to, and those POSTs go to, by name -> URL.
    upstreams: dict[str, str] = {}
    passes: dict[str, str] = {}
    fallbacks: dict[str, str] = {}  # GET/HEAD when every upstream is probed sick
    cdn: CdnNodeSettings | None = None
    origin: OriginSettings | None = None
    database_path: str | None = None  # origin: this run's copy of the data set
    dataset_cache_dir: str | None = None  # origin: where generated data sets are kept
    # A CDN node run as a real Varnish: varnishd's working directory (its VCL is written
    # beside it).
    varnish_dir: str | None = None
    ready_file: str
    host: str = "127.0.0.1"
    # Fixed ports by name ("port", "admin_port", "web-1", ...), as in a container; omitted:
    # the kernel picks.
    ports: dict[str, int] = {}
