"""Fetching from a backend with Fastly's three timeouts, and naming why a fetch failed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace

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
    def __init__(self, reason: FetchFailure, detail: str, retryable: bool = False) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        # Varnish 2.1 retries once when a reused connection failed before the first byte.
        self.retryable = retryable


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


class _Attempt:
    """Per-request trace context: did this request go out on a reused connection?"""

    reused = False


async def _on_reuse(
    _session: aiohttp.ClientSession, context: SimpleNamespace, _params: object
) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, _Attempt):
        attempt.reused = True


def new_session(settings: BackendSettings) -> aiohttp.ClientSession:
    # No pool limit here: the node counts its fetches and fails the one past max_connections
    # at once, as Varnish does, instead of letting it queue for a connection.
    connector = aiohttp.TCPConnector(
        limit=0, limit_per_host=0, keepalive_timeout=settings.keepalive_s
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s)
    trace = aiohttp.TraceConfig()
    trace.on_connection_reuseconn.append(_on_reuse)
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # a CDN keeps no cookies; the jar costs per request
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
        trace_configs=[trace],
    )
    # aiohttp silently resends an idempotent request once when a kept-alive connection drops;
    # the CDN's own retry rule (Varnish 2.1's, in `fetch`) replaces it.
    session._retry_connection = False
    return session


def _forwardable(
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


@dataclass(frozen=True)
class UpstreamRequest:
    """What a node sends to a backend: the same on the first try and on the retry."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None


async def fetch(
    session: aiohttp.ClientSession,
    settings: BackendSettings,
    request: UpstreamRequest,
    on_retry: Callable[[], None] | None = None,
) -> StoredResponse:
    """One upstream fetch, the body buffered whole; raises FetchFailed with a reason.

    When a reused connection fails before the first byte (a first-byte timeout included) the
    fetch is tried once more, silently, as Varnish 2.1 does: on a slow backend a request can
    so wait twice the first-byte timeout before its 503.
    """
    try:
        return await _fetch_once(session, settings, request)
    except FetchFailed as failed:
        if not (settings.retry_reused and failed.retryable):
            raise
    if on_retry is not None:
        on_retry()
    return await _fetch_once(session, settings, request)


async def _fetch_once(
    session: aiohttp.ClientSession, settings: BackendSettings, request: UpstreamRequest
) -> StoredResponse:
    phase = Phase.FIRST_BYTE
    attempt = _Attempt()
    try:
        async with asyncio.timeout(settings.first_byte_timeout_s):
            response = await session.request(
                request.method,
                request.url,
                headers=_forwardable(request.headers),
                data=request.body,
                allow_redirects=False,
                trace_request_ctx=attempt,
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
        retryable = attempt.reused and phase is Phase.FIRST_BYTE
        raise FetchFailed(reason, f"{type(error).__name__}: {error}", retryable) from error
