"""New releases at the origin during a run, each followed by the CDN's purge of that project."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import httpx

from harness.faults.backend import OriginAdmin
from harness.records.events import Event, PublishFailed, ReleasePublished
from harness.scenario.load import LoadSpec


class Publisher:
    def __init__(
        self,
        origin: OriginAdmin,
        purge_urls: list[str],  # each CDN node's admin URL, shield first
        load: LoadSpec,  # its publish rate, seed and duration
        record: Callable[[Event], None],
    ) -> None:
        self.origin = origin
        self.purge_urls = purge_urls
        self.per_min = load.publish_per_min
        self.rng = random.Random(f"publish-{load.seed}")
        self.t0 = 0.0  # scenario time zero on the monotonic clock, given to start()
        self.duration_s = load.duration_s
        self.record = record
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="publisher", daemon=True)

    def start(self, t0_monotonic: float) -> None:
        """Publish on scenario time counted from `t0_monotonic`."""
        self.t0 = t0_monotonic
        if self.per_min > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        t = 0.0
        with httpx.Client(timeout=10, trust_env=False) as client:
            while True:
                t += self.rng.expovariate(self.per_min / 60)
                if t >= self.duration_s or self._stop.wait(
                    max(0.0, self.t0 + t - time.monotonic())
                ):
                    return
                try:
                    release = self.origin.publish()
                    key = str(release["surrogate_key"])
                    for url in self.purge_urls:
                        client.post(f"{url}/_admin/purge/{key}")
                except Exception as error:  # noqa: BLE001 - a failed publish is recorded, not fatal
                    self.record(PublishFailed(t_s=self._now(), error=str(error)))
                    continue
                self.record(ReleasePublished.model_validate({"t_s": self._now(), **release}))

    def _now(self) -> float:
        return round(time.monotonic() - self.t0, 3)
