"""The origin's SQL: every read a page or an XML-RPC method makes, as real queries."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class FileRow:
    filename: str
    name: str
    version: str
    path: str
    sha256: str
    size: int
    uploaded: str


@dataclass(frozen=True)
class ReleaseRow:
    name: str
    version: str
    summary: str
    created: str


def last_serial(conn: sqlite3.Connection) -> int:
    """`changelog_last_serial`: a full scan of journals without the id index."""
    (serial,) = conn.execute("SELECT max(id) FROM journals").fetchone()
    return int(serial or 0)


def project_serial(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT max(id) FROM journals WHERE name = ?", (name,)).fetchone()
    return int(row[0] or 0)


def project_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone() is not None


def project_names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM projects ORDER BY name")]


def releases(conn: sqlite3.Connection, name: str) -> list[ReleaseRow]:
    rows = conn.execute(
        "SELECT name, version, summary, created FROM releases WHERE name = ? ORDER BY created",
        (name,),
    )
    return [ReleaseRow(*row) for row in rows]


def files(conn: sqlite3.Connection, name: str, version: str | None = None) -> list[FileRow]:
    sql = "SELECT filename, name, version, path, sha256, size, uploaded FROM files WHERE name = ?"
    params: tuple[str, ...] = (name,)
    if version is not None:
        sql += " AND version = ?"
        params = (name, version)
    return [FileRow(*row) for row in conn.execute(sql + " ORDER BY uploaded, filename", params)]


def file_content(conn: sqlite3.Connection, path: str) -> bytes | None:
    row = conn.execute("SELECT content FROM files WHERE path = ?", (path,)).fetchone()
    return None if row is None else bytes(row[0])


def changelog_since(conn: sqlite3.Connection, serial: int) -> list[tuple[str, str, int, str, int]]:
    """Rows of `changelog_since_serial`: (name, version, timestamp, action, serial)."""
    rows = conn.execute(
        "SELECT name, version, CAST(strftime('%s', submitted_date) AS INTEGER), action, id "
        "FROM journals WHERE id > ? ORDER BY id",
        (serial,),
    )
    return [
        (name, version or "", int(ts), action, int(id_)) for name, version, ts, action, id_ in rows
    ]


def serials_by_project(conn: sqlite3.Connection) -> dict[str, int]:
    """`list_packages_with_serial`: the newest serial of every project."""
    rows = conn.execute("SELECT name, max(id) FROM journals GROUP BY name")
    return {name: int(serial) for name, serial in rows}
