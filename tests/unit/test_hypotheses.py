"""Hypothesis families as data: paths, combinations, the shipped files, and the run plans."""

import pytest

from harness.errors import BadInput
from harness.scenario.steps import LatencyFault, LossFault, MirrorsAction, OriginWorkersAction
from harness.scenario.traffic import MirrorClient
from harness.validate.families import (
    Family,
    combine,
    load_family,
    point_scenario,
    set_path,
    shipped_families,
    value_str,
)
from harness.validate.plan import check_segments, make_plan
from harness.validate.signature import load_signature
from harness.validate.sweep import (
    QUICK_DELAY_PART_S,
    QUICK_LOSS_PART_S,
    QUICK_WARMUP_S,
    Probe,
    full_plan,
    quick_plan,
    scored,
    staircase,
    with_scale_up,
)

SIGNATURE = load_signature("pypi-2014-07-20")
SCALE_UP = SIGNATURE.scale_up
HELD_S = 15 / 4  # the CDN's first-byte timeout on the quick clock
DELAY_STEP_S = 2 * QUICK_DELAY_PART_S + HELD_S

DATA = {
    "faults": [{"kind": "loss", "name": "lossy", "probability": 0.1}],
    "load": {"mirrors": [{"name": "mirrors"}, {"name": "eager", "workers": 50}]},
}


def test_a_path_picks_list_entries_by_name_and_leaves_the_original_alone():
    out = set_path(DATA, "faults.lossy.probability", 0.02, "f")
    assert out["faults"][0]["probability"] == 0.02
    assert DATA["faults"][0]["probability"] == 0.1
    assert (
        set_path(DATA, "load.mirrors.eager.workers", 200, "f")["load"]["mirrors"][1]["workers"]
        == 200
    )
    assert set_path(DATA, "topology.origin.queue_max", 9, "f")["topology"] == {
        "origin": {"queue_max": 9}
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("faults.lossy", "names a whole entry"),
        ("faults.lossless.probability", "no entry named 'lossless'.*named: lossy"),
        ("faults.lossy.probability.x", "is not a mapping"),
    ],
)
def test_a_path_that_leads_nowhere_is_one_line_naming_the_file(path, message):
    with pytest.raises(BadInput, match=f"^f: {path}: .*{message}"):
        set_path(DATA, path, 1, "f")


def test_combining_adds_the_other_causes_steps_groups_and_topology():
    base = {
        "topology": {"origin": {"queue_max": 128}},
        "load": {"duration_s": 90},
        "faults": [{"kind": "latency", "name": "a"}],
    }
    plus = {
        "topology": {"origin": {"worker_slots": 8}},
        "load": {"mirrors": [{"name": "mirrors", "count": 9}, {"name": "eager"}]},
        "faults": [{"kind": "mirrors", "group": "eager"}],
    }
    both = combine(base, plus)
    assert both["topology"] == {"origin": {"queue_max": 128, "worker_slots": 8}}
    # the base's default group stays as it was; the other's new group is added
    assert both["load"]["mirrors"] == [{"name": "mirrors"}, {"name": "eager"}]
    assert [f["kind"] for f in both["faults"]] == ["latency", "mirrors"]
    assert both["load"]["duration_s"] == 90


def test_every_shipped_family_loads_and_builds_its_points():
    names = shipped_families()
    assert {"loss-shield-origin", "latency-pop-shield-mirror", "eager-mirror", "serial-log"} <= set(
        names
    )
    for name in names:
        family = load_family(name)
        for value in family.points(quick=False):
            scenario = point_scenario(family, value)
            assert scenario.name.startswith(family.name)


def test_a_point_sets_the_swept_value():
    family = load_family("loss-shield-origin-mirror")
    scenario = point_scenario(family, 0.05)
    loss = [f for f in scenario.faults if isinstance(f, LossFault)]
    assert [f.probability for f in loss] == [0.05]
    assert any(isinstance(f, MirrorsAction) and f.group == "eager" for f in scenario.faults)
    assert scenario.name == "loss-shield-origin-mirror-0p05"
    assert value_str(1_500_000) == "1500000" and value_str(0.005) == "0.005"


def test_a_family_with_plus_needs_words_for_it():
    with pytest.raises(ValueError, match="plus_text"):
        Family(name="x", title="t", cause="c", scenario="baseline", plus=["eager-mirror"])


