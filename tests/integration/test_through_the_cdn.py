import sqlite3
import xmlrpc.client
from pathlib import Path

from harness.load.pip_client import PIP_ACCEPT, first_project, pip_install
from tests.integration.conftest import both_cdns, metric


@both_cdns
def test_pip_installs_through_an_edge_and_the_second_fetch_is_an_edge_hit(up, client, tmp_path):
    with up() as state:
        edge = state.client_url("iad")
        project = first_project(client, edge)
        result = pip_install(edge + "/simple/", project, tmp_path / "target")
        assert result.returncode == 0, result.stderr
        installed = {p.name for p in (tmp_path / "target").iterdir()}
        assert project.replace("-", "_") in installed

        again = client.get(f"{edge}/simple/{project}/", headers={"Accept": PIP_ACCEPT})
        assert again.status_code == 200
        assert again.headers["X-Served-By"] == "shield, edge-iad"
        assert again.headers["X-Cache"].split(", ")[-1] == "HIT"

        other_pop = client.get(
            f"{state.client_url('ams')}/simple/{project}/", headers={"Accept": PIP_ACCEPT}
        )
        assert other_pop.headers["X-Served-By"] == "shield, edge-ams"
        assert other_pop.headers["X-Cache"] == "HIT, MISS"  # ams has its own cache


def test_xmlrpc_goes_from_the_edge_straight_to_the_origin(up, client):
    with up() as state:
        shield = state.nodes["shield"].url
        shield_requests_before = metric(client, shield, "shieldlab_requests_total")
        proxy = xmlrpc.client.ServerProxy(state.client_url("sjc") + "/pypi")
        last = proxy.changelog_last_serial()
        rows = proxy.changelog_since_serial(last - 25)

        database = Path(state.work_dir) / "origin.sqlite"
        expected = (
            sqlite3.connect(database)
            .execute("SELECT name, id FROM journals WHERE id > ? ORDER BY id", (last - 25,))
            .fetchall()
        )
        assert [(r[0], r[4]) for r in rows] == expected
        assert len(rows) == 25

        posted = client.post(
            state.client_url("sjc") + "/pypi",
            content=xmlrpc.client.dumps((), "changelog_last_serial").encode(),
        )
        assert posted.headers["X-Served-By"] == "edge-sjc"
        assert metric(client, shield, "shieldlab_requests_total") == shield_requests_before
        assert metric(client, shield, "shieldlab_cache_total", result="pass") == 0
        edge = state.nodes["edge-sjc"].url
        assert metric(client, edge, "shieldlab_upstream_fetches_total", backend="pass") == 3
