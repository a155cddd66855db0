"""What validate decided, as the validate.json model (harness/records/validation.py): every
family, point and cell, the runs, the void runs, and what would tell standing families apart."""

from __future__ import annotations

from harness.analysis.observables import Reading
from harness.records.validation import CellRecord, FamilyRecord, Mode, PointRecord, Validation
from harness.validate.fit import (
    FamilyFit,
    PointResult,
    answer,
    best_fit,
    family_sentence,
    ruling_symptoms,
    tell_apart,
)
from harness.validate.plan import Plan
from harness.validate.running import Decided
from harness.validate.signature import Signature
from harness.validate.verdict import Cell


def validation(
    plan: Plan,
    control: Decided,
    decided: list[Decided],
    fits: list[FamilyFit],
    signature: Signature,
    took_s: float,
) -> Validation:
    def cell(c: Cell) -> CellRecord:
        judgement = None if c.judgement is None else str(c.judgement)
        return CellRecord.model_validate(
            {
                "judgement": judgement,
                "evidence": c.evidence,
                "margin": c.margin,
                "failed": list(c.failed),
                "undecided": list(c.undecided),
                "measured": [
                    {
                        "name": m.name,
                        "value": m.value,
                        "low": m.spread.low if m.spread else None,
                        "high": m.spread.high if m.spread else None,
                        "baseline": m.baseline,
                        "judgement": str(m.judgement),
                    }
                    for m in c.measured
                ],
            }
        )

    def point(p: PointResult) -> PointRecord:
        return PointRecord.model_validate(
            {
                "value": p.value,
                "value2": p.value2,
                "status": str(p.status),
                "runs": list(p.runs),
                "void": p.void,
                "cells": {k: cell(c) for k, c in p.cells.items()},
            }
        )

    def family(f: FamilyFit) -> FamilyRecord:
        ruling = ruling_symptoms(signature, f.points)
        return FamilyRecord.model_validate(
            {
                "title": f.family.title,
                "segment": f.family.segment,
                "status": str(f.status),
                "sentence": family_sentence(signature, f),
                "untested": f.untested,
                "ruling": ruling,
                "ruled_by": ruling[0] if ruling else None,
                "consistent_at": [p.value for p in f.region],
                "best_fit": (b.value if (b := best_fit(signature, f)) else None),
                "points": [point(p) for p in f.points],
            }
        )

    families = {f.family.name: family(f) for f in fits}
    every = [control, *decided]

    def measured(r: Reading) -> dict[str, float | None]:
        spread = r.spread
        return {
            "value": r.value,
            "low": spread.low if spread else None,
            "high": spread.high if spread else None,
        }

    pairs = [
        {
            "a": t.a.family.name,
            "a_point": t.a_point.value,
            "b": t.b.family.name,
            "b_point": t.b_point.value,
            "differences": [
                {"name": d.name, "a": measured(d.a), "b": measured(d.b), "separation": d.separation}
                for d in t.differences
            ],
            "text": t.text(),
        }
        for t in tell_apart(signature, fits)
    ]
    return Validation.model_validate(
        {
            "mode": Mode.QUICK if plan.quick else Mode.FULL,
            "took_s": round(took_s, 1),
            "signature": signature.name,
            "verdict": answer(signature, fits, plan.quick),
            "families": families,
            "runs": [str(r.path) for d in every for r in d.runs],
            "void_runs": [
                f"{a.path or d.planned.scenario.name}: {a.void}" for d in every for a in d.voided
            ],
            "max_runs_per_point": plan.max_runs,
            "tell_apart": pairs,
        }
    )
