"""`shieldlab bench`: what a tap costs. The same cache hits through two POPs' client links, one
tapped (mitmdump in front of its edge) and one not: the most requests per second each sustains,
and the latency the tap adds (p50, p99) at a moderate rate, the two interleaved.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.table import Table

from harness.bench.client import Tally, Target, paced, saturate
from harness.scenario import topology_plan as plan
from harness.scenario.topology import TopologyConfig
from harness.topology.launcher import Report
from harness.topology.supervisor import topology_up
from harness.topology.taps import find_mitmdump

THROUGHPUT_S = 5.0
CONNECTIONS = 16
RATE_PER_S = 50.0  # per link
COUNT = 500  # per link


def _ms(tally: Tally, q: float) -> float:
    return round(tally.percentile_ms(q), 3)


def _mitmproxy_version() -> str:
    out = subprocess.run(
        [str(find_mitmdump()), "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    return out.splitlines()[0].split(":", 1)[-1].strip() if out else "?"


def measure_tap_cost(
    config: TopologyConfig, state_dir: Path, path: str, report: Report
) -> dict[str, Any]:
    if len(config.edges) < 2:
        return {"skipped": "needs two POPs (one tapped, one not); give --edges with two or more"}
    tapped_pop, plain_pop = config.edges[0], config.edges[1]
    tapped_link = plan.client_link(tapped_pop)
    with topology_up(config, state_dir, report, taps=[tapped_link]) as state:
        tapped = Target.parse(state.client_url(tapped_pop) + path)
        plain = Target.parse(state.client_url(plain_pop) + path)
        for target in (tapped, plain):
            uvloop.run(saturate(target, CONNECTIONS, 0.5))  # fill the caches, warm the paths
        report(f"bench: tap cost, most requests per second, {THROUGHPUT_S:g} s per link")
        most = {t: uvloop.run(saturate(t, CONNECTIONS, THROUGHPUT_S)) for t in (tapped, plain)}
        report(f"bench: tap cost, added latency, {COUNT} hits per link")
        targets = (tapped, plain)
        tallies = uvloop.run(paced(2 * RATE_PER_S, 2 * COUNT, lambda i: (targets[i % 2], path)))
    tapped_rps, plain_rps = most[tapped].total / THROUGHPUT_S, most[plain].total / THROUGHPUT_S
    return {
        "mitmproxy": _mitmproxy_version(),
        "tapped_link": tapped_link,
        "untapped_link": plan.client_link(plain_pop),
        "path": path,
        "connections": CONNECTIONS,
        "tapped_rps": round(tapped_rps),
        "untapped_rps": round(plain_rps),
        "rps_ratio": round(tapped_rps / plain_rps, 3),
        "rate_per_s": RATE_PER_S,
        "untapped_p50_ms": _ms(tallies[plain], 0.5),
        "untapped_p99_ms": _ms(tallies[plain], 0.99),
        "tapped_p50_ms": _ms(tallies[tapped], 0.5),
        "tapped_p99_ms": _ms(tallies[tapped], 0.99),
        "added_p50_ms": round(_ms(tallies[tapped], 0.5) - _ms(tallies[plain], 0.5), 3),
        "added_p99_ms": round(_ms(tallies[tapped], 0.99) - _ms(tallies[plain], 0.99), 3),
        "errors": {
            "tapped": sum(n for s, n in most[tapped].statuses.items() if s != 200),
            "untapped": sum(n for s, n in most[plain].statuses.items() if s != 200),
        },
    }


def print_tap_cost(result: dict[str, Any], out: Console) -> None:
    if "skipped" in result:
        out.print(f"tap cost: skipped: {result['skipped']}")
        return
    table = Table(
        title=f"tap cost (mitmproxy {result['mitmproxy']}): cache hits through a tapped and an "
        f"untapped client link, {result['path']}"
    )
    for column in ("link", "most req/s", "p50 ms", "p99 ms"):
        table.add_column(column)
    for kind in ("untapped", "tapped"):
        table.add_row(
            f"{result[kind + '_link']} ({kind})",
            str(result[kind + "_rps"]),
            f"{result[kind + '_p50_ms']:.3f}",
            f"{result[kind + '_p99_ms']:.3f}",
        )
    out.print(table)
    out.print(
        f"a tap adds p50 {result['added_p50_ms']:+.3f} ms, p99 {result['added_p99_ms']:+.3f} ms "
        f"at {result['rate_per_s']:g} req/s, and carries {result['rps_ratio']:.1%} of an untapped "
        f"link's most requests per second ({result['connections']} connections)"
    )
