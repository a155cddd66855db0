"""The gate's reports (JUnit read back with a JUnit parser), exit codes, suites and baselines."""

from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml

from harness.analysis.judging import judge
from harness.analysis.uncertainty import Interval, Judgement
from harness.errors import EXIT_GATE_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK, BadInput
from harness.gate.baseline import read_baseline, require_baselines, store_baseline
from harness.gate.results import ScenarioResult, exit_code, markdown, spread, write_junit
from harness.gate.run import pooled
from harness.gate.suite import load_suite
from harness.scenario.expectation import Expectation
from harness.scenario.model import load_scenario
from tests.unit.run_fixture import make_records, write_run

FAST = Expectation.model_validate({"name": "fast", "metric": "p95_ms", "bound": "< 100"})
CLEAN = Expectation.model_validate({"metric": "error_rate", "bound": "< 0.01"})


def result(p95, errors, void=None, run_dir=Path("/runs/r1"), p95_spread=None):
    """A run's outcomes; each value's interval is the value itself unless given."""
    scenario = load_scenario("gate-shield-origin")
    outcomes = [
        judge(FAST, p95, None, p95_spread or Interval(p95, p95)),
        judge(CLEAN, errors, None, Interval(errors, errors)),
    ]
    return ScenarioResult(scenario, run_dir, outcomes, void, 80.0)


def test_junit_has_a_suite_per_scenario_a_case_per_expectation_and_the_numbers(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(path, "ci", [[result(p95=250.0, errors=0.0)]])
    (suite,) = JUnitXml.fromfile(str(path))
    assert suite.name == "gate-shield-origin"
    assert {p.name: p.value for p in suite.properties()} == {"run_dir": "/runs/r1"}
    first, second = list(suite)
    assert first.name == "fast < 100" and not first.is_passed
    (failure,) = first.result
    assert isinstance(failure, Failure)
    assert failure.message == "measured 250 [250, 250], bound < 100: fails"
    assert second.is_passed and second.name == "error_rate[whole] < 0.01"


def test_a_void_run_is_an_error_in_junit_and_exit_3_never_a_pass_or_a_failure(tmp_path):
    void = result(p95=10.0, errors=0.0, void="shield (pid 9) died at 31 s")
    path = tmp_path / "junit.xml"
    write_junit(path, "ci", [[void]])
    (suite,) = JUnitXml.fromfile(str(path))
    for case in suite:
        (error,) = case.result
        assert isinstance(error, Error) and "died at 31 s" in error.message
    assert exit_code([[void]]) == EXIT_INFRASTRUCTURE
    assert exit_code([[result(10.0, 0.0), void]]) == EXIT_INFRASTRUCTURE
    assert exit_code([[result(10.0, 0.0)]]) == EXIT_OK
    assert exit_code([[result(10.0, 0.0)], [result(10.0, 0.5)]]) == EXIT_GATE_FAILED


def test_an_interval_across_the_bound_is_undecided_never_a_pass(tmp_path):
    straddling = result(p95=95.0, errors=0.0, p95_spread=Interval(80.0, 120.0))
    assert not straddling.passed and exit_code([[straddling]]) == EXIT_GATE_FAILED
    text = markdown("ci", [[straddling]], 80.0)
    assert "`ci`: UNDECIDED" in text and "95 [80, 120]" in text and "CDN: model." in text
    assert "CDN: varnish." in markdown("ci", [[straddling]], 80.0, cdn="varnish")
    path = tmp_path / "junit.xml"
    write_junit(path, "ci", [[straddling]])
    (suite,) = JUnitXml.fromfile(str(path))
    first, second = list(suite)
    (failure,) = first.result
    assert isinstance(failure, Failure) and failure.type == "undecided"
    assert second.is_passed


def test_repeated_rounds_report_the_pass_fraction_and_the_spread():
    rounds = [[result(50.0, 0.0)], [result(70.0, 0.0)], [result(150.0, 0.0)]]
    by_name = {row[1]: row for row in spread(rounds)}
    assert by_name["fast"][2:4] == ["2/3", "50 / 70 / 150"]
    text = markdown("ci", rounds, 240.0)
    assert "FAILED" in text and "Rounds that passed: 2/3" in text


def test_repeated_rounds_are_also_judged_on_every_rounds_bins_pooled(tmp_path):
    scenario = load_scenario("gate-shield-origin").model_copy(update={"expect": [CLEAN]})
    dirs = [
        write_run(
            tmp_path / f"r{i}", "gate-shield-origin", make_records(40, None, None, seed=i), 40
        )
        for i in (1, 2)
    ]
    rounds = [[ScenarioResult(scenario, d, [], None, 1.0)] for d in dirs]
    void = ScenarioResult(scenario, tmp_path / "missing", [], "the lab broke", 1.0)
    [[together]] = pooled([*rounds, [void]], tmp_path / "baselines")  # the void round left out
    assert together.value == 0.0 and together.judgement is Judgement.HOLDS
    assert together.spread is not None and together.spread.high == 0.0
    rounds = [[result(50.0, 0.0)], [result(70.0, 0.0)]]
    row = spread(rounds, [[None, together]])[1]
    assert row[4] == "0 [0, 0]: pass"


def test_the_shipped_suites_load_and_every_scenario_has_expectations():
    for name in ("ci", "ci-fragile", "vcl-grace", "vcl-grace-dropped"):
        loaded = load_suite(name)
        assert loaded.scenarios and all(s.expect for s in loaded.scenarios)
    for name, fragment in (
        ("vcl-grace", "keep-grace.vcl"),
        ("vcl-grace-dropped", "drop-grace.vcl"),
    ):
        (sick,) = load_suite(name).scenarios
        assert sick.topology.cdn == "varnish"
        assert sick.topology.shield.vcl_include is not None
        assert Path(sick.topology.shield.vcl_include).name == fragment


def test_a_suite_naming_a_broken_scenario_fails_before_anything_runs(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\ndescription: d\nhypothesis: h\nload: {duration_s: -1}\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: t\nscenarios:\n  - {{scenario: {broken}}}\n")
    with pytest.raises(
        BadInput, match=r"suite.yaml: scenarios\[0\]: .*broken.yaml: load.duration_s"
    ):
        load_suite(str(suite))
    suite.write_text("name: t\nscenarios:\n  - {scenario: baselin}\n")
    with pytest.raises(BadInput, match="did you mean 'baseline'"):
        load_suite(str(suite))
    suite.write_text("name: t\nscenarios:\n  - {scenario: baseline}\n")
    with pytest.raises(BadInput, match="has no `expect:` list"):
        load_suite(str(suite))


def test_baselines_store_a_summary_and_relative_bounds_require_them(tmp_path):
    scenario = load_scenario("gate-shield-origin")
    with pytest.raises(BadInput, match="no baseline value for gate-shield-origin expect"):
        require_baselines(tmp_path, [scenario])
    run = write_run(tmp_path / "run", "gate-shield-origin", make_records(30, None, None), 30)
    from harness.records.summary import read_summary

    summary = read_summary(run / "summary.json")
    relative = [e for e in scenario.expect if e.bound.relative]
    stored = summary.model_copy(update={"measured": {e.key: 123.0 for e in relative}})
    store_baseline(tmp_path / "baselines", stored)
    assert read_baseline(tmp_path / "baselines", "gate-shield-origin") == stored.measured
    require_baselines(tmp_path / "baselines", [scenario])  # no longer raises
