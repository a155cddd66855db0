"""Compose mode's topology: the nodes and Toxiproxy as containers, up and healthy for a `with`
block, and nothing of them left after it (Ctrl-C included; what a killed harness left is swept
by the next run or `shieldlab down --mode compose`).

The harness sees the same `TopologyState` as in local mode: nodes at their published ports,
each with its container's main pid (its liveness), and links named by their address on the
containers' networks (where the load generators send, and the port loss rules match), with
their published ports beside them for the harness's own health checks and `bench`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.compose.project import ComposeProject
from harness.compose.spec import (
    ADMIN_PORT,
    NODE_PORT,
    TOXIPROXY_API_PORT,
    TOXIPROXY_IMAGE,
    compose_yaml,
    link_ports,
    link_upstream,
)
from harness.errors import BadInput
from harness.faults.loss import CONTAINER_FEEDS, LossBackend
from harness.scenario import topology_plan as plan
from harness.scenario.topology import CdnKind, TopologyConfig
from harness.topology.recordings import clear_recordings
from harness.topology.state import (
    LinkState,
    NodeState,
    TopologyState,
    ToxiproxyState,
    clear_state,
    write_state,
)
from harness.topology.supervisor import refuse_if_running, stop_signals_ignored

Report = Callable[[str], None]


def state_of(project: ComposeProject, config: TopologyConfig, owner_pid: int) -> TopologyState:
    nodes = {}
    for node in plan.plan_nodes(config.edges):
        container = project.container(node.name)
        nodes[node.name] = NodeState(
            url="http://" + project.published(container, NODE_PORT),
            pid=project.pid(container),
            admin_url="http://" + project.published(container, ADMIN_PORT),
        )
    toxiproxy = project.container("toxiproxy")
    ports = link_ports(config)
    links = {
        link.name: LinkState(
            listen=f"toxiproxy:{ports[link.name]}",
            upstream=link_upstream(config, link),
            proxy=link.proxy_name,
        )
        for link in plan.plan_links(
            config.edges, config.origin.web_nodes, config.origin.static_mirror
        )
    }
    published = {name: project.published(toxiproxy, port) for name, port in ports.items()}
    return TopologyState(
        supervisor_pid=owner_pid,
        started_at=time.time(),
        edges=list(config.edges),
        nodes=nodes,
        links=links,
        toxiproxy=ToxiproxyState(
            api="http://" + project.published(toxiproxy, TOXIPROXY_API_PORT),
            pid=project.pid(toxiproxy),
            binary=TOXIPROXY_IMAGE,
        ),
        work_dir=str(project.work_dir),
        published=published,
    )


def refuse_if_engine_busy(project: ComposeProject) -> None:
    others = project.live_owners() - {os.getpid()}
    if others:
        raise BadInput(
            f"another shieldlab harness (pid {min(others)}) runs the compose project on "
            f"{project.host}; wait for it, or `shieldlab down --mode compose` to remove it"
        )


def refuse_unless_ready(state_dir: Path, varnish: bool = False) -> None:
    """An engine that answers, the Compose plugin and images of this checkout, or one line
    saying what to do: checked before a run directory is made."""
    project = ComposeProject(state_dir)
    try:
        project.check_plugin()
        project.check_images(varnish)
    finally:
        project.close()


def container_loss(state: TopologyState) -> LossBackend:
    """Packet loss in Toxiproxy's container, where every link listens: its image has no
    iptables, so the host's runs inside the container's network namespace."""
    return LossBackend(CONTAINER_FEEDS, ("nsenter", "-t", str(state.toxiproxy.pid), "-n"))


@contextmanager
def compose_up(
    config: TopologyConfig, state_dir: Path, report: Report
) -> Iterator[tuple[TopologyState, ComposeProject]]:
    refuse_if_running(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    project = ComposeProject(state_dir)
    try:
        refuse_if_engine_busy(project)
        for item in project.sweep():
            report(f"removed {item.kind} {item.name}, left by a killed run")
        project.check_images(config.cdn is CdnKind.VARNISH)
        project.work_dir.mkdir(parents=True, exist_ok=True)
        project.file.write_text(compose_yaml(config, owner_pid=os.getpid()))
        started = time.monotonic()
        try:
            report("docker compose up: waiting for every container to be healthy")
            project.compose("up", "--detach", "--wait", "--quiet-pull")
            report(f"healthy in {time.monotonic() - started:.0f} s")
            state = state_of(project, config, os.getpid())
            write_state(state_dir, state)
            yield state, project
        finally:
            with stop_signals_ignored():
                report("tearing down: docker compose down")
                project.save_logs()
                try:
                    project.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
                finally:
                    project.sweep(own=os.getpid())  # what `down` left, e.g. after a failed `up`
                clear_recordings(state_dir)
                clear_state(state_dir)
    finally:
        project.close()
