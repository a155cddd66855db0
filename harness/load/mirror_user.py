"""Mirrors as bandersnatch 1.x drove them in 2014, in Locust's process: a cron tick,
`changelog_since_serial` over XML-RPC (the only call that skips the CDN's shield), then per
changed project, in a pool of workers, the release files, the simple page and the serversig
page, all through the mirror's POP; a page whose serial is behind the changelog is retried.
Imported only by the locustfile.
"""

from __future__ import annotations

import itertools
import xmlrpc.client
from typing import Any

import gevent
from gevent.pool import Pool
from locust import task

from harness.load.pages import release_file_paths, release_url_paths
from harness.load.plan import MirrorPlan
from harness.load.traffic_user import PLAN, TrafficUser, finish, now_s, over, sleep_until
from harness.scenario.traffic import MirrorClient, TrafficClass
from proxies import contract


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
