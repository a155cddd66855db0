"""A lean keep-alive HTTP/1.1 GET client for `shieldlab bench`.

The benchmark measures the nodes, so the client must cost far less than they do: general
clients (aiohttp, httpx, Locust) spend more CPU per request than a cache hit costs the edge
and would measure themselves on this 2-core machine. This one only writes a fixed request and
reads a Content-Length body; the node programs never use it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness.analysis.windows import percentile
from harness.errors import InfrastructureError


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"bench targets are http://host:port/path URLs; got {url!r}")
        return cls(parts.hostname, parts.port, parts.path or "/")

    def request(self, path: str | None = None) -> bytes:
        return (
            f"GET {path or self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "User-Agent: shieldlab-bench\r\nAccept: */*\r\n\r\n"
        ).encode()


def parse_head(head: bytes) -> tuple[int, int]:
    """(status, content length) of a response head; a missing length means an empty body."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, length


@dataclass
class Tally:
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)

    def count(self, status: int, latency_s: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies_s.append(latency_s)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def percentile_ms(self, q: float) -> float:
        """A percentile of the latencies, in milliseconds (numpy's, as every report's)."""
        return percentile(self.latencies_s, q) * 1000

    def require_ok(self, what: str) -> None:
        """A measurement counts only if every answer was a 200."""
        bad = {s: n for s, n in self.statuses.items() if s != 200}
        if bad:
            raise InfrastructureError(f"bench: {what}: non-200 answers {bad}; see the node logs")


class Connection:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, request: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.target.host, self.target.port
            )
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length = parse_head(head[:-4])
        if length:
            await self._reader.readexactly(length)
        return status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


async def saturate(target: Target, connections: int, duration_s: float) -> Tally:
    """Closed loop: each connection sends its next request as soon as the last one ends."""
    tally = Tally()
    request = target.request()
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        connection = Connection(target)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.get(request)
                tally.count(status, time.perf_counter() - started)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return tally


async def paced(
    rate_per_s: float, count: int, route: Callable[[int], tuple[Target, str]]
) -> dict[Target, Tally]:
    """Open loop at a fixed rate; request i goes to `route(i)` (target, path).

    Latency counts from each request's intended start, so a slow answer cannot hide the
    requests that should have followed it (no coordinated omission).
    """
    tallies: dict[Target, Tally] = {}
    idle: dict[Target, list[Connection]] = {}
    start = time.perf_counter() + 0.05

    async def one(index: int) -> None:
        target, path = route(index)
        tally = tallies.setdefault(target, Tally())
        pool = idle.setdefault(target, [])
        intended = start + index / rate_per_s
        await asyncio.sleep(max(0.0, intended - time.perf_counter()))
        connection = pool.pop() if pool else Connection(target)
        try:
            status = await connection.get(target.request(path))
        except (OSError, asyncio.IncompleteReadError):
            connection.close()
            tally.count(0, time.perf_counter() - intended)
            return
        tally.count(status, time.perf_counter() - intended)
        pool.append(connection)

    await asyncio.gather(*(one(i) for i in range(count)))
    for pool in idle.values():
        for connection in pool:
            connection.close()
    return tallies
