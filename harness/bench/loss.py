"""`shieldlab bench`: loss fidelity. Real packet loss on shield->origin at a few probabilities:
the share of packets the kernel actually dropped against the share asked, and what it does to
shield misses (p50, p99, errors). Needs root: the measurement runs in its own namespace.

Target: within 10 % of the asked share, or 3 binomial standard deviations when that is larger
(few packets make a small sample).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.table import Table

from harness.analysis.windows import percentile
from harness.bench.client import Target, paced
from harness.faults.loss import DropPackets, LossBackend, drop_fraction
from harness.records.samples import DROPPED, SEEN
from harness.scenario import topology_plan as plan
from harness.scenario.model import expand_link
from harness.scenario.steps import Direction
from harness.scenario.topology import TopologyConfig
from harness.topology import netns
from harness.topology.launcher import Report
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from proxies import contract

LOSS_PROBABILITIES = (0.01, 0.05, 0.2)
LOSS_RATE_PER_S = 30.0
LOSS_COUNT = 300
LINK = plan.ORIGIN_LINK  # every web node's link from the shield


def within_target(asked: float, measured: float, packets: int) -> bool:
    if packets == 0:
        return False  # nothing counted proves nothing
    sigma = math.sqrt(asked * (1 - asked) / packets)
    return abs(measured - asked) <= max(0.1 * asked, 3 * sigma)


def _shield_misses(target: Target, path: str, salt: str) -> dict[str, float]:
    tallies = uvloop.run(
        paced(LOSS_RATE_PER_S, LOSS_COUNT, lambda i: (target, f"{path}?loss={salt}-{i}"))
    )
    tally = tallies[target]
    latencies_ms = [seconds * 1000 for seconds in tally.latencies_s]
    errors = sum(n for status, n in tally.statuses.items() if status != 200)
    return {
        "p50_ms": round(percentile(latencies_ms, 0.5), 1),
        "p99_ms": round(percentile(latencies_ms, 0.99), 1),
        "errors": errors,
    }


def _measure(state: TopologyState, path: str, loss: LossBackend) -> list[dict[str, Any]]:
    target = Target.parse(state.nodes[contract.SHIELD_NODE].url + path)
    links = expand_link(LINK, list(state.links))
    rows = []
    for asked in LOSS_PROBABILITIES:
        base = _shield_misses(target, path, f"base{asked}")
        changes = [
            DropPackets(link, state.links[link].port, Direction.BOTH, asked) for link in links
        ]
        for change in changes:
            loss.apply(change)
        try:
            faulted = _shield_misses(target, path, f"loss{asked}")
            counters = loss.counters()
        finally:
            for change in changes:
                loss.remove(change)
        seen = sum(c.packets for c in counters if c.count == SEEN)
        dropped = sum(c.packets for c in counters if c.count == DROPPED)
        measured = drop_fraction(seen, dropped) or 0.0
        rows.append(
            {
                "asked": asked,
                "packets": seen,
                "dropped": dropped,
                "measured": round(measured, 4),
                "within_target": within_target(asked, measured, seen),
                "baseline": base,
                "faulted": faulted,
                "error_rate": round(faulted["errors"] / LOSS_COUNT, 4),
            }
        )
    return rows


def measure_loss_fidelity(
    config: TopologyConfig, state_dir: Path, path: str, report: Report
) -> dict[str, Any]:
    """The table, or why it was skipped (no root)."""
    missing = netns.missing_privileges()
    if missing is not None:
        return {"skipped": missing}
    with netns.own_namespace(), topology_up(config, state_dir, report) as state:
        return {
            "link": LINK,
            "requests_per_step": LOSS_COUNT,
            "rows": _measure(state, path, LossBackend()),
        }


def print_loss_fidelity(result: dict[str, Any], out: Console) -> None:
    if "skipped" in result:
        out.print(f"loss fidelity: skipped: {result['skipped']}")
        return
    table = Table(
        title=f"loss fidelity: packet loss on {result['link']}, both directions, shield misses, "
        f"{LOSS_COUNT} requests at {LOSS_RATE_PER_S:g}/s per step"
    )
    for column in (
        "asked",
        "packets",
        "dropped",
        "measured",
        "within 10 % or 3 sd",
        "p50 ms before / during",
        "p99 ms before / during",
        "errors during",
    ):
        table.add_column(column)
    for row in result["rows"]:
        base, faulted = row["baseline"], row["faulted"]
        table.add_row(
            f"{row['asked']:.0%}",
            str(row["packets"]),
            str(row["dropped"]),
            f"{row['measured']:.2%}",
            "yes" if row["within_target"] else "no",
            f"{base['p50_ms']} / {faulted['p50_ms']}",
            f"{base['p99_ms']} / {faulted['p99_ms']}",
            f"{row['error_rate']:.1%}",
        )
    out.print(table)
