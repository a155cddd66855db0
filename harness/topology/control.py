"""Controlling a topology across commands: start it detached, stop it, read its state."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from harness.errors import ShieldlabError
from harness.scenario.topology import TopologyConfig
from harness.topology.processes import log_tail, pid_alive
from harness.topology.state import TopologyState, clear_state, live_state, read_state
from harness.topology.supervisor import CONFIG_FILE, refuse_if_running
from harness.waits import time_until, wait_until

SUPERVISOR_LOG = "supervisor.log"


def default_state_dir() -> Path:
    return Path(os.environ.get("SHIELDLAB_STATE_DIR", ".shieldlab"))


def start_detached(config: TopologyConfig, state_dir: Path) -> TopologyState:
    """Run the supervisor as its own process and wait until the topology is healthy."""
    refuse_if_running(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / CONFIG_FILE).write_text(config.model_dump_json())
    log_path = state_dir / SUPERVISOR_LOG
    with open(log_path, "wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "harness.topology.supervisor", "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command; `down` stops it
        )
    written_state: list[TopologyState] = []

    def written() -> bool:
        state = read_state(state_dir)
        if state is not None and state.supervisor_pid == supervisor.pid:
            written_state.append(state)
            return True
        code = supervisor.poll()
        if code is not None:
            last = log_tail(log_path, 1).removeprefix("error: ")
            error = ShieldlabError(last or f"the supervisor exited with code {code}")
            error.exit_code = code if code in (2, 3) else 3
            raise error
        return False

    try:
        wait_until(written, config.startup_timeout_s + 15, f"the topology up (see {log_path})")
    except BaseException:
        stop_supervisor(supervisor.pid)
        raise
    return written_state[0]  # the state the wait saw, not a second read of the file


def stop_supervisor(pid: int, grace_s: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if time_until(lambda: not pid_alive(pid), grace_s) is None:
        os.kill(pid, signal.SIGKILL)  # its children die with it (PR_SET_PDEATHSIG)


def stop(state_dir: Path) -> TopologyState | None:
    """Stop the running topology; returns what was stopped, None if nothing ran."""
    state = read_state(state_dir)
    if state is None:
        return None
    stop_supervisor(state.supervisor_pid)
    leftovers = [pid for pid in state.pids() if pid_alive(pid)]
    for pid in leftovers:  # only if the supervisor could not stop them itself
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    clear_state(state_dir)
    return state


def status(state_dir: Path) -> TopologyState | None:
    return live_state(state_dir)
