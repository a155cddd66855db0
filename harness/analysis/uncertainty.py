"""How sure a measurement is, and what a bound says of it: holds, fails or undecided. Pure.

A run's requests are cut into 1 s bins by their intended start, and a bootstrap resamples the
bins with replacement (`scipy.stats.bootstrap`, percentile method, seeded): requests that share
a second stay together, as a run's noise does (a stall, a cache refill, a probe turning). The
statistic is recomputed on every resample from per-bin sums, vectorised. `Binned.pooled` puts
repeated runs' bins together (a narrower interval; a count is then the count per run).

A bound is judged on the interval of the *room* to it (how far inside the bound the value is;
negative: outside): it holds when all of that interval is inside, fails when all of it is
outside, and is undecided when it straddles the bound. `room_interval` can resample a run and a
baseline run independently, so the baseline's own noise counts too; the gate compares with a
stored baseline number, so there the threshold is fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import stats

from harness.records.validation import Judgement

__all__ = ["Judgement"]  # defined with the file it is stored in; decided here

BIN_S = 1.0
CONFIDENCE = 0.95  # two-sided, so a bound that holds does so at 97.5 % on its side
RESAMPLES = 999
SEED = 20140720
MIN_BINS = 2  # fewer seconds than this cannot show any spread: undecided
_BATCH_CELLS = 2_000_000  # resamples x values held at once for a quantile


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"an interval's low end is above its high end: {self}")


class Kind(Enum):
    RATIO = "ratio"  # sum(numer) / sum(denom) over the bins
    COUNT = "count"  # sum(numer), per run when runs are pooled
    PER_SECOND = "per_second"  # sum(numer) / seconds
    QUANTILE = "quantile"  # the q-quantile of every value in the bins


@dataclass(frozen=True)
class Binned:
    """One measurement's data cut into bins: what its statistic is recomputed from.

    For ratios only bins with a denominator are kept (an empty second says nothing about a
    share); counts and rates keep every second of the window, the empty ones included.
    """

    kind: Kind
    numer: np.ndarray  # per bin
    denom: np.ndarray  # per bin (ratios)
    values: np.ndarray  # quantiles: every value, sorted
    value_bins: np.ndarray  # quantiles: the bin of each value
    q: float = 0.5
    seconds: float = 0.0  # per-second rates: the time the bins cover
    if_empty: float | None = None  # a ratio whose denominator is 0 (an error share: 0)
    runs: int = 1  # how many runs' bins are pooled here (a count is per run)

    @property
    def bins(self) -> int:
        return len(self.numer)

    def statistic(self, weights: np.ndarray) -> np.ndarray:
        """The statistic for each row of bin multiplicities (shape (..., bins)); nan where a
        ratio has nothing to divide by and no value for that case."""
        if self.kind is Kind.QUANTILE:
            return self._quantile(weights)
        numer = weights @ self.numer
        if self.kind is Kind.COUNT:
            # Per run: pooling repeats must not make "at least one 502" easier to hold.
            return numer / self.runs
        if self.kind is Kind.PER_SECOND:
            return numer / self.seconds
        denom = weights @ self.denom
        empty = np.nan if self.if_empty is None else self.if_empty
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, numer / np.where(denom > 0, denom, 1), empty)

    def _quantile(self, weights: np.ndarray) -> np.ndarray:
        # numpy's "inverted_cdf" on the weighted values: the smallest value whose cumulative
        # weight reaches q of the total.
        cumulative = np.cumsum(weights[..., self.value_bins], axis=-1)
        total = cumulative[..., -1:]
        index = np.argmax(cumulative >= self.q * total, axis=-1)
        return self.values[index]

    def point(self) -> float | None:
        value = float(self.statistic(np.ones(self.bins)))
        return None if np.isnan(value) else value

    @classmethod
    def pooled(cls, parts: Sequence[Binned]) -> Binned:
        """Several runs' bins as one sample (repeated runs of the same scenario)."""
        first = parts[0]
        offsets = np.cumsum([0] + [p.bins for p in parts[:-1]])
        values = np.concatenate([p.values for p in parts])
        value_bins = np.concatenate([p.value_bins + o for p, o in zip(parts, offsets, strict=True)])
        order = np.argsort(values, kind="stable")
        return cls(
            first.kind,
            np.concatenate([p.numer for p in parts]),
            np.concatenate([p.denom for p in parts]),
            values[order],
            value_bins[order],
            first.q,
            sum(p.seconds for p in parts),
            first.if_empty,
            sum(p.runs for p in parts),
        )


def _multiplicities(indices: np.ndarray, bins: int) -> np.ndarray:
    """Resampled bin indices (..., n) -> how often each bin was drawn (..., bins)."""
    flat = indices.reshape(-1, indices.shape[-1]).astype(np.intp)
    counts = np.zeros((flat.shape[0], bins))
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    np.add.at(counts, (rows, flat.ravel()), 1.0)
    return counts.reshape((*indices.shape[:-1], bins))


def _batch(*samples: Binned) -> int:
    cells = max(
        [s.values.size for s in samples if s.kind is Kind.QUANTILE] + [s.bins for s in samples]
    )
    return max(1, _BATCH_CELLS // max(cells, 1))


def _bootstrap(
    samples: Sequence[Binned],
    statistic: Callable[..., np.ndarray],
    seed: int,
) -> Interval | None:
    if any(s.bins < MIN_BINS for s in samples):
        return None
    data = tuple(np.arange(s.bins) for s in samples)

    def resampled(*indices: np.ndarray, axis: int = -1) -> np.ndarray:
        weights = [
            _multiplicities(np.moveaxis(i, axis, -1), s.bins)
            for i, s in zip(indices, samples, strict=True)
        ]
        return statistic(*weights)

    result = stats.bootstrap(
        data,
        resampled,
        vectorized=True,
        paired=False,
        axis=-1,
        n_resamples=RESAMPLES,
        batch=_batch(*samples),
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if np.isnan(low) or np.isnan(high):
        return None
    # A sample with no spread can come back with its ends a rounding error apart, swapped.
    return Interval(min(low, high), max(low, high))


def interval(sample: Binned, seed: int = SEED) -> Interval | None:
    """The value's confidence interval; None when there are too few bins to tell."""
    return _bootstrap([sample], sample.statistic, seed)


Threshold = Callable[[np.ndarray], np.ndarray]  # the baseline's value(s) -> the bound's number


def room_interval(
    sample: Binned,
    inside_sign: float,
    threshold: float | tuple[Binned, Threshold],
    seed: int = SEED,
) -> Interval | None:
    """The interval of `inside_sign * (value - threshold)`: positive is inside the bound.

    `threshold` is a number (an absolute bound) or a baseline sample with the function that
    turns its value into the bound's number (a relative bound)."""
    if isinstance(threshold, tuple):
        baseline, of = threshold
        return _bootstrap(
            [sample, baseline],
            lambda w, wb: inside_sign * (sample.statistic(w) - of(baseline.statistic(wb))),
            seed,
        )
    fixed = threshold
    return _bootstrap([sample], lambda w: inside_sign * (sample.statistic(w) - fixed), seed)


def judge_room(room: Interval | None, strict: bool) -> Judgement:
    """`strict`: the bound excludes its own number (< or >), so a room of 0 is outside."""
    if room is None:
        return Judgement.UNDECIDED
    inside = room.low > 0 if strict else room.low >= 0
    outside = room.high <= 0 if strict else room.high < 0
    if inside:
        return Judgement.HOLDS
    return Judgement.FAILS if outside else Judgement.UNDECIDED
