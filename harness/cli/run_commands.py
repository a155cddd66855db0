"""Commands on scenarios and runs: list, schema, run, gate, check, report, compare, validate,
diagnose, and turning a recording into a workload."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from harness.cli.console import err, out
from harness.cli.topology_commands import recover_left_runs
from harness.errors import EXIT_OK, BadInput


def cmd_list(_: argparse.Namespace) -> int:
    from harness.scenario.model import load_scenario, shipped_names

    table = Table(title="shipped scenarios (scenarios/*.yaml)", title_justify="left")
    for column in ("name", "description", "hypothesis"):
        table.add_column(column, overflow="fold")
    for name in shipped_names():
        scenario = load_scenario(name)
        table.add_row(name, scenario.description, scenario.hypothesis)
    out.print(table)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    if args.records:
        from harness.records.schema import run_file_schemas

        print(json.dumps(run_file_schemas(), indent=2))
        return EXIT_OK
    from harness.scenario.model import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from harness.analysis.summary import print_summary
    from harness.records import files
    from harness.records.run_info import Mode
    from harness.records.summary import read_summary
    from harness.run.progress import LiveProgress
    from harness.run.runner import run_scenario
    from harness.scenario.clock import with_duration
    from harness.scenario.model import load_scenario

    overrides: dict[str, Any] = {}
    if args.seed is not None:
        overrides["load"] = {"seed": args.seed}
    if args.cdn is not None:
        overrides["topology"] = {"cdn": args.cdn}
    scenario = load_scenario(args.scenario, overrides)
    recover_left_runs(args.out)
    if args.duration is not None:
        if args.duration <= 0:
            raise BadInput(f"--duration: must be more than 0 seconds; got {args.duration:g}")
        scenario = with_duration(scenario, args.duration)
    if args.workers is not None and (args.workers < 1 or args.mode != Mode.COMPOSE):
        raise BadInput(
            f"--workers: Locust worker containers, 1 or more, with --mode compose; got "
            f"{args.workers} with --mode {args.mode}"
        )
    with LiveProgress(err) as live:
        run_dir = run_scenario(
            scenario, args.out, args.state_dir, live.update, Mode(args.mode), args.workers
        )
    print_summary(read_summary(run_dir / files.SUMMARY_FILE), out)
    print(run_dir)
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.gate.run import GateOptions, run_gate
    from harness.scenario.topology import CdnKind

    if args.repeat < 1:
        raise BadInput(f"--repeat: must be 1 or more; got {args.repeat}")
    out_dir = args.out or Path("results") / "gate"
    recover_left_runs(out_dir / "runs")
    options = GateOptions(
        suite=args.suite,
        out_dir=out_dir,
        state_dir=args.state_dir,
        baseline_dir=args.baseline,
        junit=args.junit,
        update_baseline=args.update_baseline,
        repeat=args.repeat,
        cdn=CdnKind(args.cdn) if args.cdn else None,
    )
    return run_gate(options, out, err)


def cmd_check(args: argparse.Namespace) -> int:
    from harness.gate.check import check_runs

    return check_runs(args.run_dirs, args.expect, args.baseline, out)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.analysis.report import write_report

    with err.status("drawing the report"):
        path = write_report(args.run_dir)
    print(path)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.analysis.compare import write_comparison

    out_dir = args.out or Path("results") / "compare"
    with err.status("drawing the comparison"):
        path = write_comparison(args.run_dirs, out_dir)
    print(path)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.scenario.topology import CdnKind
    from harness.validate import command as validate

    out_dir = args.out or Path("results") / "validate"
    recover_left_runs(out_dir / "runs")
    options = validate.ValidateOptions(
        args.quick,
        out_dir,
        args.state_dir,
        args.signature,
        args.family or None,
        args.max_runs,
        CdnKind(args.cdn) if args.cdn else None,
    )
    path = validate.run(options, out, err)
    out.print(
        f"report: {path}  (open it in a browser; {path.with_suffix('.md')} is the same as Markdown)"
    )
    print(path)
    return EXIT_OK


def cmd_diagnose(args: argparse.Namespace) -> int:
    from harness.analysis.diagnose import diagnose
    from harness.analysis.diagnosis_text import finding_lines

    result = diagnose(args.run_dir)
    if args.json:
        print(result.model_dump_json(indent=2))
        return EXIT_OK
    if not result.fault_found:
        out.print(
            "[green]no fault found[/green]: no segment went worse than its own quiet level "
            "and its neighbour "
            f"({result.tests_run} tests over {result.windows} windows, "
            f"false discovery rate {result.fdr_level:.0%})"
        )
        return EXIT_OK
    count = len(result.findings)
    out.print(
        f"[bold red]{count} faulty segment{'s' if count != 1 else ''}[/bold red]"
        + (" and [bold red]origin capacity[/bold red]" if result.origin_capacity else "")
        + f" ({result.tests_run} tests over {result.windows} windows, "
        f"false discovery rate {result.fdr_level:.0%})"
    )
    for headline, detail in finding_lines(result):
        out.print(f"  [red]{headline}[/red]")
        for line in detail:
            out.print(f"      {line}")
    return EXIT_OK


def cmd_workload(args: argparse.Namespace) -> int:
    from harness.load.recording import make_mix, write_mix

    name = args.name or args.out.stem
    mix = make_mix(args.recording, name, args.session_gap)
    write_mix(mix, args.out)
    shares = ", ".join(f"{e} {s:.0%}" for e, s in mix.endpoint_shares.items())
    out.print(
        f"{args.out}: mix {mix.name!r} from {mix.recorded.exchanges} requests of "
        f"{mix.recorded.client}, {len(mix.sessions)} sessions; {shares}"
    )
    return EXIT_OK
