"""What `validate` shows and writes: the verdict on the terminal, validate.json through its
model, and validate.md / validate.html. The HTML opens with the answer (at most three lines)
and the map of families by points, coloured consistent / ruled out / undecided; the symptom
matrix follows, coloured the same way, then each family's evidence, folded, then the panels."""

from __future__ import annotations

import html
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from harness.analysis.compare import draw, multiples, on_one_clock
from harness.analysis.report import (
    Document,
    Styled,
    Table,
    TableCell,
    html_table,
    markdown_table,
    write_document,
)
from harness.records.base import write_json_model
from harness.records.run_data import RunData
from harness.records.validation import (
    VALIDATE_FILE,
    Mode,
    Validation,
)
from harness.run.progress import minutes
from harness.validate.fit import (
    FamilyFit,
    PointResult,
    family_sentence,
)
from harness.validate.signature import Signature
from harness.validate.verdict import Cell

ANSWER_LINES = 3  # the report opens with at most this many lines of answer
RICH_STYLE = {
    "holds": "green",
    "consistent": "green",
    "fails": "red",
    "ruled out": "red",
    "undecided": "yellow",
}


def css(word: str) -> str:
    return word.replace(" ", "-").replace("/", "")


def _cell_word(cell: Cell) -> str:
    return "na" if cell.judgement is None else str(cell.judgement)


def point_detail(signature: Signature, point: PointResult) -> str:
    """After a point's status: the symptoms that failed there, and how many runs it took."""
    if point.void is not None:
        return f": {point.void}"
    failed = [s.id for s in signature.symptoms if point.cells[s.id].failed]
    detail = f": {', '.join(failed)}" if failed else ""
    return f"{detail} ({len(point.runs)} run{'s' if len(point.runs) != 1 else ''})"


def point_label(signature: Signature, point: PointResult) -> str:
    """What a point's square in the map says: its status, and in a failing one the ruling."""
    return f"{point.status}{point_detail(signature, point)}"


def heat_map(signature: Signature, fits: list[FamilyFit]) -> Table:
    """Families by points: a row per family, one coloured square per point it tested."""
    width = max((len(f.points) for f in fits), default=0)
    header = ["family", "status"] + [f"point {i + 1}" for i in range(width)]
    rows: list[list[TableCell]] = []
    for fit in fits:
        row: list[TableCell] = [fit.family.title, Styled(str(fit.status), css(str(fit.status)))]
        for point in fit.points:
            text = f"{point.text(fit.family)}\n{point_label(signature, point)}"
            row.append(Styled(text, css(str(point.status))))
        row += [""] * (width - len(fit.points))
        rows.append(row)
    return ("Families by points", header, rows)


def cell_maps(signature: Signature, fits: list[FamilyFit]) -> list[Table]:
    """For each family that sweeps two parameters, its region as a map: a row per value of
    the second, a column per value of the first, each cell coloured by its status."""
    tables: list[Table] = []
    for fit in fits:
        family = fit.family
        if family.second is None or family.sweep is None or not fit.points:
            continue
        firsts = list(dict.fromkeys(p.value for p in fit.points))
        seconds = list(dict.fromkeys(p.value2 for p in fit.points))
        at = {(p.value, p.value2): p for p in fit.points}
        header = [family.second.parameter] + [family.sweep.text(v) for v in firsts if v is not None]
        rows: list[list[TableCell]] = []
        for v2 in seconds:
            row: list[TableCell] = [family.second.text(v2) if v2 is not None else "-"]
            for v1 in firsts:
                point = at.get((v1, v2))
                row.append(
                    Styled(point_label(signature, point), css(str(point.status)))
                    if point is not None
                    else ""
                )
            rows.append(row)
        tables.append(
            (f"{family.title}: {family.sweep.parameter} by {family.second.parameter}", header, rows)
        )
    return tables


def matrix(signature: Signature, fits: list[FamilyFit]) -> Table:
    header = ["family", "point"] + [f"{s.id} {s.text}" for s in signature.symptoms] + ["point"]
    rows: list[list[TableCell]] = []
    for fit in fits:
        for p in fit.points:
            cells: list[TableCell] = [
                Styled(f"{p.cells[s.id].word}: {p.cells[s.id].evidence}", _cell_word(p.cells[s.id]))
                if s.id in p.cells
                else Styled("void", "void")
                for s in signature.symptoms
            ]
            status = Styled(str(p.status) + (f": {p.void}" if p.void else ""), css(str(p.status)))
            rows.append([fit.family.title, p.text(fit.family), *cells, status])
    return ("Symptom matrix", header, rows)


