import concurrent.futures

import httpx

from harness.toxiproxy_api import ToxiproxyApi
from tests.integration.conftest import metric


def test_latency_above_the_shields_first_byte_timeout_gives_a_shield_503_and_heals(up, client):
    overrides = {"shield": {"backend": {"first_byte_timeout_s": 1.0}}}
    with up(overrides) as state:
        edge = state.client_url("iad")
        api = ToxiproxyApi(state.toxiproxy.api)
        links = [state.links[f"shield->origin-{i}"].proxy for i in (1, 2)]
        for link in links:  # both web nodes: the director may pick either
            api.add_toxic(
                link,
                {
                    "name": "slow",
                    "type": "latency",
                    "stream": "downstream",
                    "attributes": {"latency": 2000, "jitter": 0},
                },
            )
        failed = client.get(f"{edge}/simple/")
        assert failed.status_code == 503
        assert failed.headers["X-Shieldlab-Error-Node"] == "shield"
        assert failed.headers["X-Shieldlab-Error-Reason"] == "first byte timeout"
        assert "first byte timeout" in failed.text
        assert failed.headers["X-Served-By"] == "shield, edge-iad"  # the edge passed it through
        shield_url = state.nodes["shield"].url
        assert (
            metric(
                client, shield_url, "shieldlab_upstream_errors_total", reason="first byte timeout"
            )
            == 1
        )

        for link in links:
            api.remove_toxic(link, "slow")
        healed = client.get(f"{edge}/simple/")
        assert healed.status_code == 200
        assert "X-Shieldlab-Error-Node" not in healed.headers
        api.close()


def test_a_web_node_with_one_worker_slot_answers_502_and_504_from_its_nginx(up):
    overrides = {
        "origin": {
            "web_nodes": 1,
            "worker_slots": 1,
            "queue_max": 3,
            "read_timeout_s": 0.3,
            "service_times": {"simple_project": {"median_ms": 200, "sigma": 0.0}},
        }
    }
    with up(overrides) as state, httpx.Client(timeout=30, trust_env=False) as plain:
        origin = state.nodes["origin"].url
        names = plain.get(
            origin + "/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        ).json()
        projects = [p["name"] for p in names["projects"]][:12]

        def fetch(name):
            with httpx.Client(timeout=30, trust_env=False) as c:
                return c.get(f"{origin}/simple/{name}/")

        with concurrent.futures.ThreadPoolExecutor(len(projects)) as pool:
            responses = list(pool.map(fetch, projects))
        statuses = sorted(r.status_code for r in responses)
        by_balancer = [
            r for r in responses if r.headers.get("X-Shieldlab-Error-Node") == "origin-lb"
        ]
        assert 200 in statuses
        assert {r.status_code for r in by_balancer} == {502, 504}
        reasons = {r.headers["X-Shieldlab-Error-Reason"] for r in by_balancer}
        assert reasons == {"listen queue full", "upstream timed out"}
        assert metric(plain, origin, "shieldlab_origin_worker_slots") == 1
