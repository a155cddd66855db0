"""The gate for real: a fragile change fails it, a broken lab voids it, bad input stops it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from junitparser import Failure, JUnitXml

from harness.records import files
from harness.records.events import ProcessFailed, read_events
from harness.records.run_info import RunStatus, read_run_info
from harness.topology.processes import pid_alive
from harness.topology.state import read_state


def shieldlab(tmp: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "--state-dir", str(tmp / "state"), *args]


def test_a_fragile_change_fails_the_gate_and_junit_names_the_expectation(tmp_path):
    junit = tmp_path / "junit.xml"
    argv = shieldlab(
        tmp_path, "gate", "ci-fragile", "--junit", str(junit), "--out", str(tmp_path / "gate")
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-2000:]
    (suite,) = JUnitXml.fromfile(str(junit))
    assert suite.name == "gate-shield-origin-fragile"
    failed = {case.name: case.result[0] for case in suite if not case.is_passed}
    errors = failed["no errors while the backend network is slow < 0.01"]
    assert isinstance(errors, Failure) and errors.message.startswith("measured ")
    measured = float(errors.message.split()[1].rstrip(","))
    assert measured > 0.05  # every shield miss times out after 1 s
    run_dir = Path({p.name: p.value for p in suite.properties()}["run_dir"])
    assert read_run_info(run_dir / files.RUN_FILE).status == RunStatus.COMPLETE
    assert "FAILED" in (tmp_path / "gate" / "gate.md").read_text()


def break_a_node_mid_run(tmp_path: Path, how: signal.Signals) -> tuple[int, str, Path, list[int]]:
    """Run a scenario, send the shield `how` once traffic flows; (exit code, stderr, run, pids)."""
    results = tmp_path / "results"
    argv = shieldlab(
        tmp_path, "run", "shield-origin-latency", "--duration", "60", "--out", str(results)
    )
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        state = None
        while time.monotonic() < deadline:
            state = read_state(tmp_path / "state")
            if state is not None and list(results.glob(f".*.partial/{files.SAMPLES_FILE}")):
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.2)
        assert state is not None, "the topology never came up"
        time.sleep(3)  # into the traffic
        os.kill(state.nodes["shield"].pid, how)
        _, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    (failed,) = results.glob("*.failed")
    assert not list(results.glob("*/" + files.SUMMARY_FILE))  # never reported as a result
    return process.returncode, stderr, failed, state.pids()


def test_a_node_killed_mid_run_makes_the_run_failed_and_exit_3(tmp_path):
    code, stderr, failed, pids = break_a_node_mid_run(tmp_path, signal.SIGKILL)
    assert code == 3, stderr[-2000:]
    assert "shield (pid" in stderr and "died" in stderr and "void" in stderr
    info = read_run_info(failed / files.RUN_FILE)
    assert info.status == RunStatus.FAILED and "shield" in (info.error or "")
    assert any(isinstance(e, ProcessFailed) for e in read_events(failed / files.EVENTS_FILE))
    assert [pid for pid in pids if pid_alive(pid)] == []


def test_a_node_that_stops_answering_voids_the_run(tmp_path):
    code, stderr, failed, pids = break_a_node_mid_run(tmp_path, signal.SIGSTOP)
    assert code == 3, stderr[-2000:]
    assert "shield stopped answering" in stderr
    (event,) = [e for e in read_events(failed / files.EVENTS_FILE) if isinstance(e, ProcessFailed)]
    assert event.process == "shield" and "no answer" in event.detail
    assert [pid for pid in pids if pid_alive(pid)] == []


def test_a_gate_whose_toxiproxy_cannot_start_exits_3(tmp_path):
    env = {**os.environ, "TOXIPROXY_SERVER": "/bin/false"}
    argv = shieldlab(
        tmp_path, "gate", "ci", "--out", str(tmp_path / "gate"), "--junit", str(tmp_path / "j.xml")
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "VOID" in result.stdout
    (suite,) = JUnitXml.fromfile(str(tmp_path / "j.xml"))
    assert all(case.result and case.result[0].type == "infrastructure" for case in suite)


def test_a_suite_naming_a_broken_scenario_exits_2_before_anything_starts(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: broken\ndescription: d\nhypothesis: h\n"
        "faults: [{kind: latency, at: 1, link: 'shield->orign', latency_ms: 5}]\n"
    )
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: t\nscenarios:\n  - {{scenario: {broken}}}\n")
    result = subprocess.run(
        shieldlab(tmp_path, "gate", str(suite), "--out", str(tmp_path / "gate")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "scenarios[0]" in line and "did you mean 'shield->origin'" in line
    assert not (tmp_path / "state").exists() and not (tmp_path / "gate" / "runs").exists()
