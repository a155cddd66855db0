from harness.faults.backend import FakeActionBackend, FakeFaultBackend, LinkTarget
from harness.faults.loss import DropPackets
from harness.faults.toxics import AddToxic, DisableProxy
from harness.run.timeline import FakeClock, Moment, Timeline, plan_events
from harness.scenario.clock import with_duration
from harness.scenario.model import parse_scenario
from harness.scenario.steps import Direction

LINKS = {
    "shield->origin": LinkTarget("shield_to_origin", 4001),
    "edge-iad->shield": LinkTarget("edge-iad_to_shield", 4002),
    "edge-ams->shield": LinkTarget("edge-ams_to_shield", 4003),
    "client->edge-iad": LinkTarget("client_to_edge-iad", 4004),
}


def scenario(*faults, duration=100):
    return parse_scenario(
        "t.yaml",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": duration},
            "faults": list(faults),
        },
    )


def run(s, stop_at=None):
    faults, actions, clock, events = FakeFaultBackend(), FakeActionBackend(), FakeClock(), []
    timeline = Timeline(s, LINKS, faults, actions, clock, events.append)
    try:
        timeline.run(stop_at or s.load.duration_s)
    finally:
        timeline.remove_all()
    return faults, actions, clock, events


def test_events_are_ordered_and_ends_come_before_starts_at_the_same_time():
    s = scenario(
        {"kind": "down", "at": 20, "until": 40, "link": "shield->origin"},
        {"kind": "latency", "at": 40, "until": 60, "link": "shield->origin", "latency_ms": 5},
    )
    events = [(e.t_s, e.action, e.index) for e in plan_events(s.faults)]
    apply, remove = Moment.APPLY, Moment.REMOVE
    assert events == [(20, apply, 0), (40, remove, 0), (40, apply, 1), (60, remove, 1)]


def test_faults_are_applied_and_removed_on_time_and_the_clock_does_not_really_sleep():
    s = scenario(
        {"kind": "latency", "at": 30, "until": 70, "link": "shield->origin", "latency_ms": 2000}
    )
    faults, _, clock, events = run(s)
    assert [c[0] for c in faults.calls] == ["apply", "remove"]
    assert isinstance(faults.calls[0][1], AddToxic)
    assert faults.active == []
    assert [(e.event, e.t_s) for e in events] == [("fault_applied", 30), ("fault_removed", 70)]
    assert clock.now() == 100


def test_a_wildcard_applies_to_every_edge_link():
    s = scenario({"kind": "stall", "at": 10, "until": 20, "link": "edge-*->shield"})
    faults, _, _, events = run(s)
    applied = [c[1].proxy for c in faults.calls if c[0] == "apply"]
    assert applied == ["edge-iad_to_shield", "edge-ams_to_shield"]
    assert events[0].links == ["edge-iad->shield", "edge-ams->shield"]
    assert faults.active == []


def test_a_fault_without_until_is_removed_at_the_end():
    s = scenario({"kind": "down", "at": 10, "link": "shield->origin"})
    faults, _, _, events = run(s)
    assert faults.calls == [
        ("apply", DisableProxy("shield_to_origin")),
        ("remove", DisableProxy("shield_to_origin")),
    ]
    assert events[-1].event == "fault_removed"


def test_an_interrupted_run_still_removes_what_it_applied():
    s = scenario({"kind": "down", "at": 10, "until": 90, "link": "shield->origin"})
    faults, actions, clock, events = FakeFaultBackend(), FakeActionBackend(), FakeClock(), []
    timeline = Timeline(s, LINKS, faults, actions, clock, events.append)

    def interrupt(t):
        if t >= 50:
            raise KeyboardInterrupt

    try:
        timeline.run(100, on_tick=interrupt)
    except KeyboardInterrupt:
        pass
    finally:
        timeline.remove_all()
    assert faults.active == []
    assert 50 <= clock.now() < 90


def test_actions_reach_the_action_backend_in_order():
    s = scenario(
        {"kind": "origin_workers", "at": 50, "worker_slots": 64},
        {"kind": "journals_id_index", "at": 80, "enabled": True},
    )
    _, actions, _, events = run(s)
    assert actions.calls == [("worker_slots", 64), ("journals_id_index", True)]
    assert [e.step.kind for e in events] == ["origin_workers", "journals_id_index"]


def test_with_duration_scales_the_timeline_to_fit():
    s = scenario({"kind": "down", "at": 30, "until": 70, "link": "shield->origin"}, duration=90)
    short = with_duration(s, 30)
    assert short.load.duration_s == 30
    assert (short.faults[0].at, short.faults[0].until) == (
        10,
        70 / 3 if False else round(70 / 3, 3),
    )


def test_loss_goes_to_the_kernel_as_rules_on_the_links_port():
    s = scenario(
        {"kind": "loss", "at": 10, "until": 20, "link": "edge-*->shield", "probability": 0.05}
    )
    faults, _, _, events = run(s)
    applied = [c[1] for c in faults.calls if c[0] == "apply"]
    assert applied == [
        DropPackets("edge-iad->shield", 4002, Direction.BOTH, 0.05),
        DropPackets("edge-ams->shield", 4003, Direction.BOTH, 0.05),
    ]
    assert faults.active == [] and events[-1].event == "fault_removed"
