"""`shieldlab diagnose RUN_DIR`: every faulty segment, from request records and node samples.

It never reads the scenario's faults or events.jsonl: it reads what an operator would have,
client-side request logs with the CDN's headers and the nodes' metrics.

For each segment (harness.analysis.segments) and each candidate window, the requests crossing it
are tested against the same requests in the rest of the run (harness.analysis.change_tests), the
p-values of every segment, window and test adjusted together. A segment is named when a test
passes and the requests crossing it went bad more often than those stopping just before it (the
neighbour), and when its only evidence is failures that may have come from further down, only if
nothing further down is named at the same time. While every origin worker slot was busy, slowness
says nothing about the links: those moments are the separate finding "origin capacity".
"""

from __future__ import annotations

from pathlib import Path

from harness.analysis.change_tests import (
    FDR_LEVEL,
    Window,
    candidate_windows,
    neighbour_p,
    window_p,
)
from harness.analysis.pop_findings import Named, everywhere, merge_pops
from harness.analysis.segment_scan import Populations, contrast, detect, effect, scan
from harness.analysis.segments import Segment, SegmentKind, segments
from harness.errors import BadInput
from harness.records import files
from harness.records.diagnosis import (
    ChangeTest,
    Diagnosis,
    OriginCapacity,
    PassedTest,
    SegmentFinding,
)
from harness.records.request import RequestRecord, read_requests
from harness.records.samples import OriginSlots, read_samples
from harness.scenario.traffic import Layer

# The neighbour test is a second test of a window already found: strict, so that a chance
# imbalance between two populations sharing a fault upstream is not taken for this segment's.
NEIGHBOUR_LEVEL = 0.001
# A run starts cold: every cache empty and each mirror's first full sync, so its first seconds
# are slower on the same paths (measured here: misses at both caches slower in the first 8 s of
# 3 of 5 clean 60 s runs, and the mirrors' XML-RPC calls in 1; never later): as slow as 5 %
# loss on the backend link. They are neither judged nor quiet.
WARMUP_S = 8.0
BIN_S = 2.0  # the resolution of the origin's saturation (its gauges are scraped every second)


def _assess(
    records: list[RequestRecord], skip_pops: frozenset[str]
) -> tuple[list[Named], int, int]:
    found = segments(records, skip_pops)
    times = [r.intended_s for r in records]
    windows = candidate_windows(min(times), max(times)) if times else []
    candidates, populations = scan(found, windows)
    detected, segment_q = detect(candidates)
    # Each segment is judged in the window where it went worst (the one that fits its fault
    # best: any window holding a fault passes too). Quiet levels leave out every segment's
    # worst window, or at least this segment's own.
    worst = {
        name: min(passing, key=lambda c: (c[0].p, -contrast(c[0], populations[name])))[0].window
        for name, passing in detected.items()
    }
    anywhere = tuple(set(worst.values()))
    named = []
    for name, passing in detected.items():
        window, segment = worst[name], passing[0][0].segment
        disturbed = [anywhere, (window,)]
        pops = populations[name]
        tests = []
        for candidate, q in passing:
            if candidate.window != window:
                continue
            n_p = neighbour_p(
                candidate.kind,
                window,
                disturbed,
                pops.crossing(candidate.kind),
                pops.neighbour(candidate.kind),
            )
            if n_p is None or n_p <= NEIGHBOUR_LEVEL:
                tests.append(
                    PassedTest(
                        test=candidate.kind, p_value=candidate.p, q_value=q, neighbour_p_value=n_p
                    )
                )
        if not tests:
            continue  # what lies before the segment went as bad: not this segment's fault
        finding = SegmentFinding(
            segment=name,
            link=name,
            pops=[segment.pop] if segment.pop else [],
            onset_s=window.start_s,
            end_s=window.end_s,
            q_value=segment_q[name],
            confidence=round(1 - segment_q[name], 6),
            tests=tests,
            effect=effect(pops, window, disturbed),
        )
        named.append(Named(segment, finding, _only_ambiguous(segment, finding)))
    return named, len(candidates), len(windows)


