"""A network namespace of the run's own, for real packet loss.

Loss rules must not touch the host's traffic, so a run with `loss` faults moves the harness's
main thread into a namespace it makes (`ip netns add`); every process it starts afterwards
(Toxiproxy, the nodes, Locust) and every thread it starts is born inside. Loopback there gets
MTU 1500 and no segmentation offloads, so "a packet" is a packet, not a 64 KiB super-frame.
Leaving deletes the namespace and every rule in it. A namespace whose harness was killed is
found by its name (`shieldlab-<pid>-<n>`) and deleted by the next run or `shieldlab down`.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from harness.errors import InfrastructureError
from harness.topology.processes import pid_alive, run_command

PREFIX = "shieldlab-"
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21  # `ip netns add` mounts the namespace; setns needs it too
_NAME = re.compile(rf"^{PREFIX}(?P<pid>\d+)-\d+$")
_counter = itertools.count(1)


def effective_capabilities(status: str) -> int:
    """The CapEff mask of a /proc/<pid>/status text (0 when it cannot be read)."""
    match = re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M)
    return int(match.group(1), 16) if match else 0


def missing_privileges(status: str | None = None) -> str | None:
    """What a loss run lacks here, as the fix to tell the user; None when it has everything."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            status = ""
    effective = effective_capabilities(status)
    lacking = [
        name
        for name, bit in (("CAP_NET_ADMIN", CAP_NET_ADMIN), ("CAP_SYS_ADMIN", CAP_SYS_ADMIN))
        if not effective >> bit & 1
    ]
    if lacking:
        return (
            f"packet loss needs {' and '.join(lacking)} (run as root); "
            "or remove the scenario's `loss` faults"
        )
    for tool, package in (("ip", "iproute2"), ("iptables", "iptables")):
        if shutil.which(tool) is None:
            return f"packet loss needs `{tool}`; install Debian's {package} (`make setup` does)"
    return None


def _enter(fd: int, what: str) -> None:
    """setns(2) for the calling thread (os.setns arrives only in Python 3.12)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        reason = os.strerror(ctypes.get_errno())
        raise InfrastructureError(f"cannot enter network namespace {what}: {reason}")


def names() -> list[str]:
    return sorted(p.name for p in NETNS_DIR.glob(f"{PREFIX}*")) if NETNS_DIR.is_dir() else []


def sweep() -> list[str]:
    """Delete the namespaces of harnesses that no longer run; return their names."""
    removed = []
    for name in names():
        match = _NAME.match(name)
        if match and not pid_alive(int(match["pid"])):
            with contextlib.suppress(InfrastructureError, OSError):
                run_command(["ip", "netns", "delete", name])
                removed.append(name)
    return removed


def _prepare_loopback(name: str) -> None:
    run_command(["ip", "-n", name, "link", "set", "lo", "mtu", "1500"])
    run_command(["ip", "-n", name, "link", "set", "lo", "up"])
    if shutil.which("ethtool") is not None:  # offloads off: one packet per segment on `lo`
        with contextlib.suppress(InfrastructureError):
            run_command(
                [
                    "ip",
                    "netns",
                    "exec",
                    name,
                    "ethtool",
                    "-K",
                    "lo",
                    "tso",
                    "off",
                    "gso",
                    "off",
                    "gro",
                    "off",
                ]
            )


@contextlib.contextmanager
def own_namespace() -> Iterator[str]:
    """The calling thread (and all it starts) inside a new namespace until the block ends."""
    name = f"{PREFIX}{os.getpid()}-{next(_counter)}"
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        run_command(["ip", "netns", "add", name])
        try:
            _prepare_loopback(name)
            target = os.open(NETNS_DIR / name, os.O_RDONLY)
            try:
                _enter(target, name)
            finally:
                os.close(target)
            try:
                yield name
            finally:
                _enter(home, "of the host")
        finally:
            run_command(["ip", "netns", "delete", name])
    finally:
        os.close(home)
