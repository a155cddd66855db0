"""`shieldlab demo`: bring the topology up, install a package with the real pip through an
edge, show which node answered each request, tear down."""

from __future__ import annotations

import tempfile
import xmlrpc.client
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from harness.errors import EXIT_OK, InfrastructureError
from harness.load.pip_client import PIP_ACCEPT, first_project, pip_install
from harness.scenario.topology import TopologyConfig
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from proxies import contract

console = Console(width=110)


def _row(table: Table, what: str, pop: str, response: httpx.Response) -> None:
    h = response.headers
    table.add_row(
        what,
        pop,
        str(response.status_code),
        h.get(contract.HEADER_SERVED_BY, ""),
        h.get(contract.HEADER_CACHE, ""),
        h.get(contract.HEADER_AGE, ""),
    )


def show_paths(state: TopologyState, project: str) -> Table:
    table = Table(title=f"where each response came from ({project})", title_justify="left")
    for column in ("request", "POP", "status", "X-Served-By", "X-Cache", "Age"):
        table.add_column(column)
    first, second = state.edges[0], state.edges[-1]
    simple = f"/simple/{project}/"
    with httpx.Client(timeout=30, trust_env=False, headers={"Accept": PIP_ACCEPT}) as client:
        wheel = client.get(f"{state.client_url(first)}/pypi/{project}/json").json()["urls"][0]
        wheel_path = httpx.URL(wheel["url"]).path
        _row(table, "simple page, after pip", first, client.get(state.client_url(first) + simple))
        _row(table, "wheel, after pip", first, client.get(state.client_url(first) + wheel_path))
        _row(table, "simple page", second, client.get(state.client_url(second) + simple))
        _row(table, "simple page, again", second, client.get(state.client_url(second) + simple))
        call = xmlrpc.client.dumps((), "changelog_last_serial").encode()
        posted = client.post(state.client_url(second) + "/pypi", content=call)
        _row(table, "XML-RPC POST /pypi", second, posted)
    return table


def run(config: TopologyConfig, state_dir: Path) -> int:
    with (
        console.status("starting the topology") as status,
        topology_up(config, state_dir, status.update) as state,
    ):
        pop = state.edges[0]
        index_url = state.client_url(pop) + "/simple/"
        with httpx.Client(timeout=30, trust_env=False) as client:
            project = first_project(client, state.client_url(pop))
        status.update(f"pip install {project} --index-url {index_url}")
        with tempfile.TemporaryDirectory(prefix="shieldlab-demo-") as target:
            result = pip_install(index_url, project, Path(target))
            if result.returncode != 0:
                raise InfrastructureError(f"pip install failed: {result.stderr.strip()[-500:]}")
            installed = sorted(p.name for p in Path(target).iterdir())
        status.stop()
        console.print(
            f"[green]pip installed {project}[/] through POP {pop}: {', '.join(installed)}"
        )
        console.print(show_paths(state, project))
        console.print(
            "X-Served-By lists the nodes on the path, edge last; X-Cache their HIT/MISS. "
            "POSTs (XML-RPC) go edge -> origin and never touch the shield."
        )
    console.print("topology torn down; nothing left running")
    return EXIT_OK
