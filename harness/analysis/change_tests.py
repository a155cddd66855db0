"""Did a population of requests get worse inside a window than in the rest of the run?

Three one-sided tests, each against the same population outside the window (its quiet level):
  latency shift  Mann-Whitney U on each success's place in its endpoint class's quiet
                 latencies, less the smallest rise worth naming (the whole distribution);
  slow share     the share of successes 100 ms past the quiet median of their class (the
                 tail: requests waiting for TCP's retransmission timer), Cochran-Mantel-Haenszel
                 over the endpoint classes;
  failed share   Fisher's exact test on the share of attempts that failed.
Candidate windows start and end on a grid over the run; harness.analysis.diagnose controls the
false discoveries over every segment, window and test (`adjusted`), so scanning many windows
does not make a fault out of noise. The neighbour test asks whether the requests crossing a segment went bad
more often, in the same window, than those that stop just before it, each against its own quiet
level: past its class's quiet median by the smallest rise worth naming, or slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from harness.records.diagnosis import ChangeTest

WINDOW_STEPS = 16  # candidate windows start and end on a grid of this many steps over the run
MIN_STEP_S = 2.0
MIN_WINDOW_S = 6.0  # a fault lasts: shorter windows are a few slow requests, not a fault
MIN_INSIDE = 10  # requests inside a window for a test to be run
MIN_QUIET = 20  # requests outside it
# "Slow": this far past the quiet median of the request's class. A lost segment costs a
# retransmission of 200 ms or more, while this host's scheduling noise moves a path by a few
# milliseconds (a clean run here: shield hits' p50 3 -> 5 ms for half a minute, "significant"
# on 240 requests).
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
    """Times, latencies, failures and endpoint classes of a group of requests, as arrays.

    Latency is compared within an endpoint class (a file download is slower than an index page
    on any day): a window that holds more of one class than the quiet does is no fault."""

    t_s: numpy.ndarray
    latency_ms: numpy.ndarray
    failed: numpy.ndarray
    kind: numpy.ndarray  # the endpoint class of each request

    @classmethod
    def of(cls, rows: list[tuple[float, float, bool, str]]) -> Population:
        t, latency, failed, kind = zip(*rows, strict=True) if rows else ((), (), (), ())
        return cls(
            numpy.array(t, float),
            numpy.array(latency, float),
            numpy.array(failed, bool),
            numpy.array(kind, str),
        )

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
        return Population(self.t_s[mask], self.latency_ms[mask], self.failed[mask], self.kind[mask])

    @property
    def size(self) -> int:
        return len(self.t_s)

    def successes(self) -> Population:
        return self._take(~self.failed)

    def classes(self) -> list[str]:
        return sorted(set(self.kind.tolist()))

    def of_class(self, kind: str) -> numpy.ndarray:
        return self.latency_ms[self.kind == kind]


MIN_CLASS_QUIET = 5  # quiet requests of a class to place the window's requests of that class


def placed(inside: Population, quiet: Population, less_ms: float = 0.0) -> tuple[list, list]:
    """Each success's place in its class's quiet latencies (0..1), for the window's (less
    `less_ms`) and the quiet's own: on this scale every class is alike."""
    ins, outs = [], []
    for kind in quiet.classes():
        reference = numpy.sort(quiet.of_class(kind))
        if len(reference) < MIN_CLASS_QUIET:
            continue
        where = numpy.searchsorted(reference, inside.of_class(kind) - less_ms, "right")
        ins.append(where / len(reference))
        outs.append(numpy.searchsorted(reference, reference, "right") / len(reference))
    return ins, outs


def shift_p(inside: Population, quiet: Population) -> float | None:
    """Mann-Whitney U: are the window's latencies, less MIN_SHIFT_MS, placed higher in their
    classes' quiet distributions than the quiet requests themselves?"""
    ins, outs = placed(inside, quiet, MIN_SHIFT_MS)
    x = numpy.concatenate(ins) if ins else numpy.array([])
    y = numpy.concatenate(outs) if outs else numpy.array([])
    if len(x) < MIN_INSIDE or len(y) < MIN_QUIET:
        return None
    return float(stats.mannwhitneyu(x, y, alternative="greater").pvalue)


