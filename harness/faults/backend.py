"""Where faults and actions are applied: the real Toxiproxy, kernel, taps and origin admin API,
or fakes.

One narrow interface each, with a fake beside the real one, so the timeline's tests swap the
backend instead of patching anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import httpx

from harness.errors import InfrastructureError
from harness.faults.http import PutTapRule, TapBackend, tap_change
from harness.faults.loss import DropPackets, LossBackend
from harness.faults.toxics import AddToxic, ToxiproxyChange, toxiproxy_change
from harness.scenario.steps import HTTP_FAULT_TYPES, LinkFault, LossFault
from harness.toxiproxy_api import ToxiproxyApi

FaultChange = ToxiproxyChange | DropPackets | PutTapRule


@dataclass(frozen=True)
class LinkTarget:
    """What a fault on a link acts on: its Toxiproxy proxy, the port it listens on, and the
    control address of its tap (None: the link is not tapped in this run)."""

    proxy: str
    port: int
    tap_url: str | None = None


def change_for(fault: LinkFault, link: str, target: LinkTarget, name: str) -> FaultChange:
    """The change that applies `fault` to one link: kernel packet loss, a rule on its tap, or
    a Toxiproxy call."""
    if isinstance(fault, LossFault):
        return DropPackets(link, target.port, fault.direction, fault.probability)
    if isinstance(fault, HTTP_FAULT_TYPES):
        return tap_change(fault, link, target.tap_url, name)
    return toxiproxy_change(fault, target.proxy, name)


class FaultBackend(Protocol):
    def apply(self, change: FaultChange) -> None: ...

    def remove(self, change: FaultChange) -> None: ...


class LinkFaults:
    """Each change to the backend that carries it out: loss to the kernel, rules to the taps,
    the rest to Toxiproxy."""

    def __init__(
        self, toxiproxy: ToxiproxyBackend, loss: LossBackend | None, taps: TapBackend
    ) -> None:
        self.toxiproxy = toxiproxy
        self.loss = loss
        self.taps = taps

    def _loss(self) -> LossBackend:
        if self.loss is None:
            raise InfrastructureError("a loss fault outside a loss-capable run (no namespace)")
        return self.loss

    def apply(self, change: FaultChange) -> None:
        if isinstance(change, DropPackets):
            self._loss().apply(change)
        elif isinstance(change, PutTapRule):
            self.taps.apply(change)
        else:
            self.toxiproxy.apply(change)

    def remove(self, change: FaultChange) -> None:
        if isinstance(change, DropPackets):
            self._loss().remove(change)
        elif isinstance(change, PutTapRule):
            self.taps.remove(change)
        else:
            self.toxiproxy.remove(change)


class ToxiproxyBackend:
    def __init__(self, api: ToxiproxyApi) -> None:
        self.api = api

    def apply(self, change: ToxiproxyChange) -> None:
        if isinstance(change, AddToxic):
            self.api.add_toxic(change.proxy, change.body)
        else:
            self.api.update_proxy(change.proxy, enabled=False)

    def remove(self, change: ToxiproxyChange) -> None:
        if isinstance(change, AddToxic):
            self.api.remove_toxic(change.proxy, change.toxic_name)
        else:
            self.api.update_proxy(change.proxy, enabled=True)


@dataclass
class FakeFaultBackend:
    """Records what would be applied; `active` is what is in force now."""

    calls: list[tuple[str, FaultChange]] = field(default_factory=list)
    active: list[FaultChange] = field(default_factory=list)

    def apply(self, change: FaultChange) -> None:
        self.calls.append(("apply", change))
        self.active.append(change)

    def remove(self, change: FaultChange) -> None:
        self.calls.append(("remove", change))
        self.active.remove(change)


class ActionBackend(Protocol):
    def set_worker_slots(self, slots: int) -> None: ...

    def set_journals_id_index(self, enabled: bool) -> None: ...


class OriginAdmin:
    def __init__(self, admin_url: str) -> None:
        self._client = httpx.Client(base_url=admin_url, timeout=120, trust_env=False)

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        try:
            response = self._client.post(path, json=body)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise InfrastructureError(f"origin admin {path}: {error}") from None
        return dict(response.json())

    def set_worker_slots(self, slots: int) -> None:
        self._post("/_admin/workers", {"worker_slots": slots})

    def set_journals_id_index(self, enabled: bool) -> None:
        self._post("/_admin/journals-id-index", {"enabled": enabled})

    def publish(self) -> dict[str, object]:
        return self._post("/_admin/publish", {})

    def close(self) -> None:
        self._client.close()


@dataclass
class FakeActionBackend:
    calls: list[tuple[str, object]] = field(default_factory=list)

    def set_worker_slots(self, slots: int) -> None:
        self.calls.append(("worker_slots", slots))

    def set_journals_id_index(self, enabled: bool) -> None:
        self.calls.append(("journals_id_index", enabled))
