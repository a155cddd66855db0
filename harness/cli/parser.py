"""The command line's grammar: every subcommand, its options and the function that runs it."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli import run_commands as runs
from harness.cli import topology_commands as lab
from harness.gate.baseline import DEFAULT_BASELINE_DIR
from harness.records.run_info import Mode
from harness.scenario.topology import CdnKind
from harness.topology import control
from harness.validate.plan import DEFAULT_MAX_RUNS

DESCRIPTION = (
    "shieldlab: a chaos testbed that rebuilds a CDN-fronted package index and breaks its links"
)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shieldlab", description=DESCRIPTION)
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
        with_cdn(sub)

    def with_cdn(sub: argparse.ArgumentParser) -> None:
        kinds = [k.value for k in CdnKind]
        sub.add_argument(
            "--cdn",
            choices=kinds,
            help="the shield and edges: the Python model, or real Varnish (default: the "
            "topology's, model)",
        )

    def with_mode(sub: argparse.ArgumentParser, help_text: str) -> None:
        modes = [m.value for m in Mode]
        sub.add_argument("--mode", choices=modes, default=Mode.LOCAL.value, help=help_text)

    up = commands.add_parser("up", help="start origin, shield, edges and links; Ctrl-C stops")
    with_topology(up)
    up.add_argument("--detach", action="store_true", help="return once healthy; stop with `down`")
    up.set_defaults(func=lab.cmd_up)
    status = commands.add_parser("status", help="show the running topology")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=lab.cmd_status)
    down = commands.add_parser("down", help="stop the running topology")
    down.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="where runs are kept (default results)",
    )
    with_mode(down, "compose: remove every container, network and volume with the project's label")
    down.set_defaults(func=lab.cmd_down)
    commands.add_parser("defaults", help="print the topology defaults as YAML").set_defaults(
        func=lab.cmd_defaults
    )
    commands.add_parser("list", help="the shipped scenarios and their hypotheses").set_defaults(
        func=runs.cmd_list
    )
    schema = commands.add_parser("schema", help="print the scenario (or run files') JSON Schema")
    schema.add_argument(
        "--records", action="store_true", help="the schema of every file in a run directory"
    )
    schema.set_defaults(func=runs.cmd_schema)
    run = commands.add_parser("run", help="run a scenario end to end and record it")
    run.add_argument("scenario", help="a shipped scenario's name, or a YAML file")
    run.add_argument("--duration", type=float, help="seconds; the timeline is scaled to fit")
    run.add_argument("--seed", type=int, help="the traffic's seed (default: the scenario's)")
    run.add_argument("--out", type=Path, default=Path("results"), help="results directory")
    with_mode(run, "local: processes on 127.0.0.1; compose: containers on a Docker engine")
    with_cdn(run)
    run.add_argument(
        "--workers",
        type=int,
        help="compose mode: Locust worker containers (default: as many as the rate needs)",
    )
    run.set_defaults(func=runs.cmd_run)
    compose_file = commands.add_parser(
        "compose-file", help="compose.yaml for a topology (the committed one: the defaults)"
    )
    with_topology(compose_file)
    compose_file.add_argument("--out", type=Path, help="write it here (default: stdout)")
    compose_file.set_defaults(func=lab.cmd_compose_file)
    record = commands.add_parser(
        "record", help="tap a link of the running topology and save its flows (mitmproxy format)"
    )
    record.add_argument("--link", required=True, help="e.g. client->edge-iad")
    record.add_argument("--out", type=Path, required=True, help="the flows file to write")
    record.add_argument("--duration", type=float, help="seconds; default: until Ctrl-C")
    record.add_argument("--port", type=int, default=0, help="the tap's port (default: any free)")
    record.set_defaults(func=lab.cmd_record)
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
    workload.set_defaults(func=runs.cmd_workload)
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
    with_cdn(gate)
    gate.set_defaults(func=runs.cmd_gate)
    check = commands.add_parser("check", help="judge expectations on runs already on disk")
    check.add_argument("run_dirs", type=Path, nargs="+", help="run directories")
    check.add_argument("--expect", type=Path, help="a YAML file with an `expect:` list")
    check.add_argument(
        "--baseline", type=Path, default=DEFAULT_BASELINE_DIR, help="for relative bounds"
    )
    check.set_defaults(func=runs.cmd_check)
    report = commands.add_parser("report", help="report.md and report.html with plots for a run")
    report.add_argument("run_dir", type=Path, help="a directory `shieldlab run` printed")
    report.set_defaults(func=runs.cmd_report)
    compare = commands.add_parser("compare", help="overlay runs and tabulate their differences")
    compare.add_argument(
        "run_dirs", type=Path, nargs="+", help="run directories; deltas vs the first"
    )
    compare.add_argument("--out", type=Path, help="where to write (default results/compare)")
    compare.set_defaults(func=runs.cmd_compare)
    validate = commands.add_parser(
        "validate", help="sweep every hypothesis family and score it against the incident"
    )
    validate.add_argument(
        "--quick",
        action="store_true",
        help="staircases instead of a run per point, under 5 minutes here",
    )
    validate.add_argument("--out", type=Path, help="where to write (default results/validate)")
    with_cdn(validate)
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
    validate.add_argument(
        "--max-runs",
        type=positive_int,
        default=DEFAULT_MAX_RUNS,
        metavar="N",
        help="full mode: run an undecided point again with a new seed, up to N runs "
        "(default %(default)s)",
    )
    validate.set_defaults(func=runs.cmd_validate)
    diagnose = commands.add_parser(
        "diagnose", help="name the likely faulty segment from a run's records"
    )
    diagnose.add_argument("run_dir", type=Path)
    diagnose.add_argument("--json", action="store_true")
    diagnose.set_defaults(func=runs.cmd_diagnose)
    bench = commands.add_parser("bench", help="measure throughput, per-hop latency, startup")
    with_topology(bench)
    bench.add_argument("--json", action="store_true")
    bench.add_argument(
        "--detection",
        action="store_true",
        help="instead: the smallest fault diagnose finds in every run, and its false alarms "
        "on clean runs (about 70 s a run; resumes from the runs under --out)",
    )
    bench.add_argument(
        "--cdn-kinds",
        action="store_true",
        help="instead: only the CDN kinds' section (hits through one edge and added p50 per "
        "hop, model and Varnish, beside a bare Varnish; about 2 minutes)",
    )
    bench.add_argument("--runs", type=int, default=5, help="--detection: runs per intensity")
    bench.add_argument(
        "--kept-only",
        action="store_true",
        help="--detection: judge the runs kept under --out again, run none",
    )
    bench.add_argument(
        "--parity",
        action="store_true",
        help="instead: every shipped scenario and `validate --quick` on the model and on "
        "Varnish, same seeds, side by side (resumes from the runs under --out)",
    )
    bench.add_argument(
        "--duration",
        type=float,
        help="--parity: squeeze every scenario into this many seconds (default: its own)",
    )
    bench.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="--parity: only this shipped scenario (repeatable; default: all)",
    )
    bench.add_argument(
        "--no-validate", action="store_true", help="--parity: leave `validate --quick` out"
    )
    bench.add_argument(
        "--out",
        type=Path,
        help="--detection, --parity: where their runs are kept (default results/detection, "
        "results/parity)",
    )
    with_mode(bench, "compose: compose mode's startup, throughput and latency beside local mode's")
    bench.set_defaults(func=lab.cmd_bench)
    demo = commands.add_parser("demo", help="up, install a package with pip through an edge, down")
    with_topology(demo)
    demo.set_defaults(func=lab.cmd_demo)
    return parser
