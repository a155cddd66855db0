"""`shieldlab workload`: a recording's exchanges turned into a traffic mix. Pure.

A session is one client (its User-Agent) until it goes quiet for `session_gap_s`. Per session:
each request's endpoint class, method and Accept header; which of the session's projects it
names (slots, numbered as the client first touched them); the think time before it (since the
last answer the client had by then); and the most requests it had in flight.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from pydantic import Field

from harness.scenario.mix import Mix, MixSession, MixStep, RecordedFrom, RpcParam, endpoint_shares
from harness.scenario.reader import Frozen
from proxies.contract import EndpointClass, classify_path

DEFAULT_SESSION_GAP_S = 5.0
_FILE_PROJECT = re.compile(r"^(.+?)-\d")  # name-1.0.tar.gz, name-1.0-py3-none-any.whl
_SERIAL_METHODS = {"changelog_since_serial"}
_GLOBAL_SERIAL = {EndpointClass.PROJECT_JSON, EndpointClass.SIMPLE_INDEX}


class Exchange(Frozen):
    """One request and its answer as a tap saw them (the addon's export, one JSON per line)."""

    start_s: float
    end_s: float
    method: str
    path: str
    status: int = Field(description="0: no answer")
    user_agent: str = ""
    accept: str | None = None
    rpc: str | None = None
    rpc_params: list[object] = Field(default_factory=list)
    serial: int | None = Field(default=None, description="X-PYPI-LAST-SERIAL of the answer")

    @property
    def endpoint(self) -> EndpointClass:
        return classify_path(self.method, self.path.split("?", 1)[0])


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(exchange: Exchange) -> str | None:
    """The project a GET names, from its path (a file's from its file name)."""
    parts = [p for p in exchange.path.split("?", 1)[0].split("/") if p]
    endpoint = exchange.endpoint
    if endpoint is EndpointClass.PACKAGE_FILE:
        found = _FILE_PROJECT.match(parts[-1]) if parts else None
        return normalize(found.group(1)) if found else None
    if endpoint in (
        EndpointClass.SIMPLE_PROJECT,
        EndpointClass.PROJECT_JSON,
        EndpointClass.PROJECT_PAGE,
        EndpointClass.SERVERSIG,
    ):
        return normalize(parts[1]) if len(parts) > 1 else None
    return None


def client_of(exchange: Exchange) -> str:
    """The client program: the User-Agent's first product name (bandersnatch sends XML-RPC as
    `bandersnatch` and downloads as `bandersnatch/6.8.0 (...)`: one client)."""
    return exchange.user_agent.split(" ", 1)[0].split("/", 1)[0]


def split_sessions(exchanges: list[Exchange], gap_s: float) -> list[list[Exchange]]:
    """Per client program, in time order; a new session after `gap_s` without any request."""
    by_client: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in sorted(exchanges, key=lambda e: e.start_s):
        by_client[client_of(exchange)].append(exchange)
    sessions: list[list[Exchange]] = []
    for ordered in by_client.values():
        current: list[Exchange] = []
        for exchange in ordered:
            if current and exchange.start_s - max(e.end_s for e in current) > gap_s:
                sessions.append(current)
                current = []
            current.append(exchange)
        sessions.append(current)
    return sorted(sessions, key=lambda s: s[0].start_s)


def concurrency(session: list[Exchange]) -> int:
    """The most exchanges in flight at one instant."""
    edges = sorted([(e.start_s, 1) for e in session] + [(e.end_s, -1) for e in session])
    most = current = 0
    for _t, change in edges:
        current += change
        most = max(most, current)
    return max(1, most)


def _params(exchange: Exchange, slots: dict[str, int], newest_serial: int | None) -> list[RpcParam]:
    params = []
    for value in exchange.rpc_params:
        if isinstance(value, str) and normalize(value) in slots:
            params.append(RpcParam(project=slots[normalize(value)]))
        elif exchange.rpc in _SERIAL_METHODS and isinstance(value, int) and newest_serial:
            params.append(RpcParam(serial_lag=max(0, newest_serial - value)))
        elif isinstance(value, str | int | float | bool):
            params.append(RpcParam(value=value))
    return params


def session_of(exchanges: list[Exchange], newest: dict[int, int | None]) -> MixSession:
    """`newest[i]`: the newest global serial any answer had shown before exchange i began."""
    slots: dict[str, int] = {}
    steps = []
    for index, exchange in enumerate(exchanges):
        project = project_of(exchange)
        if project is not None:
            slots.setdefault(project, len(slots))
        answered = [e.end_s for e in exchanges[:index] if e.end_s <= exchange.start_s]
        think = exchange.start_s - max(answered, default=exchanges[0].start_s)
        steps.append(
            MixStep(
                endpoint=exchange.endpoint,
                method=exchange.method,
                accept=exchange.accept,
                project=None if project is None else slots[project],
                think_s=round(max(0.0, think), 4),
                rpc=exchange.rpc,
                rpc_params=_params(exchange, slots, newest.get(id(exchange))),
            )
        )
    duration = max(e.end_s for e in exchanges) - exchanges[0].start_s
    return MixSession(
        concurrency=concurrency(exchanges), duration_s=round(duration, 3), steps=steps
    )


def _newest_serials(exchanges: list[Exchange]) -> dict[int, int | None]:
    """Per exchange: the newest global serial an answer had shown before it began, or (for
    the first ones) the first any answer showed after."""
    seen = sorted(
        (e.end_s, e.serial)
        for e in exchanges
        if e.serial is not None and e.endpoint in _GLOBAL_SERIAL
    )
    newest: dict[int, int | None] = {}
    for exchange in exchanges:
        before = [serial for end, serial in seen if end <= exchange.start_s]
        newest[id(exchange)] = max(before) if before else (seen[0][1] if seen else None)
    return newest


def build_mix(
    exchanges: list[Exchange],
    name: str,
    source: Path,
    session_gap_s: float = DEFAULT_SESSION_GAP_S,
    description: str = "",
) -> Mix:
    kept = [e for e in exchanges if not e.path.startswith("/_shieldlab")]
    if not kept:
        raise ValueError(f"{source}: no client requests in the recording")
    newest = _newest_serials(kept)
    sessions = [session_of(s, newest) for s in split_sessions(kept, session_gap_s)]
    clients = sorted({e.user_agent.split(" ", 1)[0] for e in kept if "/" in e.user_agent})
    return Mix(
        name=name,
        description=description,
        recorded=RecordedFrom(
            file=source.name,
            client=", ".join(clients) or "unknown",
            exchanges=len(kept),
            session_gap_s=session_gap_s,
        ),
        endpoint_shares=endpoint_shares([e.endpoint for e in kept]),
        sessions=sessions,
    )
