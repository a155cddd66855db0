"""The process shell shared by every node: read the launch file, serve, report ready, stop.

A node binds its ports itself (port 0, so two topologies never collide), then writes a ready
file the harness waits for. SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import prometheus_client
import uvloop
from aiohttp import web

from proxies.contract import NodeLaunch

# Each entry names a port in the ready file ("port", "admin_port") and the app served on it.
Sites = dict[str, web.Application]
Ports = dict[str, int]


@dataclass
class Served:
    sites: Sites
    # Called once every site listens, with their ports; returns the ports the ready file
    # reports (a Varnish node starts varnishd here and reports its ports).
    after_bind: Callable[[Ports], Awaitable[Ports]] | None = None


SiteFactory = Callable[[NodeLaunch], Awaitable[Served]]


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _write_ready(path: Path, ports: Ports) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"pid": os.getpid(), **ports}))
    partial.rename(path)  # atomic: the harness never reads half a file


async def _serve(launch: NodeLaunch, factory: SiteFactory) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    served = await factory(launch)
    runners = []
    ports: Ports = {}
    for port_name, app in served.sites.items():
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        sock = _listening_socket(launch.host, launch.ports.get(port_name, 0))
        await web.SockSite(runner, sock, shutdown_timeout=1.0).start()
        ports[port_name] = sock.getsockname()[1]
        runners.append(runner)
    # Start-up objects never die: keep them out of every collection, and collect young objects
    # less often, so a full collection walking the cache does not stall requests for 50 ms.
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    if served.after_bind is not None:
        ports = await served.after_bind(ports)
    _write_ready(Path(launch.ready_file), ports)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


def main(factory: SiteFactory, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="run one shieldlab node")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--launch", type=Path, help="the node's launch JSON file")
    source.add_argument("--launch-env", help="an environment variable holding it (containers)")
    args = parser.parse_args(argv)
    where = args.launch or f"${args.launch_env}"
    try:
        text = args.launch.read_text() if args.launch else os.environ[args.launch_env]
        launch = NodeLaunch.model_validate_json(text)
    except (OSError, KeyError, ValueError) as error:
        print(f"{where}: cannot read the launch settings: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s {launch.name} %(levelname)s %(message)s"
    )
    prometheus_client.disable_created_metrics()  # *_created series only add noise to samples
    uvloop.run(_serve(launch, factory))
