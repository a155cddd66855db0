"""The scenario's traffic, driven by Locust in its own process (`import locust` monkey-patches
the process with gevent, so the harness never imports this module).

- pip and browser traffic is open-model: arrivals at a seeded Poisson rate, each in its own
  greenlet, so slow answers do not slow the arrivals; latency counts from the intended start.
- mirrors do what bandersnatch 1.x did in 2014: a cron tick, `changelog_since_serial` over
  XML-RPC (the only call that skips the CDN), then per changed project, in a pool of workers,
  the JSON page, every release file it lists, the simple page and the serversig page, all
  through the mirror's POP; a page whose serial is behind the changelog is retried.
- recorded mixes are open-model too: each arrival replays one recorded client session (its
  requests in order, its think times, its concurrency), with projects drawn by popularity.

Every request is written to the run's records file (see harness.records.request).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Group, Pool
from locust import FastHttpUser, events, task
from locust.exception import StopUser

from harness.load.pages import release_file_paths, release_url_paths, simple_page_file_paths
from harness.load.plan import LoadPlan, MirrorPlan, MixPlan, mirror_class, mix_class
from harness.load.replay import NewestSerial, Replay
from harness.records.request import RequestRecord, RequestWriter, part_path
from harness.traffic import Layer, MirrorClient, TrafficClass
from proxies import contract

PLAN = LoadPlan.model_validate_json(Path(os.environ["SHIELDLAB_LOAD_PLAN"]).read_text())
PIP_JSON_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
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
    return time.time() - PLAN.t0_epoch


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


class ArrivalUser(TrafficUser):
    """Open-model traffic: flows start on a Poisson schedule, whatever the answers do."""

    abstract = True

    def rate_per_s(self) -> float:
        raise NotImplementedError

    def flow(self, intended_s: float) -> None:
        raise NotImplementedError

    @task
    def drive(self) -> None:
        flows = Group()
        rate = 0.0 if over() else self.rate_per_s()
        t = 0.0
        try:
            while rate > 0:
                t += self.rng.expovariate(rate)
                if t >= PLAN.duration_s:
                    break
                sleep_until(t)
                flows.spawn(self.flow, t)
            flows.join(timeout=PLAN.client_timeout_s * 3)
        finally:
            finish(self)


class PipUser(ArrivalUser):
    traffic = TrafficClass.PIP
    fixed_count = PLAN.processes  # one per Locust process, each with its share of the rate

    def rate_per_s(self) -> float:
        return PLAN.pip.installs_per_s / PLAN.processes

    def flow(self, intended_s: float) -> None:
        pop, project = self.pick_pop(), self.pick_project()
        wants_json = self.rng.random() < PLAN.pip.json_share
        accept = PIP_JSON_ACCEPT if wants_json else "text/html"
        page = self.call(pop, "GET", f"/simple/{project}/", intended_s, {"Accept": accept})
        if page.status_code != 200:
            return
        paths = simple_page_file_paths(page)
        if paths:
            self.call(pop, "GET", paths[-1])  # pip takes the newest file


class BrowserUser(ArrivalUser):
    traffic = TrafficClass.BROWSER
    fixed_count = PLAN.processes

    def rate_per_s(self) -> float:
        return PLAN.browser.visits_per_s / PLAN.processes

    def flow(self, intended_s: float) -> None:
        pop, project = self.pick_pop(), self.pick_project()
        self.call(pop, "GET", f"/pypi/{project}/json", intended_s)
        self.call(pop, "GET", f"/pypi/{project}")


class MirrorUser(TrafficUser):
    """One bandersnatch-style mirror, cron-driven, with a pool of workers. Each mirror group is
    a class of its own (below), so Locust spreads each group's mirrors over its processes."""

    abstract = True
    traffic = TrafficClass.MIRROR
    mirror_plan: MirrorPlan

    def on_start(self) -> None:
        super().on_start()
        self.pop = self.pick_pop()

    def rpc(self, method: str, *params: Any, intended_s: float | None = None) -> Any:
        body = xmlrpc.client.dumps(params, method)
        response = self.call(
            self.pop, "POST", "/pypi", intended_s, {"Content-Type": "text/xml"}, body
        )
        if response.status_code != 200:
            return None
        try:
            return xmlrpc.client.loads(response.content)[0][0]
        except (xmlrpc.client.Fault, xmlrpc.client.ResponseError, ValueError):
            return None

    def active(self, t_s: float) -> bool:
        return any(start <= t_s < end for start, end in self.mirror_plan.active)

    @task
    def drive(self) -> None:
        try:
            if not over():
                self.cron()
        finally:
            finish(self)

    def cron(self) -> None:
        interval = self.mirror_plan.interval_s
        offset = 0.0 if self.mirror_plan.synchronized else self.rng.uniform(0, interval)
        serial: int | None = None
        for tick in itertools.count():
            intended = offset + tick * interval
            if intended >= PLAN.duration_s:
                break
            if not self.active(intended) or now_s() > intended + interval:
                continue  # not in its window, or the previous sync overran (bandersnatch's lock)
            sleep_until(intended)
            if serial is None:
                last = self.rpc("changelog_last_serial", intended_s=intended)
                if last is None:
                    continue
                serial = max(0, int(last) - self.mirror_plan.backlog_serials)
                intended = now_s()
            serial = self.sync(serial, intended)

    def sync(self, serial: int, intended_s: float) -> int:
        changes = self.rpc("changelog_since_serial", serial, intended_s=intended_s)
        if not changes:
            return serial
        targets: dict[str, int] = {}
        for name, _version, _ts, _action, change_serial in changes:
            targets[name] = max(targets.get(name, 0), int(change_serial))
        workers = Pool(self.mirror_plan.workers)
        for name, target in targets.items():
            workers.spawn(self.sync_project, name, target)
        workers.join()
        return max(serial, *targets.values())

    def sync_project(self, name: str, target_serial: int) -> None:
        """What bandersnatch 1.x did per changed project: the release files (from the JSON
        page in 1.4, from XML-RPC calls in 1.3), the simple page, the serversig page; a page
        older than the changelog is retried."""
        if now_s() >= PLAN.duration_s:
            return
        if self.mirror_plan.client is MirrorClient.BANDERSNATCH_1_3:
            paths = self.release_files_by_xmlrpc(name)
        else:
            paths = release_file_paths(self.fresh(f"/pypi/{name}/json", target_serial))
        for path in paths:
            self.call(self.pop, "GET", path)
        self.fresh(f"/simple/{name}/", target_serial)
        self.call(self.pop, "GET", f"/serversig/{name}/")

    def release_files_by_xmlrpc(self, name: str) -> list[str]:
        """bandersnatch 1.3: `package_releases(name, True)`, then `release_urls` per release."""
        versions = self.rpc("package_releases", name, True)
        paths: list[str] = []
        for version in versions if isinstance(versions, list) else []:
            paths += release_url_paths(self.rpc("release_urls", name, version))
        return paths

    def fresh(self, path: str, target_serial: int) -> Any:
        """GET a page, retried while its X-PYPI-LAST-SERIAL is behind the changelog."""
        backoff = self.mirror_plan.retry_backoff_s
        for attempt in range(len(backoff) + 1):
            page = self.call(self.pop, "GET", path)
            headers = page.headers or {}
            serial = int(headers.get(contract.HEADER_LAST_SERIAL, 0) or 0)
            if page.status_code == 200 and serial >= target_serial:
                break
            if attempt < len(backoff):
                gevent.sleep(backoff[attempt])  # a stale page: bandersnatch retries
        return page


