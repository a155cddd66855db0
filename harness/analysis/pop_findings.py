"""Findings on the edges' links, POP by POP and all POPs at once: when one fault on most POPs is
one finding (`edge-*->shield (k of n POPs)`), when the POPs' links together are
(`edge-*->shield (all n POPs)`), and when a few POPs are the fault and the pooled test only saw
them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from harness.analysis.change_tests import Window
from harness.analysis.segments import (
    Segment,
    SegmentKind,
    edge_links,
    made_by_an_edge,
    segment_name,
)
from harness.records.diagnosis import SegmentFinding
from harness.records.request import RequestRecord

POOLED_KINDS = (SegmentKind.EDGE_SHIELD, SegmentKind.EDGE_ORIGIN)


@dataclass(frozen=True)
class Named:
    segment: Segment
    finding: SegmentFinding
    ambiguous: bool  # only failures that may have come from further down

    @property
    def window(self) -> Window:
        return Window(self.finding.onset_s, self.finding.end_s)


def everywhere(
    named: list[Named],
    records: list[RequestRecord],
    still_bad: Callable[[SegmentFinding, Segment], bool],
) -> set[SegmentKind]:
    """The kinds of edge link whose pooled finding stands for every POP although a few POPs were
    named on their own: the POPs not named, pooled, still went bad in that window."""
    kinds = set()
    for index, kind in enumerate(POOLED_KINDS):
        alone = {n.segment.pop for n in named if n.segment.kind is kind and n.segment.pop}
        pooled = [n.finding for n in named if n.segment.kind is kind and n.segment.pop is None]
        if not (alone and pooled):
            continue
        rest = [r for r in records if r.pop not in alone]
        if rest and still_bad(pooled[0], edge_links(rest, None, made_by_an_edge)[index]):
            kinds.add(kind)
    return kinds


def merge_pops(
    named: list[Named], pops: list[str], everywhere_kinds: set[SegmentKind]
) -> list[SegmentFinding]:
    """One fault on most POPs' links is one finding, `edge-*->shield (k of n POPs)`, carrying
    the most confident POP's window, tests and effect. When the links of all POPs together
    went bad and no single POP's did, it is `edge-*->shield (all n POPs)`; when a few POPs'
    did, they are the finding (the pooled test only saw them), unless the other POPs still show
    it (`everywhere_kinds`)."""
    findings = [
        n.finding
        for n in named
        if n.segment.pop is not None or n.segment.kind is SegmentKind.SHIELD_ORIGIN
    ]
    for kind in (SegmentKind.CLIENT_EDGE, SegmentKind.EDGE_SHIELD, SegmentKind.EDGE_ORIGIN):
        same = [n.finding for n in named if n.segment.kind is kind and n.segment.pop is not None]
        pooled = [n.finding for n in named if n.segment.kind is kind and n.segment.pop is None]
        star = segment_name(kind, None)
        if len(pops) > 1 and len(same) >= max(2, math.ceil(len(pops) / 2)):
            top = max(same, key=lambda f: f.confidence)
            merged = top.model_copy(
                update={
                    "segment": f"{star} ({len(same)} of {len(pops)} POPs)",
                    "link": star,
                    "pops": sorted(p for f in same for p in f.pops),
                    "onset_s": min(f.onset_s for f in same),
                    "end_s": max(f.end_s for f in same),
                }
            )
            findings = [f for f in findings if f not in same] + [merged]
        elif pooled and (not same or kind in everywhere_kinds):
            findings = [f for f in findings if f not in same]
            findings.append(
                pooled[0].model_copy(
                    update={
                        "segment": f"{star} (all {len(pops)} POPs)",
                        "link": star,
                        "pops": sorted(pops),
                    }
                )
            )
    return findings
