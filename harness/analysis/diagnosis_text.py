"""`shieldlab diagnose`'s findings as a terminal shows them: a headline per segment, then its
effect and the tests that passed."""

from __future__ import annotations

from harness.records.diagnosis import Change, Diagnosis


def _ms(change: Change) -> str:
    if change.quiet is None or change.window is None:
        return "n/a"
    ratio = f" (x{change.window / change.quiet:.1f})" if change.quiet > 0 else ""
    return f"{change.quiet:.0f} -> {change.window:.0f} ms{ratio}"


def _pct(change: Change) -> str:
    if change.quiet is None or change.window is None:
        return "n/a"
    return f"{change.quiet:.1%} -> {change.window:.1%}"


def finding_lines(diagnosis: Diagnosis) -> list[tuple[str, list[str]]]:
    """Each finding as a headline and its detail, for the terminal."""
    lines = []
    for f in diagnosis.findings:
        e = f.effect
        tests = ", ".join(
            f"{t.test.value} q={t.q_value:.1g}"
            + (
                f" (vs neighbour p={t.neighbour_p_value:.1g})"
                if t.neighbour_p_value is not None
                else ""
            )
            for t in f.tests
        )
        lines.append(
            (
                f"{f.segment}  from {f.onset_s:.0f} s to {f.end_s:.0f} s  "
                f"(confidence {_confidence(f.confidence)})",
                [
                    f"p50 {_ms(e.p50_ms)}, p95 {_ms(e.p95_ms)}; slow {_pct(e.slow_share)}, "
                    f"failed {_pct(e.failed_share)} ({e.requests_window} requests in the window, "
                    f"{e.requests_quiet} quiet)",
                    f"passed: {tests}",
                ],
            )
        )
    capacity = diagnosis.origin_capacity
    if capacity is not None:
        lines.append(
            (
                f"origin capacity  from {capacity.onset_s:.0f} s to {capacity.end_s:.0f} s",
                [
                    f"{capacity.balancer_answers} answers from the origin's balancer (502/503); "
                    f"every worker slot busy for {capacity.saturated_s:.0f} s"
                ],
            )
        )
    return lines


def _confidence(value: float) -> str:
    """99.99 % reads better than 100 %: a test is never certain."""
    return f"{min(value, 0.9999):.2%}" if value < 0.9999 else "> 99.99 %"
