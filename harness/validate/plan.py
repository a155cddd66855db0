"""What `validate` will run: the control, then the families' runs (harness.validate.sweep), and the
families it must leave out here, each with the reason and the command that would run it. Pure,
apart from asking whether this process may make network namespaces."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import BadInput
from harness.scenario.clock import compress_network, with_duration
from harness.scenario.model import Scenario, load_scenario
from harness.topology import netns
from harness.validate.families import Family, family_path
from harness.validate.signature import Signature, signature_path
from harness.validate.sweep import QUICK_NETWORK_FACTOR, PlannedRun, full_plan, quick_plan

DEFAULT_MAX_RUNS = 3  # full mode: runs of one point before an undecided point stays undecided


@dataclass(frozen=True)
class Plan:
    control: PlannedRun
    runs: list[PlannedRun]
    skipped: dict[str, str]  # family name -> why it cannot run here
    quick: bool
    max_runs: int  # per point, repeats of an undecided point included

    @property
    def all_runs(self) -> list[PlannedRun]:
        return [self.control, *self.runs]

    @property
    def expected_s(self) -> float:
        """Every run once; repeats of undecided points come on top."""
        return sum(r.expected_s for r in self.all_runs)


def control_run(signature: Signature, quick: bool) -> PlannedRun:
    scenario: Scenario = load_scenario(signature.control.scenario)
    if quick:
        scenario = with_duration(scenario, signature.control.quick_duration_s)
        scenario = compress_network(scenario, QUICK_NETWORK_FACTOR)
    return PlannedRun(scenario)


def check_segments(signature: Signature, families: dict[str, Family]) -> None:
    """Every family (by the name or file it was given as) blames a segment the signature
    declares, or none."""
    declared = [s.id for s in signature.segments]
    for given, family in families.items():
        if family.segment is not None and signature.segment(family.segment) is None:
            raise BadInput(
                f"{family_path(given)}: segment: {signature_path(signature.name)} declares "
                f"no segment {family.segment!r}; declared: {', '.join(declared) or 'none'}"
            )


def make_plan(
    signature: Signature, families: list[Family], quick: bool, max_runs: int = DEFAULT_MAX_RUNS
) -> Plan:
    skipped: dict[str, str] = {}
    if quick:
        for family in [f for f in families if not f.in_quick_mode]:
            skipped[family.name] = (
                f"not in quick mode (it would not fit in its 5 minutes): "
                f"`shieldlab validate --family {family.name}` runs it"
            )
        families = [f for f in families if f.in_quick_mode]
    scale_up = signature.scale_up
    runs = quick_plan(families, scale_up) if quick else full_plan(families, scale_up)
    missing = netns.missing_privileges()
    if missing is not None:
        for run in [r for r in runs if r.scenario.needs_packet_loss]:
            skipped.update({p.family.name: f"packet loss: {missing}" for p in run.probes})
        runs = [r for r in runs if not r.scenario.needs_packet_loss]
    # Quick mode has no time for repeats: it says what it could not decide, and how to.
    return Plan(control_run(signature, quick), runs, skipped, quick, 1 if quick else max_runs)
