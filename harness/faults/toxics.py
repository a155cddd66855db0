"""Turning a scenario's link fault into Toxiproxy requests. Pure, so every case is unit-tested.

Toxiproxy's gotchas shape the choices: a stall is `bandwidth rate=0` (removing a `timeout`
toxic would close every connection on the proxy), and `down` disables the proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.scenario.steps import (
    BandwidthFault,
    DownFault,
    LatencyFault,
    LinkFault,
    ResetFault,
    StallFault,
)


@dataclass(frozen=True)
class AddToxic:
    """POST /proxies/{proxy}/toxics with `body`; undone by deleting the toxic by name."""

    proxy: str
    body: dict[str, Any]

    @property
    def toxic_name(self) -> str:
        return str(self.body["name"])


@dataclass(frozen=True)
class DisableProxy:
    """PATCH /proxies/{proxy} enabled=false; undone by enabled=true."""

    proxy: str


ToxiproxyChange = AddToxic | DisableProxy


def _toxic(
    proxy: str, name: str, kind: str, stream: str, toxicity: float, **attributes: Any
) -> AddToxic:
    body = {
        "name": name,
        "type": kind,
        "stream": stream,
        "toxicity": toxicity,
        "attributes": attributes,
    }
    return AddToxic(proxy, body)


def toxiproxy_change(fault: LinkFault, proxy: str, name: str) -> ToxiproxyChange:
    """The Toxiproxy change that applies `fault` to the proxy behind one link."""
    if isinstance(fault, LatencyFault):
        return _toxic(
            proxy,
            name,
            "latency",
            fault.stream.value,
            fault.toxicity,
            latency=round(fault.latency_ms),
            jitter=round(fault.jitter_ms),
        )
    if isinstance(fault, BandwidthFault):
        return _toxic(
            proxy, name, "bandwidth", fault.stream.value, fault.toxicity, rate=fault.rate_kbps
        )
    if isinstance(fault, StallFault):
        return _toxic(proxy, name, "bandwidth", fault.stream.value, fault.toxicity, rate=0)
    if isinstance(fault, ResetFault):
        return _toxic(
            proxy, name, "reset_peer", "downstream", fault.toxicity, timeout=fault.after_ms
        )
    if isinstance(fault, DownFault):
        return DisableProxy(proxy)
    raise TypeError(f"no Toxiproxy change for {type(fault).__name__}")
