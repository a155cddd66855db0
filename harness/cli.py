"""The `shieldlab` command line: one thin function per subcommand."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.errors import (
    EXIT_INFRASTRUCTURE,
    EXIT_OK,
    BadInput,
    InfrastructureError,
    ShieldlabError,
)
from harness.gate.baseline import DEFAULT_BASELINE_DIR
from harness.topology import control
from harness.topology.config import TopologyConfig, defaults_yaml, load_topology
from harness.topology.state import TopologyState
from harness.topology.supervisor import supervise

out = Console(width=max(150, Console().width), soft_wrap=True)  # tables stay readable in logs
err = Console(stderr=True, soft_wrap=True)  # a path in a message is never cut in two


def _topology_from(args: argparse.Namespace) -> TopologyConfig:
    overrides: dict[str, Any] = {}
    if getattr(args, "edges", None):
        overrides["edges"] = [pop.strip() for pop in args.edges.split(",") if pop.strip()]
    return load_topology(args.config, overrides)


def print_topology(state: TopologyState) -> None:
    nodes = Table(title="nodes", title_justify="left")
    for column in ("node", "url", "pid", "clients use"):
        nodes.add_column(column)
    for name, node in state.nodes.items():
        pop = name.removeprefix("edge-") if name.startswith("edge-") else None
        nodes.add_row(name, node.url, str(node.pid), state.client_url(pop) if pop else "")
    links = Table(title="links (Toxiproxy " + state.toxiproxy.api + ")", title_justify="left")
    for column in ("link", "listen", "upstream"):
        links.add_column(column)
    for name, link in state.links.items():
        links.add_row(name, link.listen, link.upstream)
    out.print(nodes)
    out.print(links)


def recover_left_runs(results: Path) -> None:
    """What a killed harness left: its `.partial` run is kept as `.interrupted`, its network
    namespace (and the loss rules in it) deleted; each said in a line."""
    from harness.run.run_dir import recover_partials
    from harness.topology import netns

    for path in recover_partials(results):
        err.print(f"a run left by a killed harness was kept as {path}")
    for name in netns.sweep():
        err.print(f"removed network namespace {name}, left by a killed run")


def cmd_up(args: argparse.Namespace) -> int:
    config = _topology_from(args)
    if args.detach:
        with err.status("starting the topology"):
            state = control.start_detached(config, args.state_dir)
        print_topology(state)
        out.print("detached; `shieldlab status` shows it, `shieldlab down` stops it")
        return EXIT_OK

    def on_ready(state: TopologyState) -> None:
        print_topology(state)
        out.print("up; Ctrl-C tears everything down")

    with err.status("starting the topology") as status:

        def report(message: str) -> None:
            status.update(message)
            if message == "tearing down":
                err.print("tearing the topology down")

        def ready(state: TopologyState) -> None:
            status.stop()
            on_ready(state)

        supervise(config, args.state_dir, report, ready)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    state = control.status(args.state_dir)
    if state is None:
        if args.json:
            print(json.dumps({"running": False}))
        else:
            err.print(f"no topology is running (state dir {args.state_dir})")
        return EXIT_INFRASTRUCTURE
    if args.json:
        print(json.dumps({"running": True, **state.status_json()}, indent=2))
    else:
        print_topology(state)
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    recover_left_runs(args.results)
    state = control.stop(args.state_dir)
    if state is None:
        err.print(f"no topology is running (state dir {args.state_dir}); nothing to stop")
    else:
        out.print(f"stopped {len(state.nodes)} nodes and toxiproxy-server")
    return EXIT_OK


def cmd_defaults(_: argparse.Namespace) -> int:
    print(defaults_yaml(), end="")
    return EXIT_OK


def cmd_list(_: argparse.Namespace) -> int:
    from harness.scenario import load_scenario, shipped_names

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
    from harness.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from harness.analysis.summary import print_summary
    from harness.records import files
    from harness.records.summary import read_summary
    from harness.run.progress import LiveProgress
    from harness.run.runner import run_scenario
    from harness.scenario import load_scenario, with_duration

    overrides: dict[str, Any] = {}
    if args.seed is not None:
        overrides["load"] = {"seed": args.seed}
    scenario = load_scenario(args.scenario, overrides)
    recover_left_runs(args.out)
    if args.duration is not None:
        if args.duration <= 0:
            raise BadInput(f"--duration: must be more than 0 seconds; got {args.duration:g}")
        scenario = with_duration(scenario, args.duration)
    with LiveProgress(err) as live:
        run_dir = run_scenario(scenario, args.out, args.state_dir, live.update)
    print_summary(read_summary(run_dir / files.SUMMARY_FILE), out)
    print(run_dir)
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    from harness.record import recording

    if args.duration is not None and args.duration <= 0:
        raise BadInput(f"--duration: must be more than 0 seconds; got {args.duration:g}")
    state = control.status(args.state_dir)
    if state is None:
        raise InfrastructureError(
            f"no topology is running (state dir {args.state_dir}); start one with "
            "`shieldlab up --detach`, then send clients through its POPs"
        )
    started = time.monotonic()
    with recording(state, args.state_dir, args.link, args.out, args.port) as tap:
        until = "Ctrl-C" if args.duration is None else f"{args.duration:g} s or Ctrl-C"
        err.print(f"recording {args.link} through a tap on {tap.address} until {until}")
        with err.status("recording") as status:
            try:
                while args.duration is None or time.monotonic() - started < args.duration:
                    time.sleep(0.2)
                    status.update(f"recording {args.link}: {time.monotonic() - started:.0f} s")
            except KeyboardInterrupt:
                pass  # Ctrl-C is how a recording without a duration ends
    out.print(f"saved the flows of {args.link} to {args.out}")
    return EXIT_OK


def cmd_workload(args: argparse.Namespace) -> int:
    from harness.record import make_mix, write_mix

    name = args.name or args.out.stem
    mix = make_mix(args.recording, name, args.session_gap)
    write_mix(mix, args.out)
    shares = ", ".join(f"{e} {s:.0%}" for e, s in mix.endpoint_shares.items())
    out.print(
        f"{args.out}: mix {mix.name!r} from {mix.recorded.exchanges} requests of "
        f"{mix.recorded.client}, {len(mix.sessions)} sessions; {shares}"
    )
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.gate.run import GateOptions, run_gate

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
    from harness import validate

    out_dir = args.out or Path("results") / "validate"
    recover_left_runs(out_dir / "runs")
    path = validate.run(
        args.quick, out_dir, args.state_dir, out, err, args.signature, args.family or None
    )
    out.print(
        f"report: {path}  (open it in a browser; {path.with_suffix('.md')} is the same as Markdown)"
    )
    print(path)
    return EXIT_OK


def cmd_diagnose(args: argparse.Namespace) -> int:
    from harness.analysis.diagnose import diagnose

    result = diagnose(args.run_dir)
    if args.json:
        print(
            json.dumps(
                {
                    "segment": result.segment,
                    "onset_s": result.onset_s,
                    "confidence": round(result.confidence, 3),
                    "evidence": result.evidence,
                    "ranking": [
                        {"segment": f.segment, "score": round(f.score, 2), "onset_s": f.onset_s}
                        for f in result.ranking
                    ],
                },
                indent=2,
            )
        )
        return EXIT_OK
    out.print(result.text())
    for line in result.evidence:
        out.print(f"  - {line}")
    if len(result.ranking) > 1:
        out.print(
            "  other candidates: "
            + ", ".join(f"{f.segment} ({f.score:.1f})" for f in result.ranking[1:4])
        )
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from harness import bench  # the benchmark pulls in the load client only when asked

    return bench.run(_topology_from(args), args.state_dir, as_json=args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    from harness import demo

    return demo.run(_topology_from(args), args.state_dir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shieldlab", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=control.default_state_dir(),
        help="where a running topology's state lives (default: $SHIELDLAB_STATE_DIR or .shieldlab)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_topology(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", type=Path, help="topology YAML (see `shieldlab defaults`)")
        sub.add_argument("--edges", help="comma-separated POP names, e.g. iad,ams,sjc")

    up = commands.add_parser("up", help="start origin, shield, edges and links; Ctrl-C stops")
    with_topology(up)
    up.add_argument("--detach", action="store_true", help="return once healthy; stop with `down`")
    up.set_defaults(func=cmd_up)
    status = commands.add_parser("status", help="show the running topology")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    down = commands.add_parser("down", help="stop the running topology")
    down.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="where runs are kept (default results)",
    )
    down.set_defaults(func=cmd_down)
    commands.add_parser("defaults", help="print the topology defaults as YAML").set_defaults(
        func=cmd_defaults
    )
    commands.add_parser("list", help="the shipped scenarios and their hypotheses").set_defaults(
        func=cmd_list
    )
    schema = commands.add_parser("schema", help="print the scenario (or run files') JSON Schema")
    schema.add_argument(
        "--records", action="store_true", help="the schema of every file in a run directory"
    )
    schema.set_defaults(func=cmd_schema)
    run = commands.add_parser("run", help="run a scenario end to end and record it")
    run.add_argument("scenario", help="a shipped scenario's name, or a YAML file")
    run.add_argument("--duration", type=float, help="seconds; the timeline is scaled to fit")
    run.add_argument("--seed", type=int, help="the traffic's seed (default: the scenario's)")
    run.add_argument("--out", type=Path, default=Path("results"), help="results directory")
    run.set_defaults(func=cmd_run)
    record = commands.add_parser(
        "record", help="tap a link of the running topology and save its flows (mitmproxy format)"
    )
    record.add_argument("--link", required=True, help="e.g. client->edge-iad")
    record.add_argument("--out", type=Path, required=True, help="the flows file to write")
    record.add_argument("--duration", type=float, help="seconds; default: until Ctrl-C")
    record.add_argument("--port", type=int, default=0, help="the tap's port (default: any free)")
    record.set_defaults(func=cmd_record)
    workload = commands.add_parser(
        "workload", help="turn a recording into a traffic mix a scenario can replay"
    )
    workload.add_argument("recording", type=Path, help="a flows file from `shieldlab record`")
    workload.add_argument("--out", type=Path, required=True, help="the mix YAML to write")
    workload.add_argument("--name", help="the mix's traffic class name (default: --out's stem)")
    workload.add_argument(
        "--session-gap",
        type=float,
        default=5.0,
        help="seconds of quiet that end a client's session (default 5)",
    )
    workload.set_defaults(func=cmd_workload)
    gate = commands.add_parser(
        "gate", help="run a CI suite and judge its expectations (exit 0 pass, 1 fail, 3 void)"
    )
    gate.add_argument(
        "suite", nargs="?", default="ci", help="a suite name or YAML file (default ci)"
    )
    gate.add_argument("--junit", type=Path, help="write JUnit XML here")
    gate.add_argument(
        "--baseline",
        type=Path,
        default=DEFAULT_BASELINE_DIR,
        help="where baselines live (default scenarios/baselines in the project)",
    )
    gate.add_argument(
        "--update-baseline", action="store_true", help="store these runs as the new baseline"
    )
    gate.add_argument("--repeat", type=int, default=1, help="run N times, report the pass fraction")
    gate.add_argument("--out", type=Path, help="where runs and gate.md go (default results/gate)")
    gate.set_defaults(func=cmd_gate)
    check = commands.add_parser("check", help="judge expectations on runs already on disk")
    check.add_argument("run_dirs", type=Path, nargs="+", help="run directories")
    check.add_argument("--expect", type=Path, help="a YAML file with an `expect:` list")
    check.add_argument(
        "--baseline", type=Path, default=DEFAULT_BASELINE_DIR, help="for relative bounds"
    )
    check.set_defaults(func=cmd_check)
    report = commands.add_parser("report", help="report.md and report.html with plots for a run")
    report.add_argument("run_dir", type=Path, help="a directory `shieldlab run` printed")
    report.set_defaults(func=cmd_report)
    compare = commands.add_parser("compare", help="overlay runs and tabulate their differences")
    compare.add_argument(
        "run_dirs", type=Path, nargs="+", help="run directories; deltas vs the first"
    )
    compare.add_argument("--out", type=Path, help="where to write (default results/compare)")
    compare.set_defaults(func=cmd_compare)
    validate = commands.add_parser(
        "validate", help="sweep every hypothesis family and score it against the incident"
    )
    validate.add_argument(
        "--quick",
        action="store_true",
        help="staircases instead of a run per point, under 5 minutes here",
    )
    validate.add_argument("--out", type=Path, help="where to write (default results/validate)")
    validate.add_argument(
        "--signature",
        default="pypi-2014-07-20",
        help="the incident to score against: a shipped name or a YAML file (default pypi-2014-07-20)",
    )
    validate.add_argument(
        "--family",
        action="append",
        metavar="NAME_OR_FILE",
        help="a hypothesis family to sweep (repeatable; default: every file in scenarios/hypotheses)",
    )
    validate.set_defaults(func=cmd_validate)
    diagnose = commands.add_parser(
        "diagnose", help="name the likely faulty segment from a run's records"
    )
    diagnose.add_argument("run_dir", type=Path)
    diagnose.add_argument("--json", action="store_true")
    diagnose.set_defaults(func=cmd_diagnose)
    bench = commands.add_parser("bench", help="measure throughput, per-hop latency, startup")
    with_topology(bench)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)
    demo = commands.add_parser("demo", help="up, install a package with pip through an edge, down")
    with_topology(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def write_crash_log(state_dir: Path) -> Path:
    """The full traceback of an unexpected error, where the one-line message can point."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for directory in (state_dir / "logs", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"shieldlab-crash-{stamp}-{os.getpid()}.log"
            path.write_text(" ".join(sys.argv) + "\n\n" + traceback.format_exc())
            return path
        except OSError:
            continue
    return Path("(no writable place for the log)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C
    # A shell's `cmd &` starts with SIGINT ignored; `kill -INT` must still stop a recording.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args))
    except ShieldlabError as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - one line and a log, never a bare traceback
        log = write_crash_log(args.state_dir)
        if args.debug:
            traceback.print_exc()
        print(
            f"error: `shieldlab {args.command}` failed unexpectedly: {type(error).__name__}: "
            f"{str(error)[:200]}; full traceback in {log}",
            file=sys.stderr,
        )
        return EXIT_INFRASTRUCTURE


if __name__ == "__main__":
    sys.exit(main())
