"""How bad one group of requests went, time bin by time bin, against its own quiet level;
and which path through the CDN a request took. `diagnose` compares these across paths.

Hand-set thresholds, kept in one place: a slow median, a share of errors, or a tail of slow
requests that stands out against the path's usual tail, lasting long enough to be a fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from harness.analysis.windows import percentile
from harness.records.request import RequestRecord
from proxies.contract import CacheState

BIN_S = 2.0
SLOW_FACTOR = 4.0  # a bin is bad when its median is this many times the quiet level ...
SLOW_MIN_MS = 250.0  # ... and at least this much above it
ERROR_SHARE = 0.05  # or when this share of its requests failed
MIN_REQUESTS = 3
MIN_BAD_BINS = 2  # a fault shows in at least two bad bins in a row
# A fault that shows only in the tail (loss: a few requests wait for TCP's retransmission timer;
# a fault on some connections only): a bin is bad when, over it and its two neighbours, this
# share of requests is slow by the same measure as a slow median. Tails are noisy, so such a
# stretch must last longer than one made of slow medians or errors.
TAIL_SHARE = 0.05
TAIL_MIN_REQUESTS = 15
TAIL_MIN_BINS = 4
TAIL_FACTOR = 3.0  # ... and three times the path's usual tail share
TAIL_WEIGHT = 0.5  # a tail-only stretch is weaker evidence than slow medians or errors
MAX_GOOD_GAP = 1  # good bins a stretch may contain before it ends


def path_of(record: RequestRecord) -> str:
    """hit | shield | origin | pass | collapsed | failed: how far into the CDN it went."""
    if record.method == "POST":
        return "pass"
    edge, shield = record.edge_cache, record.shield_cache
    if edge is None:
        return "failed"
    if CacheState.HIT_COLLAPSED in (edge, shield):
        return "collapsed"  # it waited on another request's fetch, however deep that went
    if edge.is_hit:
        return "hit"
    if shield is not None and shield.is_hit:
        return "shield"
    return "origin"


@dataclass(frozen=True)
class Badness:
    """How bad one group of requests went, bin by bin, against its own quiet level."""

    bad_bins: list[int]
    peak_ratio: float
    quiet_ms: float
    tail_only: bool = False

    @property
    def score(self) -> float:
        weight = TAIL_WEIGHT if self.tail_only else 1.0
        return weight * len(self.bad_bins) * math.log2(max(1.0, self.peak_ratio))

    @property
    def onset_s(self) -> float | None:
        return self.bad_bins[0] * BIN_S if self.bad_bins else None


def badness(records: list[RequestRecord], failed: Callable[[RequestRecord], bool]) -> Badness:
    """The longest stretch of bad bins (a fault lasts; one slow request is not a fault).

    Empty bins do not break a stretch: a slow link makes closed-loop clients send less.
    """
    bins: dict[int, list[RequestRecord]] = {}
    for r in records:
        bins.setdefault(int(r.intended_s // BIN_S), []).append(r)
    medians = {i: percentile([r.latency_ms for r in rs], 0.5) for i, rs in bins.items()}
    busy_bins = [m for i, m in medians.items() if len(bins[i]) >= MIN_REQUESTS] or list(
        medians.values()
    )
    if not busy_bins:
        return Badness([], 1.0, 0.0)
    quiet = percentile(sorted(busy_bins), 0.25)  # most of a run is not faulty
    slow_ms = max(quiet * SLOW_FACTOR, quiet + SLOW_MIN_MS)
    slow_count = {i: sum(r.latency_ms >= slow_ms for r in rs) for i, rs in bins.items()}

    def tail_share(i: int) -> float:
        """The share of slow requests over bin i and its neighbours (0 with too few)."""
        near = [j for j in (i - 1, i, i + 1) if j in bins]
        n = sum(len(bins[j]) for j in near)
        return sum(slow_count[j] for j in near) / n if n >= TAIL_MIN_REQUESTS else 0.0

    # A path that is always a little slow in the tail (an unindexed query) has no fault: the
    # tail must stand out against the path's own usual tail.
    usual_tail = percentile([tail_share(i) for i in bins], 0.25)  # as `quiet`: most is not faulty
    tail_limit = max(TAIL_SHARE, TAIL_FACTOR * usual_tail)

    best: tuple[list[int], float, int] = ([], 1.0, 0)
    stretch: list[int] = []
    peak, gap, strong = 1.0, 0, 0  # strong: bins with a slow median or errors
    for i in sorted(bins):
        share = sum(failed(r) for r in bins[i]) / len(bins[i])
        slow = medians[i] >= slow_ms
        failing = share >= ERROR_SHARE and len(bins[i]) >= MIN_REQUESTS
        tail = tail_share(i)
        if slow or failing or tail >= tail_limit:
            stretch.append(i)
            gap = 0
            strong += slow or failing
            peak = max(peak, medians[i] / max(quiet, 1.0), 1 + 10 * share, 1 + 10 * tail)
            if len(stretch) > len(best[0]):
                best = (list(stretch), peak, strong)
        elif stretch and gap < MAX_GOOD_GAP:
            gap += 1  # an erratic fault lets a few requests through: one good bin is no recovery
        else:
            stretch, peak, gap, strong = [], 1.0, 0, 0
    bad, top, strong_bins = best
    tail_only = strong_bins < MIN_BAD_BINS  # slow medians or errors alone would not make it
    if len(bad) < (TAIL_MIN_BINS if tail_only else MIN_BAD_BINS):
        return Badness([], 1.0, quiet)
    return Badness(bad, top, quiet, tail_only)
