"""Request collapsing: concurrent misses for one object make a single upstream fetch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Collapser(Generic[T]):
    def __init__(self) -> None:
        self._in_flight: dict[str, asyncio.Future[T]] = {}

    def in_flight(self) -> int:
        return len(self._in_flight)

    def is_in_flight(self, key: str) -> bool:
        return key in self._in_flight

    async def run(self, key: str, fetch: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Return (result, led): led is True for the one caller that actually fetched.

        Followers share the leader's result or its exception. A follower that is cancelled
        does not cancel the fetch the others are waiting on.
        """
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await fetch()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: followers may be none
            raise
        else:
            future.set_result(result)
            return result, True
        finally:
            del self._in_flight[key]
