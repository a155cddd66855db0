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

from harness.analysis.badness import BIN_S, badness, path_of
from harness.errors import BadInput
from harness.records import files
from harness.records.request import RequestRecord, read_requests
from harness.records.samples import read_samples
from harness.traffic import Layer
from proxies.contract import ORIGIN_NODE, OriginGauge


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
