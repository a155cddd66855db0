"""The CDN as the 2014 record has it, on real processes: the edges' own first-byte timeout to
the shield, health probes and grace, the fail-fast connection limit, the director, and the POPs'
warm pools to the shield."""

from __future__ import annotations

import concurrent.futures
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx

from harness.toxiproxy_api import ToxiproxyApi
from proxies.contract import EDGE_WARM_CONNECTIONS, HEALTH_PATH, FetchFailure
from tests.integration.conftest import both_cdns, metric

# Probes fast enough that a backend turns sick in a second, not Varnish's 30 s.
FAST_PROBE = {"interval_s": 0.2, "timeout_s": 0.15, "window": 4, "threshold": 2, "initial": 4}


def slow(api: ToxiproxyApi, proxy: str, latency_ms: int) -> None:
    api.add_toxic(
        proxy,
        {
            "name": "slow",
            "type": "latency",
            "stream": "downstream",
            "attributes": {"latency": latency_ms, "jitter": 0},
        },
    )


def wait_for_health(client: httpx.Client, node_url: str, backend: str, healthy: bool) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.get(node_url + HEALTH_PATH).json()["backends"][backend] is healthy:
            return
        time.sleep(0.05)
    raise AssertionError(f"{backend} never turned {'healthy' if healthy else 'sick'}")