def test_a_bad_family_file_is_refused_with_its_path(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text(
        "name: mine\ntitle: t\ncause: c\nscenario: shield-origin-loss\n"
        "sweep: {parameter: faults.lossy.probability, values: [0.1]}\n"
    )
    with pytest.raises(
        BadInput,
        match=r"mine.yaml: sweep.parameter: faults.lossy.probability: no entry named 'lossy'",
    ):
        load_family(str(own))


def two_quick_points(name: str) -> Family:
    """A shipped latency family swept at two quick points (the shipped ones test one)."""
    family = load_family(name)
    assert family.sweep is not None
    sweep = family.sweep.model_copy(update={"quick": [8000, 14000]})
    return family.model_copy(update={"sweep": sweep})


def test_a_staircase_steps_each_family_through_its_points_in_one_run():
    alone, mirror = (
        two_quick_points("latency-shield-origin"),
        two_quick_points("latency-shield-origin-mirror"),
    )
    run = staircase([alone, mirror], SCALE_UP)
    steps = [f for f in run.scenario.faults if isinstance(f, LatencyFault)]
    points = alone.points(quick=True)
    assert [s.latency_ms for s in steps] == points * 2
    assert [s.name for s in steps][:2] == [
        f"latency-shield-origin@{points[0]:g}",
        f"latency-shield-origin@{points[1]:g}",
    ]
    assert [s.at for s in steps] == pytest.approx(
        [QUICK_WARMUP_S + i * DELAY_STEP_S for i in range(len(steps))]
    )
    assert all(s.until == pytest.approx(s.at + DELAY_STEP_S) for s in steps)
    # the eager mirror is on only in its family's segment
    storm = [f for f in run.scenario.faults if isinstance(f, MirrorsAction)]
    assert [(m.at, m.until) for m in storm] == [(steps[len(points)].at, steps[-1].until)]
    assert [p.focus for p in run.probes] == [s.name for s in steps]
    assert run.scenario.load.duration_s > steps[-1].until
    # Toxiproxy releases held answers when a toxic changes: a step's held tail is not scored
    probe = run.probes[1]
    seen = scored(run.scenario, probe).faults
    cut = {s.name: s for s in seen}[probe.focus]
    assert (cut.at, cut.until) == pytest.approx((steps[1].at, steps[1].at + 2 * QUICK_DELAY_PART_S))
    assert scored(run.scenario, Probe(alone, None)) == run.scenario


def test_each_staircase_step_ends_scaled_up_and_scoring_sees_only_its_own_scale_up():
    run = staircase([two_quick_points("latency-shield-origin")], SCALE_UP)
    steps = [f for f in run.scenario.faults if isinstance(f, LatencyFault)]
    scales = [f for f in run.scenario.faults if isinstance(f, OriginWorkersAction)]
    slots = run.scenario.topology.origin.worker_slots
    # up halfway through the scored part, back at the step's end, for every step
    assert [s.worker_slots for s in scales] == [slots * SCALE_UP.worker_factor, slots] * 2
    assert [s.at for s in scales] == pytest.approx(
        [t for step in steps for t in (step.at + QUICK_DELAY_PART_S, step.until)]
    )
    for probe, step in zip(run.probes, steps, strict=True):
        seen = [f for f in scored(run.scenario, probe).faults if isinstance(f, OriginWorkersAction)]
        assert [s.at for s in seen] == [step.at + QUICK_DELAY_PART_S]


def test_a_loss_staircase_is_scored_whole_and_keeps_the_kernels_clock():
    run = staircase([load_family("loss-pop-shield")], SCALE_UP)
    steps = [f for f in run.scenario.faults if isinstance(f, LossFault)]
    assert all(s.until == s.at + 2 * QUICK_LOSS_PART_S for s in steps)
    assert all(p.unscored_s == 0 for p in run.probes)


def test_the_quick_plan_shares_runs_by_template_and_speeds_up_only_the_network_clock():
    families = [f for f in map(load_family, shipped_families()) if f.in_quick_mode]
    plan = quick_plan(families, SCALE_UP)
    probes = [p.family.name for run in plan for p in run.probes]
    assert set(probes) == {f.name for f in families}
    assert len(plan) == 6  # four staircases, the eager mirror, the serial log
    by_name = {run.scenario.name: run for run in plan}
    loss = by_name["shield-origin-loss-staircase"].scenario
    jitter = by_name["shield-origin-jitter-staircase"].scenario
    assert loss.topology.shield.backend.first_byte_timeout_s == 15  # the kernel's clock
    assert jitter.topology.shield.backend.first_byte_timeout_s == 15 / 4
    assert sum(run.expected_s for run in plan) < 240  # make demo's 5 minutes, with setup


def test_quick_mode_names_the_families_only_full_mode_runs_and_how_to_run_them():
    families = [load_family("eager-mirror"), load_family("eager-mirror-1p3")]
    quick = make_plan(SIGNATURE, families, quick=True)
    assert [p.family.name for run in quick.runs for p in run.probes] == ["eager-mirror"]
    assert "shieldlab validate --family eager-mirror-1p3" in quick.skipped["eager-mirror-1p3"]
    full = make_plan(SIGNATURE, families, quick=False)
    assert "eager-mirror-1p3" not in full.skipped
    old = [run for run in full.runs if run.probes[0].family.name == "eager-mirror-1p3"]
    assert [run.probes[0].value for run in old] == [10, 20, 50, 100, 200]
    eager = {g.name: g for g in old[0].scenario.load.mirrors}["eager"]
    assert eager.client is MirrorClient.BANDERSNATCH_1_3


def test_the_full_plan_runs_every_point_with_the_scale_up_midway():
    family = load_family("loss-shield-origin")
    plan = full_plan([family], SCALE_UP)
    assert [p.probes[0].value for p in plan] == family.points(quick=False)
    loss = next(f for f in plan[0].scenario.faults if isinstance(f, LossFault))
    scale = next(f for f in plan[0].scenario.faults if isinstance(f, OriginWorkersAction))
    assert loss.at < scale.at < (loss.until or 0)
    assert scale.worker_slots == 4 * plan[0].scenario.topology.origin.worker_slots
    serial = full_plan([load_family("serial-log")], SCALE_UP)
    assert not any(isinstance(f, OriginWorkersAction) for f in serial[0].scenario.faults)


def test_a_scale_up_needs_a_window_to_sit_in():
    family = load_family("serial-log")
    scenario = point_scenario(family, None)
    assert with_scale_up(scenario, None, SCALE_UP) == scenario


def test_an_added_cause_without_an_end_stays_inside_its_segment(tmp_path):
    slow_pops = tmp_path / "slow-pops.yaml"
    slow_pops.write_text(
        "name: slow-pops\ndescription: d\nhypothesis: h\nload: {duration_s: 90}\nfaults:\n"
        "  - {kind: latency, at: 10, link: 'edge-*->shield', latency_ms: 500}\n"
        "  - {kind: origin_workers, at: 30, worker_slots: 32}\n"
    )
    own = tmp_path / "mine.yaml"
    own.write_text(
        f"name: mine\ntitle: t\ncause: loss\nscenario: shield-origin-loss\nplus: ['{slow_pops}']\n"
        "plus_text: slow POPs\n"
        "sweep: {parameter: faults.lossy-backend.probability, values: [0.1, 0.2]}\n"
    )
    run = staircase([load_family(str(own))], SCALE_UP)
    losses = [f for f in run.scenario.faults if isinstance(f, LossFault)]
    latency = next(f for f in run.scenario.faults if isinstance(f, LatencyFault))
    scale = next(
        f for f in run.scenario.faults if isinstance(f, OriginWorkersAction) and f.name is None
    )
    assert (latency.at, latency.until) == (losses[0].at, losses[-1].until)
    assert scale.at == losses[0].at  # an instant action is taken when the segment starts


def test_a_family_must_blame_a_segment_its_signature_declares(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text(
        "name: mine\ntitle: t\ncause: loss\nsegment: c\nscenario: shield-origin-loss\n"
        "sweep: {parameter: faults.lossy-backend.probability, values: [0.1]}\n"
    )
    with pytest.raises(BadInput, match=r"segment: .*declares no segment 'c'; declared: a, b"):
        check_segments(SIGNATURE, {str(own): load_family(str(own))})


def test_a_family_with_a_second_parameter_runs_every_cell(tmp_path):
    family = load_family("loss-shield-origin-mirror-kind")
    cells = [(p.value, p.value2) for run in full_plan([family], SCALE_UP) for p in run.probes]
    assert cells == [
        (v, kind)
        for kind in ("bandersnatch-1.4", "bandersnatch-1.3")
        for v in family.points(quick=False)
    ]
    assert family.value_text(0.02, "bandersnatch-1.3") == "2 %, bandersnatch-1.3"


def test_in_quick_mode_each_value_of_the_second_parameter_gets_its_own_staircase(tmp_path):
    own = tmp_path / "two-d.yaml"
    own.write_text(
        "name: two-d\ntitle: t\ncause: loss\nsegment: b\nscenario: shield-origin-loss\n"
        "plus: [eager-mirror]\nplus_text: the eager mirror\n"
        "sweep: {parameter: faults.lossy-backend.probability, values: [0.02, 0.1]}\n"
        "second: {parameter: load.mirrors.eager.workers, values: [50, 200]}\n"
    )
    runs = quick_plan([load_family(str(own))], SCALE_UP)
    assert len(runs) == 2
    for run, workers in zip(runs, (50, 200), strict=True):
        assert [(p.value, p.value2) for p in run.probes] == [(0.02, workers), (0.1, workers)]
        eager = {g.name: g for g in run.scenario.load.mirrors}["eager"]
        assert eager.workers == workers
        assert run.scenario.name.endswith(f"-staircase-{workers}")


def test_a_second_parameter_needs_a_first(tmp_path):
    own = tmp_path / "bad.yaml"
    own.write_text(
        "name: bad\ntitle: t\ncause: loss\nscenario: shield-origin-loss\n"
        "second: {parameter: load.mirrors.eager.workers, values: [50]}\n"
    )
    with pytest.raises(BadInput, match="`second` sweeps a parameter beside `sweep`"):
        load_family(str(own))
