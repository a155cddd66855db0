"""The Docker engine compose mode runs on: one that already answers, or a private `dockerd`.

`make compose-engine` runs `python -m harness.compose.engine start`: if `DOCKER_HOST` or the
default socket answers, that engine is used; otherwise Debian's `docker.io` daemon is started
with its own data root, socket and pid file under the state directory. `stop` stops it and
removes what dockerd leaves behind on the host: its iptables chains and rules and its bridges.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from harness.errors import InfrastructureError, exit_code_of
from harness.topology.control import default_state_dir
from harness.topology.processes import pid_alive, run_command
from harness.waits import time_until, wait_until

DEFAULT_SOCKET = Path("/var/run/docker.sock")
START_TIMEOUT_S = 60.0


def engine_dir(state_dir: Path) -> Path:
    return (state_dir / "engine").resolve()


def private_host(state_dir: Path) -> str:
    return f"unix://{engine_dir(state_dir) / 'docker.sock'}"


def answers(host: str) -> bool:
    """True if a Docker engine answers at `host` (a `unix://` or `tcp://` address)."""
    try:
        done = subprocess.run(
            ["docker", "--host", host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False  # no docker CLI, or an engine that hangs: none that answers
    return done.returncode == 0 and bool(done.stdout.strip())


def existing_engine() -> str | None:
    configured = os.environ.get("DOCKER_HOST")
    if configured:
        return configured if answers(configured) else None
    if DEFAULT_SOCKET.exists() and answers(f"unix://{DEFAULT_SOCKET}"):
        return f"unix://{DEFAULT_SOCKET}"
    return None


def address(state_dir: Path) -> str:
    """The engine compose mode uses now: an existing one, else a private one that runs (under
    `state_dir`, or under the default state directory, where `make compose-engine` puts it)."""
    found = existing_engine()
    if found is not None:
        return found
    for directory in dict.fromkeys([engine_dir(state_dir), engine_dir(default_state_dir())]):
        pid_file = directory / "docker.pid"
        host = f"unix://{directory / 'docker.sock'}"
        if pid_file.exists() and pid_alive(int(pid_file.read_text())) and answers(host):
            return host
    raise InfrastructureError(
        "no Docker engine answers (DOCKER_HOST, /var/run/docker.sock, or a private one started "
        "by `make compose-engine`); start Docker, or run `make compose-engine` as root"
    )


def start(state_dir: Path) -> str:
    """The engine's address: an existing one, or a private dockerd started now."""
    found = existing_engine()
    if found is not None:
        return found
    directory = engine_dir(state_dir)
    host = private_host(state_dir)
    pid_file = directory / "docker.pid"
    if pid_file.exists() and pid_alive(int(pid_file.read_text())) and answers(host):
        return host
    if os.geteuid() != 0:
        raise InfrastructureError(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock) and starting a "
            "private one needs root; start Docker, or run `make compose-engine` as root"
        )
    directory.mkdir(parents=True, exist_ok=True)
    _save_host_settings(directory)
    argv = [
        "dockerd",
        "--data-root", str(directory / "data"),
        "--exec-root", str(directory / "exec"),
        "-H", host,
        "--pidfile", str(pid_file),
    ]  # fmt: skip
    log = directory / "dockerd.log"
    try:
        with open(log, "ab") as out:
            subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives this command; `stop` ends it
            )  # fmt: skip
    except OSError as error:
        raise InfrastructureError(
            f"dockerd: cannot run: {error.strerror}; install Debian's docker.io "
            "(`make compose-engine` does, as root)"
        ) from None
    wait_until(lambda: answers(host), START_TIMEOUT_S, f"dockerd answering (see {log})", 0.5)
    return host


def stop(state_dir: Path) -> bool:
    """Stop the private engine, if one runs; True if one was stopped."""
    pid_file = engine_dir(state_dir) / "docker.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if time_until(lambda: not pid_alive(pid), 30, 0.2) is None:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    remove_host_leftovers()
    _restore_host_settings(engine_dir(state_dir))
    return True


IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
HOST_SETTINGS = "host-before.json"


def _save_host_settings(directory: Path) -> None:
    """dockerd turns on IP forwarding and sets the FORWARD policy to DROP: note both first."""
    if (directory / HOST_SETTINGS).exists():
        return  # an earlier start's record is the one that holds the host's own settings
    policy = run_command(["iptables", "-S", "FORWARD"]).splitlines()[0].split()[-1]
    settings = {"forward_policy": policy, "ip_forward": IP_FORWARD.read_text().strip()}
    (directory / HOST_SETTINGS).write_text(json.dumps(settings))


def _restore_host_settings(directory: Path) -> None:
    path = directory / HOST_SETTINGS
    if not path.exists():
        return
    settings = json.loads(path.read_text())
    run_command(["iptables", "-P", "FORWARD", settings["forward_policy"]])
    IP_FORWARD.write_text(settings["ip_forward"] + "\n")
    path.unlink()


def _is_dockers(rule: str) -> bool:
    return "DOCKER" in rule or "docker0" in rule or " br-" in rule


def remove_host_leftovers() -> None:
    """dockerd leaves its chains, their jumps and its bridges on the host when it stops."""
    for table in ("filter", "nat"):
        rules = run_command(["iptables", "-t", table, "-S"]).splitlines()
        for rule in rules:
            if (
                rule.startswith("-A ")
                and _is_dockers(rule)
                and not rule.split()[1].startswith("DOCKER")
            ):
                run_command(["iptables", "-t", table, "-D", *rule.split()[1:]])
        chains = [r.split()[1] for r in rules if r.startswith("-N DOCKER")]
        for chain in chains:
            run_command(["iptables", "-t", table, "-F", chain])
        for chain in chains:
            run_command(["iptables", "-t", table, "-X", chain])
    links = run_command(["ip", "-o", "link", "show"]).splitlines()
    for line in links:
        name = line.split(":")[1].strip().split("@")[0]
        if name == "docker0" or name.startswith("br-"):
            with contextlib.suppress(InfrastructureError):
                run_command(["ip", "link", "delete", name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the Docker engine for compose mode")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    args = parser.parse_args(argv)

    def act() -> None:
        if args.action == "start":
            print(start(args.state_dir))
        elif stop(args.state_dir):
            print("stopped the private Docker engine and removed its host rules and bridges")
        else:
            print("no private Docker engine was running")

    return exit_code_of(act)


if __name__ == "__main__":
    raise SystemExit(main())
