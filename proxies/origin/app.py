"""The mock 2014 PyPI backend: routes, the balancer in front of them, metrics, admin API."""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from proxies import contract
from proxies.contract import BalancerRejection, EndpointClass, OriginSettings
from proxies.origin import dataset, queries, routes
from proxies.origin.balancer import Balancer, Rejected


@dataclass
class OriginMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        p, r = contract.METRIC_PREFIX, self.registry
        self.requests = Counter(
            contract.REQUESTS_COUNTER,
            "Responses by status",
            ["status", "endpoint", "web"],
            registry=r,
        )
        self.rejections = Counter(
            f"{p}_origin_rejections", "nginx's own answers", ["reason", "web"], registry=r
        )
        self.in_flight = Gauge(f"{p}_in_flight", "Requests being handled", registry=r)
        gauges, per_web = contract.OriginGauge, contract.PER_WEB_SUFFIX
        self.busy = Gauge(gauges.BUSY_SLOTS, "Worker slots in use", registry=r)
        self.slots = Gauge(gauges.WORKER_SLOTS, "Worker slots configured", registry=r)
        self.queue = Gauge(gauges.QUEUE_LENGTH, "Requests waiting for a slot", registry=r)
        self.web_busy = Gauge(gauges.BUSY_SLOTS + per_web, "Slots in use", ["web"], registry=r)
        self.web_slots = Gauge(gauges.WORKER_SLOTS + per_web, "Slots", ["web"], registry=r)
        self.web_queue = Gauge(gauges.QUEUE_LENGTH + per_web, "Waiting", ["web"], registry=r)
        self.index = Gauge(gauges.JOURNALS_ID_INDEX, "1 if journals.id is indexed", registry=r)
        self.queue_wait = Histogram(contract.QUEUE_WAIT_HISTOGRAM, "Wait for a slot", registry=r)
        self.sql = Histogram(
            f"{p}_origin_sql_seconds", "SQL time per request", ["endpoint"], registry=r
        )


class Database:
    """One SQLite connection per executor thread; queries run off the event loop."""

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sql")
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False)
            self._local.conn = conn
        return conn


class WebNode:
    """One 2014 web VM: nginx in front of uWSGI's workers, with its own listen backlog."""

    def __init__(self, name: str, origin: Origin) -> None:
        self.name = name
        self.origin = origin
        settings = origin.settings
        self.balancer = Balancer(settings.worker_slots, settings.queue_max)
        self._behind_nginx: set[asyncio.Task[web.Response]] = set()
        metrics = origin.metrics
        metrics.web_busy.labels(name).set_function(lambda: self.balancer.pool.busy)
        metrics.web_slots.labels(name).set_function(lambda: self.balancer.pool.slots)
        metrics.web_queue.labels(name).set_function(lambda: self.balancer.pool.queue_length)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = contract.classify_path(request.method, request.path)
        body = await request.read()  # nginx buffers the request before a worker sees it
        metrics = self.origin.metrics
        metrics.in_flight.inc()
        try:
            response = await self._through_nginx(request, endpoint, body)
        finally:
            metrics.in_flight.dec()
        metrics.requests.labels(str(response.status), endpoint.value, self.name).inc()
        return response

    async def _through_nginx(
        self, request: web.Request, endpoint: EndpointClass, body: bytes
    ) -> web.Response:
        """nginx waits `read_timeout_s` for uWSGI, then answers 504; the request stays in the
        backlog and a worker still runs it later, as uWSGI would."""
        task = asyncio.ensure_future(self._in_uwsgi(request, endpoint, body))
        self._behind_nginx.add(task)
        task.add_done_callback(self._behind_nginx.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.origin.settings.read_timeout_s)
        except TimeoutError:
            return self.origin.nginx_error(BalancerRejection.READ_TIMEOUT, self.name)

    async def _in_uwsgi(
        self, request: web.Request, endpoint: EndpointClass, body: bytes
    ) -> web.Response:
        queued_at = time.monotonic()
        try:
            await self.balancer.acquire()
        except Rejected as rejected:
            return self.origin.nginx_error(rejected.reason, self.name)
        self.origin.metrics.queue_wait.observe(time.monotonic() - queued_at)
        try:
            return await asyncio.wait_for(
                self.origin.work(request, endpoint, body), self.origin.settings.worker_kill_s
            )
        except TimeoutError:
            return self.origin.nginx_error(BalancerRejection.WORKER_KILLED, self.name)
        finally:
            self.balancer.release()

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"node": self.name, "ok": True})


