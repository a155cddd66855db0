"""Recording real clients through a tap, turning the recording into a mix, and replaying it."""

import collections
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from harness.load.pip_client import pip_install
from harness.load.recording import make_mix, read_exchanges, recording, write_mix
from harness.records import files
from harness.records.request import read_requests
from harness.scenario import topology_plan as plan
from harness.topology.state import read_state
from harness.topology.taps import export_exchanges
from proxies import contract
from proxies.contract import EndpointClass
from tests.integration.conftest import shieldlab_run

LINK = plan.client_link("iad")


def upstream_of(state, link):
    api = httpx.get(f"{state.toxiproxy.api}/proxies/{state.links[link].proxy}", timeout=5)
    return api.json()["upstream"]


@pytest.fixture(scope="module")
def pip_recording(tmp_path_factory):
    """Two real `pip install` runs through POP iad, recorded on its client link."""
    from harness.scenario.topology import load_topology
    from harness.topology.supervisor import topology_up
    from tests.integration.conftest import FAST_ORIGIN

    tmp = tmp_path_factory.mktemp("recording")
    out = tmp / "pip.mitm"
    config = load_topology(None, {"origin": FAST_ORIGIN})
    with topology_up(config, tmp / "state", lambda _m: None) as state:
        index = httpx.get(
            state.client_url("iad") + "/simple/", headers={"Accept": contract.PEP691_JSON}
        ).json()
        names = [p["name"] for p in index["projects"][:3]]
        with recording(state, tmp / "state", LINK, out) as tap:
            assert upstream_of(state, LINK) == tap.address
            for run in (names[:1], names[1:]):
                done = pip_install(
                    state.client_url("iad") + "/simple/", run[0], tmp / "t", *run[1:]
                )
                assert done.returncode == 0, done.stderr[-2000:]
                time.sleep(6)  # longer than the session gap: two sessions
        restored = upstream_of(state, LINK)
        assert restored == state.links[LINK].upstream
        assert not list((tmp / "state").glob("recording-*.json"))
    assert not out.with_name(out.name + ".partial").exists()
    return out, names


def test_a_recording_of_a_real_pip_install_holds_its_simple_pages_and_files(
    pip_recording, tmp_path
):
    out, names = pip_recording
    export_exchanges(out, tmp_path / "x.jsonl", tmp_path)
    exchanges = read_exchanges(tmp_path / "x.jsonl")
    got = {
        (e.endpoint, e.path.split("/")[2] if e.endpoint == EndpointClass.SIMPLE_PROJECT else "")
        for e in exchanges
    }
    for name in names:
        assert (EndpointClass.SIMPLE_PROJECT, name) in got
    downloads = [e for e in exchanges if e.endpoint == EndpointClass.PACKAGE_FILE]
    assert len(downloads) == len(names) and all(e.status == 200 for e in downloads)
    assert all(e.user_agent.startswith("pip/") for e in exchanges)


def test_a_workload_from_a_recording_replays_with_the_recorded_endpoint_shares(
    pip_recording, tmp_path
):
    out, names = pip_recording
    mix = make_mix(out, "pip-recorded")
    assert len(mix.sessions) == 2 and [s.projects for s in mix.sessions] == [1, 2]
    write_mix(mix, tmp_path / "pip-recorded.yaml")
    scenario = {
        "name": "replay",
        "description": "d",
        "hypothesis": "h",
        # A small serial log (the changelog call answers in milliseconds, not the 2014 full
        # scan): the shares are about the replay, and slow sessions would leave more of them
        # cut off half-way at the end of a 20 s run.
        "topology": {"time_scale": 60, "origin": {"journal_rows": 100_000}},
        "load": {
            "duration_s": 20,
            "pip": {"installs_per_s": 0},
            "browser": {"visits_per_s": 0},
            "mirrors": [],
            "mixes": [
                {"mix": "pip-recorded.yaml", "sessions_per_s": 5},
                {"mix": "bandersnatch-sync", "sessions_per_s": 1},  # the shipped one: XML-RPC too
            ],
        },
    }
    (tmp_path / "replay.yaml").write_text(yaml.safe_dump(scenario))
    run_dir = shieldlab_run(tmp_path, str(tmp_path / "replay.yaml"))
    records = read_requests(run_dir / files.REQUESTS_FILE)
    shipped = yaml.safe_load(mix_path("bandersnatch-sync").read_text())["endpoint_shares"]
    for name, recorded in (("pip-recorded", mix.endpoint_shares), ("bandersnatch-sync", shipped)):
        replayed = [r for r in records if r.traffic == name]
        assert len(replayed) > 40 and not any(r.is_error for r in replayed)
        counts = collections.Counter(r.endpoint for r in replayed)
        for endpoint, share in recorded.items():
            assert counts[endpoint] / len(replayed) == pytest.approx(share, rel=0.10), endpoint


