"""Which requests cross which segment of the CDN, read from the headers a client sees.

Each request's path tells how far it went (X-Cache):
  edge HIT                 client -> edge
  edge MISS, shield HIT    client -> edge -> shield
  MISS, MISS               client -> edge -> shield -> origin
  PASS (POST)              client -> edge -> origin
For every segment, `diagnose` compares three populations of the same requests in a window with
their own quiet level:
  timed      successes whose path ends just past the segment (their latency is the segment's
             and what lies before it, nothing further down);
  attempts   every request that reached the segment, and which of them failed there;
  control    the successes that stop just before the segment (the neighbour that tells the
             segment from what lies before it); for the first segment, the other POPs' hits.
A failure that may have come from further down (an edge's first-byte timeout waits on the
shield, which may wait on the origin; a client timeout has no headers at all) is `ambiguous`:
it names the segment only when nothing further down is named at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from harness.records.request import RequestRecord
from harness.scenario import topology_plan as plan
from proxies.contract import EDGE_PREFIX, SHIELD_NODE, CacheState, FetchFailure


class Path(StrEnum):
    """How far into the CDN a request went."""

    HIT = "hit"
    SHIELD = "shield"
    ORIGIN = "origin"
    PASS = "pass"
    COLLAPSED = "collapsed"
    FAILED = "failed"


def path_of(record: RequestRecord) -> Path:
    if record.method == "POST":
        return Path.PASS
    edge, shield = record.edge_cache, record.shield_cache
    if edge is None:
        return Path.FAILED
    if CacheState.HIT_COLLAPSED in (edge, shield):
        return Path.COLLAPSED  # it waited on another request's fetch, however deep that went
    if edge.is_hit:
        return Path.HIT
    if shield is not None and shield.is_hit:
        return Path.SHIELD
    return Path.ORIGIN


class SegmentKind(StrEnum):
    CLIENT_EDGE = "client->edge"
    EDGE_SHIELD = "edge->shield"
    SHIELD_ORIGIN = "shield->origin"
    EDGE_ORIGIN = "edge->origin"


# What lies behind each kind on a request's path: a finding there may explain this one's
# ambiguous failures.
DEEPER: dict[SegmentKind, tuple[SegmentKind, ...]] = {
    SegmentKind.CLIENT_EDGE: (
        SegmentKind.EDGE_SHIELD,
        SegmentKind.SHIELD_ORIGIN,
        SegmentKind.EDGE_ORIGIN,
    ),
    SegmentKind.EDGE_SHIELD: (SegmentKind.SHIELD_ORIGIN,),
    SegmentKind.SHIELD_ORIGIN: (),
    SegmentKind.EDGE_ORIGIN: (),
}

# An edge that could not connect to the shield, or lost the connection, failed on its own link.
_LINK_FAILURES = (FetchFailure.CONNECT_TIMEOUT, FetchFailure.READ_ERROR)


@dataclass(frozen=True)
class Segment:
    name: str
    kind: SegmentKind
    pop: str | None
    timed: list[RequestRecord]
    attempts: list[RequestRecord]
    failed: Callable[[RequestRecord], bool]
    ambiguous: Callable[[RequestRecord], bool]  # a failure that may come from further down
    control: list[RequestRecord]
    control_attempts: list[RequestRecord]  # the control for the failed share

    def is_behind(self, other: Segment) -> bool:
        """Whether `other` lies further down this segment's requests' path."""
        same_pop = other.pop is None or self.pop is None or other.pop == self.pop
        return other.kind in DEEPER[self.kind] and same_pop


def _made_by(node: str) -> Callable[[RequestRecord], bool]:
    return lambda r: r.is_error and r.error_node == node


def made_by_an_edge(r: RequestRecord) -> bool:
    return r.is_error and r.error_node.startswith(EDGE_PREFIX)


def edge_links(
    records: list[RequestRecord], pop: str | None, failed: Callable[[RequestRecord], bool]
) -> list[Segment]:
    """The edge's links to the shield and to the origin, for one POP or (pop None) all."""
    gets = [r for r in records if r.method != "POST"]
    hits = _on(Path.HIT, gets)
    return [
        Segment(
            segment_name(SegmentKind.EDGE_SHIELD, pop),
            SegmentKind.EDGE_SHIELD,
            pop,
            timed=_on(Path.SHIELD, gets),
            attempts=[r for r in gets if path_of(r) in (Path.SHIELD, Path.ORIGIN)],
            failed=failed,
            ambiguous=lambda r: r.error_reason not in _LINK_FAILURES,
            control=hits,
            control_attempts=hits,
        ),
        Segment(
            segment_name(SegmentKind.EDGE_ORIGIN, pop),
            SegmentKind.EDGE_ORIGIN,
            pop,
            timed=_on(Path.PASS, records),
            attempts=[r for r in records if r.method == "POST"],
            failed=failed,
            ambiguous=lambda r: False,
            control=hits,
            control_attempts=hits,
        ),
    ]


