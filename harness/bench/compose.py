"""`shieldlab bench --mode compose`: compose mode beside local mode, measured in one run.

For each mode: the time from nothing to every node healthy (compose: `docker compose up
--wait`, containers created, the origin's data set generated inside its container), cache
hits per second through one edge, and the latency each hop adds (cache misses at every
layer). The bench client runs on the host in both modes; in compose mode it reaches each
node and link through its published port (Docker's port forwarding on 127.0.0.1), which
every layer pays alike, so the differences between layers are still the hops. Then what
Locust as a master with worker containers sustains (pip installs at rising rates, as `bench`
measures local mode's load generator).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.bench.hops import LATENCY_COUNT, LATENCY_RATE_PER_S, a_project, measure_hops
from harness.bench.load import (
    LAG_LIMIT_MS,
    REQUESTS_PER_S,
    STEP_S,
    print_load_generator,
    rising_rates,
)
from harness.bench.speed import bench_config, console, measure_throughput
from harness.compose.lab import compose_up, refuse_unless_ready
from harness.compose.project import ComposeProject
from harness.errors import EXIT_OK
from harness.run.lab import Lab
from harness.scenario.topology import TopologyConfig
from harness.topology.launcher import Report
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up


def _measure(state: TopologyState, started: float) -> dict[str, Any]:
    healthy_s = round(time.perf_counter() - started, 2)
    path = f"/simple/{a_project(state)}/"
    return {
        "healthy_s": healthy_s,
        "throughput": measure_throughput(state, path),
        "hops": measure_hops(state, path),
    }


COMPOSE_WORKERS = 2
# Lower than local mode's first rate: here the workers share two cores with seven containers
# (400 requests/s sat at the 100 ms limit, once sustained and once not).
COMPOSE_REQUESTS_PER_S = (200, *REQUESTS_PER_S)


def compose_load_generator(
    state: TopologyState, project: ComposeProject, report: Report
) -> dict[str, Any]:
    """What a Locust master with worker containers sustains, as `bench` measures local mode's."""
    mode = f"compose: master + {COMPOSE_WORKERS} worker containers"
    with tempfile.TemporaryDirectory(prefix="shieldlab-bench-load-") as scratch:
        steps = rising_rates(
            Lab(state, None, project), COMPOSE_WORKERS, Path(scratch),
            report, mode, COMPOSE_REQUESTS_PER_S,
        )  # fmt: skip
    return {"step_s": STEP_S, "lag_limit_ms": LAG_LIMIT_MS, "modes": {mode: steps}}


def run(config: TopologyConfig, state_dir: Path, as_json: bool) -> int:
    config = bench_config(config)
    refuse_unless_ready(state_dir)
    results: dict[str, Any] = {
        "rate_per_s": LATENCY_RATE_PER_S,
        "requests_per_layer": LATENCY_COUNT,
    }
    with console.status("bench: local mode") as status:
        started = time.perf_counter()
        with topology_up(config, state_dir, status.update) as state:
            results["local"] = _measure(state, started)
        status.update("bench: compose mode, docker compose up")
        started = time.perf_counter()
        with compose_up(config, state_dir, status.update) as (state, project):
            results["compose"] = _measure(state, started)
            results["load_generator"] = compose_load_generator(state, project, status.update)
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    return EXIT_OK


def _print(results: dict[str, Any]) -> None:
    out = Console()
    local, compose = results["local"], results["compose"]
    table = Table(
        title="compose mode beside local mode (one run of `shieldlab bench --mode compose`)"
    )
    for column in ("measure", "local", "compose", "compose / local"):
        table.add_column(column)

    def row(name: str, a: float, b: float) -> None:
        table.add_row(name, f"{a:g}", f"{b:g}", f"{b / a:.2f}" if a > 0 and b > 0 else "")

    row("time to healthy, s", local["healthy_s"], compose["healthy_s"])
    row(
        "cache hits through one edge, req/s",
        local["throughput"]["edge_hit_rps"],
        compose["throughput"]["edge_hit_rps"],
    )
    row(
        "same client, origin direct, req/s",
        local["throughput"]["origin_direct_rps"],
        compose["throughput"]["origin_direct_rps"],
    )
    for here, there in zip(local["hops"], compose["hops"], strict=True):
        if "hop" in here:
            row(f"added p50 ms, {here['hop']}", here["added_p50_ms"], there["added_p50_ms"])
    for here, there in zip(local["hops"], compose["hops"], strict=True):
        if "hop" in here:
            row(f"added p99 ms, {here['hop']}", here["added_p99_ms"], there["added_p99_ms"])
    out.print(table)
    out.print(
        f"cache misses at {results['rate_per_s']:g} req/s per layer, "
        f"{results['requests_per_layer']} per layer, layers interleaved"
    )
    print_load_generator(results["load_generator"], out)
