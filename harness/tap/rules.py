"""What a tap does to each request: the rules in force, and the decision for one request.

This module runs inside mitmdump's own Python (the tap's environment, apart from the harness's),
so it uses the standard library only. The harness builds rules from a scenario's http_* steps
(`harness.faults.http`) and sends them as JSON to the tap's control path; the addon asks
`RuleBook.decide` about every request.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

CONTROL_PATH = "/_shieldlab/tap"  # answered by the tap itself, never forwarded
RULES_PATH = CONTROL_PATH + "/rules/"
ACTIONS = ("status", "delay", "abort")
SERIAL_HEADER = "X-PYPI-LAST-SERIAL"  # proxies.contract.HEADER_LAST_SERIAL (a test keeps them one)


@dataclass(frozen=True)
class Match:
    method: str | None = None
    path: str = "*"
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        if self.method is not None and method.upper() != self.method.upper():
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        lowered = {name.lower(): value for name, value in headers.items()}
        return all(
            fnmatch.fnmatchcase(lowered.get(name.lower(), ""), pattern)
            for name, pattern in self.headers.items()
        )


@dataclass(frozen=True)
class Rule:
    """One http_* step on one link: what it matches, how often it fires, what it does."""

    name: str
    action: str  # one of ACTIONS
    match: Match = Match()
    probability: float = 1.0  # rolled per matching request
    first_n: int | None = None  # instead: fire on the first N matching requests only
    seed: str = ""
    status: int = 503
    answer_headers: list[tuple[str, str]] = field(default_factory=list)
    delay_ms: float = 0.0
    jitter_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        fields = dict(data)
        fields["match"] = Match(**fields.get("match", {}))
        fields["answer_headers"] = [tuple(pair) for pair in fields.get("answer_headers", [])]
        rule = cls(**fields)
        if rule.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}; got {rule.action!r}")
        return rule


@dataclass
class Decision:
    """What to do with one request: wait, then answer it, abort it, or let it through."""

    delay_s: float = 0.0
    answer: Rule | None = None  # a status rule that fired
    abort: bool = False


@dataclass
class _Active:
    rule: Rule
    rng: random.Random
    matched: int = 0
    fired: int = 0

    def fires(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        if not self.rule.match.matches(method, path, headers):
            return False
        self.matched += 1
        if self.rule.first_n is not None:
            fire = self.matched <= self.rule.first_n
        else:
            fire = self.rng.random() < self.rule.probability
        self.fired += fire
        return fire


class RuleBook:
    """The rules in force on one tap, in the order they were put."""

    def __init__(self) -> None:
        self._active: dict[str, _Active] = {}

    def put(self, rule: Rule) -> None:
        self._active[rule.name] = _Active(rule, random.Random(rule.seed or rule.name))

    def remove(self, name: str) -> bool:
        return self._active.pop(name, None) is not None

    def decide(self, method: str, path: str, headers: Mapping[str, str]) -> Decision:
        """Every matching delay adds up; the first status or abort that fires decides."""
        decision = Decision()
        for active in list(self._active.values()):
            rule = active.rule
            decided = decision.answer is not None or decision.abort
            if (rule.action != "delay" and decided) or not active.fires(method, path, headers):
                continue
            if rule.action == "delay":
                jitter = active.rng.uniform(-rule.jitter_ms, rule.jitter_ms)
                decision.delay_s += max(0.0, rule.delay_ms + jitter) / 1000
            elif rule.action == "status":
                decision.answer = rule
            else:
                decision.abort = True
        return decision

    def counts(self) -> dict[str, dict[str, int]]:
        """Per rule: requests it matched and requests it fired on."""
        return {name: {"matched": a.matched, "fired": a.fired} for name, a in self._active.items()}
