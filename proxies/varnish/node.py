"""A CDN node as a real Varnish: the same launch file, ports, headers and metric names as the
model's node (`proxies.cdn`), so the harness cannot tell them apart but by their behaviour.

Start-up: serve /metrics on a port of its own, write the VCL (which passes /metrics to that
port), start varnishd and its log readers, then report varnishd's ports as the node's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from proxies import contract
from proxies.contract import CacheState, NodeLaunch
from proxies.serve import Ports, Served
from proxies.varnish import stats, vcl
from proxies.varnish.daemon import ADMIN_SOCKET, MAIN_SOCKET, DaemonSettings, Varnishd
from proxies.varnish.logs import FetchErrors, LogReader, answers_reader, fetch_errors_reader
from proxies.varnish.logs import parse_answer as parse_answer_line

METRICS_PORT = "metrics_port"
STARTUP_TIMEOUT_S = 30.0
# The model's cache counter labels for each X-Cache state.
CACHE_RESULT = {
    CacheState.HIT: "hit",
    CacheState.MISS: "miss",
    CacheState.PASS: "pass",
    CacheState.HIT_STALE: "stale",
    CacheState.HIT_COLLAPSED: "collapsed",
}


class _VarnishCollector(Collector):
    def __init__(self, node: VarnishNode) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        daemon = self._node.daemon
        if daemon is None or self._node.vcl_plan is None:
            return
        backends = [
            stats.StatsBackend(b.name, vcl.identifier(b.name), b.settings.max_connections)
            for b in self._node.vcl_plan.backends
        ]
        yield from stats.metric_families(daemon.counters(), daemon.backends(), backends)


class VarnishNode:
    def __init__(self, launch: NodeLaunch) -> None:
        if launch.cdn is None or launch.varnish_dir is None:
            raise SystemExit("varnish: the launch file needs cdn and varnish_dir")
        self.launch = launch
        self.work_dir = Path(launch.varnish_dir).resolve()  # varnishd changes directory
        self.daemon: Varnishd | None = None
        self.vcl_plan: vcl.VclPlan | None = None
        self._readers: list[LogReader] = []
        self._fetch_errors = FetchErrors()
        registry = CollectorRegistry()
        self.registry = registry
        self.requests = Counter(
            contract.REQUESTS_COUNTER, "Responses by status", ["status"], registry=registry
        )
        self.cache = Counter(
            f"{contract.METRIC_PREFIX}_cache", "Cache results", ["result"], registry=registry
        )
        self.upstream_errors = Counter(
            f"{contract.METRIC_PREFIX}_upstream_errors",
            "Failed fetches, by Varnish's FetchError",
            ["reason"],
            registry=registry,
        )
        self.retries = Counter(
            contract.FETCH_RETRIES_COUNTER,
            "Silent retries (the VCL's, after a first-byte timeout)",
            ["backend"],
            registry=registry,
        )
        registry.register(_VarnishCollector(self))

    def sites(self) -> dict[str, web.Application]:
        app = web.Application()
        app.router.add_get(contract.METRICS_PATH, self.metrics_page)
        app.on_cleanup.append(self.stop)
        return {METRICS_PORT: app}

    async def after_bind(self, ports: Ports) -> Ports:
        """Blocking on purpose: varnishd must be forked from the main thread (its death
        signal follows the thread that forked), and nothing is served before it is up."""
        launch = self.launch
        assert launch.cdn is not None
        self.vcl_plan = vcl.plan_for(launch, ports[METRICS_PORT])
        vcl_path = self.work_dir.with_suffix(".vcl")
        vcl_path.write_text(vcl.render(self.vcl_plan))
        settings = DaemonSettings(
            work_dir=self.work_dir,
            vcl=vcl_path,
            host=launch.host,
            port=launch.ports.get("port", 0),
            admin_port=launch.ports.get("admin_port", 0),
            storage_bytes=launch.cdn.cache_max_bytes,
            idle_timeout_s=launch.cdn.backend.keepalive_s,
        )
        self.daemon = Varnishd(settings, sys.stdout)
        try:
            listening = self.daemon.start(STARTUP_TIMEOUT_S)
        except (OSError, RuntimeError) as error:  # its own output is in the log above
            print(f"{launch.name}: varnishd did not start: {error}", file=sys.stderr)
            raise SystemExit(3) from None
        self._readers = [
            answers_reader(self.work_dir, self._count_answer),
            fetch_errors_reader(self.work_dir, self._count_fetch_error, sys.stdout),
        ]
        return {
            "port": listening[MAIN_SOCKET],
            "admin_port": listening[ADMIN_SOCKET],
            METRICS_PORT: ports[METRICS_PORT],
        }

    def _count_answer(self, line: str) -> None:
        answer = parse_answer_line(line, self.launch.name)
        if answer is None:
            return
        self.requests.labels(answer.status).inc()
        if answer.cache_state is not None:
            self.cache.labels(CACHE_RESULT[answer.cache_state]).inc()

    def _count_fetch_error(self, line: str) -> None:
        failed = self._fetch_errors.attempt(line)
        if failed is None:
            return
        if failed.retried:  # as the model counts it: a retry, not a failed fetch
            self.retries.labels(self._backend_name(failed.backend)).inc()
        else:
            self.upstream_errors.labels(failed.reason.value).inc()

    def _backend_name(self, identifier: str) -> str:
        backends = self.vcl_plan.backends if self.vcl_plan else ()
        names = {vcl.identifier(b.name): b.name for b in backends}
        return names.get(identifier, identifier)

    async def metrics_page(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")

    async def stop(self, _: web.Application | None = None) -> None:
        for reader in self._readers:
            reader.stop()
        if self.daemon is not None:
            self.daemon.stop()


async def create(launch: NodeLaunch) -> Served:
    node = VarnishNode(launch)
    return Served(node.sites(), node.after_bind)
