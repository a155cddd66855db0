"""`shieldlab bench`: the CDN mechanisms of the 2014 record, each measured against what it
should do.

- probes: a backend that stops answering turns sick after `window - threshold + 1` probes,
  and healthy again after `threshold` (with fast probes, so the bench takes seconds);
- the static mirror: while the web node is sick, uncached pages come from the mirror;
- grace: while the mirror is sick too, expired cached pages are served stale and only uncached
  ones 503;
- `max_connections`: of 250 concurrent slow misses to one backend, 200 are fetched and the
  rest fail at once;
- the edge's own first-byte timeout: POP-to-shield latency under 15 s is slow, over it an
  edge-made 503.
"""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from harness.scenario.reader import deep_merge
from harness.scenario.topology import TopologyConfig
from harness.topology.launcher import Report
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from harness.toxiproxy_api import ToxiproxyApi
from harness.waits import time_until
from proxies import contract
from proxies.contract import FetchFailure

FAST_PROBE = {"interval_s": 0.5, "timeout_s": 0.25, "window": 8, "threshold": 3, "initial": 3}
WEB_LINK = "shield->origin-1"
MIRROR_LINK = "shield->mirror"
CONCURRENT_MISSES = 250
PAGES = 20


def _slow(api: ToxiproxyApi, proxy: str, latency_ms: int) -> None:
    api.add_toxic(
        proxy,
        {
            "name": "bench-slow",
            "type": "latency",
            "stream": "downstream",
            "attributes": {"latency": latency_ms, "jitter": 0},
        },
    )


def _probes_and_grace(state: TopologyState, client: httpx.Client) -> tuple[dict[str, Any], str]:
    shield = state.nodes[contract.SHIELD_NODE].url

    def healthy(backend: str) -> bool:
        return bool(client.get(shield + contract.HEALTH_PATH).json()["backends"][backend])

    index = client.get(f"{shield}/simple/").text
    names = [part.split("/")[0] for part in index.split('href="')[1:]]
    cached, uncached = names[:PAGES], names[PAGES : 2 * PAGES]
    from_mirror = names[2 * PAGES : 3 * PAGES]
    for name in cached:
        client.get(f"{shield}/simple/{name}/")
    # Past the bench's 1 s lifetime (only grace can serve them now), and long enough that a
    # whole window of probes has passed: the register starts with `initial` good results only,
    # and the arithmetic below is for a backend that has been healthy for a window.
    time.sleep(max(1.1, FAST_PROBE["window"] * FAST_PROBE["interval_s"]))
    api = ToxiproxyApi(state.toxiproxy.api)
    web, mirror = state.links[WEB_LINK].proxy, state.links[MIRROR_LINK].proxy
    try:
        _slow(api, web, 3000)
        sick_after_s = time_until(lambda: not healthy(contract.web_node_name(1)), 20)
        mirrored = [client.get(f"{shield}/simple/{name}/") for name in from_mirror]
        _slow(api, mirror, 3000)
        time_until(lambda: not healthy(contract.STATIC_MIRROR), 20)
        stale = [client.get(f"{shield}/simple/{name}/") for name in cached]
        failed = [client.get(f"{shield}/simple/{name}/") for name in uncached]
        api.remove_toxic(mirror, "bench-slow")
        api.remove_toxic(web, "bench-slow")
        healthy_after_s = time_until(lambda: healthy(contract.web_node_name(1)), 20)
    finally:
        api.close()
    probe = FAST_PROBE
    results = {
        "probe": probe,
        "sick_after_s": sick_after_s,
        # The fault starts anywhere within an interval, and the last probe waits its timeout.
        "sick_expected_s": [
            (probe["window"] - probe["threshold"]) * probe["interval_s"],
            (probe["window"] - probe["threshold"] + 1) * probe["interval_s"] + probe["timeout_s"],
        ],
        "healthy_after_s": healthy_after_s,
        "healthy_expected_s": [
            (probe["threshold"] - 1) * probe["interval_s"],
            probe["threshold"] * probe["interval_s"],
        ],
        "mirror_200_share": sum(r.status_code == 200 for r in mirrored) / len(mirrored),
        "mirror_p99_ms": round(max(r.elapsed.total_seconds() for r in mirrored) * 1000, 1),
        "stale_share": sum(r.headers.get(contract.HEADER_CACHE) == "HIT-STALE" for r in stale)
        / len(stale),
        "stale_p99_ms": round(max(r.elapsed.total_seconds() for r in stale) * 1000, 1),
        "uncached_503_share": sum(r.status_code == 503 for r in failed) / len(failed),
    }
    return results, names[-1]


