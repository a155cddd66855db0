"""`shieldlab bench`: how fast the simulated CDN is on this machine, measured in one run.

- startup: from `up` to every node and link healthy (first start, then a warm one);
- throughput: cache hits through one edge (via its client link) against the same client
  hitting the origin directly for the same path;
- added latency per hop at a fixed moderate rate, from cache misses at every layer;
- fault fidelity (latency, loss), what a mitmproxy tap costs, and how much open-model load one
  Locust process and a master with workers sustain (the latency, loss, tap and load modules beside this one).

The origin's modelled service times are set to zero and its slots made plentiful here, so the
numbers measure the programs and links, not the capacity model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.table import Table

from harness.bench.cdn import measure_cdn_fidelity, print_cdn_fidelity
from harness.bench.client import Target, saturate
from harness.bench.hops import (
    LATENCY_COUNT,
    LATENCY_RATE_PER_S,
    a_project,
    mean_added_p50_ms,
    measure_hops,
)
from harness.bench.kinds import measure_cdn_kinds, print_cdn_kinds
from harness.bench.latency import FIDELITY_RATE_PER_S, measure_latency_fidelity
from harness.bench.load import measure_load_generator, print_load_generator
from harness.bench.loss import measure_loss_fidelity, print_loss_fidelity
from harness.bench.tap import measure_tap_cost, print_tap_cost
from harness.errors import EXIT_OK
from harness.scenario.reader import deep_merge
from harness.scenario.topology import TopologyConfig
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from proxies import contract
from proxies.contract import EndpointClass

console = Console(stderr=True)

THROUGHPUT_S = 5.0
THROUGHPUT_CONNECTIONS = 16


def bench_config(config: TopologyConfig) -> TopologyConfig:
    zero = {cls.value: {"median_ms": 0, "sigma": 0} for cls in EndpointClass}
    data = deep_merge(
        config.model_dump(mode="json"),
        {"origin": {"service_times": zero, "worker_slots": 1000}},
    )
    return TopologyConfig.model_validate(data)


def measure_throughput(state: TopologyState, path: str) -> dict[str, Any]:
    pop = state.edges[0]
    hit_url = state.client_url(pop) + path
    origin_url = state.nodes[contract.ORIGIN_NODE].url + path
    uvloop.run(saturate(Target.parse(hit_url), THROUGHPUT_CONNECTIONS, 0.5))  # fill and warm
    through_edge = uvloop.run(saturate(Target.parse(hit_url), THROUGHPUT_CONNECTIONS, THROUGHPUT_S))
    through_edge.require_ok("edge hits")
    direct = uvloop.run(saturate(Target.parse(origin_url), THROUGHPUT_CONNECTIONS, THROUGHPUT_S))
    direct.require_ok("origin direct")
    edge_rps = through_edge.total / THROUGHPUT_S
    origin_rps = direct.total / THROUGHPUT_S
    return {
        "path": path,
        "connections": THROUGHPUT_CONNECTIONS,
        "duration_s": THROUGHPUT_S,
        "edge_hit_rps": round(edge_rps),
        "origin_direct_rps": round(origin_rps),
        "edge_to_origin_ratio": round(edge_rps / origin_rps, 2),
        "edge_hit_p50_ms": round(through_edge.percentile_ms(0.5), 3),
    }


def run(config: TopologyConfig, state_dir: Path, as_json: bool) -> int:
    config = bench_config(config)
    results: dict[str, Any] = {
        "rate_per_s": LATENCY_RATE_PER_S,
        "requests_per_layer": LATENCY_COUNT,
    }
    with console.status("bench: first start (generates the data set if not cached)") as status:
        started = time.perf_counter()
        with topology_up(config, state_dir, status.update):
            first_start_s = time.perf_counter() - started
        status.update("bench: warm start")
        started = time.perf_counter()
        with topology_up(config, state_dir, status.update) as state:
            results["startup_s"] = {
                "first": round(first_start_s, 2),
                "warm": round(time.perf_counter() - started, 2),
            }
            project = a_project(state)
            path = f"/simple/{project}/"
            status.update(f"bench: throughput, {THROUGHPUT_S:g} s per target")
            results["throughput"] = measure_throughput(state, path)
            status.update(f"bench: latency per hop, {LATENCY_COUNT} misses per layer")
            results["hops"] = measure_hops(state, path)
            status.update("bench: fault fidelity, latency injected on shield->origin")
            results["fidelity"] = measure_latency_fidelity(state, path)
        status.update("bench: CDN fidelity: probes, grace, max_connections, the edge's timeout")
        results["cdn_fidelity"] = measure_cdn_fidelity(config, state_dir, status.update)
        status.update("bench: loss fidelity, packet loss on shield->origin (own namespace)")
        results["loss_fidelity"] = measure_loss_fidelity(config, state_dir, path, status.update)
        status.update("bench: tap cost, a mitmproxy tap on one client link")
        results["tap_cost"] = measure_tap_cost(config, state_dir, path, status.update)
        results["load_generator"] = measure_load_generator(config, state_dir, status.update)
        status.update("bench: both CDN kinds, and a bare Varnish")
        results["cdn_kinds"] = measure_cdn_kinds(config, state_dir, status.update)
    results["mean_added_p50_ms"] = {
        kind: mean_added_p50_ms(results["hops"], kind) for kind in ("link", "node")
    }
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    return EXIT_OK


def run_cdn_kinds(config: TopologyConfig, state_dir: Path, as_json: bool) -> int:
    """Only the CDN kinds' section of the bench."""
    config = bench_config(config)
    with console.status("bench: both CDN kinds, and a bare Varnish") as status:
        result = measure_cdn_kinds(config, state_dir, status.update)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_cdn_kinds(result, Console())
    return EXIT_OK


