"""`shieldlab bench`: how much open-model load one Locust process, and a master with workers,
sustain here. pip installs (two requests each, cache hits at the edges) at rising rates; a rate
is sustained when its flows start on time: start lag p99 under 100 ms and (nearly) every asked
flow started.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.analysis.summary import LAG_LIMIT_S, load_generator_check
from harness.load.plan import build_plan
from harness.records import files
from harness.records.request import read_requests
from harness.run.clock import SystemClock
from harness.run.lab import Lab
from harness.scenario.model import parse_scenario
from harness.scenario.topology import TopologyConfig
from harness.scenario.traffic import TrafficClass
from harness.topology.launcher import Report
from harness.topology.supervisor import topology_up

REQUESTS_PER_S = (400, 800, 1200, 1600, 2000, 2400)
STEP_S = 10.0
LAG_LIMIT_MS = LAG_LIMIT_S * 1000


def _scenario(requests_per_s: float, processes: int) -> Any:
    return parse_scenario(
        "bench",
        {
            "name": "bench-load",
            "description": "load generator capacity",
            "hypothesis": "none",
            "load": {
                "duration_s": STEP_S,
                "pip": {"installs_per_s": requests_per_s / 2, "json_share": 0},
                "browser": {"visits_per_s": 0},
                "mirrors": [],
                "publish_per_min": 0,
                "processes": processes,
            },
        },
    )


def _step(
    lab: Lab, index: tuple[list[str], int], requests_per_s: float, processes: int, work: Path
) -> dict[str, Any]:
    scenario = _scenario(requests_per_s, processes)
    names, serial = index
    work.mkdir(parents=True)
    records = work / files.REQUESTS_FILE  # in either mode, where the joined records end up
    plan = build_plan(scenario, lab.load_urls(), names[:20], records, serial)
    lab.start_load(plan, work, SystemClock())  # with the start margin a run has
    try:
        lab.wait_load()
    finally:
        lab.stop_load()
    # Kept up by the rule every run's summary applies (summary.load_generator_check).
    pip = load_generator_check(scenario, read_requests(records)).classes[TrafficClass.PIP]
    return {
        "requests_per_s": requests_per_s,
        "flows_asked": pip.asked_flows,
        "flows_started": pip.started_flows,
        "start_lag_p99_ms": pip.start_lag_p99_ms,
        "sustained": pip.kept_up,
    }


def rising_rates(
    lab: Lab, processes: int, scratch: Path, report: Report, mode: str,
    rates: tuple[int, ...] = REQUESTS_PER_S,
) -> dict[str, Any]:  # fmt: skip
    """Rates one after another until one is not sustained; the most sustained."""
    index = lab.origin_index()  # the bench publishes nothing: the same for every rate
    rows = []
    for rate in rates:
        report(f"bench: load generator, {mode}, {rate} requests/s")
        work = scratch / f"{processes}-{rate}-{time.monotonic_ns()}"
        rows.append(_step(lab, index, rate, processes, work))
        if not rows[-1]["sustained"]:
            break  # past the most it can carry
    sustained = [r["requests_per_s"] for r in rows if r["sustained"]]
    return {"processes": processes, "most_requests_per_s": max(sustained, default=0), "steps": rows}


def measure_load_generator(
    config: TopologyConfig, state_dir: Path, report: Report
) -> dict[str, Any]:
    """Per mode: each rate's result, and the most requests per second sustained."""
    workers = max(2, min(os.cpu_count() or 1, 4))
    modes = {"one process": 1, f"master + {workers} workers": workers}
    result: dict[str, Any] = {"step_s": STEP_S, "lag_limit_ms": LAG_LIMIT_MS, "modes": {}}
    with (
        tempfile.TemporaryDirectory(prefix="shieldlab-bench-load-") as scratch,
        topology_up(config, state_dir, report) as state,
    ):
        for mode, processes in modes.items():
            result["modes"][mode] = rising_rates(
                Lab(state, None), processes, Path(scratch), report, mode
            )
    return result


def print_load_generator(result: dict[str, Any], out: Console) -> None:
    table = Table(
        title=f"load generator: pip installs on edge hits, {result['step_s']:g} s per rate; "
        f"sustained = start lag p99 < {result['lag_limit_ms']:g} ms and the flows started"
    )
    for column in ("mode", "requests/s", "flows started / asked", "start lag p99 ms", "sustained"):
        table.add_column(column)
    for mode, data in result["modes"].items():
        for row in data["steps"]:
            table.add_row(
                mode,
                str(row["requests_per_s"]),
                f"{row['flows_started']} / {row['flows_asked']}",
                f"{row['start_lag_p99_ms']:.1f}",
                "yes" if row["sustained"] else "no",
            )
    out.print(table)
    most = ", ".join(f"{m}: {d['most_requests_per_s']}" for m, d in result["modes"].items())
    out.print(f"most requests/s sustained: {most}")
