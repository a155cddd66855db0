"""What a gate found: per scenario its run, the outcome of each expectation, or why it is void.

Rendered three ways from the same data: a console table, JUnit XML, and a Markdown summary.
Each expectation holds, fails, or is undecided (its interval straddles the bound); only a run
whose every expectation holds passes. A void run (the lab broke, or the load generator fell
behind) is an error, never a pass or a failed expectation.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite
from rich.table import Table

from harness.analysis.judging import Outcome, fmt, value_text
from harness.analysis.uncertainty import Judgement
from harness.errors import EXIT_GATE_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
from harness.scenario.model import Scenario


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    run_dir: Path | None
    outcomes: list[Outcome]
    void: str | None  # why the measurement is void; None when it counts
    took_s: float

    @property
    def passed(self) -> bool:
        return self.void is None and all(o.judgement is Judgement.HOLDS for o in self.outcomes)

    def count(self, judgement: Judgement) -> int:
        return sum(o.judgement is judgement for o in self.outcomes)


def exit_code(rounds: list[list[ScenarioResult]]) -> int:
    """0 only when every expectation of every round holds; an undecided one is not a pass."""
    results = [r for one in rounds for r in one]
    if any(r.void is not None for r in results):
        return EXIT_INFRASTRUCTURE
    return EXIT_OK if all(r.passed for r in results) else EXIT_GATE_FAILED


def gate_word(rounds: list[list[ScenarioResult]]) -> str:
    results = [r for one in rounds for r in one]
    if any(r.void is not None for r in results):
        return "VOID"
    if any(r.count(Judgement.FAILS) for r in results):
        return "FAILED"
    if any(r.count(Judgement.UNDECIDED) for r in results):
        return "UNDECIDED"
    return "passed" if all(r.passed for r in results) else "NOT JUDGED"


WORDS = {Judgement.HOLDS: "pass", Judgement.FAILS: "FAIL", Judgement.UNDECIDED: "UNDECIDED"}


def verdict_word(outcome: Outcome, void: str | None) -> str:
    if void is not None:
        return "VOID"
    return "not judged" if outcome.judgement is None else WORDS[outcome.judgement]


def rows(rounds: list[list[ScenarioResult]]) -> list[list[str]]:
    """scenario, expectation, measured, bound, result: one row per expectation per round."""
    table = []
    for number, results in enumerate(rounds, start=1):
        for result in results:
            name = result.scenario.name + (f" #{number}" if len(rounds) > 1 else "")
            for outcome in result.outcomes:
                table.append(
                    [
                        name,
                        outcome.expectation.name or outcome.expectation.key,
                        "-" if result.void else value_text(outcome.value, outcome.spread),
                        outcome.expectation.bound.text()
                        + (
                            f" = {fmt(outcome.threshold)}"
                            if outcome.expectation.bound.relative
                            else ""
                        ),
                        verdict_word(outcome, result.void),
                    ]
                )
            if result.void is not None:
                table.append([name, "(the run)", "-", "-", f"VOID: {result.void}"])
    return table


HEADER = ["scenario", "expectation", "measured", "bound", "result"]


Pooled = list[list[Outcome | None]]  # per scenario, per expectation: every round's run pooled


def pooled_text(outcome: Outcome | None) -> str:
    if outcome is None or outcome.judgement is None:
        return "-"
    return f"{value_text(outcome.value, outcome.spread)}: {WORDS[outcome.judgement]}"


def spread(rounds: list[list[ScenarioResult]], pooled: Pooled | None = None) -> list[list[str]]:
    """Over repeated rounds: each expectation's pass fraction, its measured min / median / max,
    and (when given) its judgement on every round's 1 s bins pooled: a narrower interval."""
    table = []
    for index, first in enumerate(rounds[0]):
        for e_index, outcome in enumerate(first.outcomes):
            values = []
            passes = 0
            for results in rounds:
                result = results[index]
                mine = result.outcomes[e_index] if result.outcomes else None
                if mine is not None and result.void is None:
                    passes += mine.judgement is Judgement.HOLDS
                    if mine.value is not None:
                        values.append(mine.value)
            stats = (
                f"{fmt(min(values))} / {fmt(statistics.median(values))} / {fmt(max(values))}"
                if values
                else "-"
            )
            together = pooled[index][e_index] if pooled is not None else None
            table.append(
                [
                    first.scenario.name,
                    outcome.expectation.name or outcome.expectation.key,
                    f"{passes}/{len(rounds)}",
                    stats,
                    pooled_text(together),
                    outcome.expectation.bound.text(),
                ]
            )
    return table


