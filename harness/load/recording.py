"""`shieldlab record` and `shieldlab workload`: real clients' traffic recorded through a tap on a
running topology's link, and a recording turned into a traffic mix.

A recording re-routes the link's Toxiproxy proxy through the tap and back when it ends. A marker
in the state directory names the recording's owner, so if the owner is killed (`kill -9`) the
topology's supervisor restores the link (`harness.topology.recordings`), and nothing is left
pointing at a dead tap.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness.errors import BadInput, InfrastructureError
from harness.load.workload import DEFAULT_SESSION_GAP_S, Exchange, build_mix
from harness.scenario.mix import Mix
from harness.scenario.traffic import TRAFFIC_NAME_PATTERN, TrafficClass
from harness.topology.launcher import default_cache_dir
from harness.topology.processes import pid_alive
from harness.topology.recordings import RecordingMarker, marker_path_for
from harness.topology.state import TopologyState
from harness.topology.taps import Tap, export_exchanges, start_taps, stop_taps
from harness.toxiproxy_api import ToxiproxyApi


def _check_link(state: TopologyState, link: str) -> None:
    if link not in state.links:
        known = list(state.links)
        close = difflib.get_close_matches(link, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInput(f"--link: unknown link; got {link!r}; allowed: {', '.join(known)}{hint}")
    if state.links[link].tap is not None:
        raise InfrastructureError(f"{link} already has a tap (the running topology's own)")


@contextlib.contextmanager
def recording(
    state: TopologyState, state_dir: Path, link: str, out: Path, port: int = 0
) -> Iterator[Tap]:
    """The link tapped, its flows saved to `out`, for the duration of the `with` block."""
    _check_link(state, link)
    marker_path = marker_path_for(state_dir, link)
    if marker_path.exists():
        marker = RecordingMarker.model_validate_json(marker_path.read_text())
        if pid_alive(marker.owner_pid):
            raise InfrastructureError(
                f"{link} is being recorded already (pid {marker.owner_pid}); stop that first"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    link_state = state.links[link]
    work_dir = Path(state.work_dir)
    try:
        taps = start_taps({link: link_state.upstream}, work_dir, default_cache_dir(), port, partial)
    except BaseException:
        partial.unlink(missing_ok=True)  # mitmdump may open it before it fails to listen
        raise
    tap = taps[link]
    api = ToxiproxyApi(state.toxiproxy.api)
    marker = RecordingMarker(
        owner_pid=os.getpid(),
        link=link,
        proxy=link_state.proxy,
        upstream=link_state.upstream,
        partial=str(partial),
    )
    marker_path.write_text(marker.model_dump_json())
    try:
        api.update_proxy(link_state.proxy, upstream=tap.address)
        yield tap
    finally:
        try:
            api.update_proxy(link_state.proxy, upstream=link_state.upstream)
        finally:
            api.close()
            stop_taps(taps)  # mitmdump closes the flows file on its way out
            marker_path.unlink(missing_ok=True)
            if partial.exists():
                partial.rename(out)


def read_exchanges(path: Path) -> list[Exchange]:
    return [Exchange.model_validate_json(line) for line in path.read_text().splitlines() if line]


def make_mix(recording_file: Path, name: str, session_gap_s: float = DEFAULT_SESSION_GAP_S) -> Mix:
    if not re.match(TRAFFIC_NAME_PATTERN, name) or name in {t.value for t in TrafficClass}:
        raise BadInput(
            f"--name: a mix's name is lowercase letters, digits and '-', and not one of the "
            f"hand-written classes ({', '.join(t.value for t in TrafficClass)}); got {name!r}"
        )
    if session_gap_s <= 0:
        raise BadInput(f"--session-gap: must be more than 0 seconds; got {session_gap_s:g}")
    with tempfile.TemporaryDirectory(prefix="shieldlab-workload-") as scratch:
        exported = Path(scratch) / "exchanges.jsonl"
        export_exchanges(recording_file, exported, default_cache_dir())
        exchanges = read_exchanges(exported)
    try:
        return build_mix(exchanges, name, recording_file, session_gap_s)
    except ValueError as error:
        raise BadInput(str(error)) from None


def write_mix(mix: Mix, out: Path) -> None:
    """Written whole or not at all."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    header = (
        f"# A traffic mix recorded from real clients ({mix.recorded.client}), made by\n"
        f"# `shieldlab workload {mix.recorded.file}`. A scenario replays it under `load.mixes`.\n"
    )
    body = yaml.safe_dump(mix.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    partial.write_text(header + body)
    partial.rename(out)
