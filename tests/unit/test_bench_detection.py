import yaml

from harness.bench.detection import LADDERS, Ladder, _same_run, probe
from harness.records import files
from harness.records.diagnosis import Change, Effect, SegmentFinding
from tests.unit.run_fixture import make_records, write_run


def finding(link: str, pops: list[str]) -> SegmentFinding:
    """Only the link and POPs matter here; the display name says something else on purpose."""
    change = Change(quiet=None, window=None)
    effect = Effect(
        p50_ms=change, p95_ms=change, slow_share=change, failed_share=change,
        requests_window=0, requests_quiet=0,
    )  # fmt: skip
    return SegmentFinding(
        segment="a display name", link=link, pops=pops, onset_s=0, end_s=1, q_value=0.01,
        confidence=0.99, tests=[], effect=effect,
    )  # fmt: skip


def test_a_link_counts_as_named_on_one_pop_or_merged_over_all():
    every_pop = Ladder("edge-*->shield", "loss", (0.02,))
    assert every_pop.names(finding("edge-iad->shield", ["iad"]))
    assert every_pop.names(finding("edge-*->shield", ["ams", "iad", "sjc"]))
    for other in ("shield->origin", "edge-iad->origin", "client->edge-iad"):
        assert not every_pop.names(finding(other, []))
    backend = Ladder("shield->origin", "latency", (50,))
    assert backend.names(finding("shield->origin", []))
    assert not backend.names(finding("edge-*->shield", ["iad", "sjc"]))


def test_each_rung_is_a_scenario_with_its_fault_and_seed():
    ladder = Ladder("shield->origin", "loss", (0.02,))
    scenario = probe(ladder, 0.02, seed=3)
    (fault,) = scenario.faults
    assert fault.link == "shield->origin" and fault.probability == 0.02
    assert scenario.load.seed == 3 and scenario.name == "detect-loss-0p02-shield-origin"
    assert probe(None, 0, seed=1).faults == []
    assert len({probe(lad, lad.rungs[0], 1).name for lad in LADDERS}) == len(LADDERS)


def test_a_complete_run_of_the_same_scenario_is_reused_and_another_is_not(tmp_path):
    scenario = probe(Ladder("shield->origin", "latency", (50,)), 50, seed=1)
    run = write_run(tmp_path / "run", scenario.name, make_records(10, None, None), 10)
    (run / files.SCENARIO_FILE).write_text(yaml.safe_dump(scenario.model_dump(mode="json")))
    assert _same_run(scenario, run)
    assert not _same_run(probe(None, 0, seed=1), run)  # no fault: another scenario
    assert not _same_run(scenario, tmp_path / "missing")
