"""requests.csv: one row per request, as the client saw it.

Times are scenario seconds (0 is the start of the fault timeline); latency counts from the
intended start, so an open-model arrival that waited is charged for its wait. The row's column
order is the model's field order; `to_row` and `from_row` are the only ways in and out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from harness.errors import BadInput
from harness.records.base import Record, first_error
from harness.scenario.traffic import Layer, TrafficName, is_error_status
from proxies.contract import CacheState, EndpointClass

_CACHE_STATES = {state.value for state in CacheState}


def parse_x_cache(x_cache: str) -> tuple[CacheState | None, CacheState | None]:
    """(edge, shield) states from X-Cache: the edge is always last; the shield, when on the
    path, first. Unknown entries read as absent, so a foreign CDN's header cannot break a run."""
    parts = [p.strip() for p in x_cache.split(",") if p.strip()]
    states = [CacheState(p) if p in _CACHE_STATES else None for p in parts]
    if not states:
        return None, None
    return states[-1], (states[0] if len(states) >= 2 else None)


class RequestRecord(Record):
    intended_s: float
    start_s: float
    traffic: TrafficName
    endpoint: EndpointClass
    method: str
    status: int  # 0: no HTTP answer (client timeout, refused, reset)
    latency_ms: float
    bytes: int
    pop: str
    served_by: str  # X-Served-By as sent
    x_cache: str  # X-Cache as sent; the two columns below are its parsed form
    edge_cache: CacheState | None = None
    shield_cache: CacheState | None = None
    error_layer: Layer | None = None  # set on every error, None on a success
    error_node: str = ""  # the node that made the error: edge-<pop> | shield | origin-lb | client
    error_reason: str = ""

    @classmethod
    def observed(cls, **fields: Any) -> RequestRecord:
        """A record from what the client saw: cache states and error layer derived here."""
        edge, shield = parse_x_cache(fields.get("x_cache", ""))
        status = fields["status"]
        node = fields.get("error_node", "")
        layer = None
        if is_error_status(status):
            layer = Layer.of_node(node) if node else Layer.ORIGIN
        return cls(**fields, edge_cache=edge, shield_cache=shield, error_layer=layer)

    @property
    def is_error(self) -> bool:
        return is_error_status(self.status)

    def cache_state(self, layer: Layer) -> CacheState | None:
        return self.edge_cache if layer is Layer.EDGE else self.shield_cache

    def to_row(self) -> list[Any]:
        return ["" if v is None else v for v in self.model_dump(mode="json").values()]

    @classmethod
    def from_row(cls, row: dict[str, str]) -> RequestRecord:
        return cls.model_validate(
            {k: (None if v == "" and k in _OPTIONAL_ENUMS else v) for k, v in row.items()}
        )


COLUMNS = list(RequestRecord.model_fields)
_OPTIONAL_ENUMS = ("edge_cache", "shield_cache", "error_layer")  # an empty cell is None


class RequestWriter:
    """Appends records to requests.csv; the header is written when the file is opened."""

    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(COLUMNS)

    def write(self, record: RequestRecord) -> None:
        self._writer.writerow(record.to_row())


def part_path(path: str | Path, host: str, pid: int) -> str:
    """Where one load-generator process writes its share of `path`. The host name keeps the
    parts of processes in different containers (each often pid 1) apart."""
    return f"{path}.part-{host}-{pid}"


def join_parts(path: Path) -> dict[str, int]:
    """requests.csv from every process's part (each with the header), the parts removed;
    the number of records of each part (by its `host-pid`). Written whole or not at all. A
    part's last line cut short (its process was killed while writing) is left out."""
    parts = sorted(path.parent.glob(f"{path.name}.part-*"))
    if not parts and path.exists():
        return {}  # joined already
    header = ",".join(COLUMNS)
    partial = path.with_name(path.name + ".joining")
    counts = {}
    with open(partial, "w", newline="") as out:
        out.write(header + "\r\n")
        for part in parts:
            with open(part, newline="") as handle:
                lines = handle.readlines()
            if lines and lines[0].rstrip("\r\n") != header:
                raise BadInput(f"{part}: (header): not a part of a requests file")
            if lines and not lines[-1].endswith("\n"):
                lines.pop()
            records = lines[1:]
            out.writelines(records)
            counts[part.name.removeprefix(f"{path.name}.part-")] = len(records)
    partial.rename(path)
    for part in parts:
        part.unlink()
    return counts


def write_requests(path: Path, records: Iterable[RequestRecord]) -> None:
    with open(path, "w", newline="") as handle:
        writer = RequestWriter(handle)
        for record in records:
            writer.write(record)


def read_requests(path: Path) -> list[RequestRecord]:
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != COLUMNS:
                raise BadInput(
                    f"{path}: (header): not a requests file of schema version 2; got columns "
                    f"{reader.fieldnames}; re-run the scenario with this version of shieldlab"
                )
            records = []
            for line, row in enumerate(reader, start=2):
                try:
                    records.append(RequestRecord.from_row(row))
                except ValidationError as error:
                    raise BadInput(f"{path}: line {line}: {first_error(error)}") from None
            return records
    except FileNotFoundError:
        raise BadInput(
            f"{path}: no such file; give a directory that `shieldlab run` wrote"
        ) from None