def mix_path(name):
    from harness.scenario.mix import MIX_DIR

    return MIX_DIR / f"{name}.yaml"


@pytest.fixture
def detached(tmp_path):
    from tests.integration.conftest import FAST_ORIGIN

    config = tmp_path / "topology.yaml"
    config.write_text(yaml.safe_dump({"origin": FAST_ORIGIN, "edges": ["iad"]}))
    state_dir = tmp_path / "state"
    base = [sys.executable, "-m", "harness.cli", "--state-dir", str(state_dir)]
    up = subprocess.run(
        [*base, "up", "--detach", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr
    yield base, state_dir
    subprocess.run([*base, "down"], capture_output=True, timeout=60)


def test_kill_9_of_a_recording_restores_the_link_and_leaves_no_tap(detached, tmp_path):
    base, state_dir = detached
    state = read_state(state_dir)
    record = subprocess.Popen(
        [*base, "record", "--link", LINK, "--out", str(tmp_path / "r.mitm")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = state_dir / "recording-client_to_edge-iad.json"
    deadline = time.monotonic() + 30
    while upstream_of(state, LINK) == state.links[LINK].upstream:
        assert time.monotonic() < deadline and record.poll() is None, record.stderr.read()
        time.sleep(0.1)
    tap_port = int(upstream_of(state, LINK).rsplit(":", 1)[1])
    os.kill(record.pid, signal.SIGKILL)
    record.wait()
    deadline = time.monotonic() + 10  # the supervisor's watch runs twice a second
    while upstream_of(state, LINK) != state.links[LINK].upstream:
        assert time.monotonic() < deadline, "the link still points at the dead tap"
        time.sleep(0.1)
    assert not marker.exists() and not (tmp_path / "r.mitm.partial").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", tap_port)) != 0  # the tap died with its owner
    assert httpx.get(state.client_url("iad") + "/simple/", timeout=10).status_code == 200


def test_record_refuses_a_taken_port_an_unknown_link_and_no_topology(detached, tmp_path):
    base, state_dir = detached
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        argv = [*base, "record", "--link", LINK, "--out", str(tmp_path / "r.mitm"), "--port", port]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 3 and len(lines) == 1
    assert lines[0].startswith(f"error: the tap on {LINK} did not start:")
    assert "address already in use" in lines[0]
    state = read_state(state_dir)
    assert upstream_of(state, LINK) == state.links[LINK].upstream
    assert not list(tmp_path.glob("r.mitm*"))

    unknown = subprocess.run(
        [*base, "record", "--link", "client->edge-iab", "--out", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2
    assert "did you mean 'client->edge-iad'" in unknown.stderr

    other = [sys.executable, "-m", "harness.cli", "--state-dir", str(tmp_path / "none")]
    none = subprocess.run(
        [*other, "record", "--link", LINK, "--out", "x"], capture_output=True, text=True, timeout=60
    )
    assert none.returncode == 3 and "no topology is running" in none.stderr


def test_workload_of_a_file_that_is_not_a_recording_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "not.mitm"
    bad.write_text("hello")
    argv = [
        sys.executable,
        "-m",
        "harness.cli",
        "workload",
        str(bad),
        "--out",
        str(tmp_path / "m.yaml"),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: not a mitmproxy recording")
    assert not (tmp_path / "m.yaml").exists()
