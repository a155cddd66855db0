"""The expectation language: a metric, selectors, and a bound. Pure data, no evaluation.

One language for a scenario's `expect:` list, a CI suite's gate, and an incident signature:

    - metric: error_rate                 # what to measure
      window: "during slow-origin"       # whole | steady | before X | during X | after X
      traffic: pip                       # selectors narrow the requests measured
      pop: iad
      layer: shield
      bound: "< 0.05"                    # absolute, or relative: "<= baseline * 1.2", floor: 0.01

`X` names a scenario step by its `name`, its label (`latency shield->origin`), its kind
(`origin_workers`), or `*` for any fault or action window. A window may also be a list: the
first that is not empty is used.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness.scenario.reader import Frozen
from harness.scenario.traffic import CACHE_LAYERS, Layer, TrafficName
from proxies import contract
from proxies.contract import CacheState


class Metric(StrEnum):
    ERROR_RATE = "error_rate"  # errors / requests; with `layer`: only errors that layer made
    STATUS_RATE = "status_rate"  # requests answered `status` / requests
    STATUS_COUNT = "status_count"  # requests answered `status`
    P50_MS = "p50_ms"  # latency from the intended start
    P95_MS = "p95_ms"
    P99_MS = "p99_ms"
    REQUESTS_PER_S = "requests_per_s"
    HIT_RATIO = "hit_ratio"  # hits among lookups of the `layer` cache (edge or shield)
    ORIGIN_BUSY_RATIO = "origin_busy_ratio"  # the most worker slots busy / slots, 0..1
    ERROR_SHARE = "error_share"  # errors `layer` made / all errors
    CACHE_STATE_SHARE = "cache_state_share"  # lookups of the `layer` cache in a `cache` state
    BACKEND_BUSY_RATIO = "backend_busy_ratio"  # a `layer` node's most fetches in flight / limit
    BACKEND_SICK_SHARE = "backend_sick_share"  # the `layer` nodes' probe readings saying sick


LATENCY_QUANTILES = {Metric.P50_MS: 0.50, Metric.P95_MS: 0.95, Metric.P99_MS: 0.99}
# Which selectors each metric takes; a selector outside its list is refused when loaded.
ACCEPTS: dict[Metric, frozenset[str]] = {
    Metric.ERROR_RATE: frozenset({"traffic", "pop", "layer", "reason"}),
    Metric.STATUS_RATE: frozenset({"traffic", "pop", "layer", "status", "reason"}),
    Metric.STATUS_COUNT: frozenset({"traffic", "pop", "layer", "status", "reason"}),
    Metric.P50_MS: frozenset({"traffic", "pop"}),
    Metric.P95_MS: frozenset({"traffic", "pop"}),
    Metric.P99_MS: frozenset({"traffic", "pop"}),
    Metric.REQUESTS_PER_S: frozenset({"traffic", "pop"}),
    Metric.HIT_RATIO: frozenset({"traffic", "pop", "layer"}),
    Metric.ORIGIN_BUSY_RATIO: frozenset(),
    Metric.ERROR_SHARE: frozenset({"traffic", "pop", "layer", "reason"}),
    Metric.CACHE_STATE_SHARE: frozenset({"traffic", "pop", "layer", "cache"}),
    Metric.BACKEND_BUSY_RATIO: frozenset({"layer"}),
    Metric.BACKEND_SICK_SHARE: frozenset({"layer"}),
}
REQUIRES: dict[Metric, frozenset[str]] = {
    Metric.STATUS_RATE: frozenset({"status"}),
    Metric.STATUS_COUNT: frozenset({"status"}),
    Metric.HIT_RATIO: frozenset({"layer"}),
    Metric.ERROR_SHARE: frozenset({"layer"}),
    Metric.CACHE_STATE_SHARE: frozenset({"layer", "cache"}),
    Metric.BACKEND_BUSY_RATIO: frozenset({"layer"}),
    Metric.BACKEND_SICK_SHARE: frozenset({"layer"}),
}
# Read from the nodes' gauges, not from requests: exact values without an interval.
GAUGE_METRICS = frozenset(
    {Metric.ORIGIN_BUSY_RATIO, Metric.BACKEND_BUSY_RATIO, Metric.BACKEND_SICK_SHARE}
)
# Metrics of one cache layer: one `layer`, edge or shield.
ONE_CACHE_LAYER = frozenset(
    {
        Metric.HIT_RATIO,
        Metric.CACHE_STATE_SHARE,
        Metric.BACKEND_BUSY_RATIO,
        Metric.BACKEND_SICK_SHARE,
    }
)
# The reasons a node writes on the answers it makes (the `reason` selector's values).
ERROR_REASONS = tuple(r.value for r in (*contract.FetchFailure, *contract.BalancerRejection)) + (
    contract.TAP_INJECTED_REASON,
)

SELECTORS = ("traffic", "pop", "layer", "status", "reason", "cache")

ANY_STEP = "*"  # in a window selector: any fault or action window
_WINDOW_TEXT = re.compile(r"^(whole|steady|(before|during|after)\s+(.+))$")


class Window(Frozen):
    """A stretch of the run: the intersection of what is given; nothing given is the whole run."""

    before: str | None = Field(default=None, description="until this step first starts")
    during: str | None = Field(default=None, description="while this step is on")
    after: str | None = Field(default=None, description="once this step has ended")
    steady: bool = Field(default=False, description="drop the warm-up (the first quarter)")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        match = _WINDOW_TEXT.match(data.strip())
        if match is None:
            raise ValueError(
                "a window is 'whole', 'steady', 'before NAME', 'during NAME', 'after NAME' "
                f"or a mapping of those; got {data!r}"
            )
        if match.group(1) == "whole":
            return {}
        if match.group(1) == "steady":
            return {"steady": True}
        return {match.group(2): match.group(3).strip()}

    def names(self) -> list[str]:
        return [n for n in (self.before, self.during, self.after) if n is not None]

    def focused_on(self, step: str) -> Window:
        """The same window with `during: "*"` read as `during: step`."""
        return self.model_copy(update={"during": step}) if self.during == ANY_STEP else self

    def text(self) -> str:
        parts = [
            f"{k} {v}"
            for k, v in (("before", self.before), ("during", self.during), ("after", self.after))
            if v
        ]
        if self.steady:
            parts.append("steady")
        return " & ".join(parts) or "whole"


_BOUND_TEXT = re.compile(
    r"^(?P<op><=|>=|<|>)\s*(?:(?P<base>baseline)\s*(?:(?P<kind>[*+-])\s*(?P<k>[0-9.eE+-]+))?|(?P<value>[0-9.eE+-]+))$"
)


class Bound(Frozen):
    """`< 0.01` (absolute) or `<= baseline * 1.2` / `>= baseline + 0.02` (relative)."""

    op: Literal["<", "<=", ">", ">="]
    value: float | None = Field(default=None, description="an absolute bound")
    baseline_factor: float | None = Field(default=None, description="baseline * this")
    baseline_offset: float | None = Field(default=None, description="baseline + this")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            raise ValueError(f"a bound needs a comparison, e.g. '< {data}'; got {data!r}")
        if not isinstance(data, str):
            return data
        match = _BOUND_TEXT.match(data.strip())
        if match is None:
            raise ValueError(
                "a bound reads '< 0.01', '>= 3', '<= baseline * 1.2' or '>= baseline + 0.02'; "
                f"got {data!r}"
            )
        op = match.group("op")
        try:
            if match.group("value") is not None:
                return {"op": op, "value": float(match.group("value"))}
            k = float(match.group("k")) if match.group("k") else None
        except ValueError:
            raise ValueError(f"not a number in the bound; got {data!r}") from None
        if match.group("kind") == "*":
            return {"op": op, "baseline_factor": k}
        if match.group("kind") in ("+", "-"):
            assert k is not None
            return {"op": op, "baseline_offset": k if match.group("kind") == "+" else -k}
        return {"op": op, "baseline_factor": 1.0}

    @model_validator(mode="after")
    def _one_form(self) -> Bound:
        given = [v is not None for v in (self.value, self.baseline_factor, self.baseline_offset)]
        if sum(given) != 1:
            raise ValueError("give exactly one of value, baseline_factor, baseline_offset")
        return self

    @property
    def relative(self) -> bool:
        return self.value is None

    def threshold(self, baseline: float | None, floor: float | None) -> float | None:
        """The number to compare with; None when a relative bound has no baseline value."""
        if self.value is not None:
            return self.value
        if baseline is None:
            return None
        if self.baseline_factor is not None:
            limit = baseline * self.baseline_factor
        else:
            limit = baseline + (self.baseline_offset or 0.0)
        return limit if floor is None else max(limit, floor)

    def holds(self, measured: float, threshold: float) -> bool:
        return {
            "<": measured < threshold,
            "<=": measured <= threshold,
            ">": measured > threshold,
            ">=": measured >= threshold,
        }[self.op]

    def text(self) -> str:
        if self.value is not None:
            return f"{self.op} {self.value:g}"
        if self.baseline_factor is not None:
            return f"{self.op} baseline * {self.baseline_factor:g}"
        return f"{self.op} baseline {'+' if (self.baseline_offset or 0) >= 0 else '-'} {abs(self.baseline_offset or 0):g}"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


class Expectation(Frozen):
    metric: Metric
    window: Window | list[Window] = Field(default_factory=Window)
    traffic: list[TrafficName] | None = None
    pop: list[str] | None = None
    layer: list[Layer] | None = None
    status: int | None = Field(default=None, ge=0, le=599)
    reason: list[str] | None = Field(
        default=None, description="errors a node made with this reason"
    )
    cache: list[CacheState] | None = Field(default=None, description="X-Cache states counted")
    bound: Bound
    floor: float | None = Field(
        default=None, description="a relative bound is never tighter than this absolute value"
    )
    name: str | None = Field(default=None, description="shown in reports; default: the key")

    @field_validator("traffic", "pop", "layer", "reason", "cache", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """A selector may be one value or a list of them."""
        return _as_list(value)

    @field_validator("reason")
    @classmethod
    def _known_reasons(cls, value: list[str] | None) -> list[str] | None:
        for reason in value or []:
            if reason not in ERROR_REASONS:
                close = difflib.get_close_matches(reason, ERROR_REASONS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(repr(r) for r in ERROR_REASONS)
                raise ValueError(f"no node gives the reason {reason!r}{hint}; known: {known}")
        return value

    @model_validator(mode="after")
    def _selectors_fit_the_metric(self) -> Expectation:
        given = {s for s in SELECTORS if getattr(self, s) is not None}
        extra = sorted(given - ACCEPTS[self.metric])
        if extra:
            allowed = ", ".join(sorted(ACCEPTS[self.metric])) or "none"
            raise ValueError(f"{self.metric} takes no {extra[0]!r}; its selectors: {allowed}")
        missing = sorted(REQUIRES.get(self.metric, frozenset()) - given)
        if missing:
            raise ValueError(f"{self.metric} needs {missing[0]!r}")
        if self.metric in ONE_CACHE_LAYER and (
            len(self.layer or []) != 1 or any(x not in CACHE_LAYERS for x in self.layer or [])
        ):
            raise ValueError(f"{self.metric} takes one layer, a cache: edge or shield")
        return self

    def windows(self) -> list[Window]:
        return self.window if isinstance(self.window, list) else [self.window]

    @property
    def key(self) -> str:
        """The metric and its selectors: what a baseline stores a value under."""
        parts = [" | ".join(w.text() for w in self.windows())]
        for selector in ("traffic", "pop", "layer", "reason", "cache"):
            values = getattr(self, selector)
            if values:
                parts.append(f"{selector}={','.join(str(v) for v in values)}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return f"{self.metric}[{'; '.join(parts)}]"

    @property
    def text(self) -> str:
        floor = f" (floor {self.floor:g})" if self.floor is not None and self.bound.relative else ""
        return f"{self.name or self.key} {self.bound.text()}{floor}"
