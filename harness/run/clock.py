"""The clocks a run reads, injected so that a unit test runs a whole scenario instantly.

A run reads two clocks: the wall clock (epoch seconds, shared with the Locust processes, which
stamp their records against it) and the monotonic one (its own deadlines and the timeline).
`LoadStart` is scenario time zero on both; `SinceLoadStart` is the timeline's view of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class RunClock(Protocol):
    def monotonic(self) -> float: ...

    def epoch(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def epoch(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeRunClock:
    """Time that passes only when someone sleeps: a whole run in no time at all."""

    def __init__(self, monotonic_s: float = 1000.0, epoch_s: float = 1_800_000_000.0) -> None:
        self.elapsed_s = 0.0
        self._monotonic0 = monotonic_s
        self._epoch0 = epoch_s

    def monotonic(self) -> float:
        return self._monotonic0 + self.elapsed_s

    def epoch(self) -> float:
        return self._epoch0 + self.elapsed_s

    def sleep(self, seconds: float) -> None:
        self.elapsed_s += max(0.0, seconds)


@dataclass(frozen=True)
class LoadStart:
    """Scenario time zero, the start margin after the load generator was launched."""

    t0_epoch: float
    t0_monotonic: float

    @classmethod
    def after(cls, clock: RunClock, margin_s: float) -> LoadStart:
        return cls(clock.epoch() + margin_s, clock.monotonic() + margin_s)


class SinceLoadStart:
    """Scenario seconds on a run clock: the timeline's clock."""

    def __init__(self, clock: RunClock, start: LoadStart) -> None:
        self.clock = clock
        self.start = start

    def now(self) -> float:
        return self.clock.monotonic() - self.start.t0_monotonic

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
