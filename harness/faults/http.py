"""HTTP faults: a scenario's http_* step turned into a rule for the tap on a link, and the backend
that puts rules on a tap and takes them off. The conversion is pure, so it is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from harness.errors import InfrastructureError
from harness.scenario.steps import HttpAbortFault, HttpDelayFault, HttpFault, HttpStatusFault
from harness.tap.rules import CONTROL_PATH, RULES_PATH, Match, Rule
from proxies import contract


@dataclass(frozen=True)
class PutTapRule:
    """PUT the rule on the link's tap; undone by deleting it by name."""

    link: str
    control_url: str
    rule: Rule


def tap_rule(fault: HttpFault, name: str, seed: str, link: str = "") -> Rule:
    """The tap's rule for `fault`; an injected answer's reason names the link it was made on."""
    common: dict[str, Any] = {
        "name": name,
        "match": Match(fault.match.method, fault.match.path, dict(fault.match.headers)),
        "probability": fault.probability,
        "first_n": fault.first_n,
        "seed": seed,
    }
    if isinstance(fault, HttpStatusFault):
        headers = [
            (contract.HEADER_ERROR_NODE, contract.TAP_NODE),
            (contract.HEADER_ERROR_REASON, f"{contract.TAP_INJECTED_REASON} on {link}".strip()),
        ]
        return Rule(action="status", status=fault.status, answer_headers=headers, **common)
    if isinstance(fault, HttpDelayFault):
        return Rule(action="delay", delay_ms=fault.delay_ms, jitter_ms=fault.jitter_ms, **common)
    if isinstance(fault, HttpAbortFault):
        return Rule(action="abort", **common)
    raise TypeError(f"no tap rule for {type(fault).__name__}")


def tap_change(fault: HttpFault, link: str, control_url: str | None, name: str) -> PutTapRule:
    if control_url is None:
        raise InfrastructureError(f"{fault.kind} on {link}: the link has no tap in this run")
    return PutTapRule(link, control_url, tap_rule(fault, name, f"{name}@{link}", link))


class TapBackend:
    """Talks to each tap's control path (answered by the tap itself, never forwarded)."""

    def __init__(self, timeout_s: float = 5.0) -> None:
        self._client = httpx.Client(timeout=timeout_s, trust_env=False)

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, url, json=body)
        except httpx.HTTPError as error:
            raise InfrastructureError(f"tap {method} {url}: {error}") from None
        if response.status_code >= 400:
            raise InfrastructureError(
                f"tap {method} {url}: HTTP {response.status_code}: {response.text.strip()}"
            )
        return response.json()

    def apply(self, change: PutTapRule) -> None:
        rule = change.rule
        self._call("PUT", change.control_url + RULES_PATH + rule.name, rule.to_json())

    def remove(self, change: PutTapRule) -> None:
        self._call("DELETE", change.control_url + RULES_PATH + change.rule.name)

    def counts(self, control_url: str) -> dict[str, dict[str, int]]:
        """Per rule in force: the requests it matched and those it fired on."""
        return dict(self._call("GET", control_url + CONTROL_PATH)["rules"])

    def close(self) -> None:
        self._client.close()
