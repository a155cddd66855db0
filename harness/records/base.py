"""The base of every run-file model: frozen, unknown keys refused, one schema version."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import BadInput

# Version 2: typed records (enum columns in requests.csv, a tagged event union, a typed summary).
SCHEMA_VERSION = 2


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


R = TypeVar("R", bound=Record)


def first_error(error: ValidationError) -> str:
    """`field.path: problem` of the first validation error."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{field}: {first['msg']}"


def read_json_model(path: Path, model: type[R]) -> R:
    try:
        return model.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise BadInput(
            f"{path}: no such file; give a directory that `shieldlab run` wrote"
        ) from None
    except ValidationError as error:
        raise BadInput(
            f"{path}: {first_error(error)}; written by another version of shieldlab? re-run it"
        ) from None


def write_json_model(path: Path, record: BaseModel) -> None:
    """Written under a temporary name and renamed: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(record.model_dump_json(indent=2) + "\n")
    partial.rename(path)
