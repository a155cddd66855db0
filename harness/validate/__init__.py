"""`shieldlab validate`: sweep every hypothesis family, score each point against the incident
signature with its uncertainty, fit each family, and say in words what the evidence supports.

The modules, in the order a validation uses them: `families` (hypothesis families: a scenario
template and the parameters to sweep), `signature` (the incident's symptoms in the expectation
language), `sweep` (each family's staircases), `plan` (which runs: the sweep's points, the
signature's control), `running` (each run once, void runs retried once and never scored,
undecided points repeated in full mode), `scoring` (points on their pooled runs, against the
control), `fit` and `verdict` (where each family is consistent, its best fit, the words),
`record` and `report` (the terminal, validate.json, the HTML). Families whose runs need packet
loss are left out, with one line saying why, when this process may not make network namespaces.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from harness.analysis.report import known_panels
from harness.errors import BadInput, InfrastructureError
from harness.run.progress import minutes
from harness.validate.families import load_family, shipped_families
from harness.validate.plan import DEFAULT_MAX_RUNS, Plan, check_segments, make_plan
from harness.validate.record import validation
from harness.validate.report import print_verdict, write_validation
from harness.validate.running import Runner
from harness.validate.scoring import fits as fit_families
from harness.validate.scoring import score_points, view
from harness.validate.signature import DEFAULT_SIGNATURE, Signature, load_signature, signature_path

__all__ = ["DEFAULT_MAX_RUNS", "Plan", "make_plan", "run"]


def check_panels(signature: Signature) -> None:
    unknown = [p for p in signature.panels if p not in known_panels()]
    if unknown:
        raise BadInput(
            f"{signature_path(signature.name)}: panels: no panel {unknown[0]!r}; "
            f"known: {', '.join(known_panels())}"
        )


def run(
    quick: bool,
    out_dir: Path,
    state_dir: Path,
    out: Console,
    err: Console,
    signature_name: str = DEFAULT_SIGNATURE,
    family_names: list[str] | None = None,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> Path:
    started = time.monotonic()
    # Bad files fail here, before any run starts.
    signature = load_signature(signature_name)
    check_panels(signature)
    given = {name: load_family(name) for name in family_names or shipped_families()}
    check_segments(signature, given)
    families = list(given.values())
    plan = make_plan(signature, families, quick, max_runs)
    for name, why in plan.skipped.items():
        err.print(f"{name}: left out, {why}", highlight=False, markup=False, soft_wrap=True)
    repeats = "" if quick else f" (an undecided point is run again, up to {plan.max_runs} runs)"
    err.print(
        f"validate: {len(families)} families, {len(plan.all_runs)} runs, "
        f"about {minutes(plan.expected_s)}{repeats}",
        highlight=False,
        markup=False,
    )
    runner = Runner(plan, out_dir, state_dir, err)
    control = runner.decide(plan.control, lambda _p, _r: [], 1)
    if not control.runs:
        raise InfrastructureError(
            f"the control run ({plan.control.scenario.name}) was void twice: "
            f"{control.voided[-1].void}; nothing can be compared with it"
        )
    control_views = tuple(view(r) for r in control.runs)
    decided = [
        runner.decide(
            planned,
            lambda p, r: score_points(signature, control_views, p, r),
            plan.max_runs,
        )
        for planned in plan.runs
    ]
    fits = fit_families(families, decided, plan.skipped)
    result = validation(plan, control, decided, fits, signature, time.monotonic() - started)
    print_verdict(result, fits, signature, out)
    runs = [r for d in [control, *decided] for r in d.runs]
    return write_validation(out_dir, result, runs, fits, signature)
