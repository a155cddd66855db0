"""The latency each hop adds: cache misses at every layer, from the origin direct up to an
edge's client link, the layers interleaved so each sees the same machine state."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import uvloop

from harness.bench.client import Target, paced
from harness.scenario import topology_plan as plan
from harness.scenario.model import expand_link
from harness.topology.state import TopologyState
from proxies import contract

LATENCY_RATE_PER_S = 50.0
LATENCY_COUNT = 1000
WARMUP_COUNT = 100


@dataclass(frozen=True)
class Layer:
    """Where the bench client sends requests that miss every cache from here down."""

    name: str
    url: str
    hop: str  # what this layer adds over the one below it


def _layers(state: TopologyState) -> list[Layer]:
    pop = state.edges[0]
    edge, to_shield, from_client = plan.edge_name(pop), plan.shield_link(pop), plan.client_link(pop)
    first_web_link = expand_link(plan.ORIGIN_LINK, list(state.links))[0]
    return [
        Layer("origin direct", state.nodes[contract.ORIGIN_NODE].url, ""),
        Layer(
            f"{first_web_link}",
            state.link_url(first_web_link),
            f"link {first_web_link}",
        ),
        Layer(contract.SHIELD_NODE, state.nodes[contract.SHIELD_NODE].url, "node shield"),
        Layer(f"{to_shield} link", state.link_url(to_shield), f"link {to_shield}"),
        Layer(edge, state.nodes[edge].url, f"node {edge}"),
        Layer(f"{from_client} link", state.client_url(pop), f"link {from_client}"),
    ]


def measure_hops(state: TopologyState, path: str) -> list[dict[str, Any]]:
    """Misses at every layer of the topology, from the origin direct up."""
    return measure_layers(_layers(state), path)


def measure_layers(layers: list[Layer], path: str) -> list[dict[str, Any]]:
    """Misses at each layer, the layers interleaved so each sees the same machine state; each
    row after the first says what its layer adds over the one before."""
    targets = [Target.parse(layer.url + path) for layer in layers]

    def route(i: int, salt: str) -> tuple[Target, str]:
        # A new object each time, so every cache from this layer down misses.
        return targets[i % len(targets)], f"{path}?bench={salt}{i}"

    total_rate = LATENCY_RATE_PER_S * len(layers)
    # Warm connection pools and code paths first; the first requests measure start-up.
    uvloop.run(paced(total_rate, WARMUP_COUNT * len(layers), lambda i: route(i, "warm")))
    tallies = uvloop.run(paced(total_rate, LATENCY_COUNT * len(layers), lambda i: route(i, "")))
    rows = []
    below: dict[str, float] | None = None
    for layer, target in zip(layers, targets, strict=True):
        tally = tallies[target]
        tally.require_ok(layer.name)
        here = {
            "p50_ms": tally.percentile_ms(0.5),
            "p99_ms": tally.percentile_ms(0.99),
        }
        row: dict[str, Any] = {"layer": layer.name, **{k: round(v, 3) for k, v in here.items()}}
        if below is not None:
            row["hop"] = layer.hop
            row["added_p50_ms"] = round(here["p50_ms"] - below["p50_ms"], 3)
            row["added_p99_ms"] = round(here["p99_ms"] - below["p99_ms"], 3)
        rows.append(row)
        below = here
    return rows


def mean_added_p50_ms(hops: list[dict[str, Any]], kind: str) -> float:
    """The mean p50 that hops of `kind` ("link" or "node") add, from `measure_layers` rows."""
    added = [r["added_p50_ms"] for r in hops if r.get("hop", "").startswith(kind)]
    return round(statistics.mean(added), 3)


def a_project(state: TopologyState) -> str:
    import httpx

    from harness.load.pip_client import first_project

    with httpx.Client(timeout=30, trust_env=False) as client:
        return first_project(client, state.nodes[contract.ORIGIN_NODE].url)
