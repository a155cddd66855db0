"""Keeping a topology up until told to stop, then tearing it down, whatever happens.

`shieldlab up` runs this in its own process; `shieldlab up --detach` runs it as a separate
process (`python -m harness.topology.supervisor`) that `shieldlab down` signals.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from harness.errors import BadInput, ShieldlabError, exit_code_of
from harness.scenario.topology import TopologyConfig
from harness.topology.launcher import Launcher, Report
from harness.topology.recordings import clear_recordings, sweep_recordings
from harness.topology.state import TopologyState, clear_state, live_state, write_state

CONFIG_FILE = "config.json"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stop signal arrived (SIGTERM, SIGHUP); handled like Ctrl-C."""


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def refuse_if_running(state_dir: Path) -> None:
    running = live_state(state_dir)
    if running is not None:
        raise BadInput(
            f"{state_dir}: a topology is already running (supervisor pid {running.supervisor_pid}); "
            "run `shieldlab down` first, or pass another --state-dir"
        )


@contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """For a teardown: a second Ctrl-C or SIGTERM must not cut it short."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def topology_up(
    config: TopologyConfig, state_dir: Path, report: Report, taps: list[str] | None = None
) -> Iterator[TopologyState]:
    """The topology, up and healthy, for the duration of a `with` block; torn down after it.
    `taps`: links that get a mitmproxy tap."""
    refuse_if_running(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(config, state_dir / "work", taps=taps)
    try:
        state = launcher.start(os.getpid(), report)
        write_state(state_dir, state)
        yield state
    finally:
        with stop_signals_ignored():
            report("tearing down")
            launcher.stop()
            clear_recordings(state_dir)
            clear_state(state_dir)


def supervise(
    config: TopologyConfig,
    state_dir: Path,
    report: Report,
    on_ready: Callable[[TopologyState], None],
) -> None:
    """Bring the topology up, wait for Ctrl-C / SIGTERM or a node's death, tear it all down."""
    previous = {s: signal.signal(s, _raise_stopped) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with topology_up(config, state_dir, report) as state:
            on_ready(state)
            _watch(state, state_dir, report)
    except (KeyboardInterrupt, Stopped):
        pass  # a requested stop: the teardown above has run
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _watch(state: TopologyState, state_dir: Path, report: Report) -> None:
    while True:
        time.sleep(0.5)
        dead = state.dead_process()
        if dead is not None:
            raise ShieldlabError(f"{dead} died; its log is in {state.work_dir}; tearing down")
        for link in sweep_recordings(state.toxiproxy.api, state_dir):
            report(f"restored {link}: the `shieldlab record` that tapped it was killed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="keep one shieldlab topology up (used by `up --detach`)"
    )
    parser.add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    def keep_up() -> None:
        config = TopologyConfig.model_validate_json((args.state_dir / CONFIG_FILE).read_text())
        supervise(
            config,
            args.state_dir,
            lambda m: print(m, flush=True),
            lambda _s: print("ready", flush=True),
        )

    return exit_code_of(keep_up)


if __name__ == "__main__":
    raise SystemExit(main())
