"""`shieldlab validate`: run every hypothesis, score each against the incident signature, decide.

Full mode runs each network and overload hypothesis twice (as is, and with the mid-run scale-up).
`--quick` runs only the scaled variant, whose fault window before the scale-up stands in for
the plain run, shortens every run, and compresses the network clock three times (timeouts and
injected latencies together, so what times out first is unchanged).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.analysis.compare import draw, multiples, on_one_clock
from harness.analysis.report import RunData, load_run, write_document
from harness.analysis.verdict import (
    Cell,
    Hypothesis,
    RunView,
    consistent,
    score,
    verdict,
)
from harness.run.progress import LiveProgress
from harness.run.runner import run_scenario
from harness.scenario import Scenario, compress_network, load_scenario, with_duration
from harness.signature import DEFAULT_SIGNATURE, Signature, load_signature

QUICK_NETWORK_FACTOR = 3.0
QUICK_FAULT_RUN_S = 30.0
QUICK_STEADY_RUN_S = 20.0
KEY_PANELS = ("errors_layer", "errors_status", "latency_pip", "latency_mirror", "origin_slots")


@dataclass(frozen=True)
class HypothesisPlan:
    name: str
    main: str
    scaled: str | None = None
    fixed: str | None = None


FULL_PLAN = [
    HypothesisPlan("baseline (control)", "baseline"),
    HypothesisPlan(
        "edge-to-shield network", "edge-shield-latency", scaled="edge-shield-latency-scaled"
    ),
    HypothesisPlan(
        "shield-to-origin network", "shield-origin-latency", scaled="shield-origin-latency-scaled"
    ),
    HypothesisPlan("over-eager mirror", "mirror-storm", scaled="mirror-storm-scaled"),
    HypothesisPlan("serial-log slowness", "xmlrpc-unindexed", fixed="xmlrpc-indexed"),
]
QUICK_PLAN = [
    HypothesisPlan("baseline (control)", "baseline"),
    HypothesisPlan("edge-to-shield network", "edge-shield-latency-scaled"),
    HypothesisPlan("shield-to-origin network", "shield-origin-latency-scaled"),
    HypothesisPlan("over-eager mirror", "mirror-storm-scaled"),
    HypothesisPlan("serial-log slowness", "xmlrpc-unindexed", fixed="xmlrpc-indexed"),
]


def scenario_for(name: str, quick: bool) -> Scenario:
    scenario = load_scenario(name)
    if not quick:
        return scenario
    faulty = any(True for _ in scenario.faults)
    scenario = with_duration(scenario, QUICK_FAULT_RUN_S if faulty else QUICK_STEADY_RUN_S)
    return compress_network(scenario, QUICK_NETWORK_FACTOR)


def view(run: RunData) -> RunView:
    """The run as scoring needs it, from the samples load_run already read."""
    return RunView.of(run.scenario, run.records, run.samples)


def run_all(
    plan: list[HypothesisPlan], quick: bool, out_dir: Path, state_dir: Path, console: Console
) -> dict[str, RunData]:
    names = list(dict.fromkeys(n for h in plan for n in (h.main, h.scaled, h.fixed) if n))
    runs: dict[str, RunData] = {}
    for index, name in enumerate(names, start=1):
        scenario = scenario_for(name, quick)
        with LiveProgress(console, f"[{index}/{len(names)}] {name}: ") as live:
            run_dir = run_scenario(scenario, out_dir / "runs", state_dir, live.update)
        console.print(f"[{index}/{len(names)}] {name}: {run_dir}")
        runs[name] = load_run(run_dir)
    return runs


def matrix_for(
    plan: list[HypothesisPlan], runs: dict[str, RunData], signature: Signature
) -> dict[str, dict[str, Cell]]:
    control = view(runs["baseline"])
    matrix = {}
    for h in plan:
        hypothesis = Hypothesis(
            h.name,
            view(runs[h.main]),
            view(runs[h.scaled]) if h.scaled else None,
            view(runs[h.fixed]) if h.fixed else None,
        )
        matrix[h.name] = score(signature, hypothesis, control)
    return matrix


def _cell_text(cell: Cell) -> str:
    word = {True: "pass", False: "fail", None: "n/a"}[cell.passed]
    return f"{word}: {cell.evidence}"


def matrix_rows(
    signature: Signature, matrix: dict[str, dict[str, Cell]]
) -> tuple[list[str], list[list[str]]]:
    header = ["hypothesis"] + [f"{s.id} {s.text}" for s in signature.symptoms] + ["consistent"]
    rows = [
        [name]
        + [_cell_text(cells[s.id]) for s in signature.symptoms]
        + ["yes" if consistent(signature, cells) else "no"]
        for name, cells in matrix.items()
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


def write_validation(
    out_dir: Path,
    plan: list[HypothesisPlan],
    runs: dict[str, RunData],
    matrix: dict[str, dict[str, Cell]],
    signature: Signature,
    quick: bool,
    took_s: float,
) -> Path:
    header, rows = matrix_rows(signature, matrix)
    ordered = [runs["baseline"]] + [runs[h.main] for h in plan if h.main != "baseline"]
    aligned, times = on_one_clock(ordered)
    panels = [
        (m.key, m.title + " (every hypothesis)", draw(m, times))
        for m in multiples(aligned)
        if m.key in KEY_PANELS
    ]
    mode = "quick (shorter runs, network clock x3)" if quick else "full"
    text = verdict(signature, matrix)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validate.json").write_text(
        json.dumps(
            {
                "mode": "quick" if quick else "full",
                "took_s": round(took_s, 1),
                "verdict": text,
                "consistent": [
                    name for name, cells in matrix.items() if consistent(signature, cells)
                ],
                "signature": signature.model_dump(mode="json"),
                "runs": {name: str(run.path) for name, run in runs.items()},
                "matrix": {
                    name: {
                        s: {"passed": c.passed, "evidence": c.evidence} for s, c in cells.items()
                    }
                    for name, cells in matrix.items()
                },
            },
            indent=2,
        )
        + "\n"
    )
    intro = f"**Verdict:** {text}\n\nMode: {mode}; took {took_s:.0f} s. Runs:\n\n" + "\n".join(
        f"- {name}: `{run.path}`" for name, run in runs.items()
    )
    intro_html = (
        f"<p><b>Verdict:</b> {html.escape(text)}</p><p>Mode: {html.escape(mode)}; took {took_s:.0f} s.</p><ul>"
        + "".join(
            f"<li>{html.escape(n)}: <code>{html.escape(str(r.path))}</code></li>"
            for n, r in runs.items()
        )
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


def print_matrix(
    matrix: dict[str, dict[str, Cell]], signature: Signature, console: Console
) -> None:
    table = Table(
        title=f"symptom matrix against {signature.name}", title_justify="left", show_lines=True
    )
    table.add_column("hypothesis")
    for s in signature.symptoms:
        table.add_column(f"{s.id}\n{s.text}", overflow="fold")
    table.add_column("consistent")
    for name, cells in matrix.items():
        table.add_row(
            name,
            *[
                {True: "[green]pass[/]", False: "[red]fail[/]", None: "n/a"}[cells[s.id].passed]
                + "\n"
                + cells[s.id].evidence
                for s in signature.symptoms
            ],
            "yes" if consistent(signature, cells) else "no",
        )
    console.print(table)
    for row in signature_rows(signature):
        console.print(f"  {row[0]}: {row[1]} [{row[2]}] {row[3]}", highlight=False, markup=False)
    console.print(f"[bold]verdict:[/] {verdict(signature, matrix)}")


def run(
    quick: bool,
    out_dir: Path,
    state_dir: Path,
    out: Console,
    err: Console,
    signature_name: str = DEFAULT_SIGNATURE,
) -> Path:
    started = time.monotonic()
    plan = QUICK_PLAN if quick else FULL_PLAN
    signature = load_signature(signature_name)  # a bad file fails before any run starts
    runs = run_all(plan, quick, out_dir, state_dir, err)
    matrix = matrix_for(plan, runs, signature)
    print_matrix(matrix, signature, out)
    return write_validation(
        out_dir, plan, runs, matrix, signature, quick, time.monotonic() - started
    )
