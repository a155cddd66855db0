"""What a CDN node does with a request, given its cache and its backends' health: the grace
rules of PyPI's 2014 VCL on Varnish 2.1. Pure, so the table is unit-tested.

- A fresh object is a hit.
- An expired object still inside `req.grace` (15 s while the backend is healthy, 24 h while it
  is sick) is served stale only while another request is already fetching it, or while the
  backend is sick. Otherwise the request fetches, and a failed fetch is a 503: Varnish 2.1 has
  no stale-if-error.
- With every backend sick (the static mirror too, if there is one) nothing is fetched: stale if
  there is any, else a 503. While the mirror answers, the node fetches from it instead.
"""

from __future__ import annotations

from enum import Enum

from proxies.cdn.cache import Freshness


class Serve(Enum):
    HIT = "hit"
    STALE = "stale"  # X-Cache: HIT-STALE
    FETCH = "fetch"  # lead a fetch, or wait on the one in flight
    UNHEALTHY = "unhealthy"  # a synthetic 503: no healthy backend, nothing stale to give


def decide(
    freshness: Freshness,
    past_ttl_s: float,
    healthy: bool,
    fetching: bool,
    grace_healthy_s: float,
    grace_sick_s: float,
) -> Serve:
    """`past_ttl_s`: how long ago a stale object expired; `fetching`: a fetch is in flight."""
    if freshness is Freshness.FRESH:
        return Serve.HIT
    if freshness is Freshness.STALE:
        grace_s = grace_healthy_s if healthy else grace_sick_s
        if past_ttl_s < grace_s and (fetching or not healthy):
            return Serve.STALE
    return Serve.FETCH if healthy else Serve.UNHEALTHY
