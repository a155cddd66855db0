"""A caching CDN node (the shield, or an edge POP): lookup, collapse, fetch, answer.

GET and HEAD go to `upstream_url` through the cache; POSTs pass straight to `pass_url` (the
origin), as Fastly did for PyPI's XML-RPC in 2014.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from proxies import contract
from proxies.cdn import headers as response_headers
from proxies.cdn.cache import (
    Freshness,
    ObjectCache,
    StoredResponse,
    TtlRules,
    is_cacheable,
    variant_key,
)
from proxies.cdn.collapse import Collapser
from proxies.cdn.upstream import FetchFailed, fetch, new_session
from proxies.contract import BackendSettings, CacheState, CdnNodeSettings


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


class Route(StrEnum):
    """Which backend a request goes to (the value labels the fetch metric)."""

    CACHE_FILL = "upstream"  # GET and HEAD: the next cache towards the origin
    PASS = "pass"  # POST: straight to the origin


@dataclass
class Backend:
    url: str
    settings: BackendSettings
    session: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        self.session = new_session(self.settings)


class CdnNode:
    def __init__(
        self, name: str, settings: CdnNodeSettings, upstream_url: str, pass_url: str
    ) -> None:
        self.name = name
        self.settings = settings
        self.upstream_url = upstream_url.rstrip("/")
        self.pass_url = pass_url.rstrip("/")
        self.cache = ObjectCache(settings.cache_max_bytes, settings.grace_s)
        self.rules = TtlRules(settings.cache_rules)
        self.collapser: Collapser[StoredResponse] = Collapser()
        self.metrics = NodeMetrics()
        self.metrics.objects.set_function(lambda: len(self.cache))
        self.metrics.cache_bytes.set_function(lambda: self.cache.bytes)
        self._backends: dict[Route, Backend] = {}

    async def start(self, _: web.Application) -> None:
        self._backends = {
            Route.CACHE_FILL: Backend(self.upstream_url, self.settings.backend),
            Route.PASS: Backend(self.pass_url, self.settings.pass_backend),
        }

    async def stop(self, _: web.Application) -> None:
        for backend in self._backends.values():
            await backend.session.close()

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
        if found.freshness is Freshness.FRESH and found.entry is not None:
            found.entry.hits += 1
            self.metrics.cache.labels("hit").inc()
            entry = found.entry
            return self._answer(
                request, entry.response, CacheState.HIT, entry.hits, entry.age_s(now), started
            )
        try:
            # Collapse per Accept variant: a follower must never get another variant's body.
            stored, led = await self.collapser.run(
                variant_key(request.path_qs, accept),
                lambda: self._fetch(Route.CACHE_FILL, request, None, "GET"),
            )
        except FetchFailed as failed:
            if found.freshness is Freshness.STALE and found.entry is not None:
                self.metrics.cache.labels("stale").inc()  # grace: stale-if-error
                entry = found.entry
                return self._answer(
                    request,
                    entry.response,
                    CacheState.HIT_STALE,
                    entry.hits,
                    entry.age_s(now),
                    started,
                )
            return self._synthetic_error(failed, started)
        ttl_s = self.rules.ttl_for(request.path)
        cacheable = is_cacheable(request.method, stored.status, ttl_s)
        if led and cacheable and ttl_s is not None:
            self.cache.store(request.path_qs, accept, stored, ttl_s, time.monotonic())
        if not led and cacheable:
            self.metrics.cache.labels("collapsed").inc()  # waited for another request's fetch
            return self._answer(request, stored, CacheState.HIT_COLLAPSED, 1, 0.0, started)
        self.metrics.cache.labels("miss").inc()
        return self._answer(request, stored, CacheState.MISS, 0, 0.0, started)

    async def _fetch(
        self, route: Route, request: web.Request, body: bytes | None, method: str
    ) -> StoredResponse:
        """Fetch from a backend; cache fills are always GETs, as Varnish turns HEAD into GET."""
        self.metrics.fetches.labels(route.value).inc()
        backend = self._backends[route]
        try:
            return await fetch(
                backend.session,
                backend.settings,
                method,
                backend.url + request.path_qs,
                list(request.headers.items()),
                body,
            )
        except FetchFailed as failed:
            self.metrics.upstream_errors.labels(failed.reason.value).inc()
            raise

    def _answer(
        self,
        request: web.Request,
        stored: StoredResponse,
        cache_state: CacheState,
        hits: int,
        age_s: float,
        started: float,
    ) -> web.Response:
        headers = response_headers.compose(
            stored.headers, self.name, cache_state, hits, age_s, started, time.time()
        )
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
        return web.json_response({"node": self.name, "ok": True})

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
