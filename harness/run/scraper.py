"""Scraping every node's /metrics once a second into samples.csv, and live rates for progress."""

from __future__ import annotations

import csv
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.errors import InfrastructureError
from harness.faults.loss import LossBackend
from harness.records.samples import COLUMNS as SAMPLE_COLUMNS
from harness.records.samples import LOSS_METRIC, LOSS_NODE, Sample
from proxies import contract


@dataclass(frozen=True)
class LiveRates:
    requests_per_s: float = 0.0
    errors_per_s: float = 0.0

    @property
    def error_ratio(self) -> float:
        return self.errors_per_s / self.requests_per_s if self.requests_per_s else 0.0


def parse_samples(text: str) -> list[tuple[str, str, float]]:
    """(metric, labels as k=v;k=v, value) for every sample of the node's text exposition."""
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ";".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            rows.append((sample.name, labels, float(sample.value)))
    return rows


def edge_totals(rows_by_node: dict[str, list[tuple[str, str, float]]]) -> tuple[float, float]:
    """(all responses, 5xx responses) the edges have sent so far."""
    total = errors = 0.0
    for node, rows in rows_by_node.items():
        if not node.startswith(contract.EDGE_PREFIX):
            continue
        for metric, labels, value in rows:
            if metric == f"{contract.REQUESTS_COUNTER}_total":
                total += value
                if labels.startswith("status=5"):
                    errors += value
    return total, errors


def loss_rows(loss: LossBackend) -> list[tuple[str, str, float]]:
    """The kernel's loss-rule counters, as samples: packets seen and dropped per link."""
    try:
        counters = loss.counters()
    except InfrastructureError:
        return []
    return [
        (LOSS_METRIC, f"count={c.count};direction={c.direction};link={c.link}", float(c.packets))
        for c in counters
    ]


class Scraper:
    def __init__(
        self,
        nodes: dict[str, str],
        path: Path,
        interval_s: float = 1.0,
        loss: LossBackend | None = None,
    ) -> None:
        self.nodes = nodes
        self.loss = loss
        self.path = path
        self.t0 = 0.0  # scenario time zero on the monotonic clock, given to start()
        self.interval_s = interval_s
        self.live = LiveRates()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scraper", daemon=True)
        self._previous: tuple[float, float, float] | None = None
        # When each node last answered; set at start so a node has time for its first answer.
        self._answered: dict[str, float] = {}

    def silent(self, limit_s: float) -> list[str]:
        """Nodes that have not answered their /metrics for more than `limit_s` seconds."""
        now = time.monotonic()
        return [node for node, at in self._answered.items() if now - at > limit_s]

    def start(self, t0_monotonic: float) -> None:
        """Scrape from now on, stamping samples in seconds since `t0_monotonic`."""
        self.t0 = t0_monotonic
        self._answered = dict.fromkeys(self.nodes, time.monotonic())
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # never started: nothing to wait for
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        with (
            open(self.path, "w", newline="") as handle,
            httpx.Client(timeout=2.0, trust_env=False) as client,
        ):
            writer = csv.writer(handle)
            writer.writerow(SAMPLE_COLUMNS)
            next_at = time.monotonic()
            while not self._stop.is_set():
                t_s = round(time.monotonic() - self.t0, 3)
                rows_by_node = {}
                for node, url in self.nodes.items():
                    try:
                        rows_by_node[node] = parse_samples(
                            client.get(url + contract.METRICS_PATH).text
                        )
                        self._answered[node] = time.monotonic()
                    except (httpx.HTTPError, ValueError):
                        rows_by_node[node] = []  # a node too busy to answer is itself a data point
                if self.loss is not None:
                    rows_by_node[LOSS_NODE] = loss_rows(self.loss)
                for node, rows in rows_by_node.items():
                    writer.writerows(
                        Sample(t_s=t_s, node=node, metric=m, labels=labels, value=v).to_row()
                        for m, labels, v in rows
                    )
                handle.flush()
                self._update_live(t_s, rows_by_node)
                next_at += self.interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _update_live(
        self, t_s: float, rows_by_node: dict[str, list[tuple[str, str, float]]]
    ) -> None:
        total, errors = edge_totals(rows_by_node)
        if self._previous is not None:
            t_prev, total_prev, errors_prev = self._previous
            span = max(1e-6, t_s - t_prev)
            self.live = LiveRates((total - total_prev) / span, (errors - errors_prev) / span)
        self._previous = (t_s, total, errors)
