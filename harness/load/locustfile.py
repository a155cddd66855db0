"""The scenario's traffic, driven by Locust in its own process (`import locust` monkey-patches
the process with gevent, so the harness never imports this module).

- pip and browser traffic is open-model: arrivals at a seeded Poisson rate, each in its own
  greenlet, so slow answers do not slow the arrivals; latency counts from the intended start.
- mirrors do what bandersnatch 1.x did in 2014 (harness.load.mirror_user).
- recorded mixes are open-model too: each arrival replays one recorded client session (its
  requests in order, its think times, its concurrency), with projects drawn by popularity.

Every request is sent and written to the run's records file by harness.load.traffic_user.
"""

from __future__ import annotations

from gevent.pool import Group
from locust import task

from harness.load.mirror_user import MirrorUser
from harness.load.pages import simple_page_file_paths
from harness.load.plan import MixPlan, mirror_class, mix_class
from harness.load.replay import Arrival, NewestSerial, Replay
from harness.load.traffic_user import PLAN, TrafficUser, finish, now_s, over, sleep_until
from harness.scenario.traffic import TrafficClass

PIP_JSON_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


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
        arrival = Arrival(self.pick_pop(), projects, intended_s)

        def running() -> bool:
            return now_s() < PLAN.duration_s

        Replay(session, self.call, arrival, _NEWEST_SERIAL, running).run()


# The classes Locust runs by name (harness.load.plan names them, the driver lists them).
for _index, _group in enumerate(PLAN.mirrors):
    _name = mirror_class(_index)
    globals()[_name] = type(
        _name, (MirrorUser,), {"fixed_count": _group.count, "mirror_plan": _group}
    )
for _index, _mix in enumerate(PLAN.mixes):
    _name = mix_class(_index)
    globals()[_name] = type(_name, (MixUser,), {"fixed_count": PLAN.processes, "mix": _mix})
