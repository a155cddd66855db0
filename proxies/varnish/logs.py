"""What the node learns from Varnish's shared-memory log: each answer's status and cache state
(`varnishncsa`), and why each failed fetch failed (`varnishlog`'s FetchError).

Both readers are children tied to this process; a thread reads each. The parsers are pure.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from proxies import contract
from proxies.contract import CacheState, FetchFailure
from proxies.varnish.daemon import program, spawn_tied, stop_tied
from proxies.varnish.reasons import fetch_error_reason

# The lab's own requests (health, metrics, purges) are not traffic: the model counts none.
_LAB_PATHS = "|".join(
    re.escape(p.lstrip("/"))
    for p in (contract.METRICS_PATH, contract.HEALTH_PATH, contract.ADMIN_PREFIX + "/")
)
NCSA_QUERY = f'ReqURL !~ "^/({_LAB_PATHS})"'
NCSA_FORMAT = f"%s\t%{{{contract.HEADER_CACHE}}}o\t%{{{contract.HEADER_ERROR_NODE}}}o"


@dataclass(frozen=True)
class Answer:
    status: str
    cache_state: CacheState | None  # None: this node's own synthetic error


def parse_answer(line: str, node: str) -> Answer | None:
    """One varnishncsa line (status, X-Cache, X-Shieldlab-Error-Node); None if malformed."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 3 or not fields[0].isdigit():
        return None
    status, trail, error_node = fields
    if error_node == node:
        return Answer(status, None)
    own = trail.rsplit(",", 1)[-1].strip()
    try:
        return Answer(status, CacheState(own))
    except ValueError:
        return Answer(status, None)


_RAW = re.compile(r"^\s*(?P<vxid>\d+)\s+(?P<tag>\w+)\s+\S+\s*(?P<text>.*)$")
FETCH_LOG_TAGS = "BackendOpen,FetchError,Link,End"


@dataclass(frozen=True)
class FailedAttempt:
    """One backend transaction that failed: why, on which backend, and whether the VCL tried
    it again (the silent retry) rather than answering with the failure."""

    reason: FetchFailure
    backend: str  # its VCL identifier ("origin_1"), "" if it never got a connection
    retried: bool


@dataclass
class _Transaction:
    backend: str = ""
    reason: FetchFailure | None = None
    retried: bool = False


class FetchErrors:
    """Follows `varnishlog -g raw -i BackendOpen,FetchError,Link,End`. A transaction's first
    FetchError names its cause (a body timeout logs "Resource temporarily unavailable", then
    "straight insufficient bytes"); a `Link ... retry` before its End means the VCL fetched
    again in a new transaction. Each failed transaction is reported once, at its End."""

    def __init__(self, remembered: int = 4096) -> None:
        self._open: OrderedDict[str, _Transaction] = OrderedDict()
        self._remembered = remembered

    def _transaction(self, vxid: str) -> _Transaction:
        if vxid not in self._open:
            self._open[vxid] = _Transaction()
            if len(self._open) > self._remembered:  # an End lost with the log's overrun
                self._open.popitem(last=False)
        return self._open[vxid]

    def attempt(self, line: str) -> FailedAttempt | None:
        match = _RAW.match(line)
        if match is None:
            return None
        vxid, tag, text = match["vxid"], match["tag"], match["text"]
        if tag == "End":
            done = self._open.pop(vxid, None)
            if done is None or done.reason is None:
                return None
            return FailedAttempt(done.reason, done.backend, done.retried)
        transaction = self._transaction(vxid)
        if tag == "BackendOpen":
            fields = text.split()
            transaction.backend = fields[1] if len(fields) > 1 else ""
        elif tag == "FetchError" and transaction.reason is None:
            transaction.reason = fetch_error_reason(text)
        elif tag == "Link" and text.split()[-1:] == ["retry"]:
            transaction.retried = True
        return None


def worth_keeping(line: str) -> bool:
    """The records a node's log keeps: why fetches failed and which were tried again (every
    fetch's BackendOpen and End would drown them)."""
    match = _RAW.match(line)
    return match is not None and match["tag"] in ("FetchError", "Link")


class LogReader:
    """A Varnish log program whose every line goes to `on_line` (and, if `copy` is given,
    to that file too when `keep` says so)."""

    def __init__(
        self,
        argv: list[str],
        on_line: Callable[[str], None],
        copy: IO[str] | None,
        keep: Callable[[str], bool] = lambda _: True,
    ):
        self._process = spawn_tied(argv, subprocess.PIPE)
        self._on_line = on_line
        self._copy = copy
        self._keep = keep
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode(errors="replace")
            if self._copy is not None and self._keep(line):
                self._copy.write(line)
                self._copy.flush()
            self._on_line(line)

    def stop(self) -> None:
        stop_tied(self._process, grace_s=3.0)


def answers_reader(work_dir: Path, on_line: Callable[[str], None]) -> LogReader:
    argv = [program("varnishncsa"), "-n", str(work_dir), "-c", "-F", NCSA_FORMAT, "-q", NCSA_QUERY]
    return LogReader(argv, on_line, None)


def fetch_errors_reader(work_dir: Path, on_line: Callable[[str], None], copy: IO[str]) -> LogReader:
    argv = [program("varnishlog"), "-n", str(work_dir), "-b", "-g", "raw", "-i", FETCH_LOG_TAGS]
    return LogReader(argv, on_line, copy, worth_keeping)
