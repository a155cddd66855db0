"""Starting a tap (mitmdump in reverse mode with the project's addon) in front of one address.

mitmdump lives in its own environment (`.venv/tap`, made by `make setup`), since mitmproxy pins
versions that Locust's do not allow. A tap is a child of whoever starts it and dies with it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from harness.errors import BadInput, InfrastructureError
from harness.topology.processes import find_program, log_tail, spawn, stop_all
from harness.waits import wait_until

ADDON = Path(__file__).resolve().parent.parent / "tap" / "addon.py"  # run by mitmdump
MITMDUMP_HINT = (
    "run `make setup` (it installs mitmproxy into .venv/tap), "
    "or set SHIELDLAB_MITMDUMP=/path/to/mitmdump"
)
START_TIMEOUT_S = 30.0


def find_mitmdump() -> Path:
    own = Path(sys.prefix) / "tap" / "bin" / "mitmdump"
    return find_program("SHIELDLAB_MITMDUMP", "mitmdump", own, "a mitmdump binary", MITMDUMP_HINT)


@dataclass
class Tap:
    link: str
    process: Popen[bytes]
    port: int
    log_path: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def control_url(self) -> str:
        return f"http://{self.address}"


def tap_argv(
    mitmdump: Path, upstream: str, port: int, ready: Path, confdir: Path, flows: Path | None
) -> list[str]:
    argv = [
        str(mitmdump),
        "--mode",
        f"reverse:http://{upstream}",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(port),
        "--scripts",
        str(ADDON),
        "--quiet",  # no line per flow: it costs CPU on the hot path
        "--set",
        f"confdir={confdir}",
        "--set",
        "keep_host_header=true",
        "--set",
        "connection_strategy=lazy",  # no upstream connection before a request needs one
        "--set",
        f"shieldlab_ready_file={ready}",
    ]
    if flows is not None:
        argv += ["--save-stream-file", str(flows)]
    return argv


def start_taps(
    taps: dict[str, str],
    work_dir: Path,
    cache_dir: Path,
    port: int = 0,
    flows: Path | None = None,
) -> dict[str, Tap]:
    """One tap per link (link -> the address it forwards to), started together; each listens on
    `port` (0: a port the kernel picks) and reports it. Any failure stops them all."""
    if not taps:
        return {}
    mitmdump = find_mitmdump()
    confdir = cache_dir / "mitmproxy"  # its CA, made once: reverse mode to HTTP never uses it
    confdir.mkdir(parents=True, exist_ok=True)
    started: dict[str, tuple[Popen[bytes], Path, Path]] = {}
    try:
        for link, upstream in taps.items():
            slug = link.replace("->", "_to_")
            ready, log = work_dir / f"tap-{slug}.ready", work_dir / f"tap-{slug}.log"
            ready.unlink(missing_ok=True)
            argv = tap_argv(mitmdump, upstream, port, ready, confdir, flows)
            try:
                started[link] = (spawn(argv, log), ready, log)
            except OSError as error:
                raise InfrastructureError(
                    f"{mitmdump}: cannot run: {error.strerror}; {MITMDUMP_HINT}"
                ) from None
        return _wait_ready(started)
    except BaseException:
        stop_all([process for process, _, _ in started.values()])
        raise


def _wait_ready(started: dict[str, tuple[Popen[bytes], Path, Path]]) -> dict[str, Tap]:
    taps: dict[str, Tap] = {}

    def all_ready() -> bool:
        for link, (process, ready, log) in started.items():
            if link in taps:
                continue
            if ready.exists():
                taps[link] = Tap(link, process, int(json.loads(ready.read_text())["port"]), log)
            elif process.poll() is not None:
                raise InfrastructureError(f"the tap on {link} did not start: {_startup_error(log)}")
        return len(taps) == len(started)

    logs = next(iter(started.values()))[2].parent
    wait_until(all_ready, START_TIMEOUT_S, f"the taps started (their logs are in {logs})", 0.02)
    return taps


def _startup_error(log: Path) -> str:
    """mitmdump's own reason, without its timestamp and the advice lines around it."""
    lines = [line for line in log_tail(log, 6).split(" | ") if line]
    reasons = [
        line for line in lines if not line.startswith(("Try specifying", "Error logged during"))
    ]
    reason = reasons[-1] if reasons else f"it exited; see {log}"
    return re.sub(r"^\[[\d:.]+\] ", "", reason)


def export_exchanges(flows: Path, out: Path, cache_dir: Path) -> None:
    """Every exchange of a saved recording as a JSON line in `out` (the addon's export mode)."""
    if not flows.is_file():
        raise BadInput(f"{flows}: no such recording; make one with `shieldlab record`")
    out.write_text("")  # an empty recording exports as no exchanges, not as an error
    argv = [
        str(find_mitmdump()),
        "--no-server",
        "--rfile",
        str(flows),
        "--scripts",
        str(ADDON),
        "--quiet",
        "--set",
        f"confdir={cache_dir / 'mitmproxy'}",
        "--set",
        f"shieldlab_export={out}",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BadInput(
            f"{flows}: not a mitmproxy recording mitmdump can read: "
            f"{reason[-1] if reason else f'exit {done.returncode}'}"
        )


def stop_taps(taps: dict[str, Tap]) -> None:
    stop_all([tap.process for tap in taps.values()])