def _print(results: dict[str, Any]) -> None:
    out = Console()
    t = results["throughput"]
    out.print(
        f"startup to healthy: first {results['startup_s']['first']} s, warm "
        f"{results['startup_s']['warm']} s"
    )
    out.print(
        f"cache hits through one edge (client link): {t['edge_hit_rps']} req/s; same client, "
        f"origin direct: {t['origin_direct_rps']} req/s; ratio {t['edge_to_origin_ratio']} "
        f"({t['connections']} connections, {t['duration_s']:g} s each, {t['path']})"
    )
    table = Table(
        title=f"latency per layer, cache misses, {results['rate_per_s']:g} req/s per layer, "
        "layers interleaved"
    )
    for column in ("layer", "p50 ms", "p99 ms", "hop", "added p50 ms", "added p99 ms"):
        table.add_column(column)
    for row in results["hops"]:
        table.add_row(
            row["layer"],
            f"{row['p50_ms']:.3f}",
            f"{row['p99_ms']:.3f}",
            row.get("hop", ""),
            f"{row['added_p50_ms']:.3f}" if "added_p50_ms" in row else "",
            f"{row['added_p99_ms']:.3f}" if "added_p99_ms" in row else "",
        )
    out.print(table)
    mean = results["mean_added_p50_ms"]
    out.print(f"mean added p50 per hop: link {mean['link']} ms, node {mean['node']} ms")
    fidelity = Table(
        title=f"fault fidelity: latency on shield->origin, shield misses, {FIDELITY_RATE_PER_S:g} req/s"
    )
    for column in (
        "injected ms",
        "baseline p50",
        "faulted p50",
        "added p50",
        "error ms",
        "within 2 ms + 2%",
    ):
        fidelity.add_column(column)
    for row in results["fidelity"]:
        fidelity.add_row(
            str(row["injected_ms"]),
            f"{row['baseline_p50_ms']:.3f}",
            f"{row['faulted_p50_ms']:.3f}",
            f"{row['measured_added_p50_ms']:.3f}",
            f"{row['error_ms']:+.3f}",
            "yes" if row["within_target"] else "no",
        )
    out.print(fidelity)
    print_cdn_fidelity(results["cdn_fidelity"], out)
    print_loss_fidelity(results["loss_fidelity"], out)
    print_tap_cost(results["tap_cost"], out)
    print_load_generator(results["load_generator"], out)
    print_cdn_kinds(results["cdn_kinds"], out)
