"""`shieldlab validate` end to end: read the signature and the families, plan, run, score,
fit, and write the verdict (the package docstring tells the modules apart)."""


from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness.analysis.report import known_panels
from harness.errors import BadInput, InfrastructureError
from harness.run.progress import minutes
from harness.scenario.topology import CdnKind
from harness.topology.varnish import require_varnish
from harness.validate.families import load_family, shipped_families
from harness.validate.plan import DEFAULT_MAX_RUNS, check_segments, make_plan
from harness.validate.record import validation
from harness.validate.report import print_verdict, write_validation
from harness.validate.running import Runner
from harness.validate.scoring import fits as fit_families
from harness.validate.scoring import score_points, view
from harness.validate.signature import DEFAULT_SIGNATURE, Signature, load_signature, signature_path


def check_panels(signature: Signature) -> None:
    unknown = [p for p in signature.panels if p not in known_panels()]
    if unknown:
        raise BadInput(
            f"{signature_path(signature.name)}: panels: no panel {unknown[0]!r}; "
            f"known: {', '.join(known_panels())}"
        )


@dataclass(frozen=True)
class ValidateOptions:
    quick: bool
    out_dir: Path
    state_dir: Path
    signature: str = DEFAULT_SIGNATURE
    families: list[str] | None = None  # None: every shipped family
    max_runs: int = DEFAULT_MAX_RUNS  # per point, in full mode
    cdn: CdnKind | None = None  # every run on this CDN kind (None: as each family says)


def run(options: ValidateOptions, out: Console, err: Console) -> Path:
    started = time.monotonic()
    quick, out_dir, state_dir = options.quick, options.out_dir, options.state_dir
    # Bad files fail here, before any run starts.
    signature = load_signature(options.signature)
    check_panels(signature)
    given = {name: load_family(name) for name in options.families or shipped_families()}
    check_segments(signature, given)
    families = list(given.values())
    plan = make_plan(signature, families, quick, options.max_runs)
    for name, why in plan.skipped.items():
        err.print(f"{name}: left out, {why}", highlight=False, markup=False, soft_wrap=True)
    repeats = "" if quick else f" (an undecided point is run again, up to {plan.max_runs} runs)"
    if options.cdn is CdnKind.VARNISH:
        require_varnish()  # before the first run, not at it
    on = f" on cdn {options.cdn.value}" if options.cdn is not None else ""
    err.print(
        f"validate: {len(families)} families, {len(plan.all_runs)} runs{on}, "
        f"about {minutes(plan.expected_s)}{repeats}",
        highlight=False,
        markup=False,
    )
    runner = Runner(plan, out_dir, state_dir, err, options.cdn)
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
