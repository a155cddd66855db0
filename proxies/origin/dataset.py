"""The origin's SQLite data: projects, releases, files (real wheels) and the journals log.

Generated deterministically from a seed, cached by its parameters, copied for each run so a
run may write to it (new releases, the index switch) without touching the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import random
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from proxies.contract import OriginSettings
from proxies.origin.wheels import build_wheel, normalize, wheel_filename

SCHEMA_VERSION = 1
JOURNALS_ID_INDEX = "journals_id_idx"

_SCHEMA = """
CREATE TABLE projects (name TEXT PRIMARY KEY, summary TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE releases (
    name TEXT NOT NULL, version TEXT NOT NULL, summary TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE files (
    filename TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL, uploaded TEXT NOT NULL);
CREATE INDEX files_name ON files (name);
CREATE UNIQUE INDEX files_path ON files (path);
-- The serial log. `id` is the serial; it is deliberately not the rowid, and in 2014 it had
-- no index, so every query on it scanned the whole table.
CREATE TABLE journals (
    id INTEGER NOT NULL, name TEXT NOT NULL, version TEXT, action TEXT NOT NULL,
    submitted_date TEXT NOT NULL, submitted_by TEXT NOT NULL);
"""
# Built after the bulk insert, which is several times faster than maintaining it row by row.
_JOURNALS_NAME_INDEX = "CREATE INDEX journals_name ON journals (name, id)"

_ADJECTIVES = [
    "quick",
    "lazy",
    "brave",
    "calm",
    "eager",
    "fancy",
    "gentle",
    "happy",
    "jolly",
    "kind",
    "lively",
    "nice",
    "proud",
    "silly",
    "witty",
    "zesty",
    "amber",
    "azure",
    "coral",
    "crimson",
    "golden",
    "ivory",
    "jade",
    "lemon",
    "olive",
    "ruby",
    "silver",
    "tiny",
    "vast",
    "bold",
    "cosmic",
    "rapid",
    "smart",
    "solid",
    "sturdy",
    "swift",
    "tidy",
    "vivid",
    "wild",
    "young",
]
_NOUNS = [
    "parser",
    "crawler",
    "mirror",
    "cache",
    "shield",
    "router",
    "logger",
    "worker",
    "client",
    "server",
    "tensor",
    "matrix",
    "widget",
    "plugin",
    "toolkit",
    "bridge",
    "socket",
    "stream",
    "signal",
    "vector",
    "buffer",
    "filter",
    "sensor",
    "gadget",
    "engine",
    "kernel",
    "packet",
    "rocket",
    "ticket",
    "wallet",
    "folder",
    "pickle",
    "noodle",
    "otter",
    "panda",
    "badger",
    "falcon",
    "heron",
    "lynx",
]
_ACTIONS = ("new release", "add py3 file", "update description", "update home_page", "docupdate")
_EPOCH = datetime(2005, 1, 1, tzinfo=UTC)
_INCIDENT = datetime(2014, 7, 20, 19, 0, tzinfo=UTC)


def project_names(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    combos = [f"{a}-{n}" for a in _ADJECTIVES for n in _NOUNS]
    rng.shuffle(combos)
    names = combos[:count]
    suffix = 2
    while len(names) < count:
        names.extend(f"{c}{suffix}" for c in combos[: count - len(names)])
        suffix += 1
    return [normalize(n) for n in names]


def package_path(name: str, filename: str) -> str:
    return f"/packages/py3/{name[0]}/{name}/{filename}"


def _timestamp(fraction: float) -> str:
    moment = _EPOCH + (_INCIDENT - _EPOCH) * fraction
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def generate(path: Path, settings: OriginSettings) -> None:
    rng = random.Random(settings.seed)
    names = project_names(settings.projects, settings.seed)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(_SCHEMA)
        for index, name in enumerate(names):
            summary = f"The {name.replace('-', ' ')} package"
            created = _timestamp(index / max(1, len(names)) * 0.5)
            conn.execute("INSERT INTO projects VALUES (?, ?, ?)", (name, summary, created))
            for release in range(settings.releases_per_project):
                version = f"{release + 1}.{rng.randint(0, 9)}.0"
                when = _timestamp(0.5 + 0.5 * (release + 1) / settings.releases_per_project)
                conn.execute(
                    "INSERT INTO releases VALUES (?, ?, ?, ?)", (name, version, summary, when)
                )
                _insert_file(conn, name, version, summary, when, settings)
        conn.executemany(
            "INSERT INTO journals VALUES (?, ?, ?, ?, ?, ?)",
            _journal_rows(rng, names, settings.journal_rows),
        )
        conn.execute(_JOURNALS_NAME_INDEX)
        conn.commit()
    finally:
        conn.close()


def file_size_bytes(settings: OriginSettings, name: str, version: str) -> int:
    """A release file's size: lognormal, drawn from its own seed so it never moves."""
    rng = random.Random(f"{settings.seed}:{name}=={version}")
    kb = rng.lognormvariate(math.log(settings.file_size_median_kb), settings.file_size_sigma)
    return int(min(kb, settings.file_size_max_kb) * 1024)


def _insert_file(
    conn: sqlite3.Connection,
    name: str,
    version: str,
    summary: str,
    when: str,
    settings: OriginSettings,
) -> None:
    content = build_wheel(name, version, summary, file_size_bytes(settings, name, version))
    filename = wheel_filename(name, version)
    conn.execute(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            filename,
            name,
            version,
            package_path(name, filename),
            hashlib.sha256(content).hexdigest(),
            len(content),
            content,
            when,
        ),
    )


def _journal_rows(rng: random.Random, names: list[str], count: int) -> Iterator[tuple]:
    # A few projects change often (popular ones), most rarely: a Pareto-like pick.
    when = _timestamp(0.0)
    for serial in range(1, count + 1):
        if rng.random() < 0.3:
            name = names[min(len(names) - 1, int(rng.paretovariate(1.2)) - 1)]
        else:
            name = names[rng.randrange(len(names))]
        if serial % 256 == 0:  # formatting a date per row would dominate generation time
            when = _timestamp(serial / count)
        action = _ACTIONS[serial % len(_ACTIONS)]
        yield (serial, name, f"{serial % 7}.{serial % 11}.0", action, when, f"user{serial % 997}")


def publish_release(
    conn: sqlite3.Connection, name: str, version: str, when: datetime, settings: OriginSettings
) -> int:
    """Add a release with its file and journal rows, as a new upload would; returns the serial."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    summary = f"The {name.replace('-', ' ')} package"
    conn.execute("INSERT INTO releases VALUES (?, ?, ?, ?)", (name, version, summary, stamp))
    _insert_file(conn, name, version, summary, stamp, settings)
    (last,) = conn.execute("SELECT max(id) FROM journals").fetchone()
    serial = int(last or 0) + 1
    conn.execute(
        "INSERT INTO journals VALUES (?, ?, ?, ?, ?, ?)",
        (serial, name, version, "new release", stamp, "publisher"),
    )
    conn.commit()
    return serial


def cache_key(settings: OriginSettings) -> str:
    parts = (
        SCHEMA_VERSION,
        settings.seed,
        settings.projects,
        settings.releases_per_project,
        settings.journal_rows,
        settings.file_size_median_kb,
        settings.file_size_sigma,
        settings.file_size_max_kb,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def prepare(cache_dir: Path, target: Path, settings: OriginSettings) -> None:
    """Copy the cached data set for these settings to `target`, generating it once if needed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"origin-{cache_key(settings)}.sqlite"
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two origins starting together generate it once
        if not cached.exists():
            partial = cached.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            generate(partial, settings)
            partial.rename(cached)
    shutil.copyfile(cached, target)
    set_journals_id_index(target, settings.journals_id_index)
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def set_journals_id_index(path: Path, enabled: bool) -> None:
    conn = sqlite3.connect(path)
    try:
        apply_journals_id_index(conn, enabled)
    finally:
        conn.close()


def apply_journals_id_index(conn: sqlite3.Connection, enabled: bool) -> None:
    if enabled:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {JOURNALS_ID_INDEX} ON journals (id)")
    else:
        conn.execute(f"DROP INDEX IF EXISTS {JOURNALS_ID_INDEX}")
    conn.commit()
