"""compose.yaml: generated from the topology settings, committed, valid against the spec."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from harness.compose import spec
from harness.scenario.topology import load_topology
from proxies.contract import NodeLaunch

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_compose_file_is_what_the_generator_makes_of_the_defaults():
    committed = (ROOT / "compose.yaml").read_text()
    assert committed == spec.compose_yaml(load_topology(None)), (
        "compose.yaml is out of date: run `shieldlab compose-file --out compose.yaml`"
    )


def test_the_committed_compose_file_validates_against_the_compose_specification():
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(ROOT / "compose.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_edges_give_the_matching_services_and_each_node_shares_a_network_only_with_toxiproxy():
    compose = spec.compose_spec(load_topology(None, {"edges": ["iad", "fra"]}))
    services = compose["services"]
    assert set(services) == {
        "origin", "shield", "edge-iad", "edge-fra", "toxiproxy", "locust-master", "locust-worker"
    }  # fmt: skip
    for node in ("origin", "shield", "edge-iad", "edge-fra"):
        (network,) = services[node]["networks"]
        sharing = [name for name, s in services.items() if network in s.get("networks", [])]
        assert sorted(sharing) == sorted([node, "toxiproxy"])
    locust_networks = {
        n for s in ("locust-master", "locust-worker") for n in services[s]["networks"]
    }
    assert locust_networks == {spec.CLIENTS_NETWORK}
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)
    assert all(s["labels"] == {spec.LABEL: spec.PROJECT} for s in services.values())


def test_links_are_toxiproxy_proxies_to_each_nodes_port_and_nodes_send_through_them():
    config = load_topology(None, {"edges": ["iad"]})
    compose = spec.compose_spec(config)
    proxies = json.loads(compose["configs"]["toxiproxy"]["content"])
    ports = spec.link_ports(config)
    web_1, web_2 = spec.WEB_PORT_BASE + 1, spec.WEB_PORT_BASE + 2
    assert {p["name"]: p["upstream"] for p in proxies} == {
        "shield_to_origin-1": f"origin:{web_1}",
        "shield_to_origin-2": f"origin:{web_2}",
        "shield_to_mirror": f"origin:{spec.WEB_PORT_BASE}",
        "client_to_edge-iad": f"edge-iad:{spec.NODE_PORT}",
        "edge-iad_to_shield": f"shield:{spec.NODE_PORT}",
        "edge-iad_to_origin-1": f"origin:{web_1}",
        "edge-iad_to_origin-2": f"origin:{web_2}",
    }
    launch = NodeLaunch.model_validate_json(
        compose["services"]["edge-iad"]["environment"][spec.LAUNCH_VARIABLE]
    )
    assert launch.upstreams == {"shield": f"http://toxiproxy:{ports['edge-iad->shield']}"}
    assert launch.passes == {
        "origin-1": f"http://toxiproxy:{ports['edge-iad->origin-1']}",
        "origin-2": f"http://toxiproxy:{ports['edge-iad->origin-2']}",
    }
    assert launch.ports == {"port": spec.NODE_PORT, "admin_port": spec.ADMIN_PORT}
    assert launch.host == "0.0.0.0"
    origin = NodeLaunch.model_validate_json(
        compose["services"]["origin"]["environment"][spec.LAUNCH_VARIABLE]
    )
    assert origin.ports["origin-2"] == web_2
    shield = NodeLaunch.model_validate_json(
        compose["services"]["shield"]["environment"][spec.LAUNCH_VARIABLE]
    )
    assert shield.fallbacks == {"mirror": f"http://toxiproxy:{ports['shield->mirror']}"}


def test_settings_reach_the_nodes_launch():
    config = load_topology(None, {"origin": {"worker_slots": 7}, "time_scale": 10})
    compose = spec.compose_spec(config)
    origin = NodeLaunch.model_validate_json(
        compose["services"]["origin"]["environment"][spec.LAUNCH_VARIABLE]
    )
    assert origin.origin is not None and origin.origin.worker_slots == 7
    yaml.safe_load(spec.compose_yaml(config))  # and the whole stays valid YAML


def test_a_runs_project_carries_its_harness_pid_on_every_service_and_network():
    compose = spec.compose_spec(load_topology(None), owner_pid=4321)
    things = list(compose["services"].values()) + list(compose["networks"].values())
    assert all(t["labels"] == {spec.LABEL: spec.PROJECT, spec.OWNER_LABEL: "4321"} for t in things)
    assert spec.OWNER_LABEL not in (ROOT / "compose.yaml").read_text()


def test_on_varnish_the_cdn_nodes_run_varnish_in_their_own_image_and_the_origin_does_not():
    services = spec.compose_spec(load_topology(None, {"cdn": "varnish"}))["services"]
    for name in ("shield", "edge-iad"):
        service = services[name]
        assert service["image"] == spec.VARNISH_NODE_IMAGE
        assert service["command"][:3] == ["python", "-m", "proxies.varnish"]
        launch = NodeLaunch.model_validate_json(service["environment"][spec.LAUNCH_VARIABLE])
        assert launch.varnish_dir == spec.VARNISH_DIR and launch.host == "0.0.0.0"
        assert service["depends_on"] == {"toxiproxy": {"condition": "service_started"}}
    assert services["origin"]["image"] == spec.NODE_IMAGE
    assert list(services["toxiproxy"]["depends_on"]) == ["origin"]  # no cycle
    model = spec.compose_spec(load_topology(None, None))["services"]["shield"]
    assert model["image"] == spec.NODE_IMAGE and model["command"][2] == "proxies.cdn"
