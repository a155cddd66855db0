"""A caching CDN node (the shield, or an edge POP): lookup, grace, collapse, fetch, answer.

GET and HEAD go through the cache to the fill director (the shield, or the origin's web
nodes); POSTs pass straight to the pass director (the origin's web nodes), as Fastly did for
PyPI's XML-RPC in 2014. Each backend is probed; what the probes say decides grace.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from proxies import contract
from proxies.cdn import headers as response_headers
from proxies.cdn.cache import (
    ObjectCache,
    StoredResponse,
    TtlRules,
    is_cacheable,
    variant_key,
)
from proxies.cdn.collapse import Collapser
from proxies.cdn.director import Backend, Director
from proxies.cdn.grace import Serve, decide
from proxies.cdn.upstream import FetchFailed, UpstreamRequest, fetch
from proxies.contract import BackendGauge, CacheState, CdnNodeSettings, FetchFailure


@dataclass
class NodeMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        p, r = contract.METRIC_PREFIX, self.registry
        self.requests = Counter(
            contract.REQUESTS_COUNTER, "Responses by status", ["status"], registry=r
        )
        self.cache = Counter(f"{p}_cache", "Cache results", ["result"], registry=r)
        self.upstream_errors = Counter(
            f"{p}_upstream_errors", "Failed fetches", ["reason"], registry=r
        )
        self.fetches = Counter(f"{p}_upstream_fetches", "Upstream fetches", ["backend"], registry=r)
        self.in_flight = Gauge(f"{p}_in_flight", "Requests being handled", registry=r)
        self.objects = Gauge(f"{p}_cache_objects", "Objects in the cache", registry=r)
        self.cache_bytes = Gauge(f"{p}_cache_bytes", "Bytes in the cache", registry=r)
        self.healthy = Gauge(BackendGauge.HEALTHY, "1 if probed healthy", ["backend"], registry=r)
        self.busy_fetches = Gauge(
            BackendGauge.BUSY_FETCHES, "Fetches in flight", ["backend"], registry=r
        )
        self.max_connections = Gauge(
            BackendGauge.MAX_CONNECTIONS, "Fetch limit", ["backend"], registry=r
        )
        self.retries = Counter(
            contract.FETCH_RETRIES_COUNTER, "Silent retries", ["backend"], registry=r
        )
        self.probes = Counter(
            contract.PROBES_COUNTER, "Health probes", ["backend", "result"], registry=r
        )

    def probe_counter(self, backend: str) -> Callable[[bool], None]:
        ok, failed = self.probes.labels(backend, "ok"), self.probes.labels(backend, "failed")
        return lambda healthy: (ok if healthy else failed).inc()

    def watch(self, backend: Backend) -> None:
        self.healthy.labels(backend.name).set_function(lambda: 1 if backend.healthy else 0)
        self.busy_fetches.labels(backend.name).set_function(lambda: backend.in_flight)
        self.max_connections.labels(backend.name).set(backend.settings.max_connections)


_SICK = "every backend probed sick"


class Route(StrEnum):
    """Which director a request goes to (the value labels the fetch metric)."""

    CACHE_FILL = "upstream"  # GET and HEAD: the next cache towards the origin
    PASS = "pass"  # POST: straight to the origin


class CdnNode:
    def __init__(
        self,
        name: str,
        settings: CdnNodeSettings,
        upstreams: dict[str, str],
        passes: dict[str, str],
        fallbacks: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.cache = ObjectCache(
            settings.cache_max_bytes, max(settings.grace_healthy_s, settings.grace_sick_s)
        )
        self.rules = TtlRules(settings.cache_rules)
        self.collapser: Collapser[StoredResponse] = Collapser()
        self.metrics = NodeMetrics()
        self.metrics.objects.set_function(lambda: len(self.cache))
        self.metrics.cache_bytes.set_function(lambda: self.cache.bytes)
        fallbacks = fallbacks or {}
        # A backend named in both (the shield's web nodes) is one backend: one pool, one probe.
        backends: dict[str, Backend] = {}
        for urls, backend_settings in (
            (upstreams, settings.backend),
            (passes, settings.pass_backend),
            (fallbacks, settings.fallback_backend),
        ):
            for backend_name, url in urls.items():
                backends.setdefault(
                    backend_name, Backend(backend_name, url.rstrip("/"), backend_settings)
                )
        self.backends = list(backends.values())
        rng = random.Random(name)  # the director's choices repeat run after run
        self.directors = {
            Route.CACHE_FILL: Director(
                [backends[n] for n in upstreams], rng, [backends[n] for n in fallbacks]
            ),
            Route.PASS: Director([backends[n] for n in passes], rng),
        }

    async def start(self, _: web.Application) -> None:
        for backend in self.backends:
            backend.start(self.metrics.probe_counter(backend.name))
            self.metrics.watch(backend)

    async def stop(self, _: web.Application) -> None:
        for backend in self.backends:
            await backend.stop()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        self.metrics.in_flight.inc()
        try:
            if request.method in ("GET", "HEAD"):
                response = await self._cached(request, started)
            else:
                response = await self._pass(request, started)
        finally:
            self.metrics.in_flight.dec()
        self.metrics.requests.labels(str(response.status)).inc()
        return response

    async def _pass(self, request: web.Request, started: float) -> web.Response:
        self.metrics.cache.labels("pass").inc()
        body = await request.read()
        try:
            stored = await self._fetch(Route.PASS, request, body, request.method)
        except FetchFailed as failed:
            return self._synthetic_error(failed, started)
        return self._answer(request, stored, CacheState.PASS, hits=0, age_s=0.0, started=started)

    async def _cached(self, request: web.Request, started: float) -> web.Response:
        accept = request.headers.get("Accept", "")
        now = time.monotonic()
        found = self.cache.lookup(request.path_qs, accept, now)
        # Collapse per Accept variant: a follower must never get another variant's body.
        key = variant_key(request.path_qs, accept)
        entry = found.entry
        serve = decide(
            found.freshness,
            entry.age_s(now) - entry.ttl_s if entry is not None else 0.0,
            self.directors[Route.CACHE_FILL].healthy,
            self.collapser.is_in_flight(key),
            self.settings.grace_healthy_s,
            self.settings.grace_sick_s,
        )
        if serve is Serve.HIT and entry is not None:
            entry.hits += 1
            self.metrics.cache.labels("hit").inc()
            return self._answer(
                request, entry.response, CacheState.HIT, entry.hits, entry.age_s(now), started
            )
        if serve is Serve.STALE and entry is not None:
            entry.hits += 1
            self.metrics.cache.labels("stale").inc()
            return self._answer(
                request, entry.response, CacheState.HIT_STALE, entry.hits, entry.age_s(now), started
            )
        if serve is Serve.UNHEALTHY:
            return self._synthetic_error(self._refused(FetchFailure.UNHEALTHY, _SICK), started)
        try:
            stored, led = await self.collapser.run(
                key, lambda: self._fetch(Route.CACHE_FILL, request, None, "GET")
            )
        except FetchFailed as failed:
            return self._synthetic_error(failed, started)  # Varnish 2.1: no stale-if-error
        ttl_s = self._ttl_for(request.path, stored.status)
        cacheable = is_cacheable(request.method, stored.status, ttl_s)
        if led and cacheable and ttl_s is not None:
            self.cache.store(request.path_qs, accept, stored, ttl_s, time.monotonic())
        if not led and cacheable:
            self.metrics.cache.labels("collapsed").inc()  # waited for another request's fetch
            return self._answer(request, stored, CacheState.HIT_COLLAPSED, 1, 0.0, started)
        self.metrics.cache.labels("miss").inc()
        return self._answer(request, stored, CacheState.MISS, 0, 0.0, started)

    def _ttl_for(self, path: str, status: int) -> float | None:
        if status == 404:
            return self.settings.not_found_ttl_s  # the VCL: every 404 lives 60 s
        return self.rules.ttl_for(path)

    async def _fetch(
        self, route: Route, request: web.Request, body: bytes | None, method: str
    ) -> StoredResponse:
        """Fetch from a backend the director picks; cache fills are always GETs, as Varnish
        turns HEAD into GET. No healthy backend, or one at max_connections, fails at once."""
        self.metrics.fetches.labels(route.value).inc()
        backend = self.directors[route].pick()
        if backend is None:
            raise self._refused(FetchFailure.UNHEALTHY, _SICK)
        if backend.busy:
            busy = f"{backend.name}: {backend.in_flight} fetches in flight"
            raise self._refused(FetchFailure.BACKEND_BUSY, busy)
        try:
            return await self._fetch_from(backend, request, body, method)
        except FetchFailed as failed:
            self.metrics.upstream_errors.labels(failed.reason.value).inc()
            raise

    def _refused(self, reason: FetchFailure, detail: str) -> FetchFailed:
        """A fetch the node fails itself, before sending anything; counted like any other."""
        self.metrics.upstream_errors.labels(reason.value).inc()
        return FetchFailed(reason, detail)

    async def _fetch_from(
        self, backend: Backend, request: web.Request, body: bytes | None, method: str
    ) -> StoredResponse:
        assert backend.session is not None, "the node has not started"
        upstream = UpstreamRequest(
            method, backend.url + request.path_qs, list(request.headers.items()), body
        )
        backend.in_flight += 1
        try:
            return await fetch(
                backend.session,
                backend.settings,
                upstream,
                on_retry=self.metrics.retries.labels(backend.name).inc,
            )
        finally:
            backend.in_flight -= 1

    def _answer(
        self,
        request: web.Request,
        stored: StoredResponse,
        cache_state: CacheState,
        hits: int,
        age_s: float,
        started: float,
    ) -> web.Response:
        entry = response_headers.TrailEntry(
            self.name, cache_state, hits, age_s, started, time.time()
        )
        headers = response_headers.compose(stored.headers, entry)
        body = b"" if request.method == "HEAD" else stored.body
        return web.Response(status=stored.status, body=body, headers=headers)

    def _synthetic_error(self, failed: FetchFailed, started: float) -> web.Response:
        headers = response_headers.synthetic_error(self.name, failed.reason, started, time.time())
        body = response_headers.error_page(self.name, failed.reason)
        return web.Response(status=503, body=body, headers=headers)

    async def purge(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        return web.json_response({"purged": self.cache.purge(key), "key": key})

    async def health(self, _: web.Request) -> web.Response:
        """The node's own health, answered by the node (an edge's probe of the shield reads
        it), with what its probes say of each backend."""
        backends = {backend.name: backend.healthy for backend in self.backends}
        return web.json_response({"node": self.name, "ok": True, "backends": backends})

    async def metrics_page(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.metrics.registry), content_type="text/plain")


def build_sites(node: CdnNode) -> dict[str, web.Application]:
    app = web.Application()
    app.on_startup.append(node.start)
    app.on_cleanup.append(node.stop)
    app.router.add_get(contract.HEALTH_PATH, node.health)
    app.router.add_get(contract.METRICS_PATH, node.metrics_page)
    app.router.add_route("*", "/{tail:.*}", node.handle)
    admin = web.Application()
    admin.router.add_post(f"{contract.ADMIN_PREFIX}/purge/{{key}}", node.purge)
    return {"port": app, "admin_port": admin}
