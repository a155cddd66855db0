"""`shieldlab bench --parity`: the model and real Varnish on the same scenarios and seeds.

Every shipped scenario (the `ci` suite's among them) runs once on each CDN kind, then
`validate --quick` (`make demo`'s families) once on each. Side by side per phase: the error
share, per layer and per reason, the hit ratio per layer, p50 and p95 per traffic class, each
judged within / beyond / undecided against the stated tolerances (parity_compare), the
segments `diagnose` names, and the verdict's words. Runs are kept under `--out` and the bench
resumes from them: a run already there is not run again.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.analysis.diagnose import diagnose
from harness.bench.parity_compare import (
    LATENCY_TOLERANCE_MS,
    LATENCY_TOLERANCE_RELATIVE,
    SHARE_TOLERANCE,
    Agreement,
    Row,
    compare_runs,
    tally,
)
from harness.errors import BadInput, InfrastructureError
from harness.records.base import Record, read_json_model, write_json_model
from harness.records.run_data import load_run
from harness.records.validation import VALIDATE_FILE, read_validation
from harness.run.progress import LiveProgress
from harness.run.runner import run_scenario
from harness.scenario.clock import with_duration
from harness.scenario.model import load_scenario, shipped_names
from harness.scenario.topology import CdnKind
from harness.topology.varnish import require_varnish
from harness.validate.running import on_cdn

MANIFEST = "parity.json"
REPORT = "parity.md"
KINDS = (CdnKind.MODEL, CdnKind.VARNISH)


class KindRun(Record):
    run_dir: str | None = None
    not_run: str | None = None  # why, when the run was refused, broke or was void
    transient: bool = False  # it broke or was void twice: run again when the bench resumes
    segments: list[str] = []  # what diagnose names

    @property
    def kept(self) -> bool:
        return (self.run_dir is not None or self.not_run is not None) and not self.transient


class ValidateRun(Record):
    path: str | None = None
    not_run: str | None = None
    transient: bool = False
    verdict: list[str] = []


class Manifest(Record):
    duration_s: float | None  # None: each scenario's own
    runs: dict[str, dict[str, KindRun]] = {}  # scenario -> cdn -> run
    validations: dict[str, ValidateRun] = {}  # cdn -> quick validate


def _load_manifest(path: Path, duration_s: float | None) -> Manifest:
    if not path.is_file():
        return Manifest(duration_s=duration_s)
    kept = read_json_model(path, Manifest)
    if kept.duration_s != duration_s:
        raise BadInput(
            f"{path}: its runs are {_length(kept.duration_s)}; asked: {_length(duration_s)}; "
            "give another --out, or the same --duration"
        )
    return kept


def _length(duration_s: float | None) -> str:
    return "full-length" if duration_s is None else f"{duration_s:g} s long"


def _with(manifest: Manifest, **update: Any) -> Manifest:
    return manifest.model_copy(update=update)


def _attempt(
    name: str, kind: CdnKind, out: Path, state_dir: Path, duration_s: float | None, err: Console
) -> KindRun:
    scenario = on_cdn(load_scenario(name), kind)
    if duration_s is not None:
        scenario = with_duration(scenario, duration_s)
    try:
        with LiveProgress(err, f"parity {name} on {kind.value}: ") as live:
            run_dir = run_scenario(scenario, out / "runs" / kind.value, state_dir, live.update)
    except BadInput as refused:  # this scenario cannot run here: kept as such
        return KindRun(not_run=str(refused).splitlines()[0])
    except InfrastructureError as broke:  # a process died or would not start
        return KindRun(not_run=str(broke).splitlines()[0], transient=True)
    run_dir = run_dir.resolve()
    try:
        run = load_run(run_dir)
        if run.void:
            return KindRun(run_dir=str(run_dir), not_run=f"void: {run.void}", transient=True)
        return KindRun(run_dir=str(run_dir), segments=diagnose(run_dir).segments)
    except BadInput as unreadable:
        return KindRun(run_dir=str(run_dir), not_run=str(unreadable).splitlines()[0])


def _run_one(
    name: str, kind: CdnKind, out: Path, state_dir: Path, duration_s: float | None, err: Console
) -> KindRun:
    """A run that broke or was void is tried once more (as validate does)."""
    done = _attempt(name, kind, out, state_dir, duration_s, err)
    if done.transient:
        err.print(f"parity {name} on {kind.value}: {done.not_run}; once more", markup=False)
        done = _attempt(name, kind, out, state_dir, duration_s, err)
    return done


def _validate_one(kind: CdnKind, out: Path, state_dir: Path, err: Console) -> ValidateRun:
    from harness.validate import command as validate

    options = validate.ValidateOptions(
        quick=True, out_dir=out / f"validate-{kind.value}", state_dir=state_dir, cdn=kind
    )
    try:
        path = validate.run(options, Console(stderr=True, quiet=True), err)
    except BadInput as refused:
        return ValidateRun(not_run=str(refused).splitlines()[0])
    except InfrastructureError as broke:
        return ValidateRun(not_run=str(broke).splitlines()[0], transient=True)
    verdict = read_validation(options.out_dir / VALIDATE_FILE).verdict
    return ValidateRun(path=str(path.resolve()), verdict=verdict)


def run(
    out: Path,
    state_dir: Path,
    duration_s: float | None,
    names: list[str] | None,
    with_validate: bool,
    err: Console,
) -> Manifest:
    require_varnish()
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = _load_manifest(manifest_path, duration_s)
    for name in names or shipped_names():
        load_scenario(name)  # a bad name stops here, before anything runs
    for name in names or shipped_names():
        for kind in KINDS:
            kept = manifest.runs.get(name, {}).get(kind.value)
            if kept is not None and kept.kept:
                continue
            done = _run_one(name, kind, out, state_dir, duration_s, err)
            runs = {**manifest.runs, name: {**manifest.runs.get(name, {}), kind.value: done}}
            manifest = _with(manifest, runs=runs)
            write_json_model(manifest_path, manifest)
            err.print(
                f"parity {name} on {kind.value}: {done.run_dir or done.not_run}",
                highlight=False,
                markup=False,
            )
    if with_validate:
        for kind in KINDS:
            kept_v = manifest.validations.get(kind.value)
            if kept_v is not None and not kept_v.transient:
                continue
            done_v = _validate_one(kind, out, state_dir, err)
            manifest = _with(manifest, validations={**manifest.validations, kind.value: done_v})
            write_json_model(manifest_path, manifest)
    return manifest


# --- what it shows -------------------------------------------------------------------------


def scenario_rows(manifest: Manifest) -> dict[str, list[Row]]:
    rows = {}
    for name, kinds in manifest.runs.items():
        model, varnish = kinds.get(CdnKind.MODEL.value), kinds.get(CdnKind.VARNISH.value)
        if model is None or varnish is None or model.not_run or varnish.not_run:
            continue
        assert model.run_dir is not None and varnish.run_dir is not None
        rows[name] = compare_runs(load_run(Path(model.run_dir)), load_run(Path(varnish.run_dir)))
    return rows


def _cell(text: str) -> str:
    """Text in a Markdown table cell."""
    return html.escape(text).replace("|", "\\|")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.0f}"


def _interval(row: Row) -> str:
    if row.low is None or row.high is None:
        return "-"
    return f"[{_number(row.low)}, {_number(row.high)}]"


TOLERANCES = (
    f"shares within {SHARE_TOLERANCE:g} absolute; p50/p95 within {LATENCY_TOLERANCE_MS:g} ms "
    f"or {LATENCY_TOLERANCE_RELATIVE:.0%} of the larger, whichever is more; judged on the 95 % "
    "interval of the difference (varnish - model)"
)


def _row_table(title: str, rows: list[tuple[str, Row]]) -> list[str]:
    lines = ["", f"## {title}", ""]
    lines.append(
        "| scenario | phase | metric | model | varnish | difference [95 %] | tolerance | result |"
    )
    lines.append("| --- | --- | --- | ---: | ---: | --- | ---: | --- |")
    for name, row in rows:
        result = row.agreement.value if row.agreement else "-"
        lines.append(
            f"| {name} | {row.phase} | {row.metric} | {_number(row.model)} | "
            f"{_number(row.varnish)} | {_interval(row)} | {_number(row.tolerance)} | {result} |"
        )
    return lines


def write_report(manifest: Manifest, out: Path) -> Path:
    rows = scenario_rows(manifest)
    lines = [
        "# CDN parity: the model and Varnish on the same scenarios and seeds",
        "",
        f"Tolerances: {TOLERANCES}.",
        "",
    ]
    lines += [
        "| scenario | within | beyond | undecided | diagnose: model | diagnose: varnish |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for name, kinds in manifest.runs.items():
        model, varnish = kinds.get("model", KindRun()), kinds.get("varnish", KindRun())
        if name not in rows:
            why = model.not_run or varnish.not_run or "not run"
            lines.append(f"| {name} | - | - | - | {_cell(why)} | |")
            continue
        counts = tally(rows[name])
        lines.append(
            f"| {name} | {counts['within']} | {counts['beyond']} | {counts['undecided']} | "
            f"{', '.join(model.segments) or 'nothing'} | {', '.join(varnish.segments) or 'nothing'} |"
        )
    if manifest.validations:
        lines += ["", "## `validate --quick`", "", "| cdn | verdict |", "| --- | --- |"]
        for kind, done in manifest.validations.items():
            lines.append(f"| {kind} | {_cell(' '.join(done.verdict) or done.not_run or '')} |")
    beyond = [(n, r) for n, rs in rows.items() for r in rs if r.agreement is Agreement.BEYOND]
    every = [(n, r) for n, rs in rows.items() for r in rs]
    lines += _row_table("Beyond tolerance", beyond)
    lines += _row_table("Every row", every)
    path = out / REPORT
    path.write_text("\n".join(lines) + "\n")
    return path


COLOURS = {"within": "green", "beyond": "red", "undecided": "yellow"}


def print_summary(manifest: Manifest, out: Console) -> None:
    rows = scenario_rows(manifest)
    table = Table(title=f"CDN parity, model vs varnish ({TOLERANCES})")
    for column in (
        "scenario",
        "within",
        "beyond",
        "undecided",
        "diagnose: model",
        "diagnose: varnish",
    ):
        table.add_column(column, overflow="fold")
    for name, kinds in manifest.runs.items():
        model, varnish = kinds.get("model", KindRun()), kinds.get("varnish", KindRun())
        if name not in rows:
            table.add_row(
                name, "", "", "", escape(model.not_run or ""), escape(varnish.not_run or "")
            )
            continue
        counts = tally(rows[name])
        same = model.segments == varnish.segments
        names = [", ".join(k.segments) or "nothing" for k in (model, varnish)]
        colour = "green" if same else "red"
        table.add_row(
            name,
            *(f"[{COLOURS[k]}]{counts[k]}[/]" if counts[k] else "0" for k in COLOURS),
            f"[{colour}]{escape(names[0])}[/]",
            f"[{colour}]{escape(names[1])}[/]",
        )
    out.print(table)
    for kind, done in manifest.validations.items():
        out.print(
            f"validate --quick on {kind}: {' '.join(done.verdict) or done.not_run}",
            highlight=False,
            markup=False,
        )


def as_json(manifest: Manifest) -> dict[str, Any]:
    rows = scenario_rows(manifest)
    return {
        "manifest": manifest.model_dump(mode="json"),
        "rows": {
            name: [asdict(r) for r in scenario_rows_] for name, scenario_rows_ in rows.items()
        },
        "tally": {name: tally(r) for name, r in rows.items()},
    }
