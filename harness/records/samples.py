"""samples.csv: every node's /metrics, scraped about once a second during the run."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.records.base import Record
from proxies.contract import ORIGIN_NODE, OriginGauge

# The kernel's packet-loss counters, scraped like a node's metrics: one sample per rule, labels
# `link`, `direction` and `count` (seen: every packet of the link; dropped: those dropped).
LOSS_NODE = "kernel"
LOSS_METRIC = "shieldlab_loss_packets_total"
SEEN, DROPPED = "seen", "dropped"


class Sample(Record):
    t_s: float
    node: str
    metric: str
    labels: str  # k=v;k=v, sorted
    value: float

    @property
    def label_map(self) -> dict[str, str]:
        """The labels as a mapping (the file keeps them as `k=v;k=v`)."""
        return dict(part.split("=", 1) for part in self.labels.split(";") if "=" in part)

    def to_row(self) -> list[object]:
        return [self.t_s, self.node, self.metric, self.labels, self.value]


COLUMNS = list(Sample.model_fields)


def write_samples(path: Path, samples: Iterable[Sample]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(s.to_row() for s in samples)


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [Sample.model_validate(row) for row in csv.DictReader(handle)]


def points(samples: list[Sample], node: str, metric: str) -> list[tuple[float, float]]:
    """(t_s, value) of one node's metric, in scrape order."""
    return [(s.t_s, s.value) for s in samples if s.node == node and s.metric == metric]


@dataclass(frozen=True)
class OriginSlots:
    """The origin's busy and configured worker slots over a run, as scraped: the gauges the
    summary, the expectations and diagnose all read."""

    busy: list[tuple[float, float]]
    slots: list[tuple[float, float]]

    @classmethod
    def of(cls, samples: list[Sample]) -> OriginSlots:
        return cls(
            points(samples, ORIGIN_NODE, OriginGauge.BUSY_SLOTS),
            points(samples, ORIGIN_NODE, OriginGauge.WORKER_SLOTS),
        )

    def by_scrape(self) -> list[tuple[float, float, float]]:
        """(t_s, busy, worker slots) per scrape, in time order; 0 where a gauge is missing."""
        busy, slots = dict(self.busy), dict(self.slots)
        return [(t, busy.get(t, 0.0), slots.get(t, 0.0)) for t in sorted(busy.keys() | slots.keys())]
