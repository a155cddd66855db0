"""The traffic's common ground in Locust's process: the load plan, the scenario clock, the
records file, the end of the run, and the one user base whose `call` sends and records every
request. Imported only by the locustfile and its users (`import locust` patches the process
with gevent; the harness never imports these modules).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events
from locust.exception import StopUser

from harness.load.plan import LoadPlan
from harness.records.request import RequestRecord, RequestWriter, part_path
from harness.scenario.traffic import Layer
from proxies import contract

PLAN = LoadPlan.model_validate_json(Path(os.environ["SHIELDLAB_LOAD_PLAN"]).read_text())
if PLAN.t0_epoch is None:  # the lab stamps it when it starts the load; a plan without is not one
    raise SystemExit(f"{os.environ['SHIELDLAB_LOAD_PLAN']}: t0_epoch: not set; the harness starts Locust")
T0_EPOCH: float = PLAN.t0_epoch
_POPULARITY = list(
    itertools.accumulate(
        1 / rank**PLAN.popularity_exponent for rank in range(1, len(PLAN.projects) + 1)
    )
)


class Recorder:
    def __init__(self, path: str) -> None:
        self._file = open(path, "w", newline="")  # noqa: SIM115 - open for the whole run
        self._writer = RequestWriter(self._file)

    def write(self, record: RequestRecord) -> None:
        self._writer.write(record)

    def close(self) -> None:
        self._file.close()


# Each Locust process (one, or a master and its workers) writes a part of its own; the harness
# joins them into requests.csv when Locust has ended (harness.load.driver).
RECORDER = Recorder(part_path(PLAN.records_path, socket.gethostname(), os.getpid()))


@events.quitting.add_listener
def _close_records(**_kwargs: Any) -> None:
    RECORDER.close()


def now_s() -> float:
    """Scenario seconds: 0 is the instant the harness starts the fault timeline."""
    return time.time() - T0_EPOCH


def sleep_until(t_s: float) -> None:
    gevent.sleep(max(0.0, t_s - now_s()))


_started: set[int] = set()  # the users of this process
_finished: set[int] = set()


def _quit_if_done(runner: Any) -> None:
    if _finished >= _started:
        runner.quit()  # a worker's quit tells the master; the last worker's ends the run


def finish(user: FastHttpUser) -> None:
    """A user with no more work stops; the last one of this process to finish ends it, once
    the run's time is over.

    Stopping (rather than sleeping) matters: Locust's `--stop-timeout` waits for users still
    inside a task, which made every run wait 5 s for users that had nothing left to do."""
    _finished.add(id(user))
    runner = user.environment.runner
    if _finished >= _started and runner is not None:
        gevent.spawn_later(max(0.1, PLAN.duration_s - now_s() + 0.1), _quit_if_done, runner)
    raise StopUser()


def over() -> bool:
    """The run's time is over. A master hands a quitting worker's users to the others; such
    late users must not replay the run's arrivals in a burst, so they stop at once."""
    return now_s() >= PLAN.duration_s


class TrafficUser(FastHttpUser):
    abstract = True
    host = "http://127.0.0.1"
    concurrency = 500
    network_timeout = PLAN.client_timeout_s
    connection_timeout = PLAN.client_timeout_s
    max_retries = 0
    traffic: str  # a TrafficClass, or a mix's name
    _instances = itertools.count()

    def on_start(self) -> None:
        _started.add(id(self))
        self.index = next(self._instances)
        runner = self.environment.runner
        worker = getattr(runner, "worker_index", 0) if runner is not None else 0
        stream = f"{self.index}" if worker <= 0 else f"w{worker}-{self.index}"  # one per process
        self.rng = random.Random(f"{PLAN.seed}-{self.traffic}-{stream}")

    def pick_pop(self) -> str:
        pops = list(PLAN.pop_share)
        return self.rng.choices(pops, weights=[PLAN.pop_share[p] for p in pops])[0]

    def pick_project(self) -> str:
        # Popularity follows Zipf's law: a few projects get most of the downloads.
        return self.rng.choices(PLAN.projects, cum_weights=_POPULARITY)[0]

    def call(
        self,
        pop: str,
        method: str,
        path: str,
        intended_s: float | None = None,
        headers: dict[str, str] | None = None,
        data: str | None = None,
    ) -> Any:
        endpoint = contract.classify_path(method, path.split("?", 1)[0]).value
        start = now_s()
        response = self.client.request(
            method, PLAN.pops[pop] + path, name=endpoint, headers=headers, data=data
        )
        end = now_s()
        intended = start if intended_s is None else intended_s
        status = response.status_code or 0
        response_headers: Any = response.headers or {}
        error_node = response_headers.get(contract.HEADER_ERROR_NODE, "")
        error_reason = response_headers.get(contract.HEADER_ERROR_REASON, "")
        if status == 0:
            error_node = Layer.CLIENT.value
            error_reason = type(getattr(response, "error", None)).__name__
        RECORDER.write(
            RequestRecord.observed(
                intended_s=round(intended, 4),
                start_s=round(start, 4),
                traffic=self.traffic,
                endpoint=endpoint,
                method=method,
                status=status,
                latency_ms=round((end - intended) * 1000, 3),
                bytes=len(response.content or b"") if status else 0,
                pop=pop,
                served_by=response_headers.get(contract.HEADER_SERVED_BY, ""),
                x_cache=response_headers.get(contract.HEADER_CACHE, ""),
                error_node=error_node,
                error_reason=error_reason,
            )
        )
        return response
