"""Recordings in progress on a running topology's links, and their clean-up.

`shieldlab record` re-routes a link through its own tap and writes a marker first; if its owner
dies without restoring the link (`kill -9`), the supervisor's watch finds the marker and
restores it, and a topology's teardown removes any marker left.
"""

from __future__ import annotations

from pathlib import Path

from harness.scenario.reader import Frozen
from harness.topology.processes import pid_alive
from harness.toxiproxy_api import ToxiproxyApi

MARKER_GLOB = "recording-*.json"


class RecordingMarker(Frozen):
    owner_pid: int
    link: str
    proxy: str
    upstream: str  # what the link leads to when no recording runs
    partial: str  # the flows file being written


def marker_path_for(state_dir: Path, link: str) -> Path:
    return state_dir / f"recording-{link.replace('->', '_to_')}.json"


def sweep_recordings(toxiproxy_api: str, state_dir: Path) -> list[str]:
    """Restore every link whose recording's owner died; the links restored."""
    restored = []
    for marker_path in sorted(state_dir.glob(MARKER_GLOB)):
        try:
            marker = RecordingMarker.model_validate_json(marker_path.read_text())
        except (OSError, ValueError):
            continue  # being written right now
        if pid_alive(marker.owner_pid):
            continue
        api = ToxiproxyApi(toxiproxy_api)
        try:
            api.update_proxy(marker.proxy, upstream=marker.upstream)
        finally:
            api.close()
        Path(marker.partial).unlink(missing_ok=True)
        marker_path.unlink(missing_ok=True)
        restored.append(marker.link)
    return restored


def clear_recordings(state_dir: Path) -> None:
    """At teardown: the links go with the topology, so do their markers."""
    for marker_path in state_dir.glob(MARKER_GLOB):
        marker_path.unlink(missing_ok=True)
