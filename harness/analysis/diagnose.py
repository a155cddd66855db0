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

from dataclasses import dataclass
from pathlib import Path

import numpy

from harness.analysis.change_tests import (
    FDR_LEVEL,
    MIN_QUIET,
    Population,
    Window,
    adjusted,
    beyond,
    candidate_windows,
    neighbour_p,
    window_p,
)
from harness.analysis.pop_findings import Named, everywhere, merge_pops
from harness.analysis.segments import Segment, SegmentKind, segments
from harness.errors import BadInput
from harness.records import files
from harness.records.diagnosis import (
    Change,
    ChangeTest,
    Diagnosis,
    Effect,
    OriginCapacity,
    PassedTest,
    SegmentFinding,
)
from harness.records.request import RequestRecord, read_requests
from harness.records.samples import read_samples
from harness.traffic import Layer
from proxies.contract import ORIGIN_NODE, OriginGauge

# The neighbour test is a second test of a window already found: strict, so that a chance
# imbalance between two populations sharing a fault upstream is not taken for this segment's.
NEIGHBOUR_LEVEL = 0.001
# A run starts cold: every cache empty and each mirror's first full sync, so its first seconds
# are slower on the same paths (measured here: misses at both caches slower in the first 8 s of
# 3 of 5 clean 60 s runs, and the mirrors' XML-RPC calls in 1; never later): as slow as 5 %
# loss on the backend link. They are neither judged nor quiet.
WARMUP_S = 8.0
BIN_S = 2.0  # the resolution of the origin's saturation (its gauges are scraped every second)


@dataclass(frozen=True)
class _Populations:
    timed: Population
    attempts: Population
    control: Population
    control_attempts: Population

    @classmethod
    def of(cls, segment: Segment) -> _Populations:
        def ok(rs: list[RequestRecord]) -> Population:
            return Population.of([(r.intended_s, r.latency_ms, False, r.endpoint) for r in rs])

        def tried(rs: list[RequestRecord], failed: bool) -> Population:
            return Population.of(
                [(r.intended_s, r.latency_ms, failed and segment.failed(r), r.endpoint) for r in rs]
            )

        return cls(
            ok(segment.timed),
            tried(segment.attempts, True),
            ok(segment.control),
            tried(segment.control_attempts, segment.kind is SegmentKind.CLIENT_EDGE),
        )

    def crossing(self, kind: ChangeTest) -> Population:
        return self.attempts if kind is ChangeTest.FAILED else self.timed

    def neighbour(self, kind: ChangeTest) -> Population:
        return self.control_attempts if kind is ChangeTest.FAILED else self.control


@dataclass(frozen=True)
class _Candidate:
    segment: Segment
    window: Window
    kind: ChangeTest
    p: float


def _scan(found: list[Segment], windows: list[Window]) -> tuple[list[_Candidate], dict]:
    candidates = []
    populations = {}
    for segment in found:
        pops = populations[segment.name] = _Populations.of(segment)
        for window in windows:
            for kind in ChangeTest:
                p = window_p(kind, *pops.crossing(kind).split(window))
                if p is not None:
                    candidates.append(_Candidate(segment, window, kind, p))
    return candidates, populations


def _effect(pops: _Populations, window: Window, disturbed: list[tuple[Window, ...]]) -> Effect:
    left_out = next((d for d in disturbed if pops.timed.split(window, d)[1].size >= MIN_QUIET), ())
    inside, quiet = pops.timed.split(window, left_out)
    tried_in, tried_quiet = pops.attempts.split(window, left_out)

    def pct(values: numpy.ndarray, q: float) -> float | None:
        return round(float(numpy.percentile(values, q)), 1) if len(values) else None

    def share(k: int, n: int) -> float | None:
        return round(k / n, 4) if n else None

    slow_in, counted_in, slow_quiet, counted_quiet = beyond(ChangeTest.TAIL, inside, quiet)
    return Effect(
        p50_ms=Change(quiet=pct(quiet.latency_ms, 50), window=pct(inside.latency_ms, 50)),
        p95_ms=Change(quiet=pct(quiet.latency_ms, 95), window=pct(inside.latency_ms, 95)),
        slow_share=Change(  # each past its own class's quiet level
            quiet=share(slow_quiet, counted_quiet), window=share(slow_in, counted_in)
        ),
        failed_share=Change(
            quiet=share(int(tried_quiet.failed.sum()), tried_quiet.size),
            window=share(int(tried_in.failed.sum()), tried_in.size),
        ),
        requests_window=max(tried_in.size, inside.size),
        requests_quiet=max(tried_quiet.size, quiet.size),
    )


