"""Scoring a planned run's points on its runs (repeats pooled), against the control's runs."""

from __future__ import annotations

import dataclasses

from harness.analysis.expectations import RunView
from harness.analysis.observables import catalogue, read
from harness.records.run_data import RunData
from harness.validate.families import Family
from harness.validate.fit import FamilyFit, PointResult
from harness.validate.running import Decided
from harness.validate.signature import Signature
from harness.validate.sweep import PlannedRun, scored
from harness.validate.verdict import Hypothesis, Runs, score, status


def view(run: RunData) -> RunView:
    """The run as scoring needs it, from the samples load_run already read."""
    return RunView.of(run.scenario, run.records, run.samples)


def score_points(
    signature: Signature, control: Runs, planned: PlannedRun, runs: list[RunData]
) -> list[PointResult]:
    views = [view(run) for run in runs]
    points = []
    for probe in planned.probes:
        focused = signature.focused_on(probe.focus) if probe.focus else signature
        seen = tuple(dataclasses.replace(v, scenario=scored(v.scenario, probe)) for v in views)
        cells = score(focused, Hypothesis(probe.family.name, seen), control)
        paths = tuple(str(run.path) for run in runs)
        window = focused.symptoms[0].expect[0].windows()  # where the symptoms are measured
        readings = tuple(read(catalogue(seen[0].scenario.topology.edges, window), seen))
        points.append(
            PointResult(
                probe.value,
                cells,
                status(signature, cells),
                paths,
                None,
                readings,
                probe.value2,
            )
        )
    return points


def fits(
    families: list[Family], decided: list[Decided], skipped: dict[str, str]
) -> list[FamilyFit]:
    points: dict[str, list[PointResult]] = {f.name: [] for f in families}
    for one in decided:
        for probe, point in zip(one.planned.probes, one.points, strict=True):
            points[probe.family.name].append(point)
    return [FamilyFit(f, points[f.name], skipped.get(f.name)) for f in families]
