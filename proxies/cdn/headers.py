"""Response headers a CDN node adds: the Fastly-style trail of every node on the path."""

from __future__ import annotations

from dataclasses import dataclass

from proxies import contract
from proxies.contract import FetchFailure

_TRAIL = {
    h.lower()
    for h in (
        contract.HEADER_SERVED_BY,
        contract.HEADER_CACHE,
        contract.HEADER_CACHE_HITS,
        contract.HEADER_AGE,
        contract.HEADER_TIMER,
    )
}

Headers = list[tuple[str, str]]


def _append(previous: str | None, mine: str) -> str:
    return f"{previous}, {mine}" if previous else mine


def _timer(started: float, finished: float) -> str:
    return f"S{started:.6f},VS0,VE{round((finished - started) * 1000)}"


@dataclass(frozen=True)
class TrailEntry:
    """What one node adds to the trail: who it is, what its cache did, and when it answered."""

    node: str
    cache_state: contract.CacheState
    hits: int
    age_s: float
    started: float
    finished: float


def compose(upstream: tuple[tuple[str, str], ...] | Headers, entry: TrailEntry) -> Headers:
    """Upstream headers plus this node's entry; the edge, answering last, is listed last."""
    trail = {k.lower(): v for k, v in upstream if k.lower() in _TRAIL}
    headers = [(k, v) for k, v in upstream if k.lower() not in _TRAIL]
    upstream_age = int(trail.get("age", "0") or 0)
    headers += [
        (contract.HEADER_SERVED_BY, _append(trail.get("x-served-by"), entry.node)),
        (contract.HEADER_CACHE, _append(trail.get("x-cache"), entry.cache_state.value)),
        (contract.HEADER_CACHE_HITS, _append(trail.get("x-cache-hits"), str(entry.hits))),
        (contract.HEADER_AGE, str(upstream_age + int(entry.age_s))),
        (contract.HEADER_TIMER, _timer(entry.started, entry.finished)),
    ]
    return headers


def synthetic_error(node: str, reason: FetchFailure, started: float, finished: float) -> Headers:
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Retry-After", "0"),
        (contract.HEADER_ERROR_NODE, node),
        (contract.HEADER_ERROR_REASON, reason.value),
        (contract.HEADER_SERVED_BY, node),
        (contract.HEADER_CACHE, contract.CacheState.MISS.value),
        (contract.HEADER_CACHE_HITS, "0"),
        (contract.HEADER_AGE, "0"),
        (contract.HEADER_TIMER, _timer(started, finished)),
    ]


def error_page(node: str, reason: FetchFailure) -> bytes:
    """The CDN's 'Guru Meditation' page, naming the reason as Fastly's does."""
    return (
        "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>\n"
        f"<h1>Error 503 Service Unavailable</h1>\n<p>{reason.value}</p>\n"
        f"<h3>Guru Mediation:</h3><p>Details: {node}</p>\n<hr><p>Varnish cache server</p>\n"
        "</body></html>\n"
    ).encode()
