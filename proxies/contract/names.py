"""The names both sides agree on: paths, headers, node and metric names, error reasons, cache
states and endpoint classes."""

from __future__ import annotations

from enum import StrEnum

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
    """The origin's gauges on /metrics: what the harness scrapes to see the backend's load.

    Each is the sum over the web nodes; the same names with `_per_web` appended carry a `web`
    label, one series per web node.
    """

    BUSY_SLOTS = f"{METRIC_PREFIX}_origin_busy_slots"
    WORKER_SLOTS = f"{METRIC_PREFIX}_origin_worker_slots"
    QUEUE_LENGTH = f"{METRIC_PREFIX}_origin_queue_length"
    JOURNALS_ID_INDEX = f"{METRIC_PREFIX}_origin_journals_id_index"


# Counters and histograms: the family name; a scraped counter sample ends in `_total`, a
# histogram's in `_sum` and `_count`.
REQUESTS_COUNTER = f"{METRIC_PREFIX}_requests"
PER_WEB_SUFFIX = "_per_web"


class BackendGauge(StrEnum):
    """A CDN node's view of each of its backends (label `backend`)."""

    HEALTHY = f"{METRIC_PREFIX}_backend_healthy"  # 1 while the probe says healthy
    BUSY_FETCHES = f"{METRIC_PREFIX}_backend_busy_fetches"  # fetches in flight
    MAX_CONNECTIONS = f"{METRIC_PREFIX}_backend_max_connections"


# Counters a CDN node keeps per backend (label `backend`).
FETCH_RETRIES_COUNTER = f"{METRIC_PREFIX}_backend_retries"  # the silent retry on a reused conn.
PROBES_COUNTER = f"{METRIC_PREFIX}_backend_probes"  # label `result`: ok | failed
# The path the origin's web nodes answer for health probes: PyPI's /daytime, a pass in the VCL,
# answered by the app's workers (so a probe waits in the same queue as users).
ORIGIN_PROBE_PATH = "/daytime"
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
    UNHEALTHY = "All backends failed or unhealthy"  # the director found no healthy backend
    # At max_connections Varnish fails the fetch at once (its `backend_busy` counter).
    BACKEND_BUSY = "backend busy: max_connections reached"


class BalancerRejection(StrEnum):
    """Why a web node's nginx answered instead of an app worker."""

    QUEUE_FULL = "listen queue full"  # 502, as nginx when connect() to uWSGI fails
    READ_TIMEOUT = "upstream timed out"  # 504, nginx's uwsgi_read_timeout (60 s)
    WORKER_KILLED = "worker killed at hard timeout"  # 502, uWSGI harakiri mid-request


BALANCER_STATUS: dict[BalancerRejection, int] = {
    BalancerRejection.QUEUE_FULL: 502,
    BalancerRejection.READ_TIMEOUT: 504,
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


# The origin's port (and the shield's backend) for the static mirror: pages and files only, no
# app workers, no XML-RPC and no JSON API, as a bandersnatch mirror served them.
STATIC_MIRROR = "mirror"


def web_node_name(index: int) -> str:
    """The origin's web nodes are `origin-1`, `origin-2`, ...: each its own nginx + uWSGI."""
    return f"{ORIGIN_NODE}-{index}"


def web_node_names(count: int) -> list[str]:
    return [web_node_name(i) for i in range(1, count + 1)]
