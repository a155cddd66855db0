"""Fetching from a backend with Fastly's three timeouts, and naming why a fetch failed."""

from __future__ import annotations

import asyncio
from enum import Enum

import aiohttp

from proxies.cdn.cache import StoredResponse
from proxies.contract import BackendSettings, FetchFailure

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    )
)


class Phase(Enum):
    CONNECT = "connect"  # until the TCP connection is made
    FIRST_BYTE = "first_byte"  # until the response headers arrive
    BODY = "body"  # between chunks of the body


class FetchFailed(Exception):
    def __init__(self, reason: FetchFailure, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason


def failure_for(error: BaseException, phase: Phase) -> FetchFailure:
    """Map what went wrong, and when, to the CDN's reason text."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return FetchFailure.CONNECT_TIMEOUT
    if isinstance(error, TimeoutError):
        return {
            Phase.CONNECT: FetchFailure.CONNECT_TIMEOUT,
            Phase.FIRST_BYTE: FetchFailure.FIRST_BYTE_TIMEOUT,
            Phase.BODY: FetchFailure.BETWEEN_BYTES_TIMEOUT,
        }[phase]
    if isinstance(error, aiohttp.ClientConnectorError):
        return FetchFailure.UNHEALTHY  # refused: nothing listens behind the link
    return FetchFailure.READ_ERROR


def new_session(settings: BackendSettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=settings.max_connections, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # a CDN keeps no cookies; the jar costs per request
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    )


def _forwardable(
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


async def fetch(
    session: aiohttp.ClientSession,
    settings: BackendSettings,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
) -> StoredResponse:
    """One upstream request, the body buffered whole; raises FetchFailed with a reason."""
    phase = Phase.FIRST_BYTE
    try:
        async with asyncio.timeout(settings.first_byte_timeout_s):
            response = await session.request(
                method, url, headers=_forwardable(headers), data=body, allow_redirects=False
            )
        phase = Phase.BODY
        chunks = []
        async with response:
            while True:
                async with asyncio.timeout(settings.between_bytes_timeout_s):
                    chunk = await response.content.readany()
                if not chunk:
                    break
                chunks.append(chunk)
        return StoredResponse(
            response.status, tuple(_forwardable(list(response.headers.items()))), b"".join(chunks)
        )
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        reason = failure_for(error, phase)
        raise FetchFailed(reason, f"{type(error).__name__}: {error}") from error
