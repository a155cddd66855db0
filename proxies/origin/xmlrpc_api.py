"""The mirror-facing XML-RPC methods on `POST /pypi`, over real SQL."""

from __future__ import annotations

import sqlite3
import xmlrpc.client
from collections.abc import Callable
from typing import Any

from proxies.origin import pages, queries


def _release_urls(conn: sqlite3.Connection, base_url: str, name: str, version: str) -> list[Any]:
    return [pages.file_json(f, base_url) for f in queries.files(conn, name, version)]


def _package_releases(conn: sqlite3.Connection, name: str, show_hidden: bool = False) -> list[str]:
    versions = [r.version for r in queries.releases(conn, name)]
    return versions if show_hidden else versions[-1:]


Method = Callable[..., Any]


def methods(conn: sqlite3.Connection, base_url: str) -> dict[str, Method]:
    return {
        "changelog_since_serial": lambda serial: [
            list(row) for row in queries.changelog_since(conn, int(serial))
        ],
        "changelog_last_serial": lambda: queries.last_serial(conn),
        "list_packages_with_serial": lambda: queries.serials_by_project(conn),
        "package_releases": lambda name, show_hidden=False: _package_releases(
            conn, name, show_hidden
        ),
        "release_urls": lambda name, version: _release_urls(conn, base_url, name, version),
    }


def method_name(body: bytes) -> str | None:
    """The method an XML-RPC request calls, or None when the body is not XML-RPC."""
    try:
        _, name = xmlrpc.client.loads(body)
    except Exception:  # noqa: BLE001 - any parse failure means "not XML-RPC"
        return None
    return name


def dispatch(conn: sqlite3.Connection, base_url: str, body: bytes) -> bytes:
    """Answer one XML-RPC request body; unknown methods and bad calls become Faults."""
    try:
        params, name = xmlrpc.client.loads(body)
    except Exception as error:  # noqa: BLE001
        return xmlrpc.client.dumps(xmlrpc.client.Fault(1, f"bad request: {error}")).encode()
    table = methods(conn, base_url)
    if name not in table:
        known = ", ".join(sorted(table))
        fault = xmlrpc.client.Fault(1, f"method {name!r} is not supported; known: {known}")
        return xmlrpc.client.dumps(fault).encode()
    try:
        result = table[name](*params)
    except TypeError as error:
        return xmlrpc.client.dumps(xmlrpc.client.Fault(1, f"{name}: {error}")).encode()
    return xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True).encode()
