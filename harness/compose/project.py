"""One compose project on a Docker engine: the Compose CLI for up, down and scale, the `docker`
SDK for what the Engine API answers (ports, pids, state, logs, clean-up by label).

Everything the project makes carries the project label, and a run's own things also its
harness's pid: the sweep removes what a killed harness left (its pid no longer runs) and never
touches a live run's containers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from harness.compose import engine
from harness.compose.images import SOURCE_LABEL, source_digest
from harness.compose.spec import (
    LABEL,
    NODE_IMAGE,
    OWNER_LABEL,
    PROJECT,
    TOXIPROXY_IMAGE,
    VARNISH_NODE_IMAGE,
)
from harness.errors import InfrastructureError
from harness.topology.processes import pid_alive

COMPOSE_FILE = "compose.yaml"
SERVICE_LABEL = "com.docker.compose.service"
UP_TIMEOUT_S = 300.0
DOWN_TIMEOUT_S = 120.0
IMAGES_HINT = "run `make compose-images` (it builds them without a registry)"


# The project's own Docker config, where `make` puts the Compose plugin it builds.
OWN_PLUGINS = Path(sys.prefix) / "docker" / "config" / "cli-plugins"


def docker_config() -> str | None:
    """The project's own Docker config when it holds the Compose plugin; else the user's."""
    return str(OWN_PLUGINS.parent) if (OWN_PLUGINS / "docker-compose").exists() else None


def log_name(container: Container) -> str:
    """`service-N`: the container's name without the project's."""
    return str(container.name).removeprefix(f"{PROJECT}-")


@dataclass(frozen=True)
class Labelled:
    """A container, network or volume that carries the project label."""

    kind: str  # container | network | volume
    name: str
    owner_pid: int | None


def left_behind(found: list[Labelled], alive: Callable[[int], bool]) -> list[Labelled]:
    """What a sweep removes: everything whose harness no longer runs (or is not known).
    Containers first, then networks and volumes, which cannot go while a container uses them."""
    order = {"container": 0, "network": 1, "volume": 2}
    gone = [item for item in found if item.owner_pid is None or not alive(item.owner_pid)]
    return sorted(gone, key=lambda item: order[item.kind])


def owners(found: list[Labelled], alive: Callable[[int], bool]) -> set[int]:
    """The harnesses, still running, that own labelled things on the engine."""
    return {i.owner_pid for i in found if i.owner_pid is not None and alive(i.owner_pid)}


class ComposeProject:
    def __init__(self, state_dir: Path) -> None:
        if shutil.which("docker") is None:
            raise InfrastructureError(
                "the docker CLI is missing; compose mode needs it (`make compose-engine` "
                "installs Debian's docker.io, as root)"
            )
        self.host = engine.address(state_dir)
        if not self.host.startswith("unix://"):
            raise InfrastructureError(
                f"DOCKER_HOST={self.host}: compose mode needs an engine on this machine (a unix "
                "socket): it watches the containers' processes, applies loss in their network "
                "namespaces and mounts the run directory; unset DOCKER_HOST or point it at one"
            )
        self.work_dir = state_dir / "work"
        self.file = self.work_dir / COMPOSE_FILE
        try:
            self.client = docker.DockerClient(base_url=self.host, version="auto", timeout=60)
        except docker.errors.DockerException as error:
            raise InfrastructureError(f"Docker engine at {self.host}: {error}") from None

    def close(self) -> None:
        self.client.close()

    # --- Compose CLI ---

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, "DOCKER_HOST": self.host, **(extra or {})}
        config = docker_config()
        if config is not None:
            env["DOCKER_CONFIG"] = config
        return env

    def check_plugin(self) -> None:
        done = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30,
            check=False, env=self.environment(),
        )  # fmt: skip
        if done.returncode != 0:
            raise InfrastructureError(
                "the Docker Compose v2 plugin is missing; `make compose-images` builds it into "
                f"{OWN_PLUGINS}"
            )

    def compose(
        self, *args: str, timeout_s: float = UP_TIMEOUT_S, env: dict[str, str] | None = None
    ) -> None:
        argv = ["docker", "compose", "-p", PROJECT, "-f", str(self.file), *args]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout_s, check=False,
                env=self.environment(env),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise InfrastructureError(
                f"`docker compose {args[0]}` did not finish in {timeout_s:g} s"
            ) from None
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise InfrastructureError(f"`docker compose {args[0]}` failed: {tail}")

    # --- Engine API ---

    def check_images(self, varnish: bool = False) -> None:
        """The images exist (the Varnish node image too, for `cdn: varnish`), and the node
        images hold the sources of this checkout."""
        nodes = (NODE_IMAGE, VARNISH_NODE_IMAGE) if varnish else (NODE_IMAGE,)
        for image in (*nodes, TOXIPROXY_IMAGE):
            try:
                labels = self.client.images.get(image).labels or {}
            except docker.errors.ImageNotFound:
                raise InfrastructureError(f"image {image} is missing; {IMAGES_HINT}") from None
            if image in nodes and labels.get(SOURCE_LABEL) != source_digest():
                raise InfrastructureError(
                    f"image {image} was built from other sources than this checkout's; "
                    f"{IMAGES_HINT}"
                )

    def containers(self, service: str | None = None) -> list[Container]:
        labels = [f"com.docker.compose.project={PROJECT}"]
        if service is not None:
            labels.append(f"{SERVICE_LABEL}={service}")
        found = self.client.containers.list(all=True, filters={"label": labels})
        return sorted(found, key=lambda c: c.name)

    def container(self, service: str) -> Container:
        found = self.containers(service)
        if not found:
            raise InfrastructureError(f"compose service {service} has no container")
        return found[0]

    @staticmethod
    def published(container: Container, port: int) -> str:
        """`127.0.0.1:N`: where the host reaches `port` of the container."""
        bindings = container.ports.get(f"{port}/tcp") or []
        for binding in bindings:
            if binding.get("HostIp") == "127.0.0.1":
                return f"127.0.0.1:{binding['HostPort']}"
        raise InfrastructureError(f"{container.name}: port {port} is not published on 127.0.0.1")

    @staticmethod
    def pid(container: Container) -> int:
        """The container's main process, as the host sees it."""
        return int(container.attrs["State"]["Pid"])

    @staticmethod
    def save_log(container: Container, path: Path) -> None:
        with contextlib.suppress(docker.errors.APIError):  # gone already: nothing to keep
            path.write_bytes(container.logs())

    def save_logs(self) -> None:
        """Each container's log into the work directory, before the containers go."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for container in self.containers():
            self.save_log(container, self.work_dir / f"{log_name(container)}.log")

    # --- clean-up by label ---

    def labelled(self) -> list[Labelled]:
        filters = {"label": LABEL}
        found = []
        items = [
            ("container", self.client.containers.list(all=True, filters=filters)),
            ("network", self.client.networks.list(filters=filters)),
            ("volume", self.client.volumes.list(filters=filters)),
        ]
        for kind, objects in items:
            for thing in objects:
                # containers keep their labels in their config, networks and volumes on top
                labels = thing.labels if kind == "container" else thing.attrs.get("Labels") or {}
                owner = labels.get(OWNER_LABEL)
                found.append(Labelled(kind, thing.name, int(owner) if owner else None))
        return found

    def sweep(self, everything: bool = False, own: int | None = None) -> list[Labelled]:
        """Remove what killed harnesses left, and what harness `own` owns (`everything`: also
        what live harnesses own)."""

        def alive(pid: int) -> bool:
            return not everything and pid != own and pid_alive(pid)

        removed = left_behind(self.labelled(), alive)
        for item in removed:
            try:
                if item.kind == "container":
                    self.client.containers.get(item.name).remove(force=True, v=True)
                elif item.kind == "network":
                    self.client.networks.get(item.name).remove()
                else:
                    self.client.volumes.get(item.name).remove(force=True)
            except docker.errors.NotFound:
                pass
        return removed

    def live_owners(self) -> set[int]:
        return owners(self.labelled(), pid_alive)
