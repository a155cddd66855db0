"""Fitting families to the signature and the verdict in words, on scored fixtures."""

from harness.analysis.uncertainty import Judgement
from harness.records.validation import FamilyStatus, PointStatus
from harness.validate.families import load_family
from harness.validate.fit import (
    FamilyFit,
    PointResult,
    answer,
    best_fit,
    family_sentence,
    ruled_text,
    ruling_symptoms,
)
from harness.validate.signature import load_signature
from harness.validate.verdict import Cell, status

SIGNATURE = load_signature("pypi-2014-07-20")
NA = Cell(None, "n/a")
HOLDS, FAILS, UNDECIDED = Judgement.HOLDS, Judgement.FAILS, Judgement.UNDECIDED


def _cell(judgement, text, margin, name):
    return Cell(
        judgement,
        text,
        margin if judgement is HOLDS else -0.5,
        (name,) if judgement is FAILS else (),
        (name,) if judgement is UNDECIDED else (),
    )


def point(value, s1=HOLDS, s2=HOLDS, s3=HOLDS, margin=0.5, s1_text="503 share 0.05", runs=1):
    cells = {
        "S1": _cell(s1, s1_text, margin, "502s"),
        "S2": _cell(s2, "p95 x3", margin, "mirror p95"),
        "S3": _cell(s3, "backend-made errors 0", margin, "backend-made errors"),
        "S4": NA,
        "S5": NA,
    }
    paths = tuple(f"runs/{value}-{i}" for i in range(runs))
    return PointResult(value, cells, status(SIGNATURE, cells), paths)


def test_a_point_is_consistent_ruled_out_or_undecided():
    assert point(1).status is PointStatus.CONSISTENT
    assert point(1, s2=FAILS).status is PointStatus.RULED_OUT
    assert point(1, s2=UNDECIDED).status is PointStatus.UNDECIDED
    # a failure decides even beside an undecided symptom
    assert point(1, s1=UNDECIDED, s3=FAILS).status is PointStatus.RULED_OUT
    # a required symptom not tested leaves the point undecided, never consistent
    cells = {**point(1).cells, "S3": NA}
    assert status(SIGNATURE, cells) is PointStatus.UNDECIDED


def test_the_region_is_where_every_symptom_holds_and_the_best_fit_has_most_room():
    family = load_family("loss-shield-origin")
    fit = FamilyFit(
        family,
        [
            point(0.005, s1=FAILS),
            point(0.02, margin=0.3),
            point(0.1, margin=0.9, runs=2),
            point(0.3, s3=UNDECIDED),
        ],
    )
    assert [p.value for p in fit.region] == [0.02, 0.1]
    assert fit.status is FamilyStatus.CONSISTENT
    assert best_fit(SIGNATURE, fit).value == 0.1
    sentence = family_sentence(SIGNATURE, fit)
    assert sentence.startswith("loss on shield->backend: consistent at 2 % and 10 %. ")
    assert "10 % (2 runs): consistent, margins S1 +90 %, S2 +90 %, S3 +90 %" in sentence
    assert "30 % (1 run): undecided (S3 backend-made errors 0)" in sentence


def test_a_symptom_that_fails_everywhere_rules_the_family_out_in_words_noise_does_not_move():
    family = load_family("latency-pop-shield")
    fit = FamilyFit(
        family,
        [point(v, s1=FAILS, s1_text=f"503 share 0 at {v}") for v in (8000, 14000, 20000)],
    )
    assert fit.status is FamilyStatus.RULED_OUT
    assert ruling_symptoms(SIGNATURE, fit.points) == ["S1"]
    assert ruled_text(SIGNATURE, fit.points) == "S1 (502s)"
    sentence = family_sentence(SIGNATURE, fit)
    assert sentence.startswith("latency on POP->shield: ruled out by S1 (502s). ")
    assert "8000 ms (1 run): ruled out by S1 (502s): 503 share 0 at 8000" in sentence


def test_one_undecided_point_leaves_a_family_undecided_not_ruled_out():
    family = load_family("latency-shield-origin")
    fit = FamilyFit(family, [point(8000, s1=FAILS), point(14000, s1=UNDECIDED)])
    assert fit.status is FamilyStatus.UNDECIDED
    assert ruling_symptoms(SIGNATURE, fit.points) == []
    assert family_sentence(SIGNATURE, fit).startswith(
        "latency on shield->backend: undecided at 14000 ms."
    )


def test_the_answer_says_which_network_fits_alone_or_only_with_the_mirror():
    fits = [
        FamilyFit(load_family("latency-shield-origin"), [point(8000, s1=FAILS)]),
        FamilyFit(load_family("latency-shield-origin-mirror"), [point(8000), point(14000)]),
        FamilyFit(load_family("loss-pop-shield"), [point(0.1, s1=FAILS)]),
        FamilyFit(load_family("latency-pop-shield"), [point(8000, s1=FAILS)]),
        FamilyFit(load_family("eager-mirror"), [point(200, s3=FAILS)]),
        FamilyFit(load_family("serial-log"), [point(1_500_000, s1=FAILS, s2=FAILS)]),
        FamilyFit(load_family("loss-shield-origin"), [], untested="packet loss: needs root"),
    ]
    lines = answer(SIGNATURE, fits)
    assert lines == [
        "(a) POP->shield: loss or latency there is ruled out at every intensity tested, alone "
        "or combined, by S1 (502s).",
        "(b) shield->backend: consistent with pypi-2014-07-20: latency only with the eager "
        "mirror, at 8000 ms and 14000 ms.",
        "the eager mirror alone: ruled out by S3 (backend-made errors).",
        "serial-log slowness: ruled out by S1 (502s).",  # the first ruling symptom only
    ]
    assert family_sentence(SIGNATURE, fits[-1]) == (
        "loss on shield->backend: not tested here (packet loss: needs root)."
    )
    assert family_sentence(SIGNATURE, fits[5]).startswith(
        "serial-log slowness: ruled out by S1 (502s) and S2 (mirror p95). "
    )


def test_undecided_segments_name_the_command_that_decides_them():
    fits = [
        FamilyFit(load_family("latency-pop-shield"), [point(8000, s1=UNDECIDED)]),
        FamilyFit(load_family("loss-pop-shield"), [point(0.1, s1=FAILS)]),
    ]
    lines = answer(SIGNATURE, fits, quick=True)
    assert lines[0] == (
        "No family is consistent with pypi-2014-07-20 at any intensity tested; 1 undecided."
    )
    assert lines[1] == (
        "(a) POP->shield: latency or loss there is undecided at quick resolution (latency on "
        "POP->shield); `shieldlab validate --family latency-pop-shield` decides."
    )


def test_with_nothing_consistent_the_first_line_says_so():
    fits = [FamilyFit(load_family("latency-shield-origin"), [point(8000, s1=FAILS)])]
    assert answer(SIGNATURE, fits)[0] == (
        "No family is consistent with pypi-2014-07-20 at any intensity tested."
    )


def test_a_void_point_is_never_the_best_fit_and_keeps_its_family_undecided():
    family = load_family("eager-mirror")
    void = PointResult(50, {}, PointStatus.VOID, ("runs/a", "runs/b"), "the load generator fell")
    fit = FamilyFit(family, [void, point(200, s3=FAILS)])
    assert best_fit(SIGNATURE, fit).value == 200
    assert fit.status is FamilyStatus.UNDECIDED
    assert "50 syncs at once (2 runs): void, the load generator fell" in family_sentence(
        SIGNATURE, fit
    )
