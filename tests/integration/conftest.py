"""Integration tests: real node processes, the real Toxiproxy server, real sockets."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.scenario.topology import load_topology
from harness.topology.state import TopologyState
from harness.topology.supervisor import topology_up

pytestmark = pytest.mark.integration

# Smaller than the defaults so a fresh machine generates the data set in a second or two.
FAST_ORIGIN = {"projects": 40, "journal_rows": 100_000}

Up = Callable[..., contextlib.AbstractContextManager[TopologyState]]


@pytest.fixture
def up(tmp_path: Path) -> Up:
    """`with up(overrides, taps) as state:` a topology that is torn down after the block."""

    @contextlib.contextmanager
    def start(
        overrides: dict[str, Any] | None = None, taps: list[str] | None = None
    ) -> Iterator[TopologyState]:
        merged = {"origin": FAST_ORIGIN, **(overrides or {})}
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
