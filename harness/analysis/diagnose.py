"""`shieldlab diagnose RUN_DIR`: the likely faulty segment, from request records and node samples.

It never reads the scenario's faults or events.jsonl: it reads what an operator would have,
client-side request logs with the CDN's headers and the nodes' metrics.

Each request's path tells which segments it crossed (X-Cache says how far it went):
  edge HIT            client -> edge
  edge MISS, shield HIT   client -> edge -> shield
  MISS, MISS          client -> edge -> shield -> origin
  PASS (POST)         client -> edge -> origin
A segment is suspect when requests that cross it go bad (slow or failing) while requests that
stop just before it stay well. Errors name their producer (X-Shieldlab-Error-Node), which
narrows it further; origin saturation in the samples separates a slow backend from a slow link.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis.windows import percentile
from harness.errors import BadInput
from harness.records import files
from harness.records.request import RequestRecord, read_requests
from harness.records.samples import read_samples
from harness.traffic import Layer
from proxies.contract import ORIGIN_NODE, CacheState, OriginGauge

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


@dataclass(frozen=True)
class Finding:
    segment: str
    score: float
    onset_s: float | None
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Diagnosis:
    segment: str | None  # None: no fault found
    onset_s: float | None
    confidence: float
    evidence: list[str]
    ranking: list[Finding]

    def text(self) -> str:
        if self.segment is None:
            return "no fault found: every path stayed as fast and as healthy as its own quiet level"
        when = f" from about {self.onset_s:.0f} s" if self.onset_s is not None else ""
        return (
            f"most likely faulty segment: {self.segment}{when} (confidence {self.confidence:.0%})"
        )


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


def _failed_by(node: str) -> Callable[[RequestRecord], bool]:
    return lambda r: r.is_error and r.error_node == node


def diagnose_records(
    records: list[RequestRecord], origin: list[tuple[float, float, float]]
) -> Diagnosis:
    """`origin` holds (t_s, busy slots, worker slots) as scraped from the origin's metrics."""
    pops = sorted({r.pop for r in records})
    findings: list[Finding] = []
    by_path: dict[str, list[RequestRecord]] = {}
    for r in records:
        by_path.setdefault(path_of(r), []).append(r)

    saturated_bins = {int(t // BIN_S) for t, busy, slots in origin if slots > 0 and busy >= slots}
    saturated = bool(saturated_bins)

    def outside_saturation(rs: list[RequestRecord]) -> list[RequestRecord]:
        """While the backend was the bottleneck, slowness says nothing about the links."""
        return [r for r in rs if int(r.intended_s // BIN_S) not in saturated_bins]

    origin_lb = [r for r in records if r.error_layer == Layer.ORIGIN_LB]

    # The origin's capacity: its balancer answered, or every slot was busy.
    if origin_lb or saturated:
        during = [
            r
            for r in by_path.get("origin", []) + by_path.get("pass", [])
            if int(r.intended_s // BIN_S) in saturated_bins
        ]
        b = badness(during + origin_lb, _failed_by(Layer.ORIGIN_LB))
        evidence = (
            [f"{len(origin_lb)} answers from the origin's balancer (502/503)"] if origin_lb else []
        )
        if saturated:
            evidence.append("every origin worker slot was busy at times")
        findings.append(
            Finding("origin capacity", b.score + 2 * len(evidence), b.onset_s, evidence)
        )

    # shield -> origin: the shield's own fetches fail or slow down; edges' shield hits stay well.
    shield_errors = [r for r in records if r.error_layer == Layer.SHIELD]
    b = badness(
        outside_saturation(by_path.get("origin", []) + shield_errors), _failed_by(Layer.SHIELD)
    )
    if b.bad_bins:
        findings.append(
            Finding(
                "shield->origin",
                b.score + (3 if shield_errors else 0),
                b.onset_s,
                [
                    f"cache misses at the shield slowed (quiet median {b.quiet_ms:.0f} ms, peak x{b.peak_ratio:.0f})",
                    f"{len(shield_errors)} 503s made by the shield"
                    if shield_errors
                    else "0 503s made by the shield",
                ],
            )
        )

    for pop in pops:
        at_pop = [r for r in records if r.pop == pop]
        hits = [r for r in at_pop if path_of(r) == "hit" or (r.status == 0 and r.method == "GET")]
        b = badness(outside_saturation(hits), lambda r: r.status == 0)
        if b.bad_bins:
            findings.append(
                Finding(
                    f"client->edge-{pop}",
                    b.score + 1,
                    b.onset_s,
                    [
                        f"even requests the {pop} edge answered from its cache slowed or timed out "
                        f"(quiet {b.quiet_ms:.0f} ms, peak x{b.peak_ratio:.0f})",
                    ],
                )
            )
        edge_get_errors = [r for r in at_pop if r.error_node == f"edge-{pop}" and r.method == "GET"]
        # Shield hits cross this link and nothing behind it: the link's own signature.
        via_shield = [r for r in at_pop if path_of(r) == "shield"] + edge_get_errors
        b = badness(outside_saturation(via_shield), _failed_by(f"edge-{pop}"))
        if b.bad_bins:
            findings.append(
                Finding(
                    f"edge-{pop}->shield",
                    b.score + (3 if edge_get_errors else 0),
                    b.onset_s,
                    [
                        f"{pop} requests the shield answered from its cache slowed (quiet {b.quiet_ms:.0f} ms, peak x{b.peak_ratio:.0f})",
                        f"{len(edge_get_errors)} GET errors made by edge-{pop}",
                    ],
                )
            )
        passes = [r for r in at_pop if r.method == "POST"]
        b = badness(outside_saturation(passes), _failed_by(f"edge-{pop}"))
        if b.bad_bins:
            findings.append(
                Finding(
                    f"edge-{pop}->origin",
                    b.score,
                    b.onset_s,
                    [
                        f"{pop} POSTs (edge straight to origin) slowed or failed (peak x{b.peak_ratio:.0f})",
                    ],
                )
            )

    findings = _merge_edges(_explain_away(findings, shield_failed=bool(shield_errors)), pops)
    ranking = sorted(findings, key=lambda f: f.score, reverse=True)
    if not ranking or ranking[0].score < 2.0:
        return Diagnosis(None, None, 0.0, ["no path went bad against its own quiet level"], ranking)
    top = ranking[0]
    runner_up = ranking[1].score if len(ranking) > 1 else 0.0
    confidence = top.score / (top.score + runner_up)
    return Diagnosis(top.segment, top.onset_s, confidence, top.evidence, ranking)


def _explain_away(findings: list[Finding], shield_failed: bool) -> list[Finding]:
    """A slow segment slows every path through it: keep the segment that explains the rest.

    Requests past the shield cross the edge->shield link too, so slow shield misses with slow
    shield hits point at the link in front of the shield, unless the shield itself failed its
    fetches (its 503s). An origin overload also slows the POSTs that go edge -> origin.
    """
    names = {f.segment for f in findings}
    edge_links = any(n.startswith("edge-") and n.endswith("->shield") for n in names)
    kept = []
    for f in findings:
        if f.segment == "shield->origin" and edge_links and not shield_failed:
            continue
        if (
            f.segment.endswith("->origin")
            and f.segment.startswith("edge-")
            and "origin capacity" in names
        ):
            continue
        kept.append(f)
    return kept


def _merge_edges(findings: list[Finding], pops: list[str]) -> list[Finding]:
    """The same fault on most POPs' links is one finding: `edge-*->shield`."""
    for suffix in ("->shield", "->origin"):
        same = [f for f in findings if f.segment.startswith("edge-") and f.segment.endswith(suffix)]
        if len(pops) > 1 and len(same) >= max(2, math.ceil(len(pops) / 2)):
            merged = Finding(
                f"edge-*{suffix} ({len(same)} of {len(pops)} POPs)",
                sum(f.score for f in same),
                min((f.onset_s for f in same if f.onset_s is not None), default=None),
                same[0].evidence,
            )
            findings = [f for f in findings if f not in same] + [merged]
    return findings


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
