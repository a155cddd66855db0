"""One `varnishd` and its log readers, tied to this process's life.

varnishd runs in the foreground (`-F`) with its own working directory (`-n`), no jail, a small
malloc store and one thread pool (2 cores); the kernel kills it if this process dies
(PR_SET_PDEATHSIG), and its cache process dies with it, so a `kill -9` leaves nothing. It binds
its ports itself (port 0 unless fixed) and says which with `debug.listen_address`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAIN_SOCKET = "main"
ADMIN_SOCKET = "admin"  # purges: `local.socket == "admin"` in the VCL
_PR_SET_PDEATHSIG = 1
# Assumption: no more requests wait in one node than this (the lab's loads stay in the
# hundreds); Varnish's default of 5000 threads per pool is sized for big machines.
THREAD_POOL_MAX = 1000


# Where the Varnish programs are looked for when set (the harness uses the same rule).
PATH_VARIABLE = "SHIELDLAB_VARNISH_PATH"
DEBIAN_PATH = "/usr/sbin:/usr/bin"  # /usr/sbin is not on every user's PATH


def program(name: str) -> str:
    """A Varnish program: in $SHIELDLAB_VARNISH_PATH if set, else on the PATH or where
    Debian puts it."""
    configured = os.environ.get(PATH_VARIABLE)
    if configured is not None:
        found = shutil.which(name, path=configured)
    else:
        found = shutil.which(name) or shutil.which(name, path=DEBIAN_PATH)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install Debian's varnish (make system-packages)"
        )
    return found


def _die_with_parent() -> None:
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def spawn_tied(argv: list[str], stdout: Any) -> subprocess.Popen[bytes]:
    """A child the kernel kills when this process dies. Call from the main thread."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - nothing else runs threads yet
    )


def stop_tied(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; returns once the process is gone."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class DaemonSettings:
    work_dir: Path
    vcl: Path
    host: str
    port: int  # 0: the kernel picks
    admin_port: int
    storage_bytes: int
    idle_timeout_s: float  # how long an idle backend connection is kept


def varnishd_argv(settings: DaemonSettings) -> list[str]:
    return [
        program("varnishd"),
        "-F",
        "-n", str(settings.work_dir),
        "-a", f"{MAIN_SOCKET}={settings.host}:{settings.port}",
        "-a", f"{ADMIN_SOCKET}={settings.host}:{settings.admin_port}",
        "-T", "127.0.0.1:0",
        "-S", "none",
        "-j", "none",
        "-s", f"malloc,{max(settings.storage_bytes, 8 * 1024 * 1024)}",
        "-f", str(settings.vcl),
        "-p", "thread_pools=1",
        "-p", f"thread_pool_max={THREAD_POOL_MAX}",
        # Varnish 2.1 had no holddown: a failed connection is tried again at once.
        "-p", "backend_local_error_holddown=0",
        "-p", "backend_remote_error_holddown=0",
        "-p", f"backend_idle_timeout={settings.idle_timeout_s:.6g}",
    ]  # fmt: skip


def parse_listen_addresses(text: str) -> dict[str, int]:
    """`debug.listen_address` output ("main 127.0.0.1 43661" per line) -> name: port."""
    ports = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit():
            ports[fields[0]] = int(fields[2])
    return ports


class Varnishd:
    def __init__(self, settings: DaemonSettings, log: Any) -> None:
        self.settings = settings
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float) -> dict[str, int]:
        """Start varnishd; its main and admin ports once both listen."""
        shutil.rmtree(self.settings.work_dir, ignore_errors=True)
        self.process = spawn_tied(varnishd_argv(self.settings), self._log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"varnishd exited with {self.process.returncode}")
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                ports = parse_listen_addresses(self.admin("debug.listen_address"))
                if MAIN_SOCKET in ports and ADMIN_SOCKET in ports:
                    return ports
            time.sleep(0.05)
        raise RuntimeError(f"varnishd did not listen within {timeout_s:.0f} s")

    def admin(self, *command: str) -> str:
        done = subprocess.run(
            [program("varnishadm"), "-n", str(self.settings.work_dir), "-t", "2", *command],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return done.stdout

    def counters(self) -> dict[str, Any]:
        done = subprocess.run(
            [program("varnishstat"), "-n", str(self.settings.work_dir), "-j"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return dict(json.loads(done.stdout).get("counters", {}))

    def backends(self) -> dict[str, Any]:
        reply = json.loads(self.admin("backend.list", "-j"))
        return dict(reply[3]) if len(reply) > 3 else {}  # [version, command, time, backends]

    def stop(self) -> None:
        if self.process is None:
            return
        stop_tied(self.process, grace_s=5.0)
        shutil.rmtree(self.settings.work_dir, ignore_errors=True)