SPREAD_HEADER = [
    "scenario",
    "expectation",
    "passed",
    "measured min / median / max",
    "every round pooled",
    "bound",
]


def markdown(
    suite: str,
    rounds: list[list[ScenarioResult]],
    took_s: float,
    pooled: Pooled | None = None,
    cdn: str = "model",
) -> str:
    """`cdn`: the CDN kind(s) the suite's scenarios ran on."""
    word = gate_word(rounds)
    lines = [
        f"## shieldlab gate `{suite}`: {word}",
        "",
        f"{len(rounds)} round(s), {took_s:.0f} s, CDN: {cdn}.",
        "",
    ]
    lines += _md_table(HEADER, rows(rounds))
    if len(rounds) > 1:
        passed = sum(all(r.passed for r in results) for results in rounds)
        lines += ["", f"Rounds that passed: {passed}/{len(rounds)}", ""]
        lines += _md_table(SPREAD_HEADER, spread(rounds, pooled))
    runs = [r.run_dir for results in rounds for r in results if r.run_dir is not None]
    lines += ["", "Run directories:", ""] + [f"- `{path}`" for path in runs]
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    cells = [[c.replace("|", "/") for c in row] for row in body]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(row) + " |" for row in cells
    ]


def write_junit(path: Path, suite: str, rounds: list[list[ScenarioResult]]) -> None:
    """A testsuite per scenario (per round), a testcase per expectation."""
    xml = JUnitXml(suite)
    for number, results in enumerate(rounds, start=1):
        for result in results:
            name = result.scenario.name + (f" #{number}" if len(rounds) > 1 else "")
            testsuite = TestSuite(name)
            if result.run_dir is not None:
                testsuite.add_property("run_dir", str(result.run_dir))
            share = result.took_s / max(1, len(result.outcomes))
            for outcome in result.outcomes:
                case = TestCase(outcome.expectation.text, f"{suite}.{result.scenario.name}", share)
                if result.void is not None:
                    case.result = [Error(f"void run: {result.void}", "infrastructure")]
                elif outcome.judgement is Judgement.FAILS:
                    case.result = [Failure(outcome.detail, "expectation")]
                elif outcome.judgement is Judgement.UNDECIDED:
                    # Not shown to hold: the interval straddles the bound.
                    case.result = [Failure(outcome.detail, "undecided")]
                elif outcome.judgement is None:
                    case.result = [Error(outcome.detail, "no baseline")]
                case.system_out = outcome.detail
                testsuite.add_testcase(case)
            if not result.outcomes and result.void is not None:
                case = TestCase("run", f"{suite}.{result.scenario.name}", result.took_s)
                case.result = [Error(f"void run: {result.void}", "infrastructure")]
                testsuite.add_testcase(case)
            xml.add_testsuite(testsuite)
    xml.update_statistics()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    xml.write(str(partial), pretty=True)
    partial.rename(path)


def table(title: str, header: list[str], body: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in header:
        table.add_column(column, overflow="fold")
    for row in body:
        style = {"pass": "green", "UNDECIDED": "yellow"}.get(row[-1].split(":")[0])
        if row[-1].startswith(("FAIL", "VOID")):
            style = "red"
        table.add_row(*row, style=style)
    return table
