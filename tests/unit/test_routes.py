import hashlib
import json
import re

from proxies.contract import PEP691_JSON, OriginSettings
from proxies.origin import queries
from proxies.origin.routes import Asked, render

SETTINGS = OriginSettings()


def get(conn, path, accept=""):
    return render(conn, Asked("GET", path, accept, base_url="http://edge"), SETTINGS)


def test_simple_index_html_and_json(conn):
    html = get(conn, "/simple/")
    assert html.status == 200 and html.headers["Content-Type"] == "text/html"
    assert html.headers["X-PYPI-LAST-SERIAL"] == "500"
    as_json = get(conn, "/simple/", PEP691_JSON)
    assert as_json.headers["Content-Type"] == PEP691_JSON
    assert len(json.loads(as_json.body)["projects"]) == 6


def test_simple_project_links_carry_the_files_sha256(conn):
    name = queries.project_names(conn)[0]
    page = get(conn, f"/simple/{name}/")
    assert page.headers["Surrogate-Key"] == f"simple pkg~{name}"
    links = re.findall(r'href="\.\./\.\.(/packages/[^"#]+)#sha256=([0-9a-f]+)"', page.body.decode())
    assert len(links) == 2
    for path, sha in links:
        file = get(conn, path)
        assert file.status == 200
        assert hashlib.sha256(file.body).hexdigest() == sha


def test_unnormalised_names_redirect_and_unknown_ones_are_404(conn):
    name = queries.project_names(conn)[0]
    redirect = get(conn, f"/simple/{name.upper()}/")
    assert redirect.status == 301 and redirect.headers["Location"] == f"/simple/{name}/"
    assert get(conn, "/simple/no-such-project/").status == 404
    assert get(conn, "/packages/nope.whl").status == 404


def test_json_page_has_cdn_and_browser_lifetimes(conn):
    name = queries.project_names(conn)[0]
    page = get(conn, f"/pypi/{name}/json")
    assert page.headers["Cache-Control"] == "max-age=600, public"
    assert page.headers["Surrogate-Control"] == "max-age=86400"
    body = json.loads(page.body)
    assert body["urls"][0]["url"].startswith("http://edge/packages/")


def test_serversig_and_xmlrpc_routes(conn):
    name = queries.project_names(conn)[0]
    assert len(get(conn, f"/serversig/{name}/").body) == 32
    import xmlrpc.client

    body = xmlrpc.client.dumps((), "changelog_last_serial").encode()
    answer = render(conn, Asked("POST", "/pypi", body=body, base_url="http://edge"), SETTINGS)
    assert xmlrpc.client.loads(answer.body)[0][0] == 500
    assert render(conn, Asked("POST", "/simple/"), SETTINGS).status == 405
