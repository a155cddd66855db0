"""Compose mode for real: a short scenario on containers under the Docker engine `make test`
starts, Locust as a master and two worker containers, and nothing labelled left after."""

import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.analysis.diagnose import diagnose
from harness.compose import engine
from harness.compose.project import SERVICE_LABEL
from harness.compose.spec import LABEL, OWNER_LABEL
from harness.records import files
from harness.records.run_info import Mode, RunStatus, read_run_info
from harness.records.summary import WindowPhase
from harness.scenario.traffic import Layer
from harness.topology.control import default_state_dir
from tests.integration.conftest import shieldlab_run, window


def labelled(client: docker.DockerClient) -> list[str]:
    filters = {"label": LABEL}
    return (
        [c.name for c in client.containers.list(all=True, filters=filters)]
        + [n.name for n in client.networks.list(filters=filters)]
        + [v.name for v in client.volumes.list(filters=filters)]
    )


@pytest.fixture(scope="module")
def client():
    found = docker.DockerClient(base_url=engine.address(default_state_dir()), version="auto")
    yield found
    found.close()


@pytest.fixture(scope="module")
def compose_run(tmp_path_factory, client) -> Path:
    tmp = tmp_path_factory.mktemp("compose")
    return shieldlab_run(tmp, "shield-origin-latency", "--mode", "compose", "--workers", "2")


def test_latency_on_shield_to_origin_gives_shield_made_503s_as_in_local_mode(compose_run):
    info = read_run_info(compose_run / files.RUN_FILE)
    assert info.status == RunStatus.COMPLETE
    assert info.topology is not None and info.topology.mode == Mode.COMPOSE
    before = window(compose_run, WindowPhase.BEFORE)
    during = window(compose_run, WindowPhase.DURING, "latency shield->origin")
    assert before.error_ratio < 0.01
    assert during.error_ratio > 0.05
    assert during.errors_by_status.get(503, 0) > 0
    # As in local mode: the shield's 503s, and the edges' when the shield's silent retry on a
    # reused connection holds a request past the edge's own 15 s; never the backend's.
    assert set(during.errors_by_layer) <= {Layer.SHIELD, Layer.EDGE}
    assert during.errors_by_layer


def test_diagnose_names_the_faulty_segment_as_in_local_mode(compose_run):
    result = diagnose(compose_run)
    assert "shield->origin" in result.segments, result.findings


def test_both_workers_records_reach_requests_csv(compose_run):
    parts = read_run_info(compose_run / files.RUN_FILE).load_parts
    assert len(parts) == 3  # the master (no users, no records) and two workers
    assert sorted(count > 0 for count in parts.values()) == [False, True, True], parts
    lines = (compose_run / files.REQUESTS_FILE).read_text().splitlines()
    assert len(lines) - 1 == sum(parts.values())
    assert (compose_run / "locust-worker-1.log").exists()
    assert (compose_run / "locust-worker-2.log").exists()


def test_nothing_with_the_projects_label_is_left(compose_run, client):
    assert labelled(client) == []


def test_a_killed_harness_leaves_containers_that_down_removes(tmp_path, client):
    """`kill -9` of the harness cannot clean up; `down --mode compose` (or the next run)
    removes what carries the label, and spares nothing of it."""
    state = tmp_path / "state"
    argv = [
        sys.executable, "-m", "harness.cli", "--state-dir", str(state), "run",
        "shield-origin-latency", "--duration", "60", "--out", str(tmp_path / "results"),
        "--mode", "compose",
    ]  # fmt: skip
    harness = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Killed once its load runs: no `docker compose` command of its own is still at work.
        master = {"label": [f"{OWNER_LABEL}={harness.pid}", f"{SERVICE_LABEL}=locust-master"]}
        deadline = time.monotonic() + 180
        while not client.containers.list(filters=master):
            assert harness.poll() is None, "the harness ended before its load started"
            assert time.monotonic() < deadline, "no Locust container after 180 s"
            time.sleep(0.5)
    finally:
        harness.kill()
        harness.wait()
    assert labelled(client)  # left behind by the killed harness
    down = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--state-dir", str(state), "down", "--mode", "compose"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert "removed container shieldlab-origin-1" in down.stdout
    assert labelled(client) == []


def test_varnish_cdn_nodes_run_in_their_own_image_on_compose(tmp_path, client):
    run = shieldlab_run(tmp_path, "gate-shield-origin", "--mode", "compose", "--cdn", "varnish")
    info = read_run_info(run / files.RUN_FILE)
    assert info.status == RunStatus.COMPLETE
    assert info.topology is not None and info.topology.mode == Mode.COMPOSE
    assert info.topology.cdn == "varnish"
    before = window(run, WindowPhase.BEFORE)
    assert before.error_ratio < 0.01 and before.hit_ratio[Layer.EDGE] > 0.2
    during = window(run, WindowPhase.DURING)
    assert during.latency["pip"].p95_ms > 900  # the 1 s slowdown reached the misses
    records = (run / files.REQUESTS_FILE).read_text()
    assert "HIT" in records and '"shield, edge-' in records  # X-Served-By from both Varnishes
    assert labelled(client) == []
