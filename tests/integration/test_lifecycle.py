"""Nothing outlives a topology: after `down`, after Ctrl-C of `up`, after `kill -9` of `up`."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.records import files
from harness.records.events import FaultApplied, FaultRemoved, read_events
from harness.records.run_info import RunStatus, read_run_info
from harness.topology.processes import pid_alive
from harness.topology.state import read_state
from tests.integration.conftest import FAST_ORIGIN, both_cdns


@pytest.fixture
def cli(tmp_path):
    config = tmp_path / "topology.yaml"
    config.write_text(yaml.safe_dump({"origin": FAST_ORIGIN, "edges": ["iad", "ams"]}))
    state_dir = tmp_path / "state"

    def run(*args, **kwargs):
        argv = [sys.executable, "-m", "harness.cli", "--state-dir", str(state_dir), *args]
        if args and args[0] in ("up",):
            argv += ["--config", str(config)]
        return argv

    run.state_dir = state_dir  # type: ignore[attr-defined]
    return run


def wait_for_state(state_dir: Path, process: subprocess.Popen, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state(state_dir)
        if state is not None:
            return state
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    raise AssertionError("the topology did not come up")


def wait_gone(pids, timeout_s: float = 10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if pid_alive(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def test_detach_status_down(cli):
    up = subprocess.run(cli("up", "--detach"), capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    status = subprocess.run(cli("status", "--json"), capture_output=True, text=True, timeout=30)
    assert status.returncode == 0
    shown = json.loads(status.stdout)
    assert set(shown["nodes"]) == {"origin", "shield", "edge-iad", "edge-ams"}
    assert set(shown["links"]) == {
        "shield->origin-1",
        "shield->origin-2",
        "shield->mirror",
        "client->edge-iad",
        "edge-iad->shield",
        "edge-iad->origin-1",
        "edge-iad->origin-2",
        "client->edge-ams",
        "edge-ams->shield",
        "edge-ams->origin-1",
        "edge-ams->origin-2",
    }
    assert shown["toxiproxy"]["api"].startswith("http://127.0.0.1:")
    pids = [n["pid"] for n in shown["nodes"].values()] + [
        shown["toxiproxy"]["pid"],
        shown["supervisor_pid"],
    ]
    assert all(pid_alive(pid) for pid in pids)

    again = subprocess.run(cli("up", "--detach"), capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "already running" in again.stderr

    down = subprocess.run(cli("down"), capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert wait_gone(pids) == []
    gone = subprocess.run(cli("status", "--json"), capture_output=True, text=True, timeout=30)
    assert json.loads(gone.stdout) == {"running": False}


def processes_naming(path: Path) -> list[str]:
    """Live processes whose command line names `path` (a Varnish node's varnishd and log
    readers name their working directory under the state dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in argv and pid_alive(int(proc.name)):
            found.append(f"{proc.name}: {argv[:120]}")
    return found


def wait_none_naming(path: Path, timeout_s: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (left := processes_naming(path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@both_cdns
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_nothing_outlives_the_up_process(cli, how, cdn):
    process = subprocess.Popen(
        [*cli("up"), "--cdn", cdn], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        state = wait_for_state(cli.state_dir, process)
        pids = state.pids()
        assert all(pid_alive(pid) for pid in pids)
        if cdn == "varnish":
            # shield and two edges: varnishd (manager and cache), varnishncsa, varnishlog
            assert len(processes_naming(cli.state_dir.resolve())) >= 3 * 4
        os.kill(process.pid, how)
        code = process.wait(timeout=30)
        assert code == (0 if how == signal.SIGINT else -signal.SIGKILL)
        assert wait_gone(pids) == []
        assert wait_none_naming(cli.state_dir.resolve()) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # A second `up` works at once, even after kill -9 left a stale state file behind.
    second = subprocess.run(cli("up", "--detach"), capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    state = read_state(cli.state_dir)
    assert state is not None
    assert subprocess.run(cli("down"), timeout=60).returncode == 0
    assert wait_gone(state.pids() + [state.supervisor_pid]) == []


def test_a_missing_toxiproxy_binary_is_one_clear_line_and_exit_3(cli):
    env = {**os.environ, "TOXIPROXY_SERVER": "/nonexistent/toxiproxy-server"}
    result = subprocess.run(
        cli("up", "--detach"), capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(
        "error: TOXIPROXY_SERVER=/nonexistent/toxiproxy-server: not an executable"
    )
    assert "Traceback" not in result.stderr
    assert read_state(cli.state_dir) is None


def test_a_varnish_topology_without_varnish_is_one_clear_line_and_exit_3(cli, tmp_path):
    env = {**os.environ, "SHIELDLAB_VARNISH_PATH": str(tmp_path)}  # an empty directory
    result = subprocess.run(
        [*cli("up", "--detach"), "--cdn", "varnish"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: varnishd not found: the varnish CDN needs Debian's varnish")
    assert "Traceback" not in result.stderr
    assert read_state(cli.state_dir) is None


def test_a_broken_config_file_is_exit_2_and_starts_nothing(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin:\n  worker_slot: 3\n")
    argv = [a for a in cli("up") if a != "up"]
    argv = argv[: argv.index("--config")] + ["up", "--config", str(bad)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{bad}: origin.worker_slot: unknown setting" in result.stderr
    assert "did you mean 'worker_slots'" in result.stderr
    assert read_state(cli.state_dir) is None


def test_ctrl_c_during_a_run_removes_faults_keeps_records_and_leaves_nothing(tmp_path):
    state_dir, results = tmp_path / "state", tmp_path / "results"
    argv = [
        sys.executable,
        "-m",
        "harness.cli",
        "--state-dir",
        str(state_dir),
        "run",
        "shield-origin-latency",
        "--duration",
        "60",
        "--out",
        str(results),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        events = None
        while time.monotonic() < deadline:
            found = list(results.glob(".*.partial/events.jsonl"))
            if found and '"fault_applied"' in found[0].read_text():
                events = found[0]
                break
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.2)
        assert events is not None, "the fault was never applied"
        state = read_state(state_dir)
        assert state is not None
        run_json = json.loads((events.parent / "run.json").read_text())
        children = child_pids(process.pid)  # the nodes, Toxiproxy and Locust
        assert len(children) >= len(state.pids()) + 1
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "interrupted; faults removed" in stderr
    (kept,) = results.glob("*.interrupted")
    assert read_run_info(kept / files.RUN_FILE).status == RunStatus.INTERRUPTED
    events_kept = read_events(kept / files.EVENTS_FILE)
    assert [e.event for e in events_kept if isinstance(e, FaultApplied | FaultRemoved)] == [
        "fault_applied",
        "fault_removed",
    ]
    assert wait_gone(state.pids() + children) == []
    assert read_state(state_dir) is None
    assert run_json["scenario"] == "shield-origin-latency"


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def test_kill_9_of_a_run_leaves_nothing_running_and_down_keeps_its_records(tmp_path):
    state_dir, results = tmp_path / "state", tmp_path / "results"
    harness = [sys.executable, "-m", "harness.cli", "--state-dir", str(state_dir)]
    argv = [*harness, "run", "shield-origin-latency", "--duration", "60", "--out", str(results)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            found = list(results.glob(".*.partial/events.jsonl"))
            if found and '"fault_applied"' in found[0].read_text():
                break
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.2)
        else:
            raise AssertionError("the fault was never applied")
        state = read_state(state_dir)
        assert state is not None
        children = child_pids(process.pid)
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert wait_gone(state.pids() + children) == []  # the kernel took the children down
    (partial,) = results.glob(".*.partial")

    down = subprocess.run(
        [*harness, "down", "--results", str(results)], capture_output=True, text=True, timeout=60
    )
    assert down.returncode == 0, down.stderr
    kept = results / (partial.name[1 : -len(".partial")] + ".interrupted")
    assert f"kept as {kept}" in " ".join(down.stderr.split())
    assert not partial.exists() and kept.is_dir()
    info = read_run_info(kept / files.RUN_FILE)
    assert info.status == RunStatus.INTERRUPTED and "killed" in (info.error or "")
