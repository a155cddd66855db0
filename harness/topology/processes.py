"""Starting and stopping child processes so that none outlives the harness.

Each child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), so even a
`kill -9` of the harness leaves nothing running. Children get their own session, so a Ctrl-C
at the terminal reaches only the harness, which then stops them in order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import InfrastructureError

_PR_SET_PDEATHSIG = 1


# The lab's nodes run at a lower CPU priority than the load generator: on 2 cores a busy origin
# (a mirror storm) would otherwise starve Locust, whose arrivals then start late and the run is
# void. The nodes' capacity is modelled (worker slots, timeouts), not the host's CPU, so what
# they measure does not change; the load generator, the instrument, keeps its schedule.
LAB_NICENESS = 10


def _die_with(parent_pid: int, niceness: int) -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
        if niceness:
            os.nice(niceness)

    return preexec


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, niceness: int = 0
) -> subprocess.Popen[bytes]:
    """Start a child tied to this process's lifetime; its output goes to `log_path`.
    `niceness`: how much lower its CPU priority is than this process's (LAB_NICENESS for
    the lab's nodes).

    Call from the main thread: the death signal follows the thread that forked.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with(os.getpid(), niceness),  # noqa: PLW1509 - fork safety is fine here
            env=env,
        )


def stop_all(processes: list[subprocess.Popen[bytes]], grace_s: float = 3.0) -> None:
    """SIGTERM every process, wait up to `grace_s`, then SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)


def pid_alive(pid: int) -> bool:
    """True if `pid` is a live process (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def find_program(variable: str, name: str, own: Path, what: str, hint: str) -> Path:
    """A program: the path in the environment variable `variable` if set (it must be
    executable), else the project's own build at `own`, else `name` on the PATH."""
    configured = os.environ.get(variable)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise InfrastructureError(
            f"{variable}={configured}: not an executable file; unset it to use the "
            f"project's own, or point it at {what}"
        )
    for candidate in (own, shutil.which(name)):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise InfrastructureError(f"{name} not found: {hint}")


def free_port() -> int:
    """A port on 127.0.0.1 free now (whoever binds it next may still race for it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def run_command(argv: list[str], timeout_s: float = 20.0) -> str:
    """Run a short system command (ip, iptables); its stdout, or one clear error."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InfrastructureError(f"{' '.join(argv)}: {error}") from None
    if done.returncode != 0:
        raise InfrastructureError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout
