"""validate.json through its model, and the map of families by points, on scored fixtures."""

import pytest

from harness.analysis.report import Styled, html_table
from harness.analysis.uncertainty import Interval
from harness.errors import BadInput
from harness.records.base import write_json_model
from harness.records.validation import (
    FamilyStatus,
    Judgement,
    Mode,
    PointStatus,
    read_validation,
)
from harness.scenario.model import load_scenario
from harness.validate.command import check_panels
from harness.validate.families import load_family
from harness.validate.fit import FamilyFit, PointResult
from harness.validate.plan import Plan
from harness.validate.record import validation
from harness.validate.report import cell_maps, heat_map
from harness.validate.running import Decided
from harness.validate.signature import load_signature
from harness.validate.sweep import PlannedRun
from harness.validate.verdict import Cell, Measured

SIGNATURE = load_signature("pypi-2014-07-20")
NA = Cell(None, "n/a")


def cells(s1: Judgement) -> dict[str, Cell]:
    share = Measured("503 share", 0.1, Interval(0.08, 0.12), 0.0, Judgement.HOLDS)
    count = Measured("502s", 0.0, Interval(0.0, 0.0), None, s1)
    failed = ("502s",) if s1 is Judgement.FAILS else ()
    undecided = ("502s",) if s1 is Judgement.UNDECIDED else ()
    text = "503 share 0.1 [0.08, 0.12] vs 0; 502s 0 [0, 0]"
    s1_cell = Cell(s1, text, -1.0, failed, undecided, (share, count))
    held = Cell(Judgement.HOLDS, "fine", 0.5)
    return {"S1": s1_cell, "S2": held, "S3": held, "S4": NA, "S5": NA}


def fits() -> list[FamilyFit]:
    ruled = PointResult(8000, cells(Judgement.FAILS), PointStatus.RULED_OUT, ("runs/a",))
    open_ = PointResult(14000, cells(Judgement.UNDECIDED), PointStatus.UNDECIDED, ("runs/a",))
    void = PointResult(200, {}, PointStatus.VOID, ("runs/b", "runs/c"), "the lab broke")
    return [
        FamilyFit(load_family("latency-pop-shield"), [ruled, open_]),
        FamilyFit(load_family("eager-mirror"), [void]),
        FamilyFit(load_family("eager-mirror-1p3"), [], untested="not in quick mode"),
    ]


def control_plan(quick: bool = True, max_runs: int = 1) -> tuple[Decided, Plan]:
    """A plan of the control alone, as validate's record needs it."""
    control = Decided(PlannedRun(load_scenario("baseline")))
    return control, Plan(control.planned, [], {}, quick=quick, max_runs=max_runs)


def test_validate_json_round_trips_through_its_model_with_every_interval(tmp_path):
    control, plan = control_plan()
    result = validation(plan, control, [], fits(), SIGNATURE, 12.3)
    path = tmp_path / "validate.json"
    write_json_model(path, result)
    back = read_validation(path)
    assert back == result and back.mode is Mode.QUICK and back.max_runs_per_point == 1
    family = back.families["latency-pop-shield"]
    assert family.status is FamilyStatus.UNDECIDED and family.segment == "a"
    first = family.points[0]
    assert first.status is PointStatus.RULED_OUT
    assert first.cells["S1"].judgement is Judgement.FAILS
    assert first.cells["S1"].value("502s") == 0.0
    assert [(m.low, m.high) for m in first.cells["S1"].measured] == [(0.08, 0.12), (0.0, 0.0)]
    assert first.cells["S4"].judgement is None
    void = back.families["eager-mirror"].points[0]
    assert void.status is PointStatus.VOID and void.void == "the lab broke"
    assert back.families["eager-mirror-1p3"].status is FamilyStatus.UNTESTED
    # the verdict's words: (a) is undecided, and the command that decides it is named
    assert back.verdict[1] == (
        "(a) POP->shield: latency there is undecided at quick resolution (latency on "
        "POP->shield); `shieldlab validate --family latency-pop-shield` decides."
    )


def test_the_map_colours_each_point_and_writes_the_ruling_symptom_in_failing_squares():
    heading, header, rows = heat_map(SIGNATURE, fits())
    assert header == ["family", "status", "point 1", "point 2"]
    first = rows[0]
    assert first[1] == Styled("undecided", "undecided")
    assert first[2] == Styled("8000 ms\nruled out: S1 (1 run)", "ruled-out")
    assert first[3] == Styled("14000 ms\nundecided (1 run)", "undecided")
    assert rows[1][2] == Styled("200 syncs at once\nvoid: the lab broke", "void")
    assert rows[2][1] == Styled("not tested", "not-tested") and rows[2][2:] == ["", ""]
    page = html_table(header, rows)
    assert '<td class="ruled-out">8000 ms<br>ruled out: S1 (1 run)</td>' in page


def test_a_signature_naming_an_unknown_panel_is_refused_before_anything_runs():
    assert check_panels(SIGNATURE) is None
    wrong = SIGNATURE.model_copy(update={"panels": ["latency_pipp"]})
    with pytest.raises(BadInput, match=r"panels: no panel 'latency_pipp'; known: requests"):
        check_panels(wrong)


def test_two_families_left_standing_name_what_would_tell_them_apart(tmp_path):
    from harness.analysis.observables import Reading
    from harness.validate.fit import tell_apart

    def standing(value, shield_503):
        readings = (
            Reading("503s made by the shield", shield_503, Interval(shield_503, shield_503)),
            Reading("pip p95", 900.0, Interval(850.0, 950.0)),
        )
        cells_ = cells(Judgement.UNDECIDED)
        return PointResult(value, cells_, PointStatus.UNDECIDED, ("runs/x",), None, readings)

    pair = [
        FamilyFit(load_family("latency-pop-shield"), [standing(8000, 0.0)]),
        FamilyFit(load_family("latency-shield-origin"), [standing(14000, 0.12)]),
        FamilyFit(
            load_family("eager-mirror"),
            [PointResult(200, cells(Judgement.FAILS), PointStatus.RULED_OUT, ("r",))],
        ),
    ]
    [found] = tell_apart(SIGNATURE, pair)
    assert [d.name for d in found.differences] == ["503s made by the shield"]  # p95s the same
    assert found.text() == (
        "to tell latency on POP->shield at 8000 ms from latency on shield->backend at 14000 ms: "
        "503s made by the shield 0 [0, 0] vs 0.12 [0.12, 0.12] (100.0 standard errors apart)"
    )
    control, plan = control_plan()
    result = validation(plan, control, [], pair, SIGNATURE, 1.0)
    [record] = result.tell_apart
    assert (record.a, record.b) == ("latency-pop-shield", "latency-shield-origin")
    assert record.differences[0].b.value == 0.12


def test_a_two_parameter_family_is_drawn_as_a_map_of_its_cells():
    family = load_family("loss-shield-origin-mirror-kind")
    points = [
        PointResult(v, cells(j), status, ("r",), None, (), kind)
        for kind, j, status in (
            ("bandersnatch-1.4", Judgement.FAILS, PointStatus.RULED_OUT),
            ("bandersnatch-1.3", Judgement.UNDECIDED, PointStatus.UNDECIDED),
        )
        for v in (0.01, 0.05)
    ]
    [(heading, header, rows)] = cell_maps(SIGNATURE, [FamilyFit(family, points)])
    assert heading.endswith("faults.lossy-backend.probability by load.mirrors.eager.client")
    assert header == ["load.mirrors.eager.client", "1 %", "5 %"]
    assert rows[0][0] == "bandersnatch-1.4"
    assert rows[0][1] == Styled("ruled out: S1 (1 run)", "ruled-out")
    assert rows[1][2] == Styled("undecided (1 run)", "undecided")


def test_a_ruled_out_family_names_its_first_ruling_symptom_as_the_one_that_rules_it():
    both = cells(Judgement.FAILS) | {"S2": Cell(Judgement.FAILS, "slow", -0.5, ("pip p95",))}
    points = [
        PointResult(8000, both, PointStatus.RULED_OUT, ("runs/a",)),
        PointResult(14000, both, PointStatus.RULED_OUT, ("runs/b",)),
    ]
    ruled = [FamilyFit(load_family("latency-pop-shield"), points)]
    control, plan = control_plan()
    family = validation(plan, control, [], ruled, SIGNATURE, 1.0).families["latency-pop-shield"]
    assert family.ruling == ["S1", "S2"] and family.ruled_by == "S1"
    undecided = validation(plan, control, [], fits(), SIGNATURE, 1.0).families
    assert undecided["latency-pop-shield"].ruled_by is None


def test_the_report_says_how_long_validate_took_in_minutes():
    from harness.validate.report import _intro

    control, plan = control_plan(quick=False, max_runs=3)
    result = validation(plan, control, [], fits(), SIGNATURE, 1713.4)
    text, _ = _intro(result, fits(), SIGNATURE, [])
    assert "Mode: full (up to 3 runs per point)" in text and "took 28 min 33 s." in text
