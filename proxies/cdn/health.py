"""Backend health probes, as Varnish's `.probe`: a window of recent results and a threshold.

`ProbeWindow` is the arithmetic (pure, unit-tested): Varnish keeps the last results in a shift
register, pre-fills `initial` good ones, and calls the backend healthy while at least
`threshold` of the last `window` probes succeeded. So a healthy backend turns sick after
`window - threshold + 1` failed probes in a row, and a sick one healthy again after `threshold`
good ones. `Prober` is the thin asyncio shell that sends one probe every `interval_s`, on a new
connection each time, as Varnish does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import aiohttp

from proxies.cdn.tasks import cancel_and_wait
from proxies.contract import ProbeSettings


class ProbeWindow:
    def __init__(self, window: int, threshold: int, initial: int) -> None:
        self.threshold = threshold
        # Varnish's register starts with `initial` good bits; the rest read as failures.
        self._results: deque[bool] = deque(
            [False] * (window - initial) + [True] * initial, maxlen=window
        )

    @classmethod
    def of(cls, settings: ProbeSettings) -> ProbeWindow:
        return cls(settings.window, settings.threshold, settings.initial)

    @property
    def good(self) -> int:
        return sum(self._results)

    @property
    def healthy(self) -> bool:
        return self.good >= self.threshold

    def record(self, ok: bool) -> bool:
        """Add one probe's result; returns True when the backend's state changed."""
        before = self.healthy
        self._results.append(ok)
        return self.healthy != before


class Prober:
    """Probes one backend until stopped; `window.healthy` is what the director reads."""

    def __init__(
        self,
        url: str,
        settings: ProbeSettings,
        on_result: Callable[[bool], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/") + settings.path
        self.settings = settings
        self.window = ProbeWindow.of(settings)
        self._on_result = on_result
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        # A probe closes its connection: a new TCP connection each time, like Varnish's.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=0),
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._session is not None:
            await self._session.close()

    async def probe_once(self) -> bool:
        assert self._session is not None
        try:
            async with self._session.get(self.url) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            ok = await self.probe_once()
            self.window.record(ok)
            if self._on_result is not None:
                self._on_result(ok)
            # Probes keep their cadence: a slow probe does not push the next one back.
            await asyncio.sleep(max(0.0, self.settings.interval_s - (loop.time() - started)))