def _only_ambiguous(segment: Segment, finding: SegmentFinding) -> bool:
    if any(t.test is not ChangeTest.FAILED for t in finding.tests):
        return False
    failed = [
        r
        for r in segment.attempts
        if segment.failed(r) and finding.onset_s <= r.intended_s < finding.end_s
    ]
    return sum(segment.ambiguous(r) for r in failed) * 2 > len(failed)


def _explain_away(named: list[Named]) -> list[Named]:
    """Failures that may have come from further down name a segment only when nothing further
    down on the same path is named at the same time."""
    firm = [n for n in named if not n.ambiguous]
    return [
        n
        for n in named
        if not n.ambiguous
        or not any(n.segment.is_behind(d.segment) and n.window.overlaps(d.window) for d in firm)
    ]


def _pooled_still_bad(finding: SegmentFinding, segment: Segment) -> bool:
    """Do the POPs not named on their own still show the pooled finding's fault?"""
    pops = Populations.of(segment)
    window = Window(finding.onset_s, finding.end_s)
    return any(
        (p := window_p(t.test, *pops.crossing(t.test).split(window))) is not None and p <= FDR_LEVEL
        for t in finding.tests
    )


def _saturated_bins(origin: list[tuple[float, float, float]]) -> set[int]:
    return {int(t // BIN_S) for t, busy, slots in origin if slots > 0 and busy >= slots}


def _origin_capacity(records: list[RequestRecord], saturated: set[int]) -> OriginCapacity | None:
    balancer = [r.intended_s for r in records if r.error_layer == Layer.ORIGIN_LB]
    moments = balancer + [b * BIN_S for b in saturated]
    if not moments:
        return None
    return OriginCapacity(
        onset_s=min(moments),
        end_s=max(moments) + (BIN_S if saturated else 0.0),
        balancer_answers=len(balancer),
        saturated_s=len(saturated) * BIN_S,
    )


def diagnose_records(
    records: list[RequestRecord], origin: list[tuple[float, float, float]]
) -> Diagnosis:
    """`origin` holds (t_s, busy slots, worker slots) as scraped from the origin's metrics."""
    saturated = _saturated_bins(origin)
    # While the backend was the bottleneck, slowness says nothing about the links; nor does
    # the warm-up.
    start = min((r.intended_s for r in records), default=0.0) + WARMUP_S
    links = [
        r for r in records if int(r.intended_s // BIN_S) not in saturated and r.intended_s >= start
    ]
    named, tests_run, windows = _assess(links, frozenset())
    pops = sorted({r.pop for r in records})
    in_front = [
        n.segment.pop for n in _explain_away(named) if n.segment.kind is SegmentKind.EDGE_SHIELD
    ]
    # One POP's link named: its misses; only the pooled link named: every POP's.
    each = [str(p) for p in in_front if p is not None]
    slow_pops = frozenset(each or (pops if in_front else []))
    if slow_pops:  # their misses are slow in front of the shield: judge its backend without them
        named, tests_run, windows = _assess(links, slow_pops)
    kept = _explain_away(named)
    findings = merge_pops(kept, pops, everywhere(kept, links, _pooled_still_bad))
    return Diagnosis(
        fdr_level=FDR_LEVEL,
        tests_run=tests_run,
        windows=windows,
        findings=sorted(findings, key=lambda f: f.confidence, reverse=True),
        origin_capacity=_origin_capacity(records, saturated),
    )


def diagnose(run_dir: Path) -> Diagnosis:
    requests = run_dir / files.REQUESTS_FILE
    if not requests.is_file():
        raise BadInput(
            f"{run_dir}: no {files.REQUESTS_FILE}; give a directory that `shieldlab run` wrote"
        )
    origin = OriginSlots.of(read_samples(run_dir / files.SAMPLES_FILE))
    return diagnose_records(read_requests(requests), origin.by_scrape())
