"""Synthetic run directories, written the way `shieldlab run` writes them, for analysis tests."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import yaml

from harness.analysis.summary import summarize
from harness.load.plan import RECORD_FIELDS, Record
from harness.run.scraper import SAMPLE_FIELDS
from harness.scenario import parse_scenario


def make_records(
    duration_s: float,
    fault: tuple[float, float] | None,
    segment: str | None,
    seed: int = 1,
    rate_per_s: float = 20.0,
    pops: tuple[str, ...] = ("iad", "ams"),
) -> list[Record]:
    """Traffic for every class; inside `fault` the named segment misbehaves as it would for real."""
    rng = random.Random(seed)
    records = []
    t = 0.0
    while True:
        t += rng.expovariate(rate_per_s)
        if t >= duration_s:
            break
        traffic = rng.choice(["pip", "pip", "browser", "mirror"])
        pop = rng.choice(pops)
        method, endpoint = (
            ("POST", "xmlrpc")
            if traffic == "mirror" and rng.random() < 0.3
            else ("GET", "simple_project")
        )
        roll = rng.random()
        hit, shield_hit = roll < 0.6, 0.6 <= roll < 0.8  # edge hit, shield hit, or both miss
        status, latency, node, reason = 200, rng.uniform(5, 40), "", ""
        served = f"shield, edge-{pop}" if method == "GET" else f"edge-{pop}"
        if method != "GET":
            x_cache = "PASS"
        else:
            x_cache = "MISS, HIT" if hit else ("HIT, MISS" if shield_hit else "MISS, MISS")
        inside = fault is not None and fault[0] <= t < fault[1]
        if inside and segment == "shield-origin" and method == "GET" and not hit and not shield_hit:
            status, latency, node, reason = (
                503,
                15000 + rng.uniform(0, 20),
                "shield",
                "first byte timeout",
            )
        elif (
            inside
            and segment == f"edge-{pops[0]}-shield"
            and method == "GET"
            and not hit
            and pop == pops[0]
        ):
            latency = 20000 + rng.uniform(0, 50)
        elif inside and segment == f"edge-{pops[0]}-origin" and method == "POST" and pop == pops[0]:
            status, latency, node, reason = (
                503,
                15000 + rng.uniform(0, 20),
                f"edge-{pop}",
                "first byte timeout",
            )
        elif inside and segment == f"client-edge-{pops[0]}" and pop == pops[0]:
            status, latency, node, reason = (
                (0, 30000, "client", "timeout")
                if rng.random() < 0.5
                else (200, 8000 + rng.uniform(0, 500), "", "")
            )
        elif inside and segment == "origin" and not hit and not shield_hit:
            if rng.random() < 0.5:
                status, latency, node, reason = (
                    502,
                    rng.uniform(1, 5),
                    "origin-lb",
                    "listen queue full",
                )
            else:
                latency = rng.uniform(2000, 9000)
        records.append(
            Record(
                round(t, 4),
                round(t, 4),
                traffic,
                endpoint,
                method,
                status,
                round(latency, 3),
                100,
                pop,
                served if status else "",
                x_cache if status else "",
                node,
                reason,
            )
        )
    return records


def write_run(
    path: Path,
    name: str,
    records: list[Record],
    duration_s: float,
    faults: list[dict] | None = None,
    busy: float = 2.0,
    saturated: tuple[float, float] | None = None,
) -> Path:
    path.mkdir(parents=True)
    scenario = parse_scenario(
        "fixture",
        {
            "name": name,
            "description": "fixture",
            "hypothesis": "fixture",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": duration_s},
            "faults": faults or [],
        },
    )
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario.model_dump(mode="json")))
    with open(path / "requests.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RECORD_FIELDS)
        for r in records:
            writer.writerow([getattr(r, f) for f in RECORD_FIELDS])
    with open(path / "samples.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SAMPLE_FIELDS)
        for second in range(int(duration_s)):
            full = saturated is not None and saturated[0] <= second < saturated[1]
            writer.writerow(
                [second, "origin", "shieldlab_origin_busy_slots", "", 16 if full else busy]
            )
            writer.writerow([second, "origin", "shieldlab_origin_worker_slots", "", 16])
            writer.writerow(
                [second, "origin", "shieldlab_origin_queue_length", "", 80 if full else 0]
            )
    events = []
    for index, fault in enumerate(faults or []):
        detail = {k: v for k, v in fault.items() if k != "kind"}
        if "link" in fault:
            events.append(
                {
                    "event": "applied",
                    "step": index,
                    "kind": fault["kind"],
                    **detail,
                    "t_s": fault["at"],
                }
            )
            events.append(
                {
                    "event": "removed",
                    "step": index,
                    "kind": fault["kind"],
                    **detail,
                    "t_s": fault["until"],
                }
            )
        else:
            events.append(
                {
                    "event": "action",
                    "step": index,
                    "kind": fault["kind"],
                    **detail,
                    "t_s": fault["at"],
                }
            )
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (path / "summary.json").write_text(
        json.dumps(summarize(scenario, records, path / "samples.csv"))
    )
    (path / "run.json").write_text(json.dumps({"status": "complete", "scenario": name}))
    return path
