from tests.integration.conftest import both_cdns, metric


def test_origin_admin_scales_workers_and_switches_the_index_while_running(up, client):
    with up() as state:
        origin = state.nodes["origin"]
        assert origin.admin_url is not None
        scaled = client.post(origin.admin_url + "/_admin/workers", json={"worker_slots": 3})
        assert scaled.json()["worker_slots"] == 3
        # Every web node scaled alike: the gauge is the total, `_per_web` one per node.
        assert metric(client, origin.url, "shieldlab_origin_worker_slots") == 6
        slots = "shieldlab_origin_worker_slots_per_web"
        assert metric(client, origin.url, slots, web="origin-2") == 3

        bad = client.post(origin.admin_url + "/_admin/workers", json={"worker_slots": 0})
        assert bad.status_code == 400 and "worker_slots" in bad.text

        assert metric(client, origin.url, "shieldlab_origin_journals_id_index") == 0
        indexed = client.post(
            origin.admin_url + "/_admin/journals-id-index", json={"enabled": True}
        )
        assert indexed.json()["journals_id_index"] is True
        assert metric(client, origin.url, "shieldlab_origin_journals_id_index") == 1
        assert client.get(state.client_url("iad") + "/simple/").status_code == 200

        # The admin API is not reachable through the CDN.
        through_edge = client.post(
            state.client_url("iad") + "/_admin/workers", json={"worker_slots": 1}
        )
        assert through_edge.status_code == 405
        assert client.get(origin.admin_url + "/_admin/state").json()["worker_slots"] == 3


@both_cdns
def test_purge_by_surrogate_key_makes_the_next_request_a_miss(up, client):
    with up() as state:
        edge = state.client_url("iad")
        names = client.get(
            edge + "/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        project = names.json()["projects"][0]["name"]
        client.get(f"{edge}/simple/{project}/")
        assert client.get(f"{edge}/simple/{project}/").headers["X-Cache"] == "MISS, HIT"
        admin = state.nodes["edge-iad"].admin_url
        purged = client.post(f"{admin}/_admin/purge/pkg~{project}")
        assert purged.json()["purged"] == 1
        assert client.get(f"{edge}/simple/{project}/").headers["X-Cache"] == "HIT, MISS"
