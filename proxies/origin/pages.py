"""Rendering of the origin's pages: pure functions from query rows to bytes."""

from __future__ import annotations

import hashlib
import html
import json

from proxies.origin.queries import FileRow, ReleaseRow


def _file_href(row: FileRow) -> str:
    return f"../..{row.path}#sha256={row.sha256}"


def simple_index_html(names: list[str]) -> bytes:
    links = "\n".join(f'    <a href="{html.escape(n)}/">{html.escape(n)}</a><br/>' for n in names)
    return (
        "<!DOCTYPE html>\n<html>\n  <head><title>Simple index</title></head>\n  <body>\n"
        f"{links}\n  </body>\n</html>\n"
    ).encode()


def simple_index_json(names: list[str], serial: int) -> bytes:
    body = {
        "meta": {"api-version": "1.0", "_last-serial": serial},
        "projects": [{"name": n} for n in names],
    }
    return json.dumps(body).encode()


def simple_project_html(name: str, files: list[FileRow]) -> bytes:
    links = "\n".join(
        f'    <a href="{html.escape(_file_href(f))}">{html.escape(f.filename)}</a><br/>'
        for f in files
    )
    return (
        f"<!DOCTYPE html>\n<html>\n  <head><title>Links for {html.escape(name)}</title></head>\n"
        f"  <body>\n    <h1>Links for {html.escape(name)}</h1>\n{links}\n  </body>\n</html>\n"
    ).encode()


def simple_project_json(name: str, files: list[FileRow], serial: int) -> bytes:
    body = {
        "meta": {"api-version": "1.0", "_last-serial": serial},
        "name": name,
        "files": [
            {
                "filename": f.filename,
                "url": _file_href(f).split("#", 1)[0],
                "hashes": {"sha256": f.sha256},
                "size": f.size,
                "upload-time": f.uploaded + "Z",
            }
            for f in files
        ],
        "versions": sorted({f.version for f in files}),
    }
    return json.dumps(body).encode()


def file_json(row: FileRow, base_url: str) -> dict[str, object]:
    """A release file as the JSON API and XML-RPC's release_urls describe it."""
    return {
        "filename": row.filename,
        "url": base_url + row.path,
        "digests": {"sha256": row.sha256},
        "size": row.size,
        "packagetype": "bdist_wheel",
        "python_version": "py3",
        "requires_python": None,
        "upload_time": row.uploaded,
        "upload_time_iso_8601": row.uploaded + "Z",  # bandersnatch 6 reads this one
        "yanked": False,
    }


def project_json(
    name: str, releases: list[ReleaseRow], files: list[FileRow], base_url: str, serial: int
) -> bytes:
    latest = releases[-1]
    by_version: dict[str, list[dict[str, object]]] = {r.version: [] for r in releases}
    for row in files:
        by_version.setdefault(row.version, []).append(file_json(row, base_url))
    body = {
        "info": {"name": name, "version": latest.version, "summary": latest.summary},
        "last_serial": serial,
        "releases": by_version,
        "urls": by_version.get(latest.version, []),
    }
    return json.dumps(body).encode()


def serversig(page: bytes) -> bytes:
    """Stands in for the DSA signature of the simple page: deterministic bytes of the page."""
    return hashlib.sha256(b"shieldlab-serversig:" + page).digest()


def project_page_html(name: str, releases: list[ReleaseRow], files: list[FileRow]) -> bytes:
    latest = releases[-1]
    rows = "\n".join(
        f'    <li><a href="{html.escape(f.path)}">{html.escape(f.filename)}</a> '
        f"({f.size} bytes, {html.escape(f.uploaded)})</li>"
        for f in files
    )
    return (
        f"<!DOCTYPE html>\n<html>\n  <head><title>{html.escape(name)} {latest.version}</title></head>\n"
        f"  <body>\n    <h1>{html.escape(name)} {html.escape(latest.version)}</h1>\n"
        f"    <p>{html.escape(latest.summary)}</p>\n    <ul>\n{rows}\n    </ul>\n  </body>\n</html>\n"
    ).encode()
