"""The windows a run's faults and actions really had, read from its events: the shaded bands
on every plot and the windows the report names."""

from __future__ import annotations

from dataclasses import dataclass

from harness.records.events import ActionApplied, ActionEnded, Event, FaultApplied, FaultRemoved
from harness.scenario.steps import MirrorsAction


@dataclass(frozen=True)
class Span:
    """A shaded band on every plot: a fault, an action window, or an instant (end == start)."""

    label: str
    start_s: float
    end_s: float



def spans_from_events(events: list[Event], duration_s: float) -> list[Span]:
    """Fault and action windows as they really happened."""
    open_at: dict[int, tuple[str, float]] = {}
    spans = []
    for event in events:
        if isinstance(event, FaultApplied) or (
            isinstance(event, ActionApplied) and isinstance(event.step, MirrorsAction)
        ):
            open_at[event.index] = (_label(event.step), event.t_s)
        elif isinstance(event, (FaultRemoved, ActionEnded)) and event.index in open_at:
            label, start = open_at.pop(event.index)
            spans.append(Span(label, start, event.t_s))
        elif isinstance(event, ActionApplied):
            spans.append(Span(_label(event.step), event.t_s, event.t_s))
    spans.extend(Span(label, start, duration_s) for label, start in open_at.values())
    return sorted(spans, key=lambda s: s.start_s)


def _label(step: object) -> str:
    latency = getattr(step, "latency_ms", None)
    label = str(getattr(step, "label", "step"))
    if latency is not None and getattr(step, "name", None) is None:
        kind, _, link = label.partition(" ")
        return f"{kind} {latency:.0f} ms {link}"
    return label
