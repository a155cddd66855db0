"""Integration tests: real node processes, the real Toxiproxy server, real sockets."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.records import files
from harness.records.summary import WindowPhase, WindowSummary, read_summary
from harness.scenario.topology import CdnKind, load_topology
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up

pytestmark = pytest.mark.integration

# Smaller than the defaults so a fresh machine generates the data set in a second or two.
FAST_ORIGIN = {"projects": 40, "journal_rows": 100_000}

Up = Callable[..., contextlib.AbstractContextManager[TopologyState]]


# Tests that hold both CDN kinds to one behaviour take `@both_cdns`; the rest run the model.
CDN_KINDS = [kind.value for kind in CdnKind]
both_cdns = pytest.mark.parametrize("cdn", CDN_KINDS)


@pytest.fixture
def cdn() -> str:
    """What runs the shield and edges in `up`: the model unless a test parametrizes it."""
    return CdnKind.MODEL.value


@pytest.fixture
def up(tmp_path: Path, cdn: str) -> Up:
    """`with up(overrides, taps) as state:` a topology that is torn down after the block."""

    @contextlib.contextmanager
    def start(
        overrides: dict[str, Any] | None = None, taps: list[str] | None = None
    ) -> Iterator[TopologyState]:
        merged = {"origin": FAST_ORIGIN, "cdn": cdn, **(overrides or {})}
        if "origin" in (overrides or {}):
            merged["origin"] = {**FAST_ORIGIN, **overrides["origin"]}  # type: ignore[index]
        config = load_topology(None, merged)
        with topology_up(config, tmp_path / "state", lambda _m: None, taps) as state:
            yield state

    return start


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as c:
        yield c


def metric(client: httpx.Client, url: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus sample on a node's /metrics, filtered by labels."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(client.get(url + "/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


RUN_S = 30  # seconds of traffic in a test's `shieldlab run`: every shipped timeline squeezed in


def shieldlab_run(tmp: Path, scenario: str, *extra: str) -> Path:
    """A real `shieldlab run` of `scenario` (RUN_S long); the run directory it printed."""
    argv = [
        sys.executable, "-m", "harness.cli", "--state-dir", str(tmp / "state"),
        "run", scenario, "--duration", str(RUN_S), "--out", str(tmp / "results"), *extra,
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1])  # the run directory is the last line
    assert run_dir.is_dir() and run_dir.parent == tmp / "results"
    return run_dir


def window(run_dir: Path, phase: WindowPhase, step: str | None = None) -> WindowSummary:
    """The run's first window in `phase`; with `step` (a step's label), the first in which
    that step is on. Chosen by the summary's fields, never by parsing a window's label."""
    summary = read_summary(run_dir / files.SUMMARY_FILE)
    found = [w for w in summary.windows if w.phase is phase and (step is None or step in w.active)]
    assert found, f"no window {phase.value} {step or ''} in {[w.label for w in summary.windows]}"
    return found[0]
