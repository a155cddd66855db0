"""`shieldlab bench --detection`: the smallest fault `diagnose` finds here, and its false alarms.

For each kind of segment and each kind of fault, a ladder of intensities, smallest first; each
rung is run with several seeds (75 s of the default traffic, the fault from 25 s to 60 s) and
diagnosed blind. A rung is found when diagnose names the faulty link in every run; the climb
stops at the first such rung. Clean runs (no fault) count the segments named where none is
faulty. Runs are kept under `--out`; a complete run of the same scenario there is read again
instead of run again, so a bench cut short resumes where it stopped.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from harness.analysis.diagnose import diagnose
from harness.errors import EXIT_OK
from harness.records import files
from harness.records.diagnosis import SegmentFinding
from harness.records.run_info import RunStatus, read_run_info
from harness.run.runner import run_scenario
from harness.scenario import topology_plan as plan
from harness.scenario.model import Scenario, parse_scenario

RUNS = 5
# 17 s of quiet after diagnose's 8 s warm-up, 35 s of fault, 15 s of quiet after it.
DURATION_S = 75.0
FAULT_S = (25.0, 60.0)
TIME_SCALE = 60  # as the shipped scenarios: an hour of cache lifetimes in a minute


@dataclass(frozen=True)
class Ladder:
    link: str
    kind: str  # loss | latency
    rungs: tuple[float, ...]

    @property
    def field(self) -> str:
        return "probability" if self.kind == "loss" else "latency_ms"

    def names(self, finding: SegmentFinding) -> bool:
        """Whether a finding is this ladder's link (`edge-*->shield`: any POP's, or all)."""
        return fnmatch.fnmatchcase(finding.link, self.link)


# Every POP's links at once (edge-*), and one POP's clients (client->edge-iad).
EVERY_POP, ONE_POP = "*", "iad"
LADDERS = (
    Ladder(plan.ORIGIN_LINK, "loss", (0.02, 0.05, 0.1)),
    Ladder(plan.shield_link(EVERY_POP), "loss", (0.02, 0.05, 0.1, 0.2)),
    Ladder(plan.ORIGIN_LINK, "latency", (20, 50, 200)),
    Ladder(plan.shield_link(EVERY_POP), "latency", (20, 50, 200)),
    Ladder(plan.pass_link(EVERY_POP), "loss", (0.05, 0.2)),
    Ladder(plan.pass_link(EVERY_POP), "latency", (20, 50, 200)),
    Ladder(plan.client_link(ONE_POP), "loss", (0.05, 0.2)),
    Ladder(plan.client_link(ONE_POP), "latency", (20, 50, 200)),
)


def probe(ladder: Ladder | None, value: float, seed: int) -> Scenario:
    faults = []
    if ladder is not None:
        fault = {"kind": ladder.kind, "at": FAULT_S[0], "until": FAULT_S[1], "link": ladder.link}
        faults.append(fault | {ladder.field: value})
    name = "detect-clean"
    if ladder is not None:
        link = ladder.link.replace("->", "-").replace("*", "all")
        name = f"detect-{ladder.kind}-{value:g}-{link}".replace(".", "p")
    return parse_scenario(
        "bench --detection",
        {
            "name": name,
            "description": "diagnose's detection power",
            "hypothesis": "none",
            "topology": {"time_scale": TIME_SCALE},
            "load": {"duration_s": DURATION_S, "seed": seed},
            "faults": faults,
        },
    )


def _same_run(scenario: Scenario, run_dir: Path) -> bool:
    """A complete run whose traffic and faults are this scenario's (its name aside)."""
    try:
        stored = yaml.safe_load((run_dir / files.SCENARIO_FILE).read_text())
        complete = read_run_info(run_dir / files.RUN_FILE).status == RunStatus.COMPLETE
    except (OSError, yaml.YAMLError, ValueError):
        return False
    mine = scenario.model_dump(mode="json")
    return complete and all(stored.get(k) == mine[k] for k in ("load", "faults", "topology"))


def segments_named(
    scenario: Scenario, out: Path, state_dir: Path, report: Callable, kept_only: bool = False
) -> list[SegmentFinding] | None:
    """What diagnose names in this scenario's run (kept under `out`, or run now). None: no
    kept run and `kept_only`."""
    folder = out / f"{scenario.name}-seed-{scenario.load.seed}"
    done = [d for d in sorted(folder.glob("*")) if d.is_dir() and _same_run(scenario, d)]
    if not done and kept_only:
        return None
    run_dir = done[-1] if done else run_scenario(scenario, folder, state_dir, report)
    return diagnose(run_dir).findings


def measure_detection(
    out: Path,
    state_dir: Path,
    report: Callable[[str], None],
    runs: int = RUNS,
    kept_only: bool = False,
) -> dict[str, Any]:
    """`kept_only`: judge the runs kept under `out` again (after a change of method), run none."""

    def each_seed(ladder: Ladder | None, value: float) -> list[list[SegmentFinding]]:
        what = "clean" if ladder is None else f"{ladder.kind} {value:g} on {ladder.link}"
        named = []
        for seed in range(1, runs + 1):
            report(f"bench: detection, {what}, run {seed}/{runs}")
            scenario = probe(ladder, value, seed)
            found = segments_named(scenario, out, state_dir, lambda _p: None, kept_only)
            if found is not None:
                named.append(found)
        return named

    clean = each_seed(None, 0)
    rows = []
    for ladder in LADDERS:
        for value in ladder.rungs:
            named = each_seed(ladder, value)
            if not named:
                break  # kept_only: this rung was never run, nor any above it
            found = sum(any(ladder.names(f) for f in n) for n in named)
            others = sorted({f.segment for n in named for f in n if not ladder.names(f)})
            rows.append(
                {"link": ladder.link, "fault": ladder.kind, "value": value,
                 "found": found, "runs": len(named), "also_named": others}
            )  # fmt: skip
            if found == runs:
                break  # the smallest rung found in every run
    return {
        "duration_s": DURATION_S,
        "fault_s": list(FAULT_S),
        "clean_runs": len(clean),
        "clean_false_alarms": sum(bool(n) for n in clean),
        "clean_named": sorted({f.segment for n in clean for f in n}),
        "rungs": rows,
    }


def run(
    out: Path, state_dir: Path, runs: int, as_json: bool, console: Console, kept_only: bool
) -> int:
    with console.status("bench: detection") as status:

        def report(message: str) -> None:
            status.update(message)
            if not console.is_terminal:  # a log gets a plain line per run
                console.print(message, highlight=False, markup=False)

        result = measure_detection(out, state_dir, report, runs, kept_only)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_detection(result, Console())
    return EXIT_OK


def print_detection(result: dict[str, Any], out: Console) -> None:
    table = Table(title="diagnose: faults found (each rung: runs where the faulty link is named)")
    for column in ("link", "fault", "intensity", "found", "also named"):
        table.add_column(column)
    for row in result["rungs"]:
        unit = "" if row["fault"] == "loss" else " ms"
        colour = "green" if row["found"] == row["runs"] else "red"
        table.add_row(
            row["link"], row["fault"], f"{row['value']:g}{unit}",
            f"[{colour}]{row['found']}/{row['runs']}[/{colour}]", ", ".join(row["also_named"]),
        )  # fmt: skip
    out.print(table)
    alarms = result["clean_false_alarms"]
    colour = "green" if alarms == 0 else "red"
    out.print(
        f"clean runs: [{colour}]{alarms} of {result['clean_runs']} named a segment[/{colour}]"
        + (f" ({', '.join(result['clean_named'])})" if alarms else "")
    )
