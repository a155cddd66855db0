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


_RAW = re.compile(r"^\s*(?P<vxid>\d+)\s+FetchError\s+\S+\s+(?P<text>.*)$")


class FetchErrors:
    """Parses `varnishlog -g raw -i FetchError`: the first error of each fetch names its
    cause (a body timeout logs "Resource temporarily unavailable", then "straight
    insufficient bytes")."""

    def __init__(self, remembered: int = 4096) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def reason(self, line: str) -> FetchFailure | None:
        match = _RAW.match(line)
        if match is None or match["vxid"] in self._seen:
            return None
        self._seen[match["vxid"]] = None
        if len(self._seen) > self._remembered:
            self._seen.popitem(last=False)
        return fetch_error_reason(match["text"])


class LogReader:
    """A Varnish log program whose every line goes to `on_line` (and, if `copy` is given,
    to that file too)."""

    def __init__(self, argv: list[str], on_line: Callable[[str], None], copy: IO[str] | None):
        self._process = spawn_tied(argv, subprocess.PIPE)
        self._on_line = on_line
        self._copy = copy
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode(errors="replace")
            if self._copy is not None:
                self._copy.write(line)
                self._copy.flush()
            self._on_line(line)

    def stop(self) -> None:
        stop_tied(self._process, grace_s=3.0)


def answers_reader(work_dir: Path, on_line: Callable[[str], None]) -> LogReader:
    argv = [program("varnishncsa"), "-n", str(work_dir), "-c", "-F", NCSA_FORMAT, "-q", NCSA_QUERY]
    return LogReader(argv, on_line, None)


def fetch_errors_reader(work_dir: Path, on_line: Callable[[str], None], copy: IO[str]) -> LogReader:
    argv = [program("varnishlog"), "-n", str(work_dir), "-g", "raw", "-i", "FetchError"]
    return LogReader(argv, on_line, copy)
