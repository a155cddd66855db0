"""The running topology as written to disk, so `status` and `down` work across commands."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.scenario.topology_plan import client_link
from harness.topology.processes import pid_alive

STATE_FILE = "topology.json"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeState(Frozen):
    url: str
    pid: int
    admin_url: str | None = None


class LinkState(Frozen):
    listen: str
    upstream: str  # the node the link leads to
    proxy: str  # the proxy's name in Toxiproxy's API
    tap: str | None = None  # a tap's address: the proxy sends to it, and it to `upstream`
    tap_pid: int | None = None

    @property
    def tap_url(self) -> str | None:
        return None if self.tap is None else "http://" + self.tap

    @property
    def port(self) -> int:
        """The port the link listens on: where its packets go (and where loss rules match)."""
        return int(self.listen.rsplit(":", 1)[1])


class ToxiproxyState(Frozen):
    api: str
    pid: int
    binary: str


class TopologyState(Frozen):
    supervisor_pid: int
    started_at: float
    edges: list[str]
    nodes: dict[str, NodeState]
    links: dict[str, LinkState]
    toxiproxy: ToxiproxyState
    work_dir: str
    # Compose mode: where the harness reaches a link from the host (a published port), when
    # that is not where the load generators reach it (the link's address on its network).
    published: dict[str, str] = {}

    def load_url(self, pop: str) -> str:
        """The address the load generators are given for a POP: its last-mile link."""
        return "http://" + self.links[client_link(pop)].listen

    def link_url(self, link: str) -> str:
        """A link as the harness reaches it from the host."""
        return "http://" + self.published.get(link, self.links[link].listen)

    def client_url(self, pop: str) -> str:
        """A POP's last-mile link as the harness reaches it, for its health checks."""
        return self.link_url(client_link(pop))

    def _named_pids(self) -> dict[int, str]:
        named = {n.pid: name for name, n in self.nodes.items()}
        named.update({k.tap_pid: f"the tap on {n}" for n, k in self.links.items() if k.tap_pid})
        named[self.toxiproxy.pid] = "toxiproxy-server"
        return named

    def pids(self) -> list[int]:
        return list(self._named_pids())

    def dead_process(self) -> str | None:
        """`name (pid N)` of the first node, tap or toxiproxy-server no longer running, if any."""
        named = self._named_pids()
        for pid, name in named.items():
            if not pid_alive(pid):
                return f"{name} (pid {pid})"
        return None

    def status_json(self) -> dict[str, object]:
        return {
            "nodes": {k: {"url": v.url, "pid": v.pid} for k, v in self.nodes.items()},
            "links": {
                k: {"listen": v.listen, "upstream": v.upstream, "proxy": v.proxy, "tap": v.tap}
                for k, v in self.links.items()
            },
            "toxiproxy": {"api": self.toxiproxy.api, "pid": self.toxiproxy.pid},
            "supervisor_pid": self.supervisor_pid,
            "clients": {pop: self.client_url(pop) for pop in self.edges},
        }


def write_state(state_dir: Path, state: TopologyState) -> None:
    partial = state_dir / (STATE_FILE + ".partial")
    partial.write_text(state.model_dump_json(indent=2))
    partial.rename(state_dir / STATE_FILE)


def read_state(state_dir: Path) -> TopologyState | None:
    path = state_dir / STATE_FILE
    try:
        return TopologyState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def clear_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def live_state(state_dir: Path) -> TopologyState | None:
    """The state of a topology whose supervisor still runs; a stale file is removed."""
    state = read_state(state_dir)
    if state is None:
        return None
    if not pid_alive(state.supervisor_pid):
        clear_state(state_dir)
        return None
    return state
