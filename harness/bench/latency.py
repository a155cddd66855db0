"""`shieldlab bench`: latency fidelity. Latency injected on shield->origin (a Toxiproxy toxic on
every web node's link) against what the shield's cache misses gain at the median."""

from __future__ import annotations

from typing import Any

import uvloop

from harness.bench.client import Target, paced
from harness.scenario import topology_plan as plan
from harness.scenario.model import expand_link
from harness.topology.state import TopologyState
from harness.toxiproxy_api import ToxiproxyApi
from proxies import contract

FIDELITY_INJECTED_MS = (50, 200, 1000)
FIDELITY_RATE_PER_S = 20.0
FIDELITY_COUNT = 150


def _shield_misses_p50(target: Target, path: str, salt: str) -> float:
    tallies = uvloop.run(
        paced(
            FIDELITY_RATE_PER_S, FIDELITY_COUNT, lambda i: (target, f"{path}?fidelity={salt}-{i}")
        )
    )
    tallies[target].require_ok(f"fidelity {salt}")
    return tallies[target].percentile_ms(0.5)


def measure_latency_fidelity(state: TopologyState, path: str) -> list[dict[str, Any]]:
    """Latency injected on shield->origin against the latency shield misses gain (p50)."""
    api = ToxiproxyApi(state.toxiproxy.api)
    proxies = [state.links[link].proxy for link in expand_link(plan.ORIGIN_LINK, list(state.links))]
    target = Target.parse(state.nodes[contract.SHIELD_NODE].url + path)
    rows = []
    try:
        for injected in FIDELITY_INJECTED_MS:
            base = _shield_misses_p50(target, path, f"base{injected}")
            for proxy in proxies:  # every web node: the director picks either
                api.add_toxic(
                    proxy,
                    {
                        "name": "fidelity",
                        "type": "latency",
                        "stream": "downstream",
                        "toxicity": 1.0,
                        "attributes": {"latency": injected, "jitter": 0},
                    },
                )
            try:
                faulted = _shield_misses_p50(target, path, f"toxic{injected}")
            finally:
                for proxy in proxies:
                    api.remove_toxic(proxy, "fidelity")
            added = faulted - base
            rows.append(
                {
                    "injected_ms": injected,
                    "baseline_p50_ms": round(base, 3),
                    "faulted_p50_ms": round(faulted, 3),
                    "measured_added_p50_ms": round(added, 3),
                    "error_ms": round(added - injected, 3),
                    "within_target": abs(added - injected) <= 2 + 0.02 * injected,
                }
            )
    finally:
        api.close()
    return rows