class StaticMirror:
    """The static mirror in another data centre: a bandersnatch mirror's files behind nginx, so
    no app workers, no backlog and no service time, and only what such a mirror holds (index
    pages, files, signatures; no JSON API, no XML-RPC). Its pages come from the same data set
    (assumption: the real one lagged behind by up to its one-minute cron)."""

    SERVED = frozenset(
        {
            EndpointClass.SIMPLE_INDEX,
            EndpointClass.SIMPLE_PROJECT,
            EndpointClass.PACKAGE_FILE,
            EndpointClass.SERVERSIG,
        }
    )

    def __init__(self, origin: Origin) -> None:
        self.origin = origin

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = contract.classify_path(request.method, request.path)
        if request.method in ("GET", "HEAD") and endpoint in self.SERVED:
            page = await self.origin.render(request, endpoint, b"")
            response = web.Response(status=page.status, body=page.body, headers=page.headers)
        else:
            response = web.Response(status=404, text="Not Found (not on the mirror)\n")
        labels = (str(response.status), endpoint.value, contract.STATIC_MIRROR)
        self.origin.metrics.requests.labels(*labels).inc()
        return response

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"node": contract.STATIC_MIRROR, "ok": True})


class Origin:
    """The backend: web nodes over one shared database (PostgreSQL in 2014, SQLite here)."""

    def __init__(self, settings: OriginSettings, database: Database) -> None:
        self.settings = settings
        self.db = database
        self.rng = random.Random(settings.seed)
        self.metrics = OriginMetrics()
        self.journals_id_index = settings.journals_id_index
        self.publish_rng = random.Random(settings.seed + 1)
        self._writer_lock = threading.Lock()
        self.web_nodes = [
            WebNode(name, self) for name in contract.web_node_names(settings.web_nodes)
        ]
        pools = [node.balancer.pool for node in self.web_nodes]
        self.metrics.busy.set_function(lambda: sum(p.busy for p in pools))
        self.metrics.slots.set_function(lambda: sum(p.slots for p in pools))
        self.metrics.queue.set_function(lambda: sum(p.queue_length for p in pools))
        self.metrics.index.set_function(lambda: 1 if self.journals_id_index else 0)

    def service_time_s(self, endpoint: EndpointClass) -> float:
        model = self.settings.service_times.get(endpoint)
        if model is None or model.median_ms == 0:
            return 0.0
        return self.rng.lognormvariate(math.log(model.median_ms / 1000), model.sigma)

    async def work(
        self, request: web.Request, endpoint: EndpointClass, body: bytes
    ) -> web.Response:
        """What an app worker does: the SQL and the page, then the modelled service time."""
        page = await self.render(request, endpoint, body)
        await asyncio.sleep(self.service_time_s(endpoint))
        return web.Response(status=page.status, body=page.body, headers=page.headers)

    async def render(
        self, request: web.Request, endpoint: EndpointClass, body: bytes
    ) -> routes.Page:
        loop = asyncio.get_running_loop()
        accept = request.headers.get("Accept", "")
        asked = routes.Asked(request.method, request.path, accept, body, f"http://{request.host}")
        started = time.perf_counter()
        page = await loop.run_in_executor(
            self.db.executor,
            lambda: routes.render(self.db.connection(), asked, self.settings),
        )
        self.metrics.sql.labels(endpoint.value).observe(time.perf_counter() - started)
        return page

    def nginx_error(self, reason: BalancerRejection, web_node: str) -> web.Response:
        self.metrics.rejections.labels(reason.value, web_node).inc()
        status = contract.BALANCER_STATUS[reason]
        return web.Response(
            status=status,
            text=f"<html><body><h1>{status}</h1><p>nginx: {reason.value}</p></body></html>\n",
            content_type="text/html",
            headers={
                contract.HEADER_ERROR_NODE: contract.ORIGIN_BALANCER_NODE,
                contract.HEADER_ERROR_REASON: reason.value,
            },
        )

    async def metrics_page(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.metrics.registry), content_type="text/plain")

    # --- admin API (its own loopback port, never reachable through the CDN) ---

    async def admin_state(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "worker_slots": self.web_nodes[0].balancer.pool.slots,
                "web_nodes": [node.name for node in self.web_nodes],
                "journals_id_index": self.journals_id_index,
            }
        )

    async def admin_workers(self, request: web.Request) -> web.Response:
        payload = await request.json()
        slots = payload.get("worker_slots")
        if not isinstance(slots, int) or slots < 1:
            raise web.HTTPBadRequest(text=f"worker_slots: must be an integer >= 1; got {slots!r}")
        for node in self.web_nodes:  # every web VM scaled alike, as at 20:45 that night
            node.balancer.resize(slots)
        return await self.admin_state(request)

    async def admin_publish(self, request: web.Request) -> web.Response:
        """Publish a new release of a project (a random one unless named), as an upload would."""
        payload = await request.json() if request.can_read_body else {}
        name = payload.get("name")
        loop = asyncio.get_running_loop()
        published = await loop.run_in_executor(None, self._publish, name)
        if published is None:
            raise web.HTTPNotFound(text=f"name: no such project; got {name!r}")
        return web.json_response(published)

    def _publish(self, name: str | None) -> dict[str, object] | None:
        with self._writer_lock:
            conn = sqlite3.connect(self.db.path)
            try:
                names = queries.project_names(conn)
                if name is None:
                    name = self.publish_rng.choice(names)
                elif name not in names:
                    return None
                count = len(queries.releases(conn, name))
                serial_before = queries.project_serial(conn, name)
                version = f"{count + 1}.0.{serial_before + 1}"
                serial = dataset.publish_release(
                    conn, name, version, datetime.now(UTC), self.settings
                )
            finally:
                conn.close()
        return {"name": name, "version": version, "serial": serial, "surrogate_key": f"pkg~{name}"}

    async def admin_index(self, request: web.Request) -> web.Response:
        payload = await request.json()
        enabled = payload.get("enabled")
        if not isinstance(enabled, bool):
            raise web.HTTPBadRequest(text=f"enabled: must be true or false; got {enabled!r}")
        await asyncio.get_running_loop().run_in_executor(
            None, dataset.set_journals_id_index, self.db.path, enabled
        )
        self.journals_id_index = enabled
        return await self.admin_state(request)