def _connection_limit(state: TopologyState, max_connections: int) -> dict[str, Any]:
    shield = state.nodes[contract.SHIELD_NODE].url
    limits = httpx.Limits(max_connections=CONCURRENT_MISSES + 50)
    api = ToxiproxyApi(state.toxiproxy.api)
    proxy = state.links[WEB_LINK].proxy
    with httpx.Client(timeout=30, trust_env=False, limits=limits) as shared:

        def miss(i: int) -> tuple[str, float]:
            answer = shared.get(f"{shield}/simple/busy{i}/")
            return answer.headers.get(
                contract.HEADER_ERROR_REASON, ""
            ), answer.elapsed.total_seconds()

        _slow(api, proxy, 2000)
        try:
            with concurrent.futures.ThreadPoolExecutor(CONCURRENT_MISSES) as pool:
                answers = list(pool.map(miss, range(CONCURRENT_MISSES)))
        finally:
            api.remove_toxic(proxy, "bench-slow")
            api.close()
    busy = [elapsed for reason, elapsed in answers if reason == FetchFailure.BACKEND_BUSY.value]
    return {
        "concurrent": CONCURRENT_MISSES,
        "max_connections": max_connections,
        "fetched": CONCURRENT_MISSES - len(busy),
        "failed_busy": len(busy),
        "busy_max_ms": round(max(busy) * 1000, 1) if busy else None,
    }


def _edge_timeout(state: TopologyState, project: str) -> list[dict[str, Any]]:
    """Two POPs at once: one just under the edge's 15 s first-byte timeout, one just over."""
    api = ToxiproxyApi(state.toxiproxy.api)
    cases = list(zip(state.edges[:2], (14_000, 16_000), strict=True))
    try:
        for pop, latency in cases:
            _slow(api, state.links[f"{contract.EDGE_PREFIX}{pop}->shield"].proxy, latency)
        with (
            httpx.Client(timeout=40, trust_env=False) as client,
            concurrent.futures.ThreadPoolExecutor(2) as pool,
        ):
            answers = list(
                pool.map(
                    lambda c: client.get(f"{state.client_url(c[0])}/pypi/{project}/json"), cases
                )
            )
    finally:
        for pop, _ in cases:
            api.remove_toxic(
                state.links[f"{contract.EDGE_PREFIX}{pop}->shield"].proxy, "bench-slow"
            )
        api.close()
    return [
        {
            "latency_ms": latency,
            "status": answer.status_code,
            "made_by": answer.headers.get(contract.HEADER_ERROR_NODE, "the backend"),
            "reason": answer.headers.get(contract.HEADER_ERROR_REASON, ""),
            "seconds": round(answer.elapsed.total_seconds(), 2),
        }
        for (_, latency), answer in zip(cases, answers, strict=True)
    ]


def measure_cdn_fidelity(config: TopologyConfig, state_dir: Path, report: Report) -> dict[str, Any]:
    overrides = {
        "origin": {"web_nodes": 1},
        "shield": {
            "backend": {"probe": FAST_PROBE},
            "fallback_backend": {"probe": FAST_PROBE},
            "cache_rules": [{"path_regex": "^/simple/", "ttl_s": 1.0}],
        },
    }
    fast = TopologyConfig.model_validate(deep_merge(config.model_dump(mode="json"), overrides))
    with (
        topology_up(fast, state_dir, report) as state,
        httpx.Client(timeout=30, trust_env=False) as client,
    ):
        results, project = _probes_and_grace(state, client)
        results["connection_limit"] = _connection_limit(state, fast.shield.backend.max_connections)
        # The slow link there made the fast probes call the backend sick: wait it out.
        shield = state.nodes[contract.SHIELD_NODE].url + contract.HEALTH_PATH
        time_until(lambda: all(client.get(shield).json()["backends"].values()), 20)
        results["edge_timeout"] = _edge_timeout(state, project) if len(state.edges) >= 2 else []
    return results


def print_cdn_fidelity(result: dict[str, Any], out: Console) -> None:
    table = Table(title="CDN fidelity: the 2014 record's mechanisms, measured")
    for column in ("mechanism", "expected", "measured"):
        table.add_column(column)
    probe = result["probe"]
    table.add_row(
        f"probe turns sick (interval {probe['interval_s']} s, window {probe['window']}, "
        f"threshold {probe['threshold']})",
        "after {:g}-{:g} s".format(*result["sick_expected_s"]),
        f"{result['sick_after_s']} s",
    )
    table.add_row(
        "probe turns healthy again",
        "after {:g}-{:g} s".format(*result["healthy_expected_s"]),
        f"{result['healthy_after_s']} s",
    )
    table.add_row(
        "web node sick: uncached pages",
        "200 from the static mirror",
        f"{result['mirror_200_share']:.0%} 200, slowest {result['mirror_p99_ms']} ms",
    )
    table.add_row(
        "mirror sick too: expired cached pages",
        "all HIT-STALE, no fetch",
        f"{result['stale_share']:.0%} HIT-STALE, slowest {result['stale_p99_ms']} ms",
    )
    table.add_row(
        "mirror sick too: uncached pages", "all 503", f"{result['uncached_503_share']:.0%} 503"
    )
    limit = result["connection_limit"]
    table.add_row(
        f"{limit['concurrent']} concurrent slow misses, max_connections {limit['max_connections']}",
        f"{limit['max_connections']} fetched, the rest fail at once",
        f"{limit['fetched']} fetched, {limit['failed_busy']} failed (slowest {limit['busy_max_ms']} ms)",
    )
    for row in result["edge_timeout"]:
        expected = "an answer after ~14 s" if row["latency_ms"] < 15_000 else "edge 503 at ~15 s"
        table.add_row(
            f"POP->shield latency {row['latency_ms'] / 1000:g} s",
            expected,
            f"{row['status']} from {row['made_by']} after {row['seconds']} s {row['reason']}".strip(),
        )
    out.print(table)
