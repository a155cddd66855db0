import yaml

from harness.bench.detection import LADDERS, Ladder, _same_run, probe
from harness.records import files
from tests.unit.run_fixture import make_records, write_run


def test_a_link_counts_as_named_on_one_pop_or_merged_over_all():
    every_pop = Ladder("edge-*->shield", "loss", (0.02,))
    assert every_pop.named(["edge-iad->shield"])
    assert every_pop.named(["edge-*->shield (3 of 3 POPs)"])
    assert not every_pop.named(["shield->origin", "edge-iad->origin", "client->edge-iad"])
    backend = Ladder("shield->origin", "latency", (50,))
    assert backend.named(["shield->origin"]) and not backend.named(["edge-*->shield (2 of 3 POPs)"])


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
