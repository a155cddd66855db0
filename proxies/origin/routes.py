"""What the origin answers for each path: SQL plus rendering, with PyPI's 2014 headers.

Runs in an executor thread inside a worker slot; everything here is synchronous and
testable against a SQLite file without sockets.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime

from proxies import contract
from proxies.contract import OriginSettings
from proxies.origin import pages, queries, xmlrpc_api
from proxies.origin.wheels import normalize


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _not_found(what: str) -> Page:
    return Page(404, f"Not Found ({what})\n".encode(), {"Content-Type": "text/plain"})


def _wants_json(accept: str) -> bool:
    return contract.accept_variant(accept) == "json"


@dataclass(frozen=True)
class Asked:
    """A request as the routes read it: no sockets, so a test builds one by hand."""

    method: str
    path: str
    accept: str = ""
    body: bytes = b""
    base_url: str = ""  # how the client reached us: absolute links in the JSON API use it


def render(conn: sqlite3.Connection, asked: Asked, settings: OriginSettings) -> Page:
    method, path, accept, body, base_url = (
        asked.method, asked.path, asked.accept, asked.body, asked.base_url
    )  # fmt: skip
    if method == "POST":
        if path.rstrip("/") != "/pypi":
            return Page(405, b"POST only on /pypi\n", {"Content-Type": "text/plain"})
        answer = xmlrpc_api.dispatch(conn, base_url, body)
        return Page(200, answer, {"Content-Type": "text/xml", "Cache-Control": "no-cache"})
    if method not in ("GET", "HEAD"):
        return Page(405, b"method not allowed\n", {"Content-Type": "text/plain"})
    if path == contract.ORIGIN_PROBE_PATH:
        return _daytime()
    if path == "/simple/":
        return _simple_index(conn, accept)
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "simple" and path.endswith("/"):
        return _simple_project(conn, parts[1], accept)
    if len(parts) in (3, 4) and parts[0] == "pypi" and parts[-1] == "json":
        return _project_json(conn, parts[1], base_url, settings)
    if parts and parts[0] == "packages":
        return _package_file(conn, path)
    if len(parts) == 2 and parts[0] == "serversig" and path.endswith("/"):
        return _serversig(conn, parts[1])
    if len(parts) == 2 and parts[0] == "pypi":
        return _project_page(conn, parts[1])
    return _not_found(path)


def _simple_index(conn: sqlite3.Connection, accept: str) -> Page:
    serial = queries.last_serial(conn)  # the slow query when journals.id has no index
    names = queries.project_names(conn)
    headers = {
        contract.HEADER_LAST_SERIAL: str(serial),
        "Cache-Control": "max-age=600, public",
        "Surrogate-Control": "max-age=86400",
        contract.HEADER_SURROGATE_KEY: "simple",
        "Vary": "Accept",
    }
    if _wants_json(accept):
        return Page(
            200,
            pages.simple_index_json(names, serial),
            {**headers, "Content-Type": contract.PEP691_JSON},
        )
    return Page(200, pages.simple_index_html(names), {**headers, "Content-Type": "text/html"})


def _daytime() -> Page:
    """PyPI's /daytime (the likely probe target): the time, never cached."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H:%M:%S")
    return Page(
        200, f"{now}\n".encode(), {"Content-Type": "text/plain", "Cache-Control": "no-cache"}
    )


def _redirect(location: str) -> Page:
    return Page(301, b"", {"Location": location, "Cache-Control": "max-age=600, public"})


def _simple_project(conn: sqlite3.Connection, raw_name: str, accept: str) -> Page:
    name = normalize(raw_name)
    if name != raw_name:
        return _redirect(f"/simple/{name}/")
    if not queries.project_exists(conn, name):
        return _not_found(name)
    serial = queries.project_serial(conn, name)
    files = queries.files(conn, name)
    headers = {
        contract.HEADER_LAST_SERIAL: str(serial),
        "Cache-Control": "max-age=600, public",
        "Surrogate-Control": "max-age=86400",
        contract.HEADER_SURROGATE_KEY: f"simple pkg~{name}",
        "Vary": "Accept",
    }
    if _wants_json(accept):
        body = pages.simple_project_json(name, files, serial)
        return Page(200, body, {**headers, "Content-Type": contract.PEP691_JSON})
    return Page(
        200, pages.simple_project_html(name, files), {**headers, "Content-Type": "text/html"}
    )


def _project_json(
    conn: sqlite3.Connection, raw_name: str, base_url: str, settings: OriginSettings
) -> Page:
    name = normalize(raw_name)
    releases = queries.releases(conn, name)
    if not releases:
        return _not_found(name)
    serial = queries.last_serial(conn)  # PyPI computed changelog_last_serial for JSON pages
    body = pages.project_json(
        name, releases, queries.files(conn, name), base_url, queries.project_serial(conn, name)
    )
    return Page(
        200,
        body,
        {
            "Content-Type": "application/json",
            contract.HEADER_LAST_SERIAL: str(serial),
            "Cache-Control": f"max-age={settings.json_browser_max_age_s}, public",
            "Surrogate-Control": f"max-age={settings.json_cdn_max_age_s}",
            contract.HEADER_SURROGATE_KEY: f"json pkg~{name}",
        },
    )


def _package_file(conn: sqlite3.Connection, path: str) -> Page:
    content = queries.file_content(conn, path)
    if content is None:
        return _not_found(path)
    return Page(
        200,
        content,
        {"Content-Type": "application/octet-stream", "Cache-Control": "max-age=31557600, public"},
    )


def _serversig(conn: sqlite3.Connection, raw_name: str) -> Page:
    name = normalize(raw_name)
    if not queries.project_exists(conn, name):
        return _not_found(name)
    page = pages.simple_project_html(name, queries.files(conn, name))
    return Page(
        200,
        pages.serversig(page),
        {
            "Content-Type": "application/octet-stream",
            "Cache-Control": "max-age=600, public",
            "Surrogate-Control": "max-age=86400",
            contract.HEADER_SURROGATE_KEY: f"pkg~{name}",
        },
    )


def _project_page(conn: sqlite3.Connection, raw_name: str) -> Page:
    """The 2014 project page a browser sees (`/pypi/<name>`): 60 s at the CDN."""
    name = normalize(raw_name)
    releases = queries.releases(conn, name)
    if not releases:
        return _not_found(name)
    return Page(
        200,
        pages.project_page_html(name, releases, queries.files(conn, name)),
        {
            "Content-Type": "text/html",
            "Cache-Control": "max-age=60, public",
            contract.HEADER_SURROGATE_KEY: f"pkg~{name}",
        },
    )
