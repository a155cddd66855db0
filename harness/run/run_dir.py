"""A run's directory: written under a temporary name, renamed when the run completes.

results/.<run-id>.partial/  while running
results/<run-id>/           complete
results/<run-id>.interrupted/  stopped by Ctrl-C or SIGTERM; its faults were still removed
results/<run-id>.failed/  the infrastructure failed; run.json says why
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.run_files import EVENTS_FILE, RUN_FILE


class RunDir:
    def __init__(self, results: Path, run_id: str) -> None:
        self.run_id = run_id
        self.final = results / run_id
        self.path = results / f".{run_id}.partial"
        self.path.mkdir(parents=True)
        self._events_lock = threading.Lock()
        self.info: dict[str, Any] = {"run_id": run_id, "status": "running"}

    @classmethod
    def create(cls, results: Path, scenario_name: str) -> RunDir:
        results.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_id = f"{stamp}-{scenario_name}"
        suffix = 1
        while (results / run_id).exists() or (results / f".{run_id}.partial").exists():
            suffix += 1
            run_id = f"{stamp}-{scenario_name}-{suffix}"
        return cls(results, run_id)

    def file(self, name: str) -> Path:
        return self.path / name

    def record_event(self, event: dict[str, Any]) -> None:
        """Append one line to events.jsonl; safe from the timeline and publisher threads."""
        line = json.dumps({"wall_time": round(time.time(), 3), **event}, sort_keys=True)
        with self._events_lock, open(self.file(EVENTS_FILE), "a") as handle:
            handle.write(line + "\n")

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        partial = self.file(name + ".partial")
        partial.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
        partial.rename(self.file(name))

    def update_info(self, **fields: Any) -> None:
        self.info.update(fields)
        self.write_json(RUN_FILE, self.info)

    def finish(self, status: str) -> Path:
        """Mark the run `complete` or `interrupted` and move it to its final name."""
        self.update_info(status=status, ended_at=datetime.now(UTC).isoformat())
        target = (
            self.final
            if status == "complete"
            else self.final.with_name(self.final.name + ".interrupted")
        )
        if target.exists():
            shutil.rmtree(target)
        self.path.rename(target)
        return target