def signature_rows(signature: Signature) -> list[list[TableCell]]:
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


def _sections(tables: list[Table]) -> tuple[str, str]:
    md = "".join(f"\n\n## {h}\n\n{markdown_table(header, rows)}" for h, header, rows in tables)
    page = "".join(
        f"<h2>{html.escape(h)}</h2>{html_table(header, rows)}" for h, header, rows in tables
    )
    return md, page


def _intro(
    result: Validation, fits: list[FamilyFit], signature: Signature, tables: list[Table]
) -> tuple[str, str]:
    """The answer, the other lines of the verdict, the map and the matrix, then each family's
    evidence (folded in HTML) and the runs."""
    shown = result.verdict[:ANSWER_LINES]
    rest = result.verdict[ANSWER_LINES:]
    mode = (
        "quick (staircases, each point run once)"
        if result.mode is Mode.QUICK
        else f"full (up to {result.max_runs_per_point} runs per point)"
    )
    about = (
        f"Mode: {mode}; {len(result.runs)} runs scored, {len(result.void_runs)} void; "
        f"took {minutes(result.took_s)}."
    )
    sentences = [family_sentence(signature, f) for f in fits]
    runs = result.runs + result.void_runs
    rest = rest + [t.text for t in result.tell_apart]
    tables_md, tables_html = _sections(tables)
    md = (
        "\n".join(f"**{line}**" if i == 0 else line for i, line in enumerate(shown))
        + "\n\n"
        + "\n".join(f"- {line}" for line in rest)
        + f"\n\n{about}"
        + tables_md
        + "\n\n## Each family's evidence\n\n"
        + "\n".join(f"- {line}" for line in sentences)
        + "\n\nRuns:\n\n"
        + "\n".join(f"- `{run}`" for run in runs)
    )
    folded = "".join(
        f"<details><summary>{html.escape(f.family.title)}: {html.escape(str(f.status))}"
        f"</summary><p>{html.escape(line)}</p></details>"
        for f, line in zip(fits, sentences, strict=True)
    )
    answer_html = "".join(
        f"<p>{'<b>' if i == 0 else ''}{html.escape(line)}</p>" for i, line in enumerate(shown)
    )
    page = (
        f"<div class='answer'>{answer_html}</div>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in rest)
        + f"<p>{html.escape(about)}</p>"
        + tables_html
        + "<h2>Each family's evidence</h2>"
        + folded
        + "<details><summary>Runs</summary><ul>"
        + "".join(f"<li><code>{html.escape(r)}</code></li>" for r in runs)
        + "</ul></details>"
    )
    return md, page


def write_validation(
    out_dir: Path,
    result: Validation,
    runs: list[RunData],
    fits: list[FamilyFit],
    signature: Signature,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_model(out_dir / VALIDATE_FILE, result)
    aligned, times = on_one_clock(runs)
    panels = [
        (m.key, m.title + " (every run)", draw(m, times))
        for m in multiples(aligned)
        if m.key in signature.panels
    ]
    first = [heat_map(signature, fits), *cell_maps(signature, fits), matrix(signature, fits)]
    intro_md, intro_html = _intro(result, fits, signature, first)
    document = Document(
        f"shieldlab validate: which hypothesis fits {signature.name}",
        intro_md,
        intro_html,
        [
            (
                f"Signature {signature.name}: the symptoms as tested",
                ["symptom", "expectation", "measured on", "bound"],
                signature_rows(signature),
            ),
        ],
        panels,
    )
    return write_document(out_dir, "validate", document)


def _rich(word: str) -> str:
    style = RICH_STYLE.get(word)
    return f"[{style}]{word}[/]" if style else word


def print_verdict(
    result: Validation, fits: list[FamilyFit], signature: Signature, console: Console
) -> None:
    table = RichTable(
        title=f"families by points against {signature.name}", title_justify="left", show_lines=True
    )
    table.add_column("family")
    table.add_column("status")
    table.add_column("points", overflow="fold")
    for fit in fits:
        points = "\n".join(
            f"{p.text(fit.family)}: {_rich(str(p.status))}{point_detail(signature, p)}"
            for p in fit.points
        )
        table.add_row(fit.family.title, _rich(str(fit.status)), points or fit.untested or "")
    console.print(table)
    console.print("[bold]verdict[/]")
    for line in result.verdict:
        console.print(f"  {line}", highlight=False, markup=False)
    for pair in result.tell_apart:
        console.print(f"  {pair.text}", highlight=False, markup=False)
    for fit in fits:
        console.print(f"  - {family_sentence(signature, fit)}", highlight=False, markup=False)
