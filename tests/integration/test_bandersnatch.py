"""The real bandersnatch (the PyPI release pinned in pyproject.toml) mirrors through an edge."""

import hashlib
import re
import xmlrpc.client

from harness.faults.backend import OriginAdmin
from harness.load.bandersnatch_client import bandersnatch_mirror
from proxies import contract
from tests.integration.conftest import metric


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_real_bandersnatch_mirrors_a_few_projects_through_an_edge(up, client, tmp_path):
    with up() as state:
        edge = state.client_url("iad")
        index = client.get(edge + "/simple/", headers={"Accept": contract.PEP691_JSON}).json()
        projects = [p["name"] for p in index["projects"][:3]]
        last_serial = xmlrpc.client.ServerProxy(edge + "/pypi").changelog_last_serial()

        mirror = tmp_path / "mirror"
        result = bandersnatch_mirror(edge, mirror, projects)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

        web = mirror / "web"
        for name in projects:
            page = client.get(f"{edge}/pypi/{name}/json").json()
            files = [f for release in page["releases"].values() for f in release]
            assert files, name
            for f in files:
                path = web / f["url"].split("/", 3)[3]  # /packages/...
                assert path.is_file(), f"{name}: {f['filename']} not mirrored"
                assert hashlib.sha256(path.read_bytes()).hexdigest() == f["digests"]["sha256"]
            simple = (web / "simple" / normalized(name) / "index.html").read_text()
            assert all(f["filename"] in simple for f in files)
            assert (web / "json" / name).is_file()
        assert int((mirror / "status").read_text()) >= last_serial

        # Everything but the XML-RPC calls came through the edge: JSON pages and files.
        edge_node = state.nodes["edge-iad"].url
        served = metric(client, edge_node, "shieldlab_requests_total")
        files = sum(1 for p in (web / "packages").rglob("*") if p.is_file())
        assert served >= len(projects) + files

        # A new release, purged from the CDN as PyPI purges it: the next run picks it up
        # through changelog_since_serial.
        origin = OriginAdmin(str(state.nodes[contract.ORIGIN_NODE].admin_url))
        release = origin.publish()
        origin.close()
        for node in ("shield", "edge-iad", "edge-ams", "edge-sjc"):
            client.post(f"{state.nodes[node].admin_url}/_admin/purge/{release['surrogate_key']}")
        again = bandersnatch_mirror(edge, mirror, [*projects, str(release["name"])])
        assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
        assert int((mirror / "status").read_text()) == release["serial"]
        page = client.get(f"{edge}/pypi/{release['name']}/json").json()
        new_files = page["releases"][release["version"]]
        assert new_files and all((web / f["url"].split("/", 3)[3]).is_file() for f in new_files)
