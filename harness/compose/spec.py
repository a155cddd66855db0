"""compose.yaml from the topology settings: the nodes and links of local mode, as services.

Every node gets a network of its own that it shares only with Toxiproxy, so nodes reach each
other only through the links, as on 127.0.0.1. Each node is told its launch settings (the same
`NodeLaunch` as in local mode, with fixed ports) in an environment variable, so the file stands
alone. Ports are published on 127.0.0.1 only, on host ports the engine picks. Pure: the committed
compose.yaml is this module's output for the default topology (a test holds them equal).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from harness.records import files
from harness.scenario import topology_plan as plan
from harness.scenario.topology import CdnKind, TopologyConfig, scaled_cdn
from proxies import contract
from proxies.contract import NodeLaunch

PROJECT = "shieldlab"
LABEL = "io.shieldlab.project"  # on every container, network and volume: the sweep finds them
OWNER_LABEL = "io.shieldlab.owner-pid"  # the harness that brought a run's project up
NODE_IMAGE = "shieldlab/node:local"
VARNISH_NODE_IMAGE = "shieldlab/node-varnish:local"  # the node image with Debian's Varnish
VARNISH_DIR = "/tmp/varnish"  # a Varnish node's work dir (-n) inside its container
TOXIPROXY_IMAGE = "shieldlab/toxiproxy:2.12.0"
NODE_PORT = 8080
ADMIN_PORT = 8081
WEB_PORT_BASE = 8090  # the origin's web node N listens on WEB_PORT_BASE + N
TOXIPROXY_API_PORT = 8474
LINK_PORT_BASE = 20000
LAUNCH_VARIABLE = "SHIELDLAB_LAUNCH"
CLIENTS_NETWORK = "clients"
DATA_DIR = "/data"
# The run directory, mounted into the Locust containers: the plan is read from it and every
# process writes its part of the request records into it.
RUN_MOUNT = "/run"
LOCUST_CONFIG = "locust.conf"  # the master's options for one run, written there by the harness
LOCUSTFILE = "/app/locustfile.py"
RUN_DIR_VARIABLE = "SHIELDLAB_RUN_DIR"
USER_VARIABLE = "SHIELDLAB_USER"  # uid:gid the Locust containers write the run's files as
HEALTH = (
    "import urllib.request, sys; "
    "sys.exit(urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2).status != 200)"
)


def _links(config: TopologyConfig) -> list[plan.LinkSpec]:
    return plan.plan_links(config.edges, config.origin.web_nodes, config.origin.static_mirror)


def link_ports(config: TopologyConfig) -> dict[str, int]:
    """Each link's port inside the Toxiproxy container, in the topology's order."""
    return {link.name: LINK_PORT_BASE + i for i, link in enumerate(_links(config))}


def node_ports(config: TopologyConfig, node: plan.NodeSpec) -> dict[str, int]:
    """A node's fixed ports inside its container, by name (the origin has one per web node)."""
    fixed = {plan.MAIN_PORT: NODE_PORT, "admin_port": ADMIN_PORT}
    if node.role is plan.Role.ORIGIN:
        names = contract.web_node_names(config.origin.web_nodes)
        fixed.update({name: WEB_PORT_BASE + i for i, name in enumerate(names, start=1)})
        if config.origin.static_mirror:
            fixed[contract.STATIC_MIRROR] = WEB_PORT_BASE  # below the web nodes' ports
    return fixed


def link_upstream(config: TopologyConfig, link: plan.LinkSpec) -> str:
    """Where a link leads inside the containers' networks."""
    target = next(n for n in plan.plan_nodes(config.edges) if n.name == link.target)
    return f"{link.target}:{node_ports(config, target)[link.port_name]}"


def network_of(node: str) -> str:
    return f"n-{node}"


def node_launch(node: plan.NodeSpec, config: TopologyConfig) -> NodeLaunch:
    ports = link_ports(config)
    fixed = node_ports(config, node)
    ready = f"{DATA_DIR}/{node.name}.ready"
    if node.role is plan.Role.ORIGIN:
        return NodeLaunch(
            name=node.name,
            origin=config.origin,
            database_path=f"{DATA_DIR}/origin.sqlite",
            dataset_cache_dir=f"{DATA_DIR}/cache",
            ready_file=ready,
            host="0.0.0.0",
            ports=fixed,
        )
    backends = plan.backends_of(node, config.origin.web_nodes, config.origin.static_mirror)
    assert backends is not None
    settings = config.shield if node.role is plan.Role.SHIELD else config.edge
    return NodeLaunch(
        name=node.name,
        cdn=scaled_cdn(settings, config.time_scale),
        upstreams={name: f"http://toxiproxy:{ports[link]}" for name, link in backends.fill.items()},
        passes={name: f"http://toxiproxy:{ports[link]}" for name, link in backends.passes.items()},
        fallbacks={
            name: f"http://toxiproxy:{ports[link]}" for name, link in backends.fallback.items()
        },
        ready_file=ready,
        host="0.0.0.0",
        ports=fixed,
        varnish_dir=VARNISH_DIR if config.cdn is CdnKind.VARNISH else None,
    )


def node_image(node: plan.NodeSpec, config: TopologyConfig) -> str:
    varnish = config.cdn is CdnKind.VARNISH and node.role is not plan.Role.ORIGIN
    return VARNISH_NODE_IMAGE if varnish else NODE_IMAGE


