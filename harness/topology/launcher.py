"""Bringing the topology up on 127.0.0.1 and tearing it down, leaving nothing behind.

Order: Toxiproxy, then every link (listening on a port the kernel picks), then every node in
parallel (each binds its own port and reports it), then a tap in front of the node of each tapped
link, then each link is pointed at its node (or its tap), then everything is health-checked
through the links.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.errors import InfrastructureError
from harness.scenario import topology_plan as plan
from harness.scenario.topology import CdnKind, TopologyConfig, scaled_cdn
from harness.topology.processes import (
    LAB_NICENESS,
    find_program,
    free_port,
    log_tail,
    spawn,
    stop_all,
)
from harness.topology.state import LinkState, NodeState, TopologyState, ToxiproxyState
from harness.topology.taps import Tap, start_taps, stop_taps
from harness.topology.varnish import check_vcl, require_varnish, with_include_resolved
from harness.toxiproxy_api import ToxiproxyApi
from harness.waits import time_until, wait_until
from proxies import contract
from proxies.contract import NodeLaunch

Report = Callable[[str], None]
_UNROUTED = "127.0.0.1:9"  # a link's upstream until its node has reported its port
TOXIPROXY_HINT = (
    "run `make setup` (it builds the pinned Toxiproxy v2.12.0 into .venv/bin), "
    "or set TOXIPROXY_SERVER=/path/to/toxiproxy-server"
)


def find_toxiproxy() -> Path:
    own = Path(sys.prefix) / "bin" / "toxiproxy-server"
    return find_program(
        "TOXIPROXY_SERVER", "toxiproxy-server", own, "a toxiproxy-server binary", TOXIPROXY_HINT
    )


def default_cache_dir() -> Path:
    configured = os.environ.get("SHIELDLAB_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "shieldlab"


def _answers(api: ToxiproxyApi, server: subprocess.Popen[bytes]) -> bool:
    """Whether a Toxiproxy server just started answers its API; False when it exited first
    (its port taken between choosing and binding it, say) or stayed silent for 10 s."""

    def answered_or_exited() -> bool:
        if server.poll() is not None:
            return True
        try:
            api.version()
        except InfrastructureError:
            return False
        return True

    return time_until(answered_or_exited, 10.0, 0.02) is not None and server.poll() is None


def _is_healthy(response: httpx.Response) -> bool:
    """A node answers, and (a CDN node) its probes find every backend healthy."""
    if response.status_code != 200:
        return False
    backends = response.json().get("backends", {})
    return all(backends.values())


class Launcher:
    def __init__(
        self,
        config: TopologyConfig,
        work_dir: Path,
        cache_dir: Path | None = None,
        taps: list[str] | None = None,
    ) -> None:
        self.config = config
        self.work_dir = work_dir
        self.cache_dir = cache_dir or default_cache_dir()
        self.nodes = plan.plan_nodes(config.edges)
        self.links = plan.plan_links(
            config.edges, config.origin.web_nodes, config.origin.static_mirror
        )
        self.tapped = list(taps or [])
        self._toxiproxy: subprocess.Popen[bytes] | None = None
        self._node_processes: dict[str, subprocess.Popen[bytes]] = {}
        self._taps: dict[str, Tap] = {}

    # --- start ---

    def start(self, supervisor_pid: int, report: Report) -> TopologyState:
        started_at = time.time()
        if self.config.cdn is CdnKind.VARNISH:
            require_varnish()
        check_vcl(self.config)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        binary = find_toxiproxy()
        report("starting toxiproxy-server")
        api = self._start_toxiproxy(binary)
        try:
            listens = self._create_links(api)
            report(f"starting {len(self.nodes)} nodes")
            ports = self._start_nodes(listens)
            if self.tapped:
                report(f"starting {len(self.tapped)} mitmproxy taps")
                self._taps = start_taps(
                    {link.name: self._node_address(link, ports) for link in self._tapped_links()},
                    self.work_dir,
                    self.cache_dir,
                )
            links = self._route_links(api, listens, ports)
        finally:
            api.close()
        nodes = {
            name: NodeState(
                url=f"http://127.0.0.1:{p['port']}",
                pid=self._node_processes[name].pid,
                admin_url=f"http://127.0.0.1:{p['admin_port']}" if "admin_port" in p else None,
            )
            for name, p in ports.items()
        }
        assert self._toxiproxy is not None
        state = TopologyState(
            supervisor_pid=supervisor_pid,
            started_at=started_at,
            edges=list(self.config.edges),
            nodes=nodes,
            links=links,
            toxiproxy=ToxiproxyState(api=api.base_url, pid=self._toxiproxy.pid, binary=str(binary)),
            work_dir=str(self.work_dir),
        )
        report("checking health through every link")
        self._wait_healthy(state)
        return state

    def _start_toxiproxy(self, binary: Path) -> ToxiproxyApi:
        last_error = ""
        for _attempt in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            log = self.work_dir / "toxiproxy.log"
            try:
                self._toxiproxy = spawn(
                    [str(binary), "-host", "127.0.0.1", "-port", str(port)],
                    log,
                    env={**os.environ, "LOG_LEVEL": "warn"},  # trace logs cost CPU per connection
                )
            except OSError as error:
                raise InfrastructureError(
                    f"{binary}: cannot run: {error.strerror}; {TOXIPROXY_HINT}"
                ) from None
            api = ToxiproxyApi(f"http://127.0.0.1:{port}", timeout_s=2.0)
            if _answers(api, self._toxiproxy):
                return api
            api.close()
            stop_all([self._toxiproxy])
            last_error = log_tail(log) or "it did not answer within 10 s"
        raise InfrastructureError(f"toxiproxy-server did not start: {last_error}")

    def _create_links(self, api: ToxiproxyApi) -> dict[str, str]:
        listens = {}
        for link in self.links:
            created = api.create_proxy(link.proxy_name, "127.0.0.1:0", _UNROUTED)
            listens[link.name] = str(created["listen"])
        return listens

    def _launch_file(self, node: plan.NodeSpec, listens: dict[str, str]) -> Path:
        ready = self.work_dir / f"{node.name}.ready"
        if node.role is plan.Role.ORIGIN:
            launch = NodeLaunch(
                name=node.name,
                origin=self.config.origin,
                database_path=str(self.work_dir / "origin.sqlite"),
                dataset_cache_dir=str(self.cache_dir),
                ready_file=str(ready),
            )
        else:
            backends = plan.backends_of(
                node, self.config.origin.web_nodes, self.config.origin.static_mirror
            )
            assert backends is not None
            settings = self.config.shield if node.role is plan.Role.SHIELD else self.config.edge
            settings = with_include_resolved(scaled_cdn(settings, self.config.time_scale))
            launch = NodeLaunch(
                name=node.name,
                cdn=settings,
                upstreams={name: "http://" + listens[link] for name, link in backends.fill.items()},
                passes={name: "http://" + listens[link] for name, link in backends.passes.items()},
                fallbacks={
                    name: "http://" + listens[link] for name, link in backends.fallback.items()
                },
                varnish_dir=str(self.work_dir / f"{node.name}.varnish")
                if self.config.cdn is CdnKind.VARNISH
                else None,
                ready_file=str(ready),
            )
        path = self.work_dir / f"{node.name}.launch.json"
        path.write_text(launch.model_dump_json(indent=2))
        return path

    def _start_nodes(self, listens: dict[str, str]) -> dict[str, dict[str, int]]:
        for node in self.nodes:
            launch = self._launch_file(node, listens)
            argv = [sys.executable, "-m", node.module(self.config.cdn), "--launch", str(launch)]
            self._node_processes[node.name] = spawn(
                argv, self.work_dir / f"{node.name}.log", niceness=LAB_NICENESS
            )
        ports: dict[str, dict[str, int]] = {}

        def all_ready() -> bool:
            for node in self.nodes:
                if node.name in ports:
                    continue
                ready = self.work_dir / f"{node.name}.ready"
                if ready.exists():
                    ports[node.name] = json.loads(ready.read_text())
                elif self._node_processes[node.name].poll() is not None:
                    tail = log_tail(self.work_dir / f"{node.name}.log")
                    raise InfrastructureError(f"node {node.name} exited while starting: {tail}")
            return len(ports) == len(self.nodes)

        def missing() -> str:
            names = ", ".join(sorted(n.name for n in self.nodes if n.name not in ports))
            return f"nodes ready ({names} not; raise startup_timeout_s or see {self.work_dir})"

        wait_until(all_ready, self.config.startup_timeout_s, missing, 0.02)
        return ports

    def _tapped_links(self) -> list[plan.LinkSpec]:
        return [link for link in self.links if link.name in self.tapped]

    @staticmethod
    def _node_address(link: plan.LinkSpec, ports: dict[str, dict[str, int]]) -> str:
        return f"127.0.0.1:{ports[link.target][link.port_name]}"

    def _route_links(
        self, api: ToxiproxyApi, listens: dict[str, str], ports: dict[str, dict[str, int]]
    ) -> dict[str, LinkState]:
        links = {}
        for link in self.links:
            upstream = self._node_address(link, ports)
            tap = self._taps.get(link.name)
            api.update_proxy(link.proxy_name, upstream=tap.address if tap else upstream)
            links[link.name] = LinkState(
                listen=listens[link.name],
                upstream=upstream,
                proxy=link.proxy_name,
                tap=tap.address if tap else None,
                tap_pid=tap.process.pid if tap else None,
            )
        return links

    def _wait_healthy(self, state: TopologyState) -> None:
        urls = [node.url for node in state.nodes.values()]
        urls += ["http://" + link.listen for link in state.links.values()]
        pending = {url + contract.HEALTH_PATH for url in urls}
        with httpx.Client(timeout=2.0, trust_env=False) as client:

            def all_healthy() -> bool:
                for url in sorted(pending):
                    try:
                        if _is_healthy(client.get(url)):
                            pending.discard(url)
                    except (httpx.HTTPError, ValueError):
                        pass
                return not pending

            wait_until(
                all_healthy,
                self.config.startup_timeout_s,
                lambda: f"healthy ({', '.join(sorted(pending))} not)",
                0.02,
            )

    # --- stop ---

    def stop(self) -> None:
        """Stop every node, then Toxiproxy (which takes its links and toxics with it)."""
        stop_all(list(self._node_processes.values()))
        stop_taps(self._taps)
        if self._toxiproxy is not None:
            stop_all([self._toxiproxy])
        (self.work_dir / "origin.sqlite").unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            (self.work_dir / f"origin.sqlite{suffix}").unlink(missing_ok=True)
