"""A Varnish node's counters under the metric names the model's nodes use. Pure.

From `varnishadm backend.list -j` and `varnishstat -j`: each backend's health (its probe), its
fetches in flight (`VBE.<vcl>.<backend>.conn`) and its limit (from the settings, as the model
reports it); and Varnish's own counters as `shieldlab_varnish_*` for whoever wants them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from proxies import contract
from proxies.contract import BackendGauge

# Varnish's own counters worth a series, from MAIN.
MAIN_COUNTERS = (
    "cache_hit",
    "cache_hit_grace",
    "cache_miss",
    "backend_busy",
    "backend_fail",
    "backend_retry",
    "backend_unhealthy",
    "fetch_failed",
    "s_pass",
)
VARNISH_PREFIX = f"{contract.METRIC_PREFIX}_varnish"


@dataclass(frozen=True)
class StatsBackend:
    name: str  # the lab's name ("origin-1")
    vcl_name: str  # its VCL identifier ("origin_1")
    max_connections: int


def _value(counters: Mapping[str, Any], name: str) -> float:
    entry = counters.get(name)
    return float(entry.get("value", 0)) if isinstance(entry, Mapping) else 0.0


def _by_identifier(entries: Mapping[str, Any]) -> dict[str, Any]:
    """Keys are `<vcl>.<backend>`: one VCL is loaded, so the backend part names it."""
    return {key.rsplit(".", 1)[-1]: value for key, value in entries.items()}


def _healthy(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    admin = entry.get("admin_health")
    if admin in ("healthy", "sick"):  # forced by `backend.set_health`
        return bool(admin == "healthy")
    probe = entry.get("probe_message")
    if isinstance(probe, list) and len(probe) == 3:
        return bool(probe[2] == "healthy")
    return True  # no probe: Varnish takes it as healthy


def _conn(counters: Mapping[str, Any], vcl_name: str) -> float:
    suffix = f".{vcl_name}.conn"
    return next(
        (
            _value(counters, key)
            for key in counters
            if key.startswith("VBE.") and key.endswith(suffix)
        ),
        0.0,
    )


def metric_families(
    counters: Mapping[str, Any], backend_list: Mapping[str, Any], backends: list[StatsBackend]
) -> Iterator[Metric]:
    listed = _by_identifier(backend_list)
    healthy = GaugeMetricFamily(BackendGauge.HEALTHY, "1 if probed healthy", labels=["backend"])
    busy = GaugeMetricFamily(BackendGauge.BUSY_FETCHES, "Fetches in flight", labels=["backend"])
    limit = GaugeMetricFamily(BackendGauge.MAX_CONNECTIONS, "Fetch limit", labels=["backend"])
    for backend in backends:
        healthy.add_metric([backend.name], 1 if _healthy(listed.get(backend.vcl_name)) else 0)
        busy.add_metric([backend.name], _conn(counters, backend.vcl_name))
        limit.add_metric([backend.name], backend.max_connections)
    yield from (healthy, busy, limit)
    for name in MAIN_COUNTERS:
        family = CounterMetricFamily(f"{VARNISH_PREFIX}_{name}", f"Varnish MAIN.{name}")
        family.add_metric([], _value(counters, f"MAIN.{name}"))
        yield family
