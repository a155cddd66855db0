"""An incident signature: the symptoms users saw, each stated in the expectation language.

A hypothesis is tested by a few runs, each in a role: `main` (the cause as hypothesised),
`scaled` (the same with the operators' mid-incident scale-up; `main` stands in when absent),
`fixed` (the same with a fix applied), and `control` (the run with nothing wrong). Each of a
symptom's expectations measures one role's run; a relative bound compares it with the value the
same metric has on another role's run (`against`, in `against_window`).

In a staircase (several intensities one after another in one run, see harness.validate.sweep) each
step is scored on its own: `focused_on(step)` reads the signature's `during: "*"` as that step.

A symptom passes when all its expectations hold; it is n/a when a run or window it needs is not
there. A hypothesis is consistent when no symptom fails and every `required` symptom passed.
The incident's own facts are data here too, so a second incident needs no code: the network
segments its working theory names (families declare one by id), the control run, the operators'
mid-incident scale-up, and the panels the report draws.

Files live in `scenarios/signatures/`; `validate --signature FILE` reads a user's own.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from harness.scenario.expectation import Expectation, Window
from harness.scenario.model import PROJECT_ROOT
from harness.scenario.reader import Frozen, load_model, resolve_named

SIGNATURE_DIR = PROJECT_ROOT / "scenarios" / "signatures"
DEFAULT_SIGNATURE = "pypi-2014-07-20"


class Role(StrEnum):
    MAIN = "main"
    SCALED = "scaled"
    FIXED = "fixed"
    CONTROL = "control"


class SymptomExpectation(Expectation):
    run: Role = Field(default=Role.MAIN, description="whose run is measured")
    against: Role | None = Field(default=None, description="whose run gives `baseline`")
    against_window: Window | list[Window] | None = Field(
        default=None, description="the window measured on `against`; default: the same window"
    )

    @model_validator(mode="after")
    def _relative_needs_against(self) -> SymptomExpectation:
        if self.bound.relative and self.against is None:
            raise ValueError("a relative bound in a signature needs `against` (a run's role)")
        return self

    def focused_on(self, step: str) -> SymptomExpectation:
        def focus(windows: Window | list[Window] | None) -> Window | list[Window] | None:
            if isinstance(windows, list):
                return [w.focused_on(step) for w in windows]
            return windows.focused_on(step) if windows is not None else None

        return self.model_copy(
            update={"window": focus(self.window), "against_window": focus(self.against_window)}
        )

    def against_expectation(self) -> Expectation:
        """The same metric and selectors, in the window measured on the `against` run."""
        window = self.window if self.against_window is None else self.against_window
        return Expectation.model_validate(
            self.model_dump(exclude={"run", "against", "against_window"}) | {"window": window}
        )


class Symptom(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    text: str
    required: bool = Field(default=False, description="must pass for a hypothesis to fit")
    expect: list[SymptomExpectation] = Field(min_length=1)


class Segment(Frozen):
    """A part of the working theory: the network a family of hypotheses blames."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str = Field(description="how the verdict names it, e.g. '(a) POP->shield'")


class ControlRun(Frozen):
    scenario: str = Field(default="baseline", description="the run with nothing wrong")
    quick_duration_s: float = Field(default=12.0, gt=0, description="its length in quick mode")


class ScaleUp(Frozen):
    """What the operators did to the backend mid-incident (the `scaled` role's run)."""

    worker_factor: int = Field(ge=2, description="the backend's worker slots multiplied by")
    text: str = Field(default="", description="what the record says of it")


class Signature(Frozen):
    name: str
    description: str = ""
    segments: list[Segment] = Field(default_factory=list)
    control: ControlRun = Field(default_factory=ControlRun)
    scale_up: ScaleUp | None = None
    panels: list[str] = Field(default_factory=list, description="the report's key panels")
    symptoms: list[Symptom] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Signature:
        for what, ids in (
            ("symptom", [s.id for s in self.symptoms]),
            ("segment", [s.id for s in self.segments]),
        ):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{what} ids must be unique; got {ids}")
        return self

    @model_validator(mode="after")
    def _scaled_needs_a_scale_up(self) -> Signature:
        scaled = [
            s.id for s in self.symptoms for e in s.expect if Role.SCALED in (e.run, e.against)
        ]
        if scaled and self.scale_up is None:
            raise ValueError(f"symptoms {scaled} measure the scaled run, which needs `scale_up`")
        return self

    def segment(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def focused_on(self, step: str) -> Signature:
        """The same symptoms, with every window's `during: "*"` read as `during: step`."""
        symptoms = [
            s.model_copy(update={"expect": [e.focused_on(step) for e in s.expect]})
            for s in self.symptoms
        ]
        return self.model_copy(update={"symptoms": symptoms})


def signature_path(name_or_file: str) -> Path:
    return resolve_named(name_or_file, SIGNATURE_DIR, "signature")


def load_signature(name_or_file: str) -> Signature:
    return load_model(signature_path(name_or_file), Signature)
