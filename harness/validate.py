"""`shieldlab validate`: sweep every hypothesis family, score each point against the incident
signature, fit each family, and say in words what the evidence supports.

The runs come from harness.sweep_plan (full: a run per point; `--quick`: staircases, under
5 minutes here); the control run is the shipped `baseline`. Families whose runs need packet loss
are left out, with one line saying why, when this process may not make network namespaces.
"""

from __future__ import annotations

import dataclasses
import html
import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.analysis.compare import draw, multiples, on_one_clock
from harness.analysis.fit import FamilyFit, PointResult, answer, best_fit, family_sentence
from harness.analysis.report import RunData, load_run, write_document
from harness.analysis.verdict import Cell, Hypothesis, RunView, consistent, score
from harness.hypothesis import Family, load_family, shipped_families
from harness.run.progress import LiveProgress
from harness.run.runner import run_scenario
from harness.scenario import Scenario, load_scenario
from harness.scenario_clock import compress_network, with_duration
from harness.signature import DEFAULT_SIGNATURE, Signature, load_signature
from harness.sweep_plan import QUICK_NETWORK_FACTOR, PlannedRun, full_plan, quick_plan, scored
from harness.topology import netns

CONTROL_SCENARIO = "baseline"
QUICK_CONTROL_S = 12.0
KEY_PANELS = ("errors_layer", "errors_status", "latency_pip", "latency_mirror", "origin_slots")


@dataclass(frozen=True)
class Plan:
    control: PlannedRun
    runs: list[PlannedRun]
    skipped: dict[str, str]  # family name -> why it cannot run here

    @property
    def all_runs(self) -> list[PlannedRun]:
        return [self.control, *self.runs]

    @property
    def expected_s(self) -> float:
        return sum(r.expected_s for r in self.all_runs)


def control_run(quick: bool) -> PlannedRun:
    scenario: Scenario = load_scenario(CONTROL_SCENARIO)
    if quick:
        scenario = compress_network(with_duration(scenario, QUICK_CONTROL_S), QUICK_NETWORK_FACTOR)
    return PlannedRun(scenario)


def make_plan(families: list[Family], quick: bool) -> Plan:
    skipped: dict[str, str] = {}
    if quick:
        for family in [f for f in families if not f.in_quick_mode]:
            skipped[family.name] = (
                f"not in quick mode (it would not fit in its 5 minutes): "
                f"`shieldlab validate --family {family.name}` runs it"
            )
        families = [f for f in families if f.in_quick_mode]
    runs = quick_plan(families) if quick else full_plan(families)
    missing = netns.missing_privileges()
    if missing is not None:
        for run in [r for r in runs if r.scenario.needs_packet_loss]:
            skipped.update({p.family.name: f"packet loss: {missing}" for p in run.probes})
        runs = [r for r in runs if not r.scenario.needs_packet_loss]
    return Plan(control_run(quick), runs, skipped)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def run_all(plan: Plan, out_dir: Path, state_dir: Path, console: Console) -> list[RunData]:
    runs = plan.all_runs
    remaining = plan.expected_s
    started = time.monotonic()
    done: list[RunData] = []
    for index, planned in enumerate(runs, start=1):
        name = planned.scenario.name
        eta = time.strftime("%H:%M:%S", time.localtime(time.time() + remaining))
        prefix = f"[{index}/{len(runs)}, done by about {eta}] {name}: "
        with LiveProgress(console, prefix) as live:
            run_dir = run_scenario(planned.scenario, out_dir / "runs", state_dir, live.update)
        remaining -= planned.expected_s
        console.print(
            f"[{index}/{len(runs)}] {name}: {run_dir} ({minutes(time.monotonic() - started)} so far)",
            highlight=False,
            markup=False,
        )
        done.append(load_run(run_dir))
    return done


def view(run: RunData) -> RunView:
    """The run as scoring needs it, from the samples load_run already read."""
    return RunView.of(run.scenario, run.records, run.samples)


def fit_all(
    signature: Signature, families: list[Family], plan: Plan, runs: list[RunData]
) -> list[FamilyFit]:
    control = view(runs[0])
    points: dict[str, list[PointResult]] = {f.name: [] for f in families}
    for planned, run in zip(plan.runs, runs[1:], strict=True):
        main = view(run)
        for probe in planned.probes:
            focused = signature.focused_on(probe.focus) if probe.focus else signature
            seen = dataclasses.replace(main, scenario=scored(main.scenario, probe))
            cells = score(focused, Hypothesis(probe.family.name, seen), control)
            result = PointResult(probe.value, cells, consistent(signature, cells), str(run.path))
            points[probe.family.name].append(result)
    return [FamilyFit(f, points[f.name], plan.skipped.get(f.name)) for f in families]


def _cell_text(cell: Cell) -> str:
    word = {True: "pass", False: "fail", None: "n/a"}[cell.passed]
    return f"{word}: {cell.evidence}"


def matrix_rows(signature: Signature, fits: list[FamilyFit]) -> tuple[list[str], list[list[str]]]:
    header = ["family", "point"] + [f"{s.id} {s.text}" for s in signature.symptoms] + ["fits"]
    rows = [
        [fit.family.title, fit.family.value_text(p.value)]
        + [_cell_text(p.cells[s.id]) for s in signature.symptoms]
        + ["yes" if p.consistent else "no"]
        for fit in fits
        for p in fit.points
    ]
    return header, rows


