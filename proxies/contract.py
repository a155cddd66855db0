"""The contract between the harness and the node programs.

Header names, paths, error reasons, endpoint classes and the settings each node is started
with. This is the only module under `proxies/` that the harness imports; every default here is
a number from the real 2014 system (the README's "The real system"), kept as a setting.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HEALTH_PATH = "/_shieldlab/health"
METRICS_PATH = "/metrics"
ADMIN_PREFIX = "/_admin"

HEADER_SERVED_BY = "X-Served-By"
HEADER_CACHE = "X-Cache"
HEADER_CACHE_HITS = "X-Cache-Hits"
HEADER_AGE = "Age"
HEADER_TIMER = "X-Timer"
HEADER_LAST_SERIAL = "X-PYPI-LAST-SERIAL"
HEADER_SURROGATE_KEY = "Surrogate-Key"
# Set on every response a node synthesizes, so errors can be attributed to a layer.
HEADER_ERROR_NODE = "X-Shieldlab-Error-Node"
HEADER_ERROR_REASON = "X-Shieldlab-Error-Reason"

# What a tap's http_status fault names as the maker of its answers: the lab, not a node.
TAP_NODE = "tap"
TAP_INJECTED_REASON = "injected by an http_status fault"

ORIGIN_BALANCER_NODE = "origin-lb"
ORIGIN_NODE = "origin"
SHIELD_NODE = "shield"
EDGE_PREFIX = "edge-"
METRIC_PREFIX = "shieldlab"


class OriginGauge(StrEnum):
    """The origin's gauges on /metrics: what the harness scrapes to see the backend's load."""

    BUSY_SLOTS = f"{METRIC_PREFIX}_origin_busy_slots"
    WORKER_SLOTS = f"{METRIC_PREFIX}_origin_worker_slots"
    QUEUE_LENGTH = f"{METRIC_PREFIX}_origin_queue_length"
    JOURNALS_ID_INDEX = f"{METRIC_PREFIX}_origin_journals_id_index"


# Counters and histograms: the family name; a scraped counter sample ends in `_total`, a
# histogram's in `_sum` and `_count`.
REQUESTS_COUNTER = f"{METRIC_PREFIX}_requests"
QUEUE_WAIT_HISTOGRAM = f"{METRIC_PREFIX}_origin_queue_wait_seconds"

PEP691_JSON = "application/vnd.pypi.simple.v1+json"


class CacheState(StrEnum):
    """One CDN node's entry in `X-Cache`: how it answered."""

    HIT = "HIT"
    MISS = "MISS"
    PASS = "PASS"  # POSTs: never cached, never collapsed
    HIT_STALE = "HIT-STALE"  # served in grace after a failed fetch
    HIT_COLLAPSED = "HIT-COLLAPSED"  # waited on another request's fetch

    @property
    def is_hit(self) -> bool:
        return self in (CacheState.HIT, CacheState.HIT_STALE, CacheState.HIT_COLLAPSED)


def accept_variant(accept: str) -> str:
    """The representation an Accept header selects: PyPI's CDN normalised Accept to this."""
    return "json" if PEP691_JSON in accept else "html"


class FetchFailure(StrEnum):
    """Why a CDN node's upstream fetch failed: the reason text of its synthetic 503."""

    CONNECT_TIMEOUT = "Connection timed out"
    FIRST_BYTE_TIMEOUT = "first byte timeout"
    BETWEEN_BYTES_TIMEOUT = "between bytes timeout"
    READ_ERROR = "backend read error"
    UNHEALTHY = "All backends failed or unhealthy"


class BalancerRejection(StrEnum):
    """Why the origin's load balancer answered instead of an app worker."""

    QUEUE_FULL = "listen queue full"  # 502, as nginx when connect() to uWSGI fails
    QUEUE_TIMEOUT = "queue wait timeout"  # 503
    WORKER_KILLED = "worker killed at hard timeout"  # 502, uWSGI harakiri mid-request


BALANCER_STATUS: dict[BalancerRejection, int] = {
    BalancerRejection.QUEUE_FULL: 502,
    BalancerRejection.QUEUE_TIMEOUT: 503,
    BalancerRejection.WORKER_KILLED: 502,
}


