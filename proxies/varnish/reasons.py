"""Why a Varnish fetch failed, as Fastly's reason text, from what VCL can see.

Varnish 7.1 does not tell VCL why a fetch failed. What `vcl_backend_error` can see is whether
the director had a healthy backend, whether the response headers had arrived, and how long the
fetch (or the body, after the headers) took. One rule table decides the reason; it is rendered
into the node's VCL and evaluated here in Python, so the unit tests hold the VCL's logic.

Where the guess can be wrong (a fast failure is a refused connection, a reset or a busy backend
alike: all say "backend read error"), the real cause is in the node's log (`FetchError`) and in
its `shieldlab_upstream_errors` counter, which `fetch_errors` maps from Varnish's own text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from proxies.contract import BackendSettings, FetchFailure

# Varnish's timers fire on time, but what VCL measures includes a little scheduling: a
# timeout is taken to have fired from 98 % of it on.
TIMER_SLACK = 0.98
# A connect timeout fails the fetch at the timeout and nothing else fails then: a failure
# inside this window after `connect_timeout` is called one (a refused or reset connection
# fails within milliseconds, a first-byte timeout much later).
CONNECT_WINDOW_S = 0.25


def vcl_real(value: float) -> str:
    """A VCL REAL literal: VCL takes at most 3 decimals."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


class Timer(Enum):
    """What a rule measures: VCL variables the generated VCL keeps (`var` module)."""

    SINCE_FETCH = "fetch"  # from vcl_backend_fetch
    SINCE_HEADERS = "headers"  # from vcl_backend_response: the body's part


class Timeout(Enum):
    CONNECT = "connect"
    FIRST_BYTE = "first_byte"
    BETWEEN_BYTES = "between_bytes"

    def of(self, settings: BackendSettings) -> float:
        return {
            Timeout.CONNECT: settings.connect_timeout_s,
            Timeout.FIRST_BYTE: settings.first_byte_timeout_s,
            Timeout.BETWEEN_BYTES: settings.between_bytes_timeout_s,
        }[self]


@dataclass(frozen=True)
class Rule:
    """`reason` when every condition given holds (None: either way)."""

    reason: FetchFailure
    healthy: bool | None = None  # the director had a healthy backend
    headers: bool | None = None  # the response headers had arrived
    at_least: Timeout | None = None  # elapsed >= that timeout (x TIMER_SLACK)
    window_after: Timeout | None = None  # elapsed within CONNECT_WINDOW_S after it

    @property
    def timer(self) -> Timer:
        return Timer.SINCE_HEADERS if self.headers else Timer.SINCE_FETCH


# First match wins.
RULES: tuple[Rule, ...] = (
    Rule(FetchFailure.UNHEALTHY, healthy=False),
    Rule(FetchFailure.BETWEEN_BYTES_TIMEOUT, headers=True, at_least=Timeout.BETWEEN_BYTES),
    Rule(FetchFailure.READ_ERROR, headers=True),
    Rule(FetchFailure.FIRST_BYTE_TIMEOUT, at_least=Timeout.FIRST_BYTE),
    Rule(FetchFailure.CONNECT_TIMEOUT, window_after=Timeout.CONNECT),
    Rule(FetchFailure.READ_ERROR),
)


@dataclass(frozen=True)
class FailedFetch:
    """What VCL knows of a failed fetch."""

    healthy: bool
    headers: bool
    elapsed_s: float  # since the fetch began, or since the headers when they arrived


def _holds(rule: Rule, fetch: FailedFetch, settings: BackendSettings) -> bool:
    if rule.healthy is not None and rule.healthy != fetch.healthy:
        return False
    if rule.headers is not None and rule.headers != fetch.headers:
        return False
    if rule.at_least is not None and fetch.elapsed_s < rule.at_least.of(settings) * TIMER_SLACK:
        return False
    if rule.window_after is not None:
        start = rule.window_after.of(settings) * TIMER_SLACK
        if not start <= fetch.elapsed_s < start + CONNECT_WINDOW_S:
            return False
    return True


def derive(fetch: FailedFetch, settings: BackendSettings) -> FetchFailure:
    """The reason the generated VCL gives a failed fetch."""
    return next(rule.reason for rule in RULES if _holds(rule, fetch, settings))


# --- the same table, as VCL ---

HEALTHY_VCL = "std.healthy(bereq.backend)"
HEADERS_VCL = 'var.get("headers") == "yes"'


def _elapsed_vcl(timer: Timer) -> str:
    return f'(std.real(time=now) - var.get_real("{timer.value}_t0"))'


def _condition_vcl(rule: Rule, settings: BackendSettings) -> str:
    parts = []
    if rule.healthy is not None:
        parts.append(HEALTHY_VCL if rule.healthy else f"!{HEALTHY_VCL}")
    if rule.headers is not None:
        parts.append(HEADERS_VCL if rule.headers else f"!({HEADERS_VCL})")
    elapsed = _elapsed_vcl(rule.timer)
    if rule.at_least is not None:
        parts.append(f"{elapsed} >= {vcl_real(rule.at_least.of(settings) * TIMER_SLACK)}")
    if rule.window_after is not None:
        start = rule.window_after.of(settings) * TIMER_SLACK
        parts.append(f"{elapsed} >= {vcl_real(start)}")
        parts.append(f"{elapsed} < {vcl_real(start + CONNECT_WINDOW_S)}")
    return " && ".join(parts) or "true"


REASON_VAR = "reason"


def reason_vcl(settings: BackendSettings, indent: str) -> str:
    """VCL that sets the `reason` variable to the first rule's reason that holds."""
    lines = []
    for index, rule in enumerate(RULES):
        keyword = "if" if index == 0 else "} elsif"
        lines.append(f"{indent}{keyword} ({_condition_vcl(rule, settings)}) {{")
        lines.append(f'{indent}    var.set("{REASON_VAR}", "{rule.reason.value}");')
    lines.append(f"{indent}}}")
    return "\n".join(lines)


# --- the real cause, from Varnish's own FetchError text ---

_FETCH_ERRORS: tuple[tuple[str, FetchFailure], ...] = (
    ("first byte timeout", FetchFailure.FIRST_BYTE_TIMEOUT),
    (": busy", FetchFailure.BACKEND_BUSY),
    ("returned no backend", FetchFailure.UNHEALTHY),
    (": unhealthy", FetchFailure.UNHEALTHY),
    ("Connection refused", FetchFailure.UNHEALTHY),  # as the model: nothing listens
    ("Connection timed out", FetchFailure.CONNECT_TIMEOUT),
    ("Resource temporarily unavailable", FetchFailure.BETWEEN_BYTES_TIMEOUT),  # read timed out
)


def fetch_error_reason(text: str) -> FetchFailure:
    """The reason for one `FetchError` record (the first of a fetch; later ones follow from
    it, as "straight insufficient bytes" after a body timeout)."""
    return next(
        (reason for marker, reason in _FETCH_ERRORS if marker in text), FetchFailure.READ_ERROR
    )