def signature_rows(signature: Signature) -> list[list[str]]:
    """Every expectation of every symptom: what the verdict was decided on."""
    return [
        [
            s.id,
            e.name or e.key,
            f"{e.run} run, {' | '.join(w.text() for w in e.windows())}",
            e.bound.text() + (f" ({e.against} run)" if e.against else ""),
        ]
        for s in signature.symptoms
        for e in s.expect
    ]


def verdict_lines(signature: Signature, fits: list[FamilyFit]) -> tuple[list[str], list[str]]:
    """The answer in words, then one line per family."""
    return answer(signature, fits), [family_sentence(signature, f) for f in fits]


def write_validation(
    out_dir: Path,
    plan: Plan,
    runs: list[RunData],
    fits: list[FamilyFit],
    signature: Signature,
    quick: bool,
    took_s: float,
) -> Path:
    header, rows = matrix_rows(signature, fits)
    aligned, times = on_one_clock(runs)
    panels = [
        (m.key, m.title + " (every run)", draw(m, times))
        for m in multiples(aligned)
        if m.key in KEY_PANELS
    ]
    mode = "quick (staircases; network clock x4 where there is no packet loss)" if quick else "full"
    headline, per_family = verdict_lines(signature, fits)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validate.json").write_text(
        json.dumps(
            {
                "mode": "quick" if quick else "full",
                "took_s": round(took_s, 1),
                "verdict": headline,
                "families": {
                    f.family.name: {
                        "title": f.family.title,
                        "sentence": line,
                        "untested": f.untested,
                        "consistent_at": [p.value for p in f.region],
                        "best_fit": (b.value if (b := best_fit(signature, f)) else None),
                        "points": [
                            {
                                "value": p.value,
                                "consistent": p.consistent,
                                "run": p.run,
                                "cells": {
                                    s: {
                                        "passed": c.passed,
                                        "evidence": c.evidence,
                                        "margin": c.margin,
                                    }
                                    for s, c in p.cells.items()
                                },
                            }
                            for p in f.points
                        ],
                    }
                    for f, line in zip(fits, per_family, strict=True)
                },
                "signature": signature.model_dump(mode="json"),
                "runs": [str(run.path) for run in runs],
            },
            indent=2,
        )
        + "\n"
    )
    words = headline + [""] + per_family
    intro = (
        "**Verdict**\n\n"
        + "\n".join(f"- {line}" if line else "" for line in words)
        + f"\n\nMode: {mode}; {len(runs)} runs; took {took_s:.0f} s. Runs:\n\n"
        + "\n".join(f"- `{run.path}`" for run in runs)
    )
    intro_html = (
        "<h2>Verdict</h2><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in words if line)
        + f"</ul><p>Mode: {html.escape(mode)}; {len(runs)} runs; took {took_s:.0f} s.</p><ul>"
        + "".join(f"<li><code>{html.escape(str(r.path))}</code></li>" for r in runs)
        + "</ul>"
    )
    return write_document(
        out_dir,
        "validate",
        f"shieldlab validate: which hypothesis fits {signature.name}",
        intro,
        intro_html,
        [
            ("Symptom matrix", header, rows),
            (
                f"Signature {signature.name}: the symptoms as tested",
                ["symptom", "expectation", "measured on", "bound"],
                signature_rows(signature),
            ),
        ],
        panels,
    )


def print_verdict(fits: list[FamilyFit], signature: Signature, console: Console) -> None:
    table = Table(
        title=f"symptom matrix against {signature.name}", title_justify="left", show_lines=True
    )
    table.add_column("family @ point")
    for s in signature.symptoms:
        table.add_column(f"{s.id}\n{s.text}", overflow="fold")
    table.add_column("fits")
    for fit in fits:
        for p in fit.points:
            table.add_row(
                f"{fit.family.title} @ {fit.family.value_text(p.value)}",
                *[
                    {True: "[green]pass[/]", False: "[red]fail[/]", None: "n/a"}[
                        p.cells[s.id].passed
                    ]
                    + "\n"
                    + p.cells[s.id].evidence
                    for s in signature.symptoms
                ],
                "yes" if p.consistent else "no",
            )
    console.print(table)
    for row in signature_rows(signature):
        console.print(f"  {row[0]}: {row[1]} [{row[2]}] {row[3]}", highlight=False, markup=False)
    headline, per_family = verdict_lines(signature, fits)
    console.print("[bold]verdict[/]")
    for line in headline:
        console.print(f"  {line}", highlight=False, markup=False)
    for line in per_family:
        console.print(f"  - {line}", highlight=False, markup=False)


def run(
    quick: bool,
    out_dir: Path,
    state_dir: Path,
    out: Console,
    err: Console,
    signature_name: str = DEFAULT_SIGNATURE,
    family_names: list[str] | None = None,
) -> Path:
    started = time.monotonic()
    # Bad files fail here, before any run starts.
    signature = load_signature(signature_name)
    families = [load_family(name) for name in family_names or shipped_families()]
    plan = make_plan(families, quick)
    for name, why in plan.skipped.items():
        err.print(f"{name}: left out, {why}", highlight=False, markup=False, soft_wrap=True)
    err.print(
        f"validate: {len(families)} families, {len(plan.all_runs)} runs, "
        f"about {minutes(plan.expected_s)}",
        highlight=False,
        markup=False,
    )
    runs = run_all(plan, out_dir, state_dir, err)
    fits = fit_all(signature, families, plan, runs)
    print_verdict(fits, signature, out)
    return write_validation(out_dir, plan, runs, fits, signature, quick, time.monotonic() - started)
