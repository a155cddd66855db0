"""Did a population of requests get worse inside a window than in the rest of the run?

Three one-sided tests, each against the same population outside the window (its quiet level):
  latency shift  Mann-Whitney U on the successes' latencies (the whole distribution), less the
                 smallest rise worth naming;
  slow share     Fisher's exact test on the share of successes above the quiet 99th percentile
                 and well past the median (the tail: requests waiting for TCP's retransmission
                 timer);
  failed share   Fisher's exact test on the share of attempts that failed.
Candidate windows start and end on a grid over the run; the p-values of every segment, window
and test are adjusted together (Benjamini-Hochberg), so scanning many windows does not make a
fault out of noise. The neighbour test asks whether the requests crossing a segment went bad
more often, in the same window, than those that stop just before it, each against its own quiet
level: past its quiet median by the smallest rise worth naming for a shift, slow for the tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy
from scipy import stats

from harness.records.diagnosis import ChangeTest

WINDOW_STEPS = 16  # candidate windows start and end on a grid of this many steps over the run
MIN_STEP_S = 2.0
MIN_WINDOW_S = 6.0  # a fault lasts: shorter windows are a few slow requests, not a fault
MIN_INSIDE = 10  # requests inside a window for a test to be run
MIN_QUIET = 20  # requests outside it
TAIL_QUANTILE = 0.99  # "slow": above the quiet 99th percentile ...
# ... and at least this far above the quiet median: a lost segment costs a retransmission of
# 200 ms or more, while this host's scheduling noise moves a path by a few milliseconds (a
# clean run here: shield hits' p50 3 -> 5 ms over half a minute, "significant" on 240 requests).
SLOW_MARGIN_MS = 100.0
# The least rise of a path's latency worth naming; the shift test asks whether the window is
# slower than the quiet level by more than this (Mann-Whitney on the window minus it).
MIN_SHIFT_MS = 20.0
FDR_LEVEL = 0.01  # the expected share of false findings among those named


@dataclass(frozen=True)
class Window:
    start_s: float
    end_s: float

    def overlaps(self, other: Window) -> bool:
        return self.start_s < other.end_s and other.start_s < self.end_s

    def holds(self, t: numpy.ndarray) -> numpy.ndarray:
        return (t >= self.start_s) & (t < self.end_s)


def candidate_windows(first_s: float, last_s: float) -> list[Window]:
    span = last_s - first_s
    step = float(math.ceil(max(MIN_STEP_S, span / WINDOW_STEPS)))  # whole seconds read well
    start = math.floor(first_s / step) * step
    edges = [start + k * step for k in range(math.floor((last_s - start) / step) + 2)]
    windows = []
    for i, start in enumerate(edges):
        for end in edges[i + 1 :]:
            length = end - start
            if length >= MIN_WINDOW_S and span - length >= 2 * step:
                windows.append(Window(round(float(start), 3), round(float(end), 3)))
    return windows


@dataclass(frozen=True)
class Population:
    """Times, latencies and failures of a group of requests, as arrays."""

    t_s: numpy.ndarray
    latency_ms: numpy.ndarray
    failed: numpy.ndarray

    @classmethod
    def of(cls, rows: list[tuple[float, float, bool]]) -> Population:
        t, latency, failed = zip(*rows, strict=True) if rows else ((), (), ())
        return cls(numpy.array(t, float), numpy.array(latency, float), numpy.array(failed, bool))

    def split(
        self, window: Window, disturbed: tuple[Window, ...] = ()
    ) -> tuple[Population, Population]:
        """Inside the window, and quiet: outside it and outside every `disturbed` window."""
        inside = window.holds(self.t_s)
        quiet = ~inside
        for other in disturbed:
            quiet &= ~other.holds(self.t_s)
        return self._take(inside), self._take(quiet)

    def _take(self, mask: numpy.ndarray) -> Population:
        return Population(self.t_s[mask], self.latency_ms[mask], self.failed[mask])

    @property
    def size(self) -> int:
        return len(self.t_s)

    @property
    def successes(self) -> numpy.ndarray:
        return self.latency_ms[~self.failed]


def shift_p(inside: numpy.ndarray, quiet: numpy.ndarray) -> float | None:
    if len(inside) < MIN_INSIDE or len(quiet) < MIN_QUIET:
        return None
    shifted = inside - MIN_SHIFT_MS
    return float(stats.mannwhitneyu(shifted, quiet, alternative="greater").pvalue)


def share_p(k_inside: int, n_inside: int, k_quiet: int, n_quiet: int) -> float | None:
    """Is the share k/n larger inside than outside (Fisher's exact test, one-sided)?"""
    if n_inside < MIN_INSIDE or n_quiet < MIN_QUIET:
        return None
    table = [[k_inside, n_inside - k_inside], [k_quiet, n_quiet - k_quiet]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def above(values: numpy.ndarray, level: float) -> int:
    return int((values > level).sum())


def slow_level_ms(quiet: numpy.ndarray) -> float:
    """Above this a request is slow: the quiet p99, and at least SLOW_MARGIN_MS past the median."""
    return max(
        float(numpy.quantile(quiet, TAIL_QUANTILE)), float(numpy.median(quiet)) + SLOW_MARGIN_MS
    )


def tail_p(inside: numpy.ndarray, quiet: numpy.ndarray) -> float | None:
    if len(quiet) < MIN_QUIET:
        return None
    slow = slow_level_ms(quiet)
    return share_p(above(inside, slow), len(inside), above(quiet, slow), len(quiet))


def window_p(kind: ChangeTest, inside: Population, quiet: Population) -> float | None:
    if kind is ChangeTest.SHIFT:
        return shift_p(inside.successes, quiet.successes)
    if kind is ChangeTest.TAIL:
        return tail_p(inside.successes, quiet.successes)
    return share_p(int(inside.failed.sum()), inside.size, int(quiet.failed.sum()), quiet.size)


def bad_share(kind: ChangeTest, inside: Population, quiet: Population) -> tuple[int, int] | None:
    """How many of the window's requests went bad by `kind`'s measure, against their own
    quiet level; the neighbour test compares these counts between two populations. None: too
    few quiet requests to set the level."""
    if kind is ChangeTest.FAILED:
        return int(inside.failed.sum()), inside.size
    quiet_ok = quiet.successes
    if len(quiet_ok) < MIN_QUIET:
        return None
    if kind is ChangeTest.SHIFT:
        level = float(numpy.median(quiet_ok)) + MIN_SHIFT_MS
    else:
        level = slow_level_ms(quiet_ok)
    return above(inside.successes, level), len(inside.successes)


def neighbour_p(
    kind: ChangeTest,
    window: Window,
    disturbed: list[tuple[Window, ...]],
    crossing: Population,
    control: Population,
) -> float | None:
    """Did the requests crossing the segment go bad more often than the control did, in the
    same window? Each one's quiet level leaves out the windows where anything went bad (the
    first of `disturbed` that leaves enough quiet requests), so part of a fault outside this
    window does not raise the bar. None: too few control requests to tell (the segment then
    stands alone)."""
    for left_out in disturbed:
        seg = bad_share(kind, *crossing.split(window, left_out))
        ctl = bad_share(kind, *control.split(window, left_out))
        if seg is not None and ctl is not None:
            break
    else:
        return None
    (k_seg, n_seg), (k_ctl, n_ctl) = seg, ctl
    if n_ctl < MIN_INSIDE or n_seg < MIN_INSIDE:
        return None
    table = [[k_seg, n_seg - k_seg], [k_ctl, n_ctl - k_ctl]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def adjusted(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg q-values, in the same order."""
    if not p_values:
        return []
    return [float(q) for q in stats.false_discovery_control(p_values, method="bh")]