def toxiproxy_proxies(config: TopologyConfig) -> list[dict[str, Any]]:
    """Toxiproxy's `-config` file: every link, listening in its container, to its node."""
    ports = link_ports(config)
    return [
        {
            "name": link.proxy_name,
            "listen": f"0.0.0.0:{ports[link.name]}",
            "upstream": link_upstream(config, link),
            "enabled": True,
        }
        for link in _links(config)
    ]


def labels(owner_pid: int | None) -> dict[str, str]:
    owned = {} if owner_pid is None else {OWNER_LABEL: str(owner_pid)}
    return {LABEL: PROJECT, **owned}


def _healthcheck(test: list[str]) -> dict[str, Any]:
    return {"test": test, "interval": "2s", "timeout": "3s", "retries": 30, "start_period": "5s"}


def _node_service(
    node: plan.NodeSpec, config: TopologyConfig, owner_pid: int | None
) -> dict[str, Any]:
    launch = node_launch(node, config).model_dump_json(exclude_defaults=True)
    probe = HEALTH.format(port=NODE_PORT, path=contract.HEALTH_PATH)
    service: dict[str, Any] = {
        "image": node_image(node, config),
        "command": ["python", "-m", node.module(config.cdn), "--launch-env", LAUNCH_VARIABLE],
        "environment": {LAUNCH_VARIABLE: launch},
        "labels": labels(owner_pid),
        "networks": [network_of(node.name)],
        # metrics and the origin's index; purge and workers: what the harness reads and drives
        "ports": [f"127.0.0.1::{NODE_PORT}", f"127.0.0.1::{ADMIN_PORT}"],
        "healthcheck": _healthcheck(["CMD", "python", "-c", probe]),
    }
    if node_image(node, config) == VARNISH_NODE_IMAGE:
        # Varnish resolves its backends' names ("toxiproxy") when it compiles the VCL.
        service["depends_on"] = {"toxiproxy": {"condition": "service_started"}}
    return service


def _toxiproxy_service(config: TopologyConfig, owner_pid: int | None) -> dict[str, Any]:
    nodes = plan.plan_nodes(config.edges)
    ports = link_ports(config)
    return {
        "image": TOXIPROXY_IMAGE,
        "command": [
            "-host",
            "0.0.0.0",
            "-port",
            str(TOXIPROXY_API_PORT),
            "-config",
            "/toxiproxy.json",
        ],
        "configs": [{"source": "toxiproxy", "target": "/toxiproxy.json"}],
        "labels": labels(owner_pid),
        "networks": [network_of(n.name) for n in nodes] + [CLIENTS_NETWORK],
        # the API, and every link: clients, health checks and `bench` reach them from the host
        "ports": [f"127.0.0.1::{p}" for p in [TOXIPROXY_API_PORT, *ports.values()]],
        "cap_add": ["NET_ADMIN"],  # packet loss: iptables rules in its network namespace
        "healthcheck": _healthcheck(["CMD", "/toxiproxy-cli", "list"]),
        # Varnish nodes wait for Toxiproxy instead (their VCL names it), so not the other way.
        "depends_on": {
            n.name: {"condition": "service_healthy"}
            for n in nodes
            if node_image(n, config) != VARNISH_NODE_IMAGE
        },
    }


def _locust_services(owner_pid: int | None) -> dict[str, Any]:
    common = {
        "image": NODE_IMAGE,
        "environment": {"SHIELDLAB_LOAD_PLAN": f"{RUN_MOUNT}/{files.PLAN_FILE}"},
        "labels": labels(owner_pid),
        "networks": [CLIENTS_NETWORK],
        "volumes": [f"${{{RUN_DIR_VARIABLE}:-./results/compose}}:{RUN_MOUNT}"],
        "user": f"${{{USER_VARIABLE}:-0:0}}",
        "depends_on": {"toxiproxy": {"condition": "service_healthy"}},
        "profiles": ["load"],  # started by `shieldlab run --mode compose`, not by a bare `up`
    }
    return {
        "locust-master": {
            **common,
            "command": ["python", "-m", "locust", "--config", f"{RUN_MOUNT}/{LOCUST_CONFIG}"],
        },
        "locust-worker": {
            **common,
            "command": [
                "python",
                "-m",
                "locust",
                "-f",
                LOCUSTFILE,
                "--worker",
                "--master-host",
                "locust-master",
                "--loglevel",
                "WARNING",
            ],  # fmt: skip
            "depends_on": {"locust-master": {"condition": "service_started"}},
        },
    }


def compose_spec(config: TopologyConfig, owner_pid: int | None = None) -> dict[str, Any]:
    """`owner_pid`: the harness a run's project belongs to (none in the committed file)."""
    nodes = plan.plan_nodes(config.edges)
    services: dict[str, Any] = {n.name: _node_service(n, config, owner_pid) for n in nodes}
    services["toxiproxy"] = _toxiproxy_service(config, owner_pid)
    services.update(_locust_services(owner_pid))
    networks = {network_of(n.name): {"labels": labels(owner_pid)} for n in nodes}
    networks[CLIENTS_NETWORK] = {"labels": labels(owner_pid)}
    return {
        "name": PROJECT,
        "services": services,
        "networks": networks,
        "configs": {"toxiproxy": {"content": json.dumps(toxiproxy_proxies(config))}},
    }


def compose_yaml(config: TopologyConfig, owner_pid: int | None = None) -> str:
    header = (
        "# Generated by `shieldlab compose-file` from the topology settings (`shieldlab defaults`);\n"
        "# do not edit: change the settings and generate it again. `shieldlab run NAME --mode\n"
        "# compose` makes the same for each scenario's topology; images: `make compose-images`.\n"
    )
    return header + yaml.safe_dump(compose_spec(config, owner_pid), sort_keys=False, width=100)