def share_p(k_inside: int, n_inside: int, k_quiet: int, n_quiet: int) -> float | None:
    """Is the share k/n larger inside than outside (Fisher's exact test, one-sided)?"""
    if n_inside < MIN_INSIDE or n_quiet < MIN_QUIET:
        return None
    table = [[k_inside, n_inside - k_inside], [k_quiet, n_quiet - k_quiet]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def past_level(
    kind: ChangeTest, inside: Population, quiet: Population
) -> list[tuple[int, int, int, int]]:
    """Per endpoint class: (inside past, inside counted, quiet past, quiet counted), successes
    past their class's quiet median plus SLOW_MARGIN_MS for the tail, plus MIN_SHIFT_MS for a
    shift. A median is a level a few quiet requests set well; a 99th percentile of a hundred is
    their largest, which fresh requests pass more often than the quiet ones did."""
    margin = SLOW_MARGIN_MS if kind is ChangeTest.TAIL else MIN_SHIFT_MS
    counts = []
    for cls in quiet.classes():
        reference, mine = quiet.of_class(cls), inside.of_class(cls)
        if len(reference) < MIN_CLASS_QUIET or len(mine) == 0:
            continue
        level = float(numpy.median(reference)) + margin
        counts.append(
            (int((mine > level).sum()), len(mine), int((reference > level).sum()), len(reference))
        )
    return counts


def beyond(kind: ChangeTest, inside: Population, quiet: Population) -> tuple[int, int, int, int]:
    """`past_level` summed over the classes."""
    counts = past_level(kind, inside, quiet)
    k_in, n_in, k_q, n_q = (sum(c[i] for c in counts) for i in range(4))
    return k_in, n_in, k_q, n_q


def tail_p(inside: Population, quiet: Population) -> float | None:
    """Cochran-Mantel-Haenszel over the endpoint classes, one-sided: more slow requests in the
    window than in the quiet, class by class (summed counts would find a fault in a window
    that merely holds more of a class whose requests are often slow)."""
    counts = past_level(ChangeTest.TAIL, inside, quiet)
    n_in, n_quiet = sum(c[1] for c in counts), sum(c[3] for c in counts)
    if n_in < MIN_INSIDE or n_quiet < MIN_QUIET:
        return None
    tables = [numpy.array([[a, n - a], [b, m - b]]) for a, n, b, m in counts if a + b > 0]
    if not tables:
        return 1.0
    table = StratifiedTable(tables)
    two_sided = float(table.test_null_odds(correction=False).pvalue)
    expected = sum(n * (a + b) / (n + m) for a, n, b, m in counts)
    more = sum(a for a, _, _, _ in counts) > expected
    return two_sided / 2 if more else 1 - two_sided / 2


def window_p(kind: ChangeTest, inside: Population, quiet: Population) -> float | None:
    if kind is ChangeTest.SHIFT:
        return shift_p(inside.successes(), quiet.successes())
    if kind is ChangeTest.TAIL:
        return tail_p(inside.successes(), quiet.successes())
    return share_p(int(inside.failed.sum()), inside.size, int(quiet.failed.sum()), quiet.size)


def bad_share(kind: ChangeTest, inside: Population, quiet: Population) -> tuple[int, int] | None:
    """How many of the window's requests went bad by `kind`'s measure, against their own
    class's quiet level; the neighbour test compares these counts between two populations.
    None: too few quiet requests to set the level."""
    if kind is ChangeTest.FAILED:
        return int(inside.failed.sum()), inside.size
    k_in, n_in, _, n_quiet = beyond(kind, inside.successes(), quiet.successes())
    if n_quiet < MIN_QUIET:
        return None
    return k_in, n_in


def quiet_left_out(
    kind: ChangeTest, window: Window, disturbed: list[tuple[Window, ...]], *pops: Population
) -> tuple[Window, ...] | None:
    """The windows to leave out of the quiet level: the first of `disturbed` (most left out
    first) that still leaves each population enough quiet requests to set it, so that part of a
    fault outside this window does not raise the bar. None: none does."""
    for left_out in disturbed:
        if all(bad_share(kind, *pop.split(window, left_out)) is not None for pop in pops):
            return left_out
    return None


def neighbour_p(
    kind: ChangeTest,
    window: Window,
    disturbed: list[tuple[Window, ...]],
    crossing: Population,
    control: Population,
) -> float | None:
    """Did the requests crossing the segment go bad more often than the control did, in the
    same window, each against its quiet level (`quiet_left_out`)? None: too few control
    requests to tell (the segment then stands alone)."""
    left_out = quiet_left_out(kind, window, disturbed, crossing, control)
    if left_out is None:
        return None
    seg = bad_share(kind, *crossing.split(window, left_out))
    ctl = bad_share(kind, *control.split(window, left_out))
    if seg is None or ctl is None:  # for the type checker: quiet_left_out found both set
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
