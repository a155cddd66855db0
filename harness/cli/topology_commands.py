"""Commands on the lab itself: bring it up and down, show it, record a link, bench, demo."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from harness.cli.console import err, out
from harness.errors import EXIT_INFRASTRUCTURE, EXIT_OK, BadInput, InfrastructureError
from harness.records.run_info import Mode
from harness.scenario.topology import TopologyConfig, defaults_yaml, load_topology
from harness.topology import control
from harness.topology.state import TopologyState
from harness.topology.supervisor import supervise


def _topology_from(args: argparse.Namespace) -> TopologyConfig:
    overrides: dict[str, Any] = {}
    if getattr(args, "edges", None):
        overrides["edges"] = [pop.strip() for pop in args.edges.split(",") if pop.strip()]
    if getattr(args, "cdn", None):
        overrides["cdn"] = args.cdn
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
    if args.mode == Mode.COMPOSE:
        from harness.compose.project import ComposeProject
        from harness.compose.spec import LABEL

        project = ComposeProject(args.state_dir)
        try:
            removed = project.sweep(everything=True)
        finally:
            project.close()
        for item in removed:
            out.print(f"removed {item.kind} {item.name}")
        if not removed:
            err.print(f"nothing with the label {LABEL} on {project.host}; nothing to remove")
        return EXIT_OK
    state = control.stop(args.state_dir)
    if state is None:
        err.print(f"no topology is running (state dir {args.state_dir}); nothing to stop")
    else:
        out.print(f"stopped {len(state.nodes)} nodes and toxiproxy-server")
    return EXIT_OK


def cmd_defaults(_: argparse.Namespace) -> int:
    print(defaults_yaml(), end="")
    return EXIT_OK


def cmd_compose_file(args: argparse.Namespace) -> int:
    from harness.compose.spec import compose_yaml

    text = compose_yaml(_topology_from(args))
    if args.out is None:
        print(text, end="")
        return EXIT_OK
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(text)
    partial.rename(args.out)
    err.print(f"wrote {args.out}")
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    from harness.load.recording import recording

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


def cmd_bench(args: argparse.Namespace) -> int:
    # Each benchmark pulls in the load client only when asked.
    if args.detection:
        from harness.bench import detection

        out_dir = args.out or Path("results/detection")
        return detection.run(out_dir, args.state_dir, args.runs, args.json, err, args.kept_only)
    if args.parity:
        return _bench_parity(args)
    if args.mode == Mode.COMPOSE:
        from harness.bench import compose

        return compose.run(_topology_from(args), args.state_dir, as_json=args.json)
    from harness.bench import speed

    if args.cdn_kinds:
        return speed.run_cdn_kinds(_topology_from(args), args.state_dir, as_json=args.json)
    return speed.run(_topology_from(args), args.state_dir, as_json=args.json)


def _bench_parity(args: argparse.Namespace) -> int:
    from harness.bench import parity

    out_dir = args.out or Path("results/parity")
    if args.duration is not None and args.duration <= 0:
        raise BadInput(f"--duration: must be more than 0 seconds; got {args.duration:g}")
    for runs in [out_dir / "runs" / "model", out_dir / "runs" / "varnish"]:
        recover_left_runs(runs)
    for validate_dir in sorted(out_dir.glob("validate-*")):
        recover_left_runs(validate_dir / "runs")
    manifest = parity.run(
        out_dir, args.state_dir, args.duration, args.scenario, not args.no_validate, err
    )
    report = parity.write_report(manifest, out_dir)
    if args.json:
        print(json.dumps(parity.as_json(manifest), indent=2))
    else:
        parity.print_summary(manifest, out)
        out.print(f"every row: {report}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from harness.cli import demo

    return demo.run(_topology_from(args), args.state_dir)
