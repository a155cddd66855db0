"""A whole run through every phase, against a fake lab and a fake clock: instantly, with no
socket and no sleep. What a real run does to real processes is tested in integration/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.faults.backend import FakeActionBackend, FakeFaultBackend, LinkTarget
from harness.load.plan import LoadPlan
from harness.records import files
from harness.records.events import FaultApplied, FaultRemoved, ProcessFailed, read_events
from harness.records.request import COLUMNS as REQUEST_COLUMNS
from harness.records.run_info import Mode, RunStatus, RunTopology, read_run_info
from harness.records.samples import COLUMNS as SAMPLE_COLUMNS
from harness.records.summary import read_summary
from harness.run.clock import FakeRunClock, LoadStart, RunClock
from harness.run.context import EventSink, FaultTools, Progress
from harness.run.phases import RECOVERY_TRIES, LabBroken
from harness.run.runner import RunInterrupted, run_phases
from harness.run.scraper import LiveRates
from harness.scenario.load import LoadSpec
from harness.scenario.model import Scenario, parse_scenario

LINK = "shield->origin"


def scenario() -> Scenario:
    return parse_scenario(
        "test",
        {
            "name": "phases",
            "description": "a latency fault in the middle of a short run",
            "hypothesis": "none",
            "load": {"duration_s": 30, "publish_per_min": 0},
            "faults": [{"kind": "latency", "at": 10, "until": 20, "link": LINK, "latency_ms": 200}],
        },
    )


@dataclass
class FakeBackground:
    name: str
    log: list[str]
    calls: list[str] = field(default_factory=list)
    live: LiveRates = field(default_factory=LiveRates)

    def start(self, t0_monotonic: float) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        if "stop" not in self.calls:
            self.log.append(f"{self.name} stopped")
        self.calls.append("stop")

    def silent(self, limit_s: float) -> list[str]:
        return []


@dataclass
class FakeLab:
    """Every call the phases make, answered at once; `log` is the order things happened in."""

    clock: FakeRunClock
    dies_at_s: float | None = None  # scenario time at which a node dies
    healthy_after: bool = True
    interrupt_at_s: float | None = None  # Ctrl-C at this scenario time
    log: list[str] = field(default_factory=list)
    faults: FakeFaultBackend = field(default_factory=FakeFaultBackend)
    start: LoadStart | None = None
    records: Path | None = None

    mode = Mode.LOCAL
    log_dir = "/nowhere"

    def __post_init__(self) -> None:
        self.scraped = FakeBackground("scraper", self.log)
        self.published = FakeBackground("publisher", self.log)

    def _t(self) -> float:
        assert self.start is not None
        return self.clock.monotonic() - self.start.t0_monotonic

    def topology(self) -> RunTopology:
        return RunTopology(mode=Mode.LOCAL, nodes={}, links={}, toxiproxy_api="http://fake")

    def steady_state(self) -> dict[str, int]:
        after = self.start is not None
        self.log.append("steady state " + ("after" if after else "before"))
        return {"iad": 200 if self.healthy_after or not after else 503}

    def origin_index(self) -> tuple[list[str], int]:
        return ["a", "b"], 10

    def load_urls(self) -> dict[str, str]:
        return {"iad": "http://fake-iad"}

    def dead_process(self) -> str | None:
        if self.start is None or self.dies_at_s is None:
            return None
        return "shield" if self._t() >= self.dies_at_s else None

    def fault_tools(self, cleanup: ExitStack) -> FaultTools:
        cleanup.callback(self.log.append, "fault clients closed")
        links = {LINK: LinkTarget("shield_origin", 1)}
        return FaultTools(links, self.faults, FakeActionBackend())

    def scraper(self, samples_path: Path) -> FakeBackground:
        samples_path.write_text(",".join(SAMPLE_COLUMNS) + "\n")
        return self.scraped

    def publisher(self, load: LoadSpec, record: EventSink, cleanup: ExitStack) -> FakeBackground:
        return self.published

    def start_load(self, plan: LoadPlan, directory: Path, clock: RunClock) -> LoadStart:
        self.log.append("load started")
        self.start = LoadStart.after(clock, 3.0)
        self.records = Path(plan.records_path)
        return self.start

    def check_load(self) -> None:
        if self.interrupt_at_s is not None and self._t() >= self.interrupt_at_s:
            raise KeyboardInterrupt

    def wait_load(self) -> None:
        self.log.append("load drained")

    def stop_load(self) -> dict[str, int]:
        self.log.append(f"load stopped, faults in force: {len(self.faults.active)}")
        assert self.records is not None
        self.records.write_text(",".join(REQUEST_COLUMNS) + "\n")
        return {"locust": 0}


def run(tmp_path: Path, lab: FakeLab) -> tuple[Path | None, list[Progress]]:
    shown: list[Progress] = []

    @contextmanager
    def bring_up(report) -> Iterator[FakeLab]:
        lab.log.append("up")
        try:
            yield lab
        finally:
            lab.log.append("down")

    def progress(p: Progress) -> None:
        shown.append(Progress(p.phase, p.elapsed_s, p.total_s))

    return run_phases(scenario(), tmp_path, bring_up, lab.clock, progress), shown


def only_run(tmp_path: Path) -> Path:
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return run_dir


def test_a_whole_run_goes_through_every_phase_in_order_in_no_time(tmp_path):
    lab = FakeLab(FakeRunClock())
    began = time.monotonic()
    run_dir, shown = run(tmp_path, lab)
    assert time.monotonic() - began < 1.0  # 33 s of scenario and start margin, on a fake clock
    assert lab.clock.elapsed_s == pytest.approx(33.0)
    assert lab.log == [
        "up",
        "steady state before",
        "load started",
        "publisher stopped",
        "load drained",
        "load stopped, faults in force: 0",
        "scraper stopped",
        "fault clients closed",
        "steady state after",
        "down",
    ]
    phases = list(dict.fromkeys(p.phase for p in shown))
    assert phases[-6:] == [
        "steady state before",
        "starting load",
        "traffic and faults",
        "draining in-flight requests",
        "steady state after",
        "summarizing",
    ]
    assert run_dir is not None and run_dir.name == only_run(tmp_path).name
    info = read_run_info(run_dir / files.RUN_FILE)
    assert info.status == RunStatus.COMPLETE and info.load_parts == {"locust": 0}
    assert info.t0_epoch == pytest.approx(lab.start.t0_epoch)  # type: ignore[union-attr]
    events = read_events(run_dir / files.EVENTS_FILE)
    applied = [e.t_s for e in events if isinstance(e, FaultApplied)]
    removed = [e.t_s for e in events if isinstance(e, FaultRemoved)]
    assert applied == [10.0] and removed == [20.0]  # on scenario time, not the start margin's
    assert lab.scraped.calls == ["start", "stop"]
    assert read_summary(run_dir / files.SUMMARY_FILE).scenario == "phases"
    assert "name: phases" in (run_dir / files.SCENARIO_FILE).read_text()


def test_ctrl_c_in_the_middle_removes_the_fault_first_and_keeps_the_records(tmp_path):
    lab = FakeLab(FakeRunClock(), interrupt_at_s=15.0)
    with pytest.raises(RunInterrupted, match="faults removed, topology down"):
        run(tmp_path, lab)
    # The fault was in force at 15 s; it is gone before the load generator stops, which stops
    # before the scraper (the samples cover every request), and the clients close last.
    assert lab.faults.active == []
    assert lab.log[lab.log.index("load started") + 1 :] == [
        "publisher stopped",
        "load stopped, faults in force: 0",
        "scraper stopped",
        "fault clients closed",
        "down",
    ]
    assert lab.log[-1] == "down" and "steady state after" not in lab.log
    run_dir = only_run(tmp_path)
    assert run_dir.name.endswith(".interrupted")
    assert read_run_info(run_dir / files.RUN_FILE).status == RunStatus.INTERRUPTED


def test_a_process_that_dies_voids_the_run_and_is_recorded(tmp_path):
    lab = FakeLab(FakeRunClock(), dies_at_s=12.0)
    with pytest.raises(LabBroken, match=r"shield died at 12 s; .* the run is void"):
        run(tmp_path, lab)
    run_dir = only_run(tmp_path)
    assert read_run_info(run_dir / files.RUN_FILE).status == RunStatus.FAILED
    died = [e for e in read_events(run_dir / files.EVENTS_FILE) if isinstance(e, ProcessFailed)]
    assert [(e.process, e.t_s) for e in died] == [("shield", 12.0)]
    assert lab.faults.active == [] and lab.log[-1] == "down"


def test_a_lab_that_does_not_recover_after_the_run_voids_it_after_every_try(tmp_path):
    lab = FakeLab(FakeRunClock(), healthy_after=False)
    with pytest.raises(LabBroken, match="did not recover"):
        run(tmp_path, lab)
    assert lab.log.count("steady state after") == RECOVERY_TRIES
    assert read_run_info(only_run(tmp_path) / files.RUN_FILE).status == RunStatus.FAILED


def test_an_unhealthy_lab_before_the_run_starts_no_load(tmp_path):
    lab = FakeLab(FakeRunClock())
    lab.steady_state = lambda: {"iad": 503}  # type: ignore[method-assign]
    with pytest.raises(LabBroken, match="not healthy before the run"):
        run(tmp_path, lab)
    assert "load started" not in lab.log and lab.log[-1] == "down"
