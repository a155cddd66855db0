"""A finished run read back whole, every file through its own model: what report, check,
gate and validate read a run with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import BadInput
from harness.records import files
from harness.records.events import Event, read_events
from harness.records.request import RequestRecord, read_requests
from harness.records.run_info import RunInfo, RunStatus, read_run_info
from harness.records.samples import Sample, read_samples
from harness.records.spans import Span, spans_from_events
from harness.records.summary import Summary, read_summary
from harness.scenario.model import Scenario
from harness.scenario.reader import read_yaml_mapping, validate


@dataclass(frozen=True)
class RunData:
    path: Path
    info: RunInfo
    scenario: Scenario
    records: list[RequestRecord]
    samples: list[Sample]
    events: list[Event]
    spans: list[Span]
    summary: Summary

    @property
    def duration_s(self) -> float:
        return self.scenario.load.duration_s

    @property
    def label(self) -> str:
        return self.scenario.name

    @property
    def void(self) -> str | None:
        """Why the run's measurements do not count (the gate's rule); None when they do."""
        if self.info.status != RunStatus.COMPLETE:
            return f"the run is {self.info.status}"
        return self.summary.load_generator.shortfall()


def load_run(path: Path) -> RunData:
    """Every file of a finished run, through its model; a half-written run is refused."""
    if not (path / files.SUMMARY_FILE).is_file():
        raise BadInput(
            f"{path}: not a finished run directory (no {files.SUMMARY_FILE}); give a directory that `shieldlab run` printed"
        )
    scenario_path = path / files.SCENARIO_FILE
    scenario = validate(str(scenario_path), Scenario, read_yaml_mapping(scenario_path))
    events = read_events(path / files.EVENTS_FILE)
    return RunData(
        path=path,
        info=read_run_info(path / files.RUN_FILE),
        scenario=scenario,
        records=read_requests(path / files.REQUESTS_FILE),
        samples=read_samples(path / files.SAMPLES_FILE),
        events=events,
        spans=spans_from_events(events, scenario.load.duration_s),
        summary=read_summary(path / files.SUMMARY_FILE),
    )
