import hashlib
import io
import sqlite3
import zipfile

from proxies.origin import dataset, queries
from proxies.origin.wheels import build_wheel, normalize, wheel_filename
from tests.unit.conftest import SMALL


def test_generation_is_deterministic(tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    dataset.generate(a, SMALL)
    dataset.generate(b, SMALL)
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(a) == dump(b)


def test_a_different_seed_gives_different_data(tmp_path):
    dataset.generate(tmp_path / "a.sqlite", SMALL)
    dataset.generate(tmp_path / "b.sqlite", SMALL.model_copy(update={"seed": 8}))
    names = lambda p: queries.project_names(sqlite3.connect(p))  # noqa: E731
    assert names(tmp_path / "a.sqlite") != names(tmp_path / "b.sqlite")


def test_sizes_follow_the_settings(conn):
    assert len(queries.project_names(conn)) == 6
    assert queries.last_serial(conn) == 500
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 12


def test_wheels_are_deterministic_and_their_record_hashes_are_right():
    data = build_wheel("quick-parser", "1.0.0", "demo")
    assert data == build_wheel("quick-parser", "1.0.0", "demo")
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        names = wheel.namelist()
        assert "quick_parser/__init__.py" in names
        record = wheel.read("quick_parser-1.0.0.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.split(",")
            if not digest:
                continue
            content = wheel.read(path)
            assert int(size) == len(content)
            import base64

            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode()
    assert wheel_filename("Quick.Parser", "1.0") == "quick_parser-1.0-py3-none-any.whl"
    assert normalize("Quick_Parser.x") == "quick-parser-x"


def test_stored_hash_matches_the_file(conn):
    for content, sha in conn.execute("SELECT content, sha256 FROM files"):
        assert hashlib.sha256(content).hexdigest() == sha


def test_index_switch_adds_and_drops_the_real_index(small_db):
    dataset.set_journals_id_index(small_db, True)
    plan = (
        sqlite3.connect(small_db)
        .execute("EXPLAIN QUERY PLAN SELECT * FROM journals WHERE id > 5")
        .fetchall()
    )
    assert any(dataset.JOURNALS_ID_INDEX in str(row) for row in plan)
    dataset.set_journals_id_index(small_db, False)
    plan = (
        sqlite3.connect(small_db)
        .execute("EXPLAIN QUERY PLAN SELECT * FROM journals WHERE id > 5")
        .fetchall()
    )
    assert any("SCAN journals" in str(row) for row in plan)


def test_publish_release_adds_a_serial(small_db, tmp_path):
    import shutil
    from datetime import UTC, datetime

    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(small_db, copy)  # publishing commits; keep the shared data set untouched
    conn = sqlite3.connect(copy)
    before = queries.last_serial(conn)
    name = queries.project_names(conn)[0]
    serial = dataset.publish_release(conn, name, "99.0.0", datetime(2014, 7, 20, tzinfo=UTC), SMALL)
    assert serial == before + 1
    assert queries.project_serial(conn, name) == serial
    assert any(f.version == "99.0.0" for f in queries.files(conn, name))


def test_file_sizes_are_heavy_tailed_fixed_per_release_and_capped():
    from proxies.contract import OriginSettings

    settings = OriginSettings()
    sizes = sorted(dataset.file_size_bytes(settings, f"p{i}", "1.0") for i in range(2000))
    median_kb = sizes[len(sizes) // 2] / 1024
    assert 18 < median_kb < 35  # 25 KB: the 2013 crawl's fit
    assert sizes[-1] > 1024 * 1024  # a tail of many-MB files
    assert max(sizes) <= settings.file_size_max_kb * 1024
    assert dataset.file_size_bytes(settings, "p1", "1.0") == dataset.file_size_bytes(
        settings, "p1", "1.0"
    )


def test_a_sized_wheel_is_as_large_as_asked_and_still_a_valid_wheel():
    data = build_wheel("quick-parser", "1.0.0", "demo", payload_bytes=300_000)
    assert 300_000 < len(data) < 302_000  # the noise is stored, not compressed
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        assert wheel.testzip() is None
        assert "quick_parser/_payload.bin" in wheel.namelist()
