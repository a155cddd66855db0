"""The run-file models: schemas, the event union, and runs a killed harness left behind."""

import os
from pathlib import Path

from harness.records import files
from harness.records.base import write_json_model
from harness.records.events import EVENT_ADAPTER, FaultApplied, ProcessFailed, read_events
from harness.records.run_info import RunInfo, RunStatus, read_run_info
from harness.records.schema import run_file_schemas
from harness.run.run_dir import HARNESS_PID_FILE, RunDir, recover_partials
from harness.scenario.steps import LatencyFault
from harness.scenario.traffic import TRAFFIC_NAME_PATTERN


def test_every_run_file_has_a_schema_with_its_enums():
    schemas = run_file_schemas()
    assert schemas["schema_version"] == 2
    assert set(schemas["files"]) == {
        files.RUN_FILE,
        files.REQUESTS_FILE,
        files.EVENTS_FILE,
        files.SAMPLES_FILE,
        files.SUMMARY_FILE,
    }
    row = schemas["files"][files.REQUESTS_FILE]["row"]
    assert row["properties"]["traffic"]["pattern"] == TRAFFIC_NAME_PATTERN  # or a mix's name
    assert "HIT-STALE" in row["$defs"]["CacheState"]["enum"]
    line = schemas["files"][files.EVENTS_FILE]["line"]
    assert line["discriminator"]["propertyName"] == "event"
    diagnosis = schemas["diagnose"]["stdout"]
    assert "slow share" in diagnosis["$defs"]["ChangeTest"]["enum"]


def test_events_round_trip_as_a_tagged_union(tmp_path):
    run = RunDir(tmp_path, "r1")
    step = LatencyFault(kind="latency", at=1, until=2, link="shield->origin", latency_ms=5)
    run.record_event(FaultApplied(t_s=1.0, index=0, step=step, links=["shield->origin"]))
    run.record_event(ProcessFailed(t_s=1.5, process="shield (pid 7)", detail="exited"))
    first, second = read_events(run.file(files.EVENTS_FILE))
    assert isinstance(first, FaultApplied) and first.step == step and first.wall_time
    assert isinstance(second, ProcessFailed) and second.process == "shield (pid 7)"
    assert EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(first)) == first


def test_a_run_dir_finishes_under_the_name_of_its_status(tmp_path):
    run = RunDir(tmp_path, "r2")
    kept = run.finish(RunStatus.FAILED, "shield (pid 7) died at 12 s")
    assert kept == tmp_path / "r2.failed"
    info = read_run_info(kept / files.RUN_FILE)
    assert info.status == RunStatus.FAILED and "died" in (info.error or "")


def test_a_partial_run_of_a_killed_harness_is_renamed_interrupted(tmp_path):
    never_a_pid = Path("/proc/sys/kernel/pid_max").read_text().strip()  # pids stay below it
    orphan = tmp_path / ".r3.partial"
    orphan.mkdir()
    (orphan / HARNESS_PID_FILE).write_text(never_a_pid)
    write_json_model(orphan / files.RUN_FILE, RunInfo(run_id="r3"))
    mine = tmp_path / ".r4.partial"
    mine.mkdir()
    (mine / HARNESS_PID_FILE).write_text(str(os.getpid()))  # a live harness: left alone

    assert recover_partials(tmp_path) == [tmp_path / "r3.interrupted"]
    info = read_run_info(tmp_path / "r3.interrupted" / files.RUN_FILE)
    assert info.status == RunStatus.INTERRUPTED and "killed" in (info.error or "")
    assert mine.is_dir()
    assert recover_partials(tmp_path) == []
