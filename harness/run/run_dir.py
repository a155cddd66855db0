"""A run's directory: written under a temporary name, renamed when the run ends.

results/.<run-id>.partial/      while running
results/<run-id>/               complete
results/<run-id>.interrupted/   stopped by Ctrl-C or SIGTERM (its faults were still removed),
                                or left behind by a killed harness and found by the next run
results/<run-id>.failed/        the lab broke; run.json says which process and when
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.records.base import write_json_model
from harness.records.events import EVENT_ADAPTER, Event
from harness.records.files import EVENTS_FILE, RUN_FILE
from harness.records.run_info import RunInfo, RunStatus
from harness.topology.processes import pid_alive

PARTIAL_SUFFIX = ".partial"
HARNESS_PID_FILE = "harness.pid"  # whose run this is, so a later command knows it was killed


class RunDir:
    def __init__(self, results: Path, run_id: str) -> None:
        self.run_id = run_id
        self.final = results / run_id
        self.path = results / f".{run_id}{PARTIAL_SUFFIX}"
        self.path.mkdir(parents=True)
        self._events_lock = threading.Lock()
        self.info = RunInfo(run_id=run_id)
        self.update_info()
        self.file(HARNESS_PID_FILE).write_text(str(os.getpid()))

    @classmethod
    def create(cls, results: Path, scenario_name: str) -> RunDir:
        results.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_id = f"{stamp}-{scenario_name}"
        suffix = 1
        while any(results.glob(f"{run_id}*")) or any(results.glob(f".{run_id}*")):
            suffix += 1
            run_id = f"{stamp}-{scenario_name}-{suffix}"
        return cls(results, run_id)

    def file(self, name: str) -> Path:
        return self.path / name

    def record_event(self, event: Event) -> None:
        """Append one line to events.jsonl; safe from the timeline and publisher threads."""
        stamped = event.model_copy(update={"wall_time": round(time.time(), 3)})
        line = EVENT_ADAPTER.dump_json(stamped).decode()
        with self._events_lock, open(self.file(EVENTS_FILE), "a") as handle:
            handle.write(line + "\n")

    def update_info(self, **fields: Any) -> None:
        self.info = RunInfo.model_validate({**self.info.model_dump(), **fields})
        write_json_model(self.file(RUN_FILE), self.info)

    def finish(self, status: RunStatus, error: str | None = None) -> Path:
        """Mark how the run ended and move it to its final name."""
        self.update_info(status=status, ended_at=datetime.now(UTC).isoformat(), error=error)
        target = final_path(self.final, status)
        if target.exists():
            shutil.rmtree(target)
        self.path.rename(target)
        return target


def final_path(final: Path, status: RunStatus) -> Path:
    if status == RunStatus.COMPLETE:
        return final
    return final.with_name(f"{final.name}.{status.value}")


def recover_partials(results: Path) -> list[Path]:
    """Runs a killed harness left as `.partial`: renamed `.interrupted` and returned.

    A partial run whose harness process still lives is another run in progress: left alone.
    """
    recovered: list[Path] = []
    if not results.is_dir():
        return recovered
    for partial in sorted(results.glob(f".*{PARTIAL_SUFFIX}")):
        try:
            pid = int((partial / HARNESS_PID_FILE).read_text())
        except (OSError, ValueError):
            pid = None
        if pid is not None and pid_alive(pid):
            continue
        target = final_path(results / partial.name[1 : -len(PARTIAL_SUFFIX)], RunStatus.INTERRUPTED)
        if target.exists():
            continue
        run_file = partial / RUN_FILE
        try:
            info = RunInfo.model_validate_json(run_file.read_text())
            info = info.model_copy(
                update={
                    "status": RunStatus.INTERRUPTED,
                    "error": "the harness was killed; found and renamed by a later command",
                }
            )
            write_json_model(run_file, info)
        except (OSError, ValueError):
            pass  # the records are still worth keeping without a readable run.json
        partial.rename(target)
        recovered.append(target)
    return recovered
