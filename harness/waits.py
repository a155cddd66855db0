"""The one way the harness waits for something: poll a check until it holds or time runs out.

A check may raise to stop the wait early (a process that exited will not become ready). The
clock is injected so the waits are tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.errors import InfrastructureError

POLL_S = 0.05


def time_until(
    check: Callable[[], bool],
    timeout_s: float,
    poll_s: float = POLL_S,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Seconds until `check()` first held, or None if it did not within `timeout_s`."""
    started = monotonic()
    while True:
        if check():
            return round(monotonic() - started, 2)
        if monotonic() - started >= timeout_s:
            return None
        sleep(poll_s)


def wait_until(
    check: Callable[[], bool],
    timeout_s: float,
    what: str | Callable[[], str],
    poll_s: float = POLL_S,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """As `time_until`, but a wait that runs out is an error naming what was waited for
    (`what` may be a function, to say what was still missing when time ran out)."""
    took = time_until(check, timeout_s, poll_s, monotonic, sleep)
    if took is None:
        described = what() if callable(what) else what
        raise InfrastructureError(f"{described}: not within {timeout_s:g} s")
    return took