def _web_site(origin: Origin, node: WebNode) -> web.Application:
    app = web.Application()
    app.router.add_get(contract.HEALTH_PATH, node.health)
    app.router.add_get(contract.METRICS_PATH, origin.metrics_page)
    app.router.add_route("*", "/{tail:.*}", node.handle)
    return app


def build_sites(origin: Origin) -> dict[str, web.Application]:
    """A port per web node (named after it), the static mirror's, `port` (the first web node
    again, for the harness's own reads) and the admin port."""
    sites = {node.name: _web_site(origin, node) for node in origin.web_nodes}
    sites["port"] = _web_site(origin, origin.web_nodes[0])
    if origin.settings.static_mirror:
        mirror = StaticMirror(origin)
        site = web.Application()
        site.router.add_get(contract.HEALTH_PATH, mirror.health)
        site.router.add_route("*", "/{tail:.*}", mirror.handle)
        sites[contract.STATIC_MIRROR] = site
    admin = web.Application()
    admin.router.add_get(f"{contract.ADMIN_PREFIX}/state", origin.admin_state)
    admin.router.add_post(f"{contract.ADMIN_PREFIX}/workers", origin.admin_workers)
    admin.router.add_post(f"{contract.ADMIN_PREFIX}/journals-id-index", origin.admin_index)
    admin.router.add_post(f"{contract.ADMIN_PREFIX}/publish", origin.admin_publish)
    sites["admin_port"] = admin
    return sites
