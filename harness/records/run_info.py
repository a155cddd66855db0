"""run.json: which scenario ran, when, on what, and how the run ended."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from harness.records.base import SCHEMA_VERSION, Record, read_json_model


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"  # every phase ran and the lab stayed healthy: a result
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM, or found left over after a kill -9
    FAILED = "failed"  # the lab broke (a process died, an API failed): void, not a result


class Mode(StrEnum):
    """Where a run's topology ran: processes on the host, or containers under Compose."""

    LOCAL = "local"
    COMPOSE = "compose"


class RunTopology(Record):
    mode: Mode = Mode.LOCAL
    nodes: dict[str, str] = Field(description="node -> URL")
    links: dict[str, str] = Field(description="link -> listen address")
    toxiproxy_api: str
    cdn: str = Field(default="model", description="what ran the shield and edges: model | varnish")


class RunInfo(Record):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    scenario: str | None = None
    seed: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    started_at: float | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    t0_epoch: float | None = None
    topology: RunTopology | None = None
    load_parts: dict[str, int] = Field(
        default_factory=dict, description="request records per Locust process (host-pid)"
    )
    steady_state_before: dict[str, int] = Field(default_factory=dict)
    steady_state_after: dict[str, int] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="why the run failed or stopped")


def read_run_info(path: Path) -> RunInfo:
    return read_json_model(path, RunInfo)