class EndpointClass(StrEnum):
    SIMPLE_INDEX = "simple_index"
    SIMPLE_PROJECT = "simple_project"
    PROJECT_JSON = "project_json"
    PACKAGE_FILE = "package_file"
    SERVERSIG = "serversig"
    PROJECT_PAGE = "project_page"
    XMLRPC = "xmlrpc"
    OTHER = "other"


def classify_path(method: str, path: str) -> EndpointClass:
    """Map a request to its endpoint class (shared by the origin model and the harness)."""
    if method == "POST":
        return EndpointClass.XMLRPC
    if path == "/simple/":
        return EndpointClass.SIMPLE_INDEX
    if path.startswith("/simple/"):
        return EndpointClass.SIMPLE_PROJECT
    if path.startswith("/pypi/") and path.endswith("/json"):
        return EndpointClass.PROJECT_JSON
    if path.startswith("/packages/"):
        return EndpointClass.PACKAGE_FILE
    if path.startswith("/serversig/"):
        return EndpointClass.SERVERSIG
    if path.startswith("/pypi/"):
        return EndpointClass.PROJECT_PAGE
    return EndpointClass.OTHER


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
    """The mock 2014 PyPI backend: its data set and its modelled nginx + uWSGI capacity."""

    seed: int = 20140720
    projects: int = Field(default=300, ge=1, le=100_000)
    releases_per_project: int = Field(default=3, ge=1, le=50)
    journal_rows: int = Field(default=400_000, ge=1, le=20_000_000)
    journals_id_index: bool = False  # as in 2014: the serial had no index
    worker_slots: int = Field(default=16, ge=1, le=10_000)
    queue_max: int = Field(default=1024, ge=0)  # uWSGI `listen` backlog
    queue_timeout_s: float = Field(default=30.0, gt=0)
    worker_kill_s: float = Field(default=60.0, gt=0)  # uWSGI harakiri
    service_times: dict[EndpointClass, ServiceTime] = Field(default_factory=_default_service_times)
    json_browser_max_age_s: int = 600
    json_cdn_max_age_s: int = 86_400


class BackendSettings(Settings):
    """How a CDN node talks to one backend: Fastly's defaults."""

    connect_timeout_s: float = Field(default=1.0, gt=0)
    first_byte_timeout_s: float = Field(default=15.0, gt=0)
    between_bytes_timeout_s: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=200, ge=1)


class CacheRule(Settings):
    """Objects whose path matches `path_regex` live `ttl_s` seconds in the cache."""

    path_regex: str
    ttl_s: float = Field(ge=0)


def _default_cache_rules() -> list[CacheRule]:
    return [
        CacheRule(path_regex=r"^/simple/", ttl_s=600),
        CacheRule(path_regex=r"^/packages/", ttl_s=3600),
        CacheRule(path_regex=r"^/pypi/[^/]+(/[^/]+)?/json$", ttl_s=86_400),
        CacheRule(path_regex=r"^/serversig/", ttl_s=600),
        CacheRule(path_regex=r"^/pypi", ttl_s=60),
    ]


class CdnNodeSettings(Settings):
    """A Varnish/Fastly-like caching node: the shield or an edge POP."""

    backend: BackendSettings = BackendSettings()  # where GET and HEAD go
    pass_backend: BackendSettings = BackendSettings()  # where POSTs go: always the origin
    cache_rules: list[CacheRule] = Field(default_factory=_default_cache_rules)
    grace_s: float = Field(default=0.0, ge=0)  # serve stale this long after expiry on error
    cache_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0)


def default_edge_settings() -> CdnNodeSettings:
    """Edges talk to the shield over the CDN's own network: 60 s hop timeouts."""
    return CdnNodeSettings(
        backend=BackendSettings(first_byte_timeout_s=60.0, between_bytes_timeout_s=60.0)
    )


class NodeLaunch(Settings):
    """Everything a node process is told at start, written as JSON by the harness."""

    name: str
    upstream_url: str | None = None  # GET/HEAD backend (CDN nodes)
    pass_url: str | None = None  # POST backend (CDN nodes)
    cdn: CdnNodeSettings | None = None
    origin: OriginSettings | None = None
    database_path: str | None = None  # origin: this run's copy of the data set
    dataset_cache_dir: str | None = None  # origin: where generated data sets are kept
    ready_file: str
    host: str = "127.0.0.1"
    # Fixed ports by name ("port", "admin_port"), as in a container; omitted: the kernel picks.
    ports: dict[str, int] = {}
