"""A CDN node's backends and the random director over them.

Each `Backend` is one server behind one link: its own connection pool, its count of fetches in
flight (at `max_connections` a fetch fails at once, as Varnish's `backend_busy`), and its probe.
The `Director` picks at random among the healthy ones, as Fastly's random director did for
PyPI's two web nodes; with none healthy it falls back to the static mirror if it has one and
that is healthy (distutils-sig 2014-May/024321), else picks nothing. Between POPs a backend's
pool is kept warm (`PoolWarmer`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from proxies.cdn.health import Prober
from proxies.cdn.upstream import new_session
from proxies.cdn.warm import PoolWarmer
from proxies.contract import BackendSettings


@dataclass
class Backend:
    name: str
    url: str
    settings: BackendSettings
    in_flight: int = 0
    prober: Prober | None = None
    warmer: PoolWarmer | None = None
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @property
    def healthy(self) -> bool:
        return self.prober is None or self.prober.window.healthy

    @property
    def busy(self) -> bool:
        return self.in_flight >= self.settings.max_connections

    def start(self, on_probe: Callable[[bool], None] | None = None) -> None:
        self.session = new_session(self.settings)
        if self.settings.probe is not None:
            self.prober = Prober(self.url, self.settings.probe, on_probe)
            self.prober.start()
        if self.settings.warm_connections:
            self.warmer = PoolWarmer(
                self.session,
                self.url,
                self.settings.warm_connections,
                self.settings.keepalive_s,
                self.settings.connect_timeout_s + self.settings.first_byte_timeout_s,
            )
            self.warmer.start()

    async def stop(self) -> None:
        if self.prober is not None:
            await self.prober.stop()
        if self.warmer is not None:
            await self.warmer.stop()
        if self.session is not None:
            await self.session.close()


class Director:
    def __init__(
        self,
        backends: Sequence[Backend],
        rng: random.Random,
        fallback: Sequence[Backend] = (),
    ) -> None:
        if not backends:
            raise ValueError("a director needs at least one backend")
        self.backends = list(backends)
        self.fallback = list(fallback)
        self._rng = rng

    @property
    def healthy(self) -> bool:
        """Varnish's `req.backend.healthy` for a director: any backend healthy (the fallback
        included: grace stays short while the mirror can answer)."""
        return any(backend.healthy for backend in self.backends + self.fallback)

    def pick(self) -> Backend | None:
        for tier in (self.backends, self.fallback):
            healthy = [backend for backend in tier if backend.healthy]
            if healthy:
                return self._rng.choice(healthy)
        return None