def _detect(
    candidates: list[_Candidate],
) -> tuple[dict[str, list[tuple[_Candidate, float]]], dict[str, float]]:
    """Which segments went bad, and in which windows: Benjamini-Hochberg in two levels, so that
    one strong fault's many windows lend no false-discovery budget to another segment. A
    segment's p-value is the Simes combination of its windows and tests (its smallest BH
    q-value); segments are selected by BH over those; inside a selected segment, windows and
    tests pass by BH at the level scaled by the share of segments selected (Benjamini and
    Bogomolov's selective inference on families)."""
    by_segment: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        by_segment.setdefault(candidate.segment.name, []).append(candidate)
    within = {name: adjusted([c.p for c in cs]) for name, cs in by_segment.items()}
    names = list(by_segment)
    across = adjusted([min(within[name]) for name in names])
    segment_q = {name: q for name, q in zip(names, across, strict=True) if q <= FDR_LEVEL}
    level = FDR_LEVEL * len(segment_q) / max(1, len(names))
    detected = {
        name: [(c, q) for c, q in zip(by_segment[name], within[name], strict=True) if q <= level]
        for name in segment_q
    }
    return detected, segment_q


def _assess(
    records: list[RequestRecord], skip_pops: frozenset[str]
) -> tuple[list[Named], int, int]:
    found = segments(records, skip_pops)
    times = [r.intended_s for r in records]
    windows = candidate_windows(min(times), max(times)) if times else []
    candidates, populations = _scan(found, windows)
    detected, segment_q = _detect(candidates)
    # Each segment is judged in the window where it went worst (the one that fits its fault
    # best: any window holding a fault passes too). Quiet levels leave out every segment's
    # worst window, or at least this segment's own.
    worst = {
        name: min(passing, key=lambda c: (c[0].p, -_contrast(c[0], populations[name])))[0].window
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
            onset_s=window.start_s,
            end_s=window.end_s,
            q_value=segment_q[name],
            confidence=round(1 - segment_q[name], 6),
            tests=tests,
            effect=_effect(pops, window, disturbed),
        )
        named.append(Named(segment, finding, window, _only_ambiguous(segment, finding)))
    return named, len(candidates), len(windows)


def _contrast(candidate: _Candidate, pops: _Populations) -> float:
    """How much more of the window's requests went bad than of the rest: between windows as
    certain as each other (a strong fault's p-values all round to 0), the one that holds the
    fault and nothing else."""
    inside, quiet = pops.crossing(candidate.kind).split(candidate.window)
    if candidate.kind is ChangeTest.FAILED:
        k_in, n_in, k_q, n_q = (
            int(inside.failed.sum()),
            inside.size,
            int(quiet.failed.sum()),
            quiet.size,
        )
    else:
        k_in, n_in, k_q, n_q = beyond(candidate.kind, inside.successes(), quiet.successes())
    return (k_in / n_in if n_in else 0.0) - (k_q / n_q if n_q else 0.0)


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
    pops = _Populations.of(segment)
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
    gauges: dict[float, dict[str, float]] = {}
    for sample in read_samples(run_dir / files.SAMPLES_FILE):
        if sample.node == ORIGIN_NODE and sample.metric in (
            OriginGauge.BUSY_SLOTS,
            OriginGauge.WORKER_SLOTS,
        ):
            gauges.setdefault(sample.t_s, {})[sample.metric] = sample.value
    origin = [
        (t, g.get(OriginGauge.BUSY_SLOTS, 0.0), g.get(OriginGauge.WORKER_SLOTS, 0.0))
        for t, g in sorted(gauges.items())
    ]
    return diagnose_records(read_requests(requests), origin)
