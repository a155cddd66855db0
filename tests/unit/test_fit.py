"""Fitting families to the signature and the verdict in words, on scored fixtures."""

from harness.analysis.fit import (
    FamilyFit,
    PointResult,
    answer,
    best_fit,
    family_sentence,
    ruling_symptoms,
)
from harness.analysis.verdict import Cell, consistent
from harness.hypothesis import load_family
from harness.signature import load_signature

SIGNATURE = load_signature("pypi-2014-07-20")
NA = Cell(None, "n/a")


def point(value, s1=True, s2=True, s3=True, margin=0.5, s1_text="503 share 0.05"):
    cells = {
        "S1": Cell(s1, s1_text, margin if s1 else -0.5, () if s1 else ("502s",)),
        "S2": Cell(s2, "p95 x3", margin if s2 else -0.2, () if s2 else ("mirror p95",)),
        "S3": Cell(
            s3,
            "backend-made errors 0",
            margin if s3 else -1.0,
            () if s3 else ("backend-made errors",),
        ),
        "S4": NA,
        "S5": NA,
    }
    return PointResult(value, cells, consistent(SIGNATURE, cells), f"runs/{value}")


def test_the_region_is_where_every_symptom_holds_and_the_best_fit_has_most_room():
    family = load_family("loss-shield-origin")
    fit = FamilyFit(
        family,
        [
            point(0.005, s1=False),
            point(0.02, margin=0.3),
            point(0.1, margin=0.9),
            point(0.3, s3=False),
        ],
    )
    assert [p.value for p in fit.region] == [0.02, 0.1]
    assert best_fit(SIGNATURE, fit).value == 0.1
    sentence = family_sentence(SIGNATURE, fit)
    assert sentence.startswith(
        "loss on shield->backend: consistent at 2 % and 10 % (4 points tested)"
    )
    assert "best fit 10 %, margins S1 +90 %, S2 +90 %, S3 +90 %" in sentence


def test_a_symptom_that_fails_everywhere_rules_the_family_out_with_the_numbers():
    family = load_family("latency-pop-shield")
    fit = FamilyFit(
        family,
        [point(v, s1=False, s1_text=f"503 share 0 at {v}") for v in (8000, 14000, 20000)],
    )
    assert ruling_symptoms(SIGNATURE, fit) == ["S1"]
    sentence = family_sentence(SIGNATURE, fit)
    assert "ruled out by S1 (502s at 3 of 3), which failed at every point" in sentence
    assert "8000 ms: 503 share 0 at 8000" in sentence and "20000 ms" in sentence


def test_when_each_symptom_fails_somewhere_the_closest_point_says_what_it_misses():
    family = load_family("latency-shield-origin")
    fit = FamilyFit(family, [point(8000, s1=False), point(14000, s3=False)])
    assert ruling_symptoms(SIGNATURE, fit) == []
    sentence = family_sentence(SIGNATURE, fit)
    assert "never all at once" in sentence and "misses" in sentence


def test_the_answer_says_which_network_fits_alone_or_only_with_the_mirror():
    fits = [
        FamilyFit(load_family("latency-shield-origin"), [point(8000, s1=False)]),
        FamilyFit(load_family("latency-shield-origin-mirror"), [point(8000), point(14000)]),
        FamilyFit(load_family("loss-pop-shield"), [point(0.1, s1=False)]),
        FamilyFit(load_family("latency-pop-shield"), [point(8000, s1=False)]),
        FamilyFit(load_family("eager-mirror"), [point(200, s3=False)]),
        FamilyFit(load_family("serial-log"), [point(1_500_000, s1=False, s2=False)]),
        FamilyFit(load_family("loss-shield-origin"), [], untested="packet loss: needs root"),
    ]
    lines = answer(SIGNATURE, fits)
    assert lines[0] == (
        "(b) shield->backend: consistent with pypi-2014-07-20: latency only with the eager "
        "mirror, at 8000 ms and 14000 ms."
    )
    assert lines[1] == (
        "(a) POP->shield: loss or latency there is not consistent with pypi-2014-07-20 at any "
        "intensity tested, alone or combined. Closest: loss alone at 10 %, which misses S1 "
        "(502s); most often missed: S1 (502s at 2 of 2)."
    )
    assert lines[2] == "the eager mirror alone: ruled out by S3 (backend-made errors at 1 of 1)."
    assert lines[3] == (
        "serial-log slowness: ruled out by S1 (502s at 1 of 1) and S2 (mirror p95 at 1 of 1)."
    )
    assert family_sentence(SIGNATURE, fits[-1]) == (
        "loss on shield->backend: not tested here (packet loss: needs root)."
    )


def test_with_nothing_consistent_the_first_line_says_so():
    fits = [FamilyFit(load_family("latency-shield-origin"), [point(8000, s1=False)])]
    assert answer(SIGNATURE, fits)[0] == (
        "No family is consistent with pypi-2014-07-20 at any intensity tested."
    )