_NEWEST_SERIAL = NewestSerial(PLAN.last_serial)


class MixUser(ArrivalUser):
    """One recorded mix: sessions arrive open-model and each replays a recorded session. Each
    mix is a class of its own (below), one user per Locust process."""

    abstract = True
    mix: MixPlan

    def on_start(self) -> None:
        self.traffic = self.mix.name
        super().on_start()

    def rate_per_s(self) -> float:
        return self.mix.sessions_per_s / PLAN.processes

    def flow(self, intended_s: float) -> None:
        session = self.rng.choice(self.mix.sessions)
        projects = [self.pick_project() for _ in range(session.projects)]
        replay = Replay(
            session,
            self.call,
            self.pick_pop(),
            projects,
            intended_s,
            _NEWEST_SERIAL,
            lambda: now_s() < PLAN.duration_s,
        )
        replay.run()


# The classes Locust runs by name (harness.load.plan names them, the driver lists them).
for _index, _group in enumerate(PLAN.mirrors):
    _name = mirror_class(_index)
    globals()[_name] = type(
        _name, (MirrorUser,), {"fixed_count": _group.count, "mirror_plan": _group}
    )
for _index, _mix in enumerate(PLAN.mixes):
    _name = mix_class(_index)
    globals()[_name] = type(_name, (MixUser,), {"fixed_count": PLAN.processes, "mix": _mix})
