import sqlite3
from pathlib import Path

import pytest

from proxies.contract import OriginSettings
from proxies.origin import dataset

SMALL = OriginSettings(projects=6, releases_per_project=2, journal_rows=500, seed=7)


@pytest.fixture(scope="session")
def small_db(tmp_path_factory) -> Path:
    """A small generated data set (SQLite is a file here, not a socket)."""
    cache = tmp_path_factory.mktemp("cache")
    target = tmp_path_factory.mktemp("run") / "origin.sqlite"
    dataset.prepare(cache, target, SMALL)
    return target


@pytest.fixture
def conn(small_db) -> sqlite3.Connection:
    connection = sqlite3.connect(small_db)
    yield connection
    connection.close()
