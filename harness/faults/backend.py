"""Where faults and actions are applied: the real Toxiproxy and origin admin API, or fakes.

One narrow interface each, with a fake beside the real one, so the timeline's tests swap the
backend instead of patching anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import httpx

from harness.errors import InfrastructureError
from harness.faults.toxics import AddToxic, ToxiproxyChange
from harness.toxiproxy_api import ToxiproxyApi


class FaultBackend(Protocol):
    def apply(self, change: ToxiproxyChange) -> None: ...

    def remove(self, change: ToxiproxyChange) -> None: ...


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

    calls: list[tuple[str, ToxiproxyChange]] = field(default_factory=list)
    active: list[ToxiproxyChange] = field(default_factory=list)

    def apply(self, change: ToxiproxyChange) -> None:
        self.calls.append(("apply", change))
        self.active.append(change)

    def remove(self, change: ToxiproxyChange) -> None:
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