def eventually(read: Callable[[], float], expected: float, timeout_s: float = 2.0) -> float:
    """A counter that Varnish's log readers update a moment after the answer: read until it
    shows `expected` or the time is up (the model's is exact at once)."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


@both_cdns
def test_latency_above_15_s_between_pops_and_shield_gives_the_edges_own_503s(up, client, cdn):
    with up() as state:
        api = ToxiproxyApi(state.toxiproxy.api)
        slow(api, state.links["edge-iad->shield"].proxy, 32_000)
        edge = state.client_url("iad")
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(lambda p: client.get(f"{edge}/simple/p{p}/", timeout=45), range(3))
            )
        waited_s = time.monotonic() - started
        expected_retries = 0 if cdn == "model" else 3
        node = state.nodes["edge-iad"].url
        retries = eventually(
            lambda: metric(client, node, "shieldlab_backend_retries_total", backend="shield"),
            expected_retries,
        )
        api.close()
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert retries == expected_retries
    assert {a.headers["X-Shieldlab-Error-Node"] for a in answers} == {"edge-iad"}
    assert {a.headers["X-Shieldlab-Error-Reason"] for a in answers} == {"first byte timeout"}
    # The service's own 15 s, not the 60 s of a hop inside a POP. The model's fetches go out
    # on new connections here (the warm ones are held by the stalled warm-up), so 2.1 would not
    # retry; Varnish's VCL cannot tell a new connection and retries every first-byte timeout.
    expected_s = 15 if cdn == "model" else 30
    assert expected_s - 0.5 < waited_s < expected_s + 1.5


@both_cdns
def test_a_sick_backend_serves_cached_pages_stale_and_503s_only_uncached_ones(up, client, cdn):
    overrides: dict[str, Any] = {
        "origin": {"web_nodes": 1, "static_mirror": False},
        "shield": {
            "backend": {"probe": FAST_PROBE},
            "cache_rules": [{"path_regex": "^/simple/", "ttl_s": 0.5}],
        },
    }
    with up(overrides) as state:
        shield = state.nodes["shield"].url
        index = client.get(f"{shield}/simple/").text
        project = index.split('href="')[1].split("/")[0]
        assert client.get(f"{shield}/simple/{project}/").headers["X-Cache"] == "MISS"
        time.sleep(0.6)  # expired: from now on only grace can serve it
        api = ToxiproxyApi(state.toxiproxy.api)
        slow(api, state.links["shield->origin-1"].proxy, 3000)  # the probes time out
        wait_for_health(client, shield, "origin-1", healthy=False)
        stale = [client.get(f"{shield}/simple/{project}/") for _ in range(3)]
        uncached = client.get(f"{shield}/simple/never-fetched/")
        served_stale = eventually(
            lambda: metric(client, shield, "shieldlab_cache_total", result="stale"), 3
        )
        api.remove_toxic(state.links["shield->origin-1"].proxy, "slow")
        wait_for_health(client, shield, "origin-1", healthy=True)
        healed = client.get(f"{shield}/simple/{project}/")
        api.close()
    assert [r.status_code for r in stale] == [200, 200, 200]
    assert {r.headers["X-Cache"] for r in stale} == {"HIT-STALE"}
    assert all(r.elapsed.total_seconds() < 1 for r in stale)  # no fetch was tried
    assert served_stale == 3
    assert uncached.status_code == 503
    assert uncached.headers["X-Shieldlab-Error-Reason"] == FetchFailure.UNHEALTHY.value
    # Healthy again, an expired page inside the 15 s grace: Varnish 2.1 (the model) fetches it;
    # Varnish 7 serves it stale and refreshes it in the background (the README's differences).
    refetched = "HIT-STALE" if cdn == "varnish" else "MISS"
    assert healed.status_code == 200 and healed.headers["X-Cache"] == refetched


@both_cdns
def test_with_every_web_node_sick_the_static_mirror_serves_pages_and_files_until_it_is_sick_too(
    up, client
):
    overrides: dict[str, Any] = {
        "shield": {"backend": {"probe": FAST_PROBE}, "fallback_backend": {"probe": FAST_PROBE}},
    }
    with up(overrides) as state:
        shield, origin = state.nodes["shield"].url, state.nodes["origin"].url
        api = ToxiproxyApi(state.toxiproxy.api)
        for web in ("shield->origin-1", "shield->origin-2"):
            slow(api, state.links[web].proxy, 3000)
        for web in ("origin-1", "origin-2"):
            wait_for_health(client, shield, web, healthy=False)
        index = client.get(f"{shield}/simple/")
        project = index.text.split('href="')[1].split("/")[0]
        page = client.get(f"{shield}/simple/{project}/")
        json_page = client.get(f"{shield}/pypi/{project}/json")
        xmlrpc = client.post(f"{shield}/pypi", content=b"<methodCall/>")
        from_mirror = metric(client, origin, "shieldlab_requests_total", web="mirror")
        slow(api, state.links["shield->mirror"].proxy, 3000)
        wait_for_health(client, shield, "mirror", healthy=False)
        uncached = client.get(f"{shield}/simple/never-fetched/")
        api.close()
    assert index.status_code == 200 and page.status_code == 200
    assert page.elapsed.total_seconds() < 1  # the mirror's link is not the slow one
    assert json_page.status_code == 404  # a bandersnatch mirror has no JSON API
    assert xmlrpc.status_code == 503  # POSTs never fall back: the mirror has no XML-RPC
    assert from_mirror >= 3
    assert uncached.status_code == 503
    assert uncached.headers["X-Shieldlab-Error-Reason"] == FetchFailure.UNHEALTHY.value


def test_250_slow_misses_to_one_backend_keep_200_in_flight_and_fail_the_rest_at_once(up, client):
    overrides: dict[str, Any] = {
        "origin": {"web_nodes": 1},
        "shield": {"backend": {"probe": None}},
    }
    with up(overrides) as state:
        shield = state.nodes["shield"].url
        api = ToxiproxyApi(state.toxiproxy.api)
        slow(api, state.links["shield->origin-1"].proxy, 3000)

        limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
        shared = httpx.Client(timeout=30, trust_env=False, limits=limits)

        def miss(i: int) -> tuple[int, str, float]:
            answer = shared.get(f"{shield}/simple/p{i}/")
            reason = answer.headers.get("X-Shieldlab-Error-Reason", "")
            return answer.status_code, reason, answer.elapsed.total_seconds()

        with shared, concurrent.futures.ThreadPoolExecutor(250) as pool:
            answers = list(pool.map(miss, range(250)))
        api.close()
    busy = [a for a in answers if a[1] == FetchFailure.BACKEND_BUSY.value]
    fetched = [a for a in answers if a[1] != FetchFailure.BACKEND_BUSY.value]
    assert len(fetched) == 200  # Fastly's default max_connections
    assert len(busy) == 50
    assert all(status == 503 and elapsed < 1.0 for status, _, elapsed in busy)  # at once
    assert all(elapsed >= 2.9 for _, _, elapsed in fetched)  # these waited on the slow link


@both_cdns
def test_one_backend_of_two_stalled_sends_everything_to_the_other(up, client):
    overrides: dict[str, Any] = {"shield": {"backend": {"probe": FAST_PROBE}}}
    with up(overrides) as state:
        shield, origin = state.nodes["shield"].url, state.nodes["origin"].url
        api = ToxiproxyApi(state.toxiproxy.api)
        slow(api, state.links["shield->origin-1"].proxy, 5000)
        wait_for_health(client, shield, "origin-1", healthy=False)
        before = {
            web: metric(
                client, origin, "shieldlab_requests_total", web=web, endpoint="project_json"
            )
            for web in ("origin-1", "origin-2")
        }
        answers = [client.get(f"{shield}/pypi/p{i}/json") for i in range(20)]
        after = {
            web: metric(
                client, origin, "shieldlab_requests_total", web=web, endpoint="project_json"
            )
            for web in ("origin-1", "origin-2")
        }
        api.close()
    assert all(a.status_code == 404 and a.elapsed.total_seconds() < 1 for a in answers)
    assert after["origin-1"] == before["origin-1"]
    assert after["origin-2"] - before["origin-2"] == 20


def established_from(port: int) -> set[str]:
    """The local ends of the TCP connections open to `port` on loopback (ss, as an operator)."""
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[2] for line in out.splitlines() if line.strip()}


def test_a_pops_pool_to_the_shield_is_open_before_use_and_kept_open_while_idle(up):
    warm = EDGE_WARM_CONNECTIONS
    # A short keep-alive: without the warmer an idle pool would be closed within 2 s.
    with up({"edges": ["iad"], "edge": {"backend": {"keepalive_s": 2.0}}}) as state:
        port = state.links["edge-iad->shield"].port
        deadline = time.monotonic() + 10
        while len(first := established_from(port)) < warm and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # idle, longer than the keep-alive
        later = established_from(port)
    assert len(first) >= warm, f"{len(first)} connections open before any request"
    kept = first & later
    assert len(kept) >= warm, f"only {len(kept)} of {len(first)} connections kept open while idle"


def test_with_the_default_keep_alive_the_pool_is_warm_right_after_start(up):
    # The first round can run before the link is routed: it must be retried soon, not after
    # half the 60 s keep-alive.
    with up({"edges": ["iad"]}) as state:
        port = state.links["edge-iad->shield"].port
        deadline = time.monotonic() + 5
        while len(open_now := established_from(port)) < EDGE_WARM_CONNECTIONS:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert len(open_now) >= EDGE_WARM_CONNECTIONS
