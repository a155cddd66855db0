"""Each segment's populations tested over every candidate window, and the false discoveries
controlled: what harness.analysis.diagnose then judges against the neighbours and names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from harness.analysis.change_tests import (
    FDR_LEVEL,
    Population,
    Window,
    adjusted,
    beyond,
    quiet_left_out,
    window_p,
)
from harness.analysis.segments import Segment, SegmentKind
from harness.records.diagnosis import Change, ChangeTest, Effect
from harness.records.request import RequestRecord


@dataclass(frozen=True)
class Populations:
    timed: Population
    attempts: Population
    control: Population
    control_attempts: Population

    @classmethod
    def of(cls, segment: Segment) -> Populations:
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
class Candidate:
    segment: Segment
    window: Window
    kind: ChangeTest
    p: float


def scan(found: list[Segment], windows: list[Window]) -> tuple[list[Candidate], dict]:
    candidates = []
    populations = {}
    for segment in found:
        pops = populations[segment.name] = Populations.of(segment)
        for window in windows:
            for kind in ChangeTest:
                p = window_p(kind, *pops.crossing(kind).split(window))
                if p is not None:
                    candidates.append(Candidate(segment, window, kind, p))
    return candidates, populations


def effect(pops: Populations, window: Window, disturbed: list[tuple[Window, ...]]) -> Effect:
    left_out = quiet_left_out(ChangeTest.TAIL, window, disturbed, pops.timed) or ()
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


def detect(
    candidates: list[Candidate],
) -> tuple[dict[str, list[tuple[Candidate, float]]], dict[str, float]]:
    """Which segments went bad, and in which windows: Benjamini-Hochberg in two levels, so that
    one strong fault's many windows lend no false-discovery budget to another segment. A
    segment's p-value is the Simes combination of its windows and tests (its smallest BH
    q-value); segments are selected by BH over those; inside a selected segment, windows and
    tests pass by BH at the level scaled by the share of segments selected (Benjamini and
    Bogomolov's selective inference on families)."""
    by_segment: dict[str, list[Candidate]] = {}
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


def contrast(candidate: Candidate, pops: Populations) -> float:
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
