"""Replaying one recorded client session (a mix's) against the lab, inside the Locust process.

The same requests in order, with the recorded think times and at most the recorded concurrency,
on projects the caller draws; a file is asked for only once a page has listed it, as the real
client would; XML-RPC serials are the lab's newest serial less the recorded lag.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.pool import Pool

from harness.load.pages import release_file_paths, simple_page_file_paths
from harness.scenario.mix import MixSession, MixStep, RpcParam
from proxies import contract

# (pop, method, path, intended start or None, headers, body) -> the response
Call = Callable[[str, str, str, float | None, dict[str, str], str | None], Any]
SERIAL_PAGES = {contract.EndpointClass.PROJECT_JSON, contract.EndpointClass.SIMPLE_INDEX}
PATHS = {
    contract.EndpointClass.SIMPLE_INDEX: "/simple/",
    contract.EndpointClass.SIMPLE_PROJECT: "/simple/{name}/",
    contract.EndpointClass.PROJECT_JSON: "/pypi/{name}/json",
    contract.EndpointClass.PROJECT_PAGE: "/pypi/{name}",
    contract.EndpointClass.SERVERSIG: "/serversig/{name}/",
    contract.EndpointClass.XMLRPC: "/pypi",
}


class NewestSerial:
    """The newest serial any answer in this process showed: JSON pages and the simple index."""

    def __init__(self, start: int) -> None:
        self.value = start

    def saw(self, serial: int) -> None:
        self.value = max(self.value, serial)


@dataclass(frozen=True)
class Arrival:
    """Where and on what one arriving session replays: its POP, the projects drawn for its
    slots, and when it was meant to start (scenario seconds)."""

    pop: str
    projects: list[str]
    intended_s: float


class Replay:
    """One recorded session against the lab: the same requests in order, with its think times,
    at most its concurrency in flight, on the projects and POP given."""

    def __init__(
        self,
        session: MixSession,
        call: Call,
        arrival: Arrival,
        newest: NewestSerial,
        still_running: Callable[[], bool],
    ) -> None:
        self.session = session
        self.call = call
        self.pop = arrival.pop
        self.projects = arrival.projects
        self.intended_s: float | None = arrival.intended_s  # the first request carries it
        self.newest = newest
        self.still_running = still_running
        self.files: dict[int, list[str]] = {}  # per project slot: the file paths pages listed
        self.files_taken: dict[int, int] = {}

    def run(self) -> None:
        pool = Pool(self.session.concurrency)
        for step in self.session.steps:
            pool.wait_available()
            gevent.sleep(step.think_s)
            if not self.still_running():
                break  # the run is over: no new requests, as for the other classes
            pool.spawn(self.send, step)
        pool.join()

    def send(self, step: MixStep) -> None:
        path = self.path_for(step)
        if path is None:
            return  # a file no page has listed: the real client could not have asked either
        headers = {"Accept": step.accept} if step.accept else {}
        body = None
        if step.rpc is not None:
            headers["Content-Type"] = "text/xml"
            body = xmlrpc.client.dumps(tuple(self.param(p) for p in step.rpc_params), step.rpc)
        intended, self.intended_s = self.intended_s, None
        response = self.call(self.pop, step.method, path, intended, headers, body)
        self.learn(step, response)

    def path_for(self, step: MixStep) -> str | None:
        if step.endpoint is contract.EndpointClass.PACKAGE_FILE:
            return self.next_file(step.project)
        name = self.projects[step.project] if step.project is not None else ""
        return PATHS.get(step.endpoint, "/").format(name=name)

    def next_file(self, slot: int | None) -> str | None:
        """The slot's newest file first, then older ones (pip takes the newest; a mirror all)."""
        files = self.files.get(slot, []) if slot is not None else []
        if slot is None or not files:
            return None
        taken = self.files_taken.get(slot, 0)
        self.files_taken[slot] = taken + 1
        return files[-1 - taken % len(files)]

    def param(self, param: RpcParam) -> Any:
        if param.project is not None:
            return self.projects[param.project]
        if param.serial_lag is not None:
            return max(0, self.newest.value - param.serial_lag)
        return param.value

    def learn(self, step: MixStep, response: Any) -> None:
        if response.status_code != 200:
            return
        if step.endpoint in SERIAL_PAGES:
            headers = response.headers or {}
            self.newest.saw(int(headers.get(contract.HEADER_LAST_SERIAL, 0) or 0))
        if step.project is None:
            return
        if step.endpoint is contract.EndpointClass.PROJECT_JSON:
            paths = release_file_paths(response)
        elif step.endpoint is contract.EndpointClass.SIMPLE_PROJECT:
            paths = simple_page_file_paths(response)
        else:
            return
        if paths:
            self.files[step.project] = paths
