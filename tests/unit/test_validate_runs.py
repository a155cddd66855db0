"""The repeat-until-decided loop and void runs, against a fake runner and a fake scorer."""

from harness.records.validation import PointStatus
from harness.scenario.model import Scenario, load_scenario
from harness.scenario.topology import CdnKind
from harness.validate.families import load_family
from harness.validate.fit import PointResult
from harness.validate.running import SEED_STEP, Attempt, decide, on_cdn, reseeded
from harness.validate.sweep import PlannedRun, Probe

FAMILY = load_family("eager-mirror")
PLANNED = PlannedRun(load_scenario("eager-mirror"), [Probe(FAMILY, 200.0)])


class FakeRun:
    """Stands in for RunData: the loop only counts and passes runs on."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.path = f"runs/{seed}"


class FakeLab:
    """Runs nothing: each attempt is void or not as told, in order."""

    def __init__(self, voids: list[str | None]) -> None:
        self.voids = list(voids)
        self.seeds: list[int] = []

    def execute(self, scenario: Scenario) -> Attempt:
        self.seeds.append(scenario.load.seed)
        void = self.voids.pop(0) if self.voids else None
        run = None if void == "broke" else FakeRun(scenario.load.seed)
        return Attempt(run, f"runs/{scenario.load.seed}", void)  # type: ignore[arg-type]


def scorer(decided_after: int | None, then: PointStatus = PointStatus.RULED_OUT):
    """Undecided until `decided_after` runs are pooled (None: never)."""

    def score(planned, runs):
        undecided = decided_after is None or len(runs) < decided_after
        status = PointStatus.UNDECIDED if undecided else then
        paths = tuple(r.path for r in runs)
        return [PointResult(p.value, {}, status, paths) for p in planned.probes]

    return score


def test_a_decided_point_takes_one_run():
    lab = FakeLab([])
    decided = decide(PLANNED, lab.execute, scorer(1), max_runs=3)
    assert len(decided.runs) == 1 and decided.points[0].status is PointStatus.RULED_OUT
    assert lab.seeds == [PLANNED.scenario.load.seed]


def test_an_undecided_point_is_run_again_with_new_seeds_until_it_is_decided():
    lab = FakeLab([])
    decided = decide(PLANNED, lab.execute, scorer(3, PointStatus.CONSISTENT), max_runs=5)
    seed = PLANNED.scenario.load.seed
    assert lab.seeds == [seed, seed + SEED_STEP, seed + 2 * SEED_STEP]
    assert decided.points[0].status is PointStatus.CONSISTENT
    assert decided.points[0].runs == tuple(f"runs/{s}" for s in lab.seeds)


def test_the_cap_stops_the_repeats_and_the_point_stays_undecided():
    lab = FakeLab([])
    decided = decide(PLANNED, lab.execute, scorer(None), max_runs=2)
    assert len(lab.seeds) == 2 and decided.points[0].status is PointStatus.UNDECIDED


def test_a_void_run_is_never_scored_and_is_retried_once():
    lab = FakeLab(["the load generator fell behind"])
    decided = decide(PLANNED, lab.execute, scorer(1), max_runs=1)
    assert [r.seed for r in decided.runs] == [PLANNED.scenario.load.seed + SEED_STEP]
    assert [a.void for a in decided.voided] == ["the load generator fell behind"]
    assert decided.points[0].status is PointStatus.RULED_OUT


def test_a_point_void_twice_is_reported_void_with_the_reason():
    lab = FakeLab(["the load generator fell behind", "broke"])
    decided = decide(PLANNED, lab.execute, scorer(1), max_runs=3)
    assert not decided.runs and len(lab.seeds) == 2
    [point] = decided.points
    assert point.status is PointStatus.VOID and point.void == "broke"
    assert point.runs == tuple(f"runs/{s}" for s in lab.seeds)


def test_the_first_attempt_keeps_the_scenarios_own_seed():
    scenario = PLANNED.scenario
    assert reseeded(scenario, 0) is scenario
    assert reseeded(scenario, 2).load.seed == scenario.load.seed + 2 * SEED_STEP
    assert reseeded(scenario, 2).faults == scenario.faults


def test_validate_cdn_puts_every_run_on_that_kind_and_changes_nothing_else():
    varnish = on_cdn(PLANNED.scenario, CdnKind.VARNISH)
    assert varnish.topology.cdn is CdnKind.VARNISH
    assert PLANNED.scenario.topology.cdn is CdnKind.MODEL  # the plan's own is left alone
    assert varnish.model_dump(exclude={"topology"}) == PLANNED.scenario.model_dump(
        exclude={"topology"}
    )
    assert on_cdn(PLANNED.scenario, None) is PLANNED.scenario