def _on(path: Path, rs: list[RequestRecord]) -> list[RequestRecord]:
    """The successes among `rs` that went `path`."""
    return [r for r in rs if path_of(r) is path and not r.is_error]


def segment_name(kind: SegmentKind, pop: str | None) -> str:
    """The link's name as the topology names it; pop None: every POP's (`edge-*->shield`)."""
    pops = pop or "*"
    names = {
        SegmentKind.CLIENT_EDGE: plan.client_link(pops),
        SegmentKind.EDGE_SHIELD: plan.shield_link(pops),
        SegmentKind.SHIELD_ORIGIN: plan.ORIGIN_LINK,
        SegmentKind.EDGE_ORIGIN: plan.pass_link(pops),
    }
    return names[kind]


def client_edge(pop: str, mine: list[RequestRecord], others: list[RequestRecord]) -> Segment:
    """The clients' link to one POP; the other POPs' requests are its control."""
    return Segment(
        segment_name(SegmentKind.CLIENT_EDGE, pop),
        SegmentKind.CLIENT_EDGE,
        pop,
        timed=_on(Path.HIT, mine),
        attempts=mine,
        failed=lambda r: r.status == 0,
        ambiguous=lambda r: True,
        control=_on(Path.HIT, others),
        control_attempts=others,
    )


def shield_origin(kept: list[RequestRecord]) -> Segment:
    """The shield's link to the origin: the misses at both caches; the shield's hits are its
    control."""
    shield_hits = _on(Path.SHIELD, kept)
    return Segment(
        SegmentKind.SHIELD_ORIGIN.value,
        SegmentKind.SHIELD_ORIGIN,
        None,
        timed=_on(Path.ORIGIN, kept),
        # An edge's own 503 carries only the edge's X-Cache: it never reached the shield's fetch.
        attempts=[r for r in kept if path_of(r) is Path.ORIGIN and not made_by_an_edge(r)],
        failed=_made_by(SHIELD_NODE),
        ambiguous=lambda r: False,
        control=shield_hits,
        control_attempts=shield_hits,
    )


def segments(
    records: list[RequestRecord], skip_pops: frozenset[str] = frozenset()
) -> list[Segment]:
    """Every segment of the topology the records show. `skip_pops`: POPs whose link to the
    shield is faulty, left out of the shield->origin populations (their misses are slow in front
    of the shield)."""
    pops = sorted({r.pop for r in records})
    by_pop = {pop: [r for r in records if r.pop == pop] for pop in pops}
    found = []
    for pop in pops:
        others = [r for p in pops if p != pop for r in by_pop[p]]
        found.append(client_edge(pop, by_pop[pop], others))
        found += edge_links(by_pop[pop], pop, _made_by(plan.edge_name(pop)))
    if len(pops) > 1:  # every POP's link at once: the POP-to-shield network, with all its data
        found += edge_links(records, None, made_by_an_edge)
    kept = [r for r in records if r.pop not in skip_pops and r.method != "POST"]
    found.append(shield_origin(kept))
    return found
