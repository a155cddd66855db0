"""The JSON Schema of every run file, for `shieldlab schema --records` and for other tools.

CSV files are described row by row (one object per row, columns in field order); JSONL files
line by line.
"""

from __future__ import annotations

from typing import Any

from harness.records import files
from harness.records.base import SCHEMA_VERSION
from harness.records.diagnosis import Diagnosis
from harness.records.events import EVENT_ADAPTER
from harness.records.request import RequestRecord
from harness.records.run_info import RunInfo
from harness.records.samples import Sample
from harness.records.summary import Summary
from harness.records.validation import VALIDATE_FILE, Validation


def run_file_schemas() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "files": {
            files.RUN_FILE: RunInfo.model_json_schema(),
            files.REQUESTS_FILE: {"row": RequestRecord.model_json_schema()},
            files.EVENTS_FILE: {"line": EVENT_ADAPTER.json_schema()},
            files.SAMPLES_FILE: {"row": Sample.model_json_schema()},
            files.SUMMARY_FILE: Summary.model_json_schema(),
        },
        # Not in a run directory: what `shieldlab validate` writes beside its runs.
        "validate": {VALIDATE_FILE: Validation.model_json_schema()},
        # Not a file: what `shieldlab diagnose --json` prints.
        "diagnose": {"stdout": Diagnosis.model_json_schema()},
    }
