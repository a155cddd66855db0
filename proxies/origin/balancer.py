"""The origin's modelled load balancer: a fixed pool of worker slots and a bounded queue.

Capacity comes from this model, not from the host CPU. `SlotPool` is the bookkeeping (pure, no
clock, no I/O, unit-tested); `Balancer` is the thin asyncio shell that makes requests wait.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from enum import Enum

from proxies.contract import BalancerRejection


class Admission(Enum):
    ADMITTED = "admitted"
    QUEUED = "queued"
    REJECTED = "rejected"


class SlotPool:
    """Worker slots plus a FIFO queue of at most `queue_max` waiting tickets."""

    def __init__(self, slots: int, queue_max: int) -> None:
        self.slots = slots
        self.queue_max = queue_max
        self.busy = 0
        self._waiting: deque[int] = deque()

    @property
    def queue_length(self) -> int:
        return len(self._waiting)

    def arrive(self, ticket: int) -> Admission:
        if self.busy < self.slots and not self._waiting:
            self.busy += 1
            return Admission.ADMITTED
        if len(self._waiting) >= self.queue_max:
            return Admission.REJECTED
        self._waiting.append(ticket)
        return Admission.QUEUED

    def abandon(self, ticket: int) -> bool:
        """Take a ticket out of the queue; False if it was already given a slot."""
        try:
            self._waiting.remove(ticket)
        except ValueError:
            return False
        return True

    def release(self) -> list[int]:
        """Free a slot; returns the queued tickets that now hold a slot (oldest first)."""
        self.busy -= 1
        return self._fill()

    def resize(self, slots: int) -> list[int]:
        """Change the number of slots; busy slots above a smaller count drain naturally."""
        self.slots = slots
        return self._fill()

    def _fill(self) -> list[int]:
        admitted = []
        while self._waiting and self.busy < self.slots:
            admitted.append(self._waiting.popleft())
            self.busy += 1
        return admitted


class Rejected(Exception):
    def __init__(self, reason: BalancerRejection) -> None:
        super().__init__(reason.value)
        self.reason = reason


class Balancer:
    """One web node's uWSGI: worker slots and its listen backlog.

    A queued request waits as long as it takes: nothing in nginx or uWSGI answers a request
    for sitting in the backlog (nginx's own read timeout is applied around it, by the caller).
    """

    def __init__(self, slots: int, queue_max: int) -> None:
        self.pool = SlotPool(slots, queue_max)
        self._tickets = itertools.count()
        self._waiters: dict[int, asyncio.Future[None]] = {}

    async def acquire(self) -> None:
        """Wait for a worker slot, or raise Rejected when the backlog is full."""
        ticket = next(self._tickets)
        admission = self.pool.arrive(ticket)
        if admission is Admission.ADMITTED:
            return
        if admission is Admission.REJECTED:
            raise Rejected(BalancerRejection.QUEUE_FULL)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[ticket] = waiter
        try:
            await asyncio.shield(waiter)
        except BaseException:
            if not self.pool.abandon(ticket):
                self.release()  # cancelled in the instant it was given a slot
            raise
        finally:
            self._waiters.pop(ticket, None)

    def release(self) -> None:
        self._wake(self.pool.release())

    def resize(self, slots: int) -> None:
        self._wake(self.pool.resize(slots))

    def _wake(self, tickets: list[int]) -> None:
        for ticket in tickets:
            waiter = self._waiters.get(ticket)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
