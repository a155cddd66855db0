"""`make mixes`: record the two shipped mixes from real clients through an edge, and rebuild them.

- pip-install: five real `pip install` runs (one to three projects each) through POP iad;
- bandersnatch-sync: a real bandersnatch mirror of a few projects, filled once unrecorded, then
  four cron-style syncs recorded, each after new releases were published and purged from the CDN
  (so each sync asks `changelog_since_serial` and fetches what changed).

Runs take place on a topology of their own; the recordings are kept under results/mixes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

from harness.errors import InfrastructureError
from harness.faults.backend import OriginAdmin
from harness.load.bandersnatch_client import bandersnatch_mirror
from harness.load.pip_client import pip_install
from harness.load.recording import make_mix, recording, write_mix
from harness.scenario import topology_plan as plan
from harness.scenario.mix import MIX_DIR
from harness.scenario.model import PROJECT_ROOT
from harness.scenario.topology import load_topology
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up
from proxies import contract

RECORDINGS = PROJECT_ROOT / "results" / "mixes"
POP = "iad"
SESSION_GAP_S = 5.0
PAUSE_S = SESSION_GAP_S + 1.5  # between client runs, so each is a session of its own
PIP_RUNS = [[0], [1, 2], [3], [4, 5, 6], [7]]  # project indexes per `pip install`
MIRRORED = [8, 9, 10]
SYNCS = 4


def _projects(state: TopologyState) -> list[str]:
    with httpx.Client(timeout=30, trust_env=False) as client:
        page = client.get(
            state.client_url(POP) + "/simple/", headers={"Accept": contract.PEP691_JSON}
        )
        return [p["name"] for p in page.json()["projects"]]


def record_pip(state: TopologyState, state_dir: Path, out: Path) -> None:
    projects = _projects(state)
    index_url = state.client_url(POP) + "/simple/"
    with recording(state, state_dir, plan.client_link(POP), out):
        for run in PIP_RUNS:
            with tempfile.TemporaryDirectory(prefix="shieldlab-mix-") as target:
                names = [projects[i] for i in run]
                done = pip_install(index_url, names[0], Path(target), *names[1:])
                if done.returncode != 0:
                    raise InfrastructureError(f"pip install failed: {done.stderr[-500:]}")
                print(f"pip install {' '.join(names)}: ok", flush=True)
            time.sleep(PAUSE_S)


def _publish_and_purge(state: TopologyState) -> str:
    origin = OriginAdmin(str(state.nodes[contract.ORIGIN_NODE].admin_url))
    release = origin.publish()
    origin.close()
    with httpx.Client(timeout=30, trust_env=False) as client:
        for name, node in state.nodes.items():
            if name != contract.ORIGIN_NODE:
                client.post(f"{node.admin_url}/_admin/purge/{release['surrogate_key']}")
    return str(release["name"])


def record_bandersnatch(state: TopologyState, state_dir: Path, out: Path, work: Path) -> None:
    projects = _projects(state)
    mirrored = [projects[i] for i in MIRRORED]
    edge = state.client_url(POP)
    first = bandersnatch_mirror(edge, work / "mirror", mirrored)  # the mirror's first fill
    if first.returncode != 0:
        raise InfrastructureError(f"bandersnatch failed: {first.stderr[-500:]}")
    with recording(state, state_dir, plan.client_link(POP), out):
        for sync in range(SYNCS):
            time.sleep(PAUSE_S)
            mirrored.append(_publish_and_purge(state))  # a new release, allowed in the mirror
            if sync % 2:
                mirrored.append(_publish_and_purge(state))
            done = bandersnatch_mirror(edge, work / "mirror", mirrored)
            if done.returncode != 0:
                raise InfrastructureError(f"bandersnatch failed: {done.stderr[-500:]}")
            print(f"bandersnatch sync {sync + 1}/{SYNCS}: ok", flush=True)


def main() -> int:
    """`--rebuild`: only turn the kept recordings into mixes again (after a workload change)."""
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    if "--rebuild" not in sys.argv[1:]:
        record_all()
    for name in ("pip-install", "bandersnatch-sync"):
        mix = make_mix(RECORDINGS / f"{name}.mitm", name, SESSION_GAP_S)
        write_mix(mix, MIX_DIR / f"{name}.yaml")
        print(f"{MIX_DIR / name}.yaml: {len(mix.sessions)} sessions", flush=True)
    return 0


def record_all() -> None:
    config = load_topology(None, {"origin": {"projects": 60, "journal_rows": 100_000}})
    with tempfile.TemporaryDirectory(prefix="shieldlab-mixes-") as scratch:
        state_dir = Path(scratch) / "state"
        with topology_up(config, state_dir, lambda m: print(m, flush=True)) as state:
            record_pip(state, state_dir, RECORDINGS / "pip-install.mitm")
            record_bandersnatch(
                state, state_dir, RECORDINGS / "bandersnatch-sync.mitm", Path(scratch)
            )


if __name__ == "__main__":
    sys.exit(main())
