"""Keeping a backend's connection pool warm, as Fastly's POPs keep connections to each other open.

Every `refresh_s` the warmer sends `count` small requests at once through the backend's own
session: the pool then holds at least `count` open connections, each used recently enough that
neither side's keep-alive closes it. A request that needs a connection takes a warm one instead
of a new handshake, which matters under packet loss (a lost SYN costs the 1 s connect timeout).
The warm-up requests are not counted as fetches and never hold a request back.
"""

from __future__ import annotations

import asyncio

import aiohttp

from proxies.cdn.tasks import cancel_and_wait
from proxies.contract import HEALTH_PATH

KEEPALIVE_SHARE = 0.5  # refresh well inside the idle timeout
RETRY_S = 1.0


def refresh_interval_s(keepalive_s: float) -> float:
    return keepalive_s * KEEPALIVE_SHARE


class PoolWarmer:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        count: int,
        keepalive_s: float,
        timeout_s: float,
    ) -> None:
        self.url = url.rstrip("/") + HEALTH_PATH
        self.count = count
        self.refresh_s = refresh_interval_s(keepalive_s)
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _one(self) -> bool:
        try:
            async with self._session.get(self.url, timeout=self._timeout) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _run(self) -> None:
        while True:
            # All at once, so each needs a connection of its own.
            answered = await asyncio.gather(*(self._one() for _ in range(self.count)))
            # A round that did not fill the pool (the link not routed yet at start, or down)
            # is tried again soon, not a half keep-alive later.
            await asyncio.sleep(self.refresh_s if all(answered) else RETRY_S)
