"""Synthetic run directories, written the way `shieldlab run` writes them, for analysis tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from harness.analysis.summary import summarize
from harness.records import files
from harness.records.base import write_json_model
from harness.records.events import EVENT_ADAPTER, ActionApplied, Event, FaultApplied, FaultRemoved
from harness.records.request import RequestRecord, write_requests
from harness.records.run_info import RunInfo, RunStatus
from harness.records.samples import Sample, write_samples
from harness.scenario.model import parse_scenario
from harness.scenario.steps import LINK_FAULT_TYPES
from proxies.contract import ORIGIN_NODE, OriginGauge


def record(
    t: float,
    traffic: str = "pip",
    status: int = 200,
    latency_ms: float = 10.0,
    pop: str = "iad",
    x_cache: str = "MISS, HIT",
    method: str = "GET",
    endpoint: str = "simple_project",
    error_node: str = "",
    **extra: Any,
) -> RequestRecord:
    """One request as the client saw it, built the way the load generator builds it."""
    fields: dict[str, Any] = {
        "intended_s": t,
        "start_s": t,
        "traffic": traffic,
        "endpoint": endpoint,
        "method": method,
        "status": status,
        "latency_ms": latency_ms,
        "bytes": 100,
        "pop": pop,
        "served_by": "" if status == 0 else f"shield, edge-{pop}",
        "x_cache": "" if status == 0 else x_cache,
        "error_node": error_node,
        "error_reason": "",
    }
    return RequestRecord.observed(**(fields | extra))


def make_records(
    duration_s: float,
    fault: tuple[float, float] | None,
    segment: str | None,
    seed: int = 1,
    rate_per_s: float = 20.0,
    pops: tuple[str, ...] = ("iad", "ams"),
) -> list[RequestRecord]:
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
            RequestRecord.observed(
                intended_s=round(t, 4),
                start_s=round(t, 4),
                traffic=traffic,
                endpoint=endpoint,
                method=method,
                status=status,
                latency_ms=round(latency, 3),
                bytes=100,
                pop=pop,
                served_by=served if status else "",
                x_cache=x_cache if status else "",
                error_node=node,
                error_reason=reason,
            )
        )
    return records


def write_run(
    path: Path,
    name: str,
    records: list[RequestRecord],
    duration_s: float,
    faults: list[dict] | None = None,
    busy: float = 2.0,
    saturated: tuple[float, float] | None = None,
) -> Path:
    """A complete run directory, every file written through its record model."""
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
    (path / files.SCENARIO_FILE).write_text(yaml.safe_dump(scenario.model_dump(mode="json")))
    write_requests(path / files.REQUESTS_FILE, records)
    samples = []
    for second in range(int(duration_s)):
        full = saturated is not None and saturated[0] <= second < saturated[1]
        for metric, value in (
            (OriginGauge.BUSY_SLOTS, 16 if full else busy),
            (OriginGauge.WORKER_SLOTS, 16),
            (OriginGauge.QUEUE_LENGTH, 80 if full else 0),
        ):
            samples.append(
                Sample(t_s=second, node=ORIGIN_NODE, metric=metric, labels="", value=value)
            )
    write_samples(path / files.SAMPLES_FILE, samples)
    events: list[Event] = []
    for index, step in enumerate(scenario.faults):
        if isinstance(step, LINK_FAULT_TYPES):
            events.append(FaultApplied(t_s=step.at, index=index, step=step, links=[step.link]))
            events.append(
                FaultRemoved(t_s=step.until or duration_s, index=index, step=step, failures=[])
            )
        else:
            events.append(ActionApplied(t_s=step.at, index=index, step=step))
    (path / files.EVENTS_FILE).write_text(
        "".join(EVENT_ADAPTER.dump_json(e).decode() + "\n" for e in events)
    )
    write_json_model(path / files.SUMMARY_FILE, summarize(scenario, records, samples))
    write_json_model(
        path / files.RUN_FILE,
        RunInfo(run_id=path.name, status=RunStatus.COMPLETE, scenario=name, seed=1),
    )
    return path
