"""Both CDN kinds in one bench: cache hits per second through one edge and the latency each
hop adds, for the model and for real Varnish, beside a bare Varnish serving the same page.

The bare Varnish is the ceiling: `varnishd` with the nodes' own daemon settings (one thread
pool, malloc, no jail) and a VCL that only caches the page, in front of the origin. A lab
Varnish node adds its VCL, its log readers and its metrics to that; the goal is at least half
the bare node's hits per second, and at most 0.3 ms added p50 per node hop.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop
from rich.console import Console
from rich.table import Table

from harness.bench.client import Target, saturate
from harness.bench.hops import Layer, a_project, mean_added_p50_ms, measure_hops, measure_layers
from harness.errors import InfrastructureError
from harness.scenario import topology_plan as plan
from harness.scenario.topology import CdnKind, TopologyConfig
from harness.topology.launcher import Report
from harness.topology.supervisor import topology_up
from harness.topology.varnish import require_varnish
from proxies import contract
from proxies.varnish.daemon import DaemonSettings, Varnishd

HITS_S = 5.0
HITS_CONNECTIONS = 16
# The goals of the Varnish kind (issue 20), printed beside what was measured.
GOAL_SHARE_OF_BARE = 0.5
GOAL_NODE_HOP_P50_MS = 0.3

BARE_VCL = """vcl 4.1;
backend origin {{ .host = "{host}"; .port = "{port}"; }}
sub vcl_recv {{ return (hash); }}
sub vcl_backend_response {{ set beresp.ttl = 1h; return (deliver); }}
"""


def hits_per_s(url: str) -> dict[str, Any]:
    """Closed-loop cache hits on `url` (filled and warmed first)."""
    target = Target.parse(url)
    uvloop.run(saturate(target, HITS_CONNECTIONS, 0.5))
    tally = uvloop.run(saturate(target, HITS_CONNECTIONS, HITS_S))
    tally.require_ok(url)
    return {"rps": round(tally.total / HITS_S), "p50_ms": round(tally.percentile_ms(0.5), 3)}


def bare_varnish_hits(origin_url: str, path: str) -> dict[str, Any]:
    """A bare varnishd in front of the origin, stopped before this returns."""
    origin = urlsplit(origin_url)
    with tempfile.TemporaryDirectory(prefix="shieldlab-bare-varnish-") as tmp:
        vcl = Path(tmp) / "bare.vcl"
        vcl.write_text(BARE_VCL.format(host=origin.hostname, port=origin.port))
        settings = DaemonSettings(
            work_dir=Path(tmp) / "work",
            vcl=vcl,
            host="127.0.0.1",
            port=0,
            admin_port=0,
            storage_bytes=64 * 1024 * 1024,
            idle_timeout_s=60,
        )
        with (Path(tmp) / "varnishd.log").open("wb") as log:
            daemon = Varnishd(settings, log)
            try:
                try:
                    ports = daemon.start(timeout_s=30)
                except RuntimeError as error:
                    raise InfrastructureError(
                        f"bench: the bare varnishd did not start: {error}"
                    ) from error
                bare = f"http://127.0.0.1:{ports['main']}"
                result: dict[str, Any] = hits_per_s(bare + path)
                # What Varnish itself adds to a miss here: the floor of a node hop.
                layers = [Layer("origin direct", origin_url, ""), Layer("bare", bare, "node bare")]
                result["miss_hop_p50_ms"] = measure_layers(layers, path)[1]["added_p50_ms"]
                return result
            finally:
                daemon.stop()


def _kind(config: TopologyConfig, state_dir: Path, report: Report) -> dict[str, Any]:
    with topology_up(config, state_dir, report) as state:
        path = f"/simple/{a_project(state)}/"
        pop = state.edges[0]
        report(f"bench: {config.cdn.value}: hits through one edge, {HITS_S:g} s each")
        row: dict[str, Any] = {
            "cdn": config.cdn.value,
            "path": path,
            "client_link": hits_per_s(state.client_url(pop) + path),
            "edge_node": hits_per_s(state.nodes[plan.edge_name(pop)].url + path),
        }
        report(f"bench: {config.cdn.value}: latency per hop")
        hops = measure_hops(state, path)
        row["hops"] = hops
        row["node_hop_p50_ms"] = mean_added_p50_ms(hops, "node")
        row["link_hop_p50_ms"] = mean_added_p50_ms(hops, "link")
        if config.cdn is CdnKind.VARNISH:
            report("bench: a bare Varnish in front of the origin, same page")
            row["bare_varnish"] = bare_varnish_hits(state.nodes[contract.ORIGIN_NODE].url, path)
            row["share_of_bare"] = round(row["edge_node"]["rps"] / row["bare_varnish"]["rps"], 2)
    return row


def measure_cdn_kinds(config: TopologyConfig, state_dir: Path, report: Report) -> dict[str, Any]:
    """Each kind on the same topology, one after the other; Varnish's row says why it is
    missing when Varnish is not installed."""
    rows = []
    for kind in CdnKind:
        if kind is CdnKind.VARNISH:
            try:
                require_varnish()
            except InfrastructureError as missing:
                rows.append({"cdn": kind.value, "not_measured": str(missing)})
                continue
        rows.append(_kind(config.model_copy(update={"cdn": kind}), state_dir, report))
    return {"connections": HITS_CONNECTIONS, "duration_s": HITS_S, "kinds": rows}


def print_cdn_kinds(result: dict[str, Any], out: Console) -> None:
    table = Table(
        title=f"CDN kinds: cache hits through one edge ({result['connections']} connections, "
        f"{result['duration_s']:g} s each) and added p50 per hop (cache misses)"
    )
    for column in (
        "cdn",
        "hits/s client link",
        "hits/s edge node",
        "edge hit p50 ms",
        "bare Varnish hits/s",
        "bare Varnish miss hop p50 ms",
        f"share of bare (goal >= {GOAL_SHARE_OF_BARE:g})",
        f"node hop p50 ms (goal <= {GOAL_NODE_HOP_P50_MS:g})",
        "link hop p50 ms",
    ):
        table.add_column(column)
    for row in result["kinds"]:
        if "not_measured" in row:
            table.add_row(row["cdn"], f"not measured: {row['not_measured']}", *[""] * 7)
            continue
        bare = row.get("bare_varnish")
        share = row.get("share_of_bare")
        node_hop = row["node_hop_p50_ms"]
        table.add_row(
            row["cdn"],
            str(row["client_link"]["rps"]),
            str(row["edge_node"]["rps"]),
            f"{row['edge_node']['p50_ms']:.3f}",
            str(bare["rps"]) if bare else "",
            f"{bare['miss_hop_p50_ms']:.3f}" if bare else "",
            _against(share, share is not None and share >= GOAL_SHARE_OF_BARE) if share else "",
            _against(node_hop, row["cdn"] == "model" or node_hop <= GOAL_NODE_HOP_P50_MS),
            f"{row['link_hop_p50_ms']:.3f}",
        )
    out.print(table)


def _against(value: float, met: bool) -> str:
    return f"[green]{value:g}[/]" if met else f"[red]{value:g}[/]"
