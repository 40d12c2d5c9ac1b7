"""Accuracy as an exact expectation, and the 95% interval of a sampled one.

With random selection among the matching clusters (rainbow's default), a job whose
jobspec matches m clusters, g of them able to run it, succeeds with probability g/m; a
job no cluster matches is correct exactly when no cluster can run it. A level's
expected accuracy is the mean of these over its jobs: no sampling needed. Sampling
shows the spread a real run of R submissions per job would have: the number of
successes of one job is Binomial(R, g/m), which is what R uniform picks give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of a proportion, both in 0..1; (0.0, 1.0) for no trials.

    Exact successes of independent trials with one probability; for jobs of different
    probabilities, as here, the spread of the mean is smaller, so the interval is
    conservative (it covers the expectation at least 95% of the time).
    """
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # The interval always holds p; at p = 0 or 1 rounding would put a bound a hair past it (4e-19 at 0 of 500).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


@dataclass(frozen=True)
class Expected:
    """A level's exact figures over ``jobs`` jobs: accuracy (0..1), match precision (0..1 or None), rejections."""

    jobs: int
    accuracy: float
    match_precision: float | None  # correct (job, cluster) pairs over matching pairs
    rejected: int  # jobs no cluster matches
    rejected_runnable: int  # ... although some cluster could run them
    share: np.ndarray  # per job: the probability that it ends well


def expected(matches: np.ndarray, runnable: np.ndarray) -> Expected:
    """Exact figures from two (jobs x clusters) boolean matrices: which clusters match, which can run the job."""
    m = matches.sum(axis=1)
    good = (matches & runnable).sum(axis=1)
    can = runnable.any(axis=1)
    share = np.where(m > 0, good / np.maximum(m, 1), (~can).astype(float))
    pairs = int(m.sum())
    return Expected(jobs=len(m), accuracy=float(share.mean()) if len(m) else 0.0,
                    match_precision=int(good.sum()) / pairs if pairs else None,
                    rejected=int((m == 0).sum()), rejected_runnable=int(((m == 0) & can).sum()), share=share)


class SampledJson(TypedDict):
    """A ``Sampled`` as JSON (``replay.json``): its fields."""

    repeats: int
    successes: int
    trials: int
    accuracy: float
    low: float
    high: float


@dataclass(frozen=True)
class Sampled:
    """``repeats`` submissions of each job: the share that ended well and its 95% Wilson interval."""

    repeats: int
    successes: int
    trials: int
    accuracy: float
    low: float
    high: float


def sample(share: np.ndarray, repeats: int, seed: int) -> Sampled:
    """Submit each job ``repeats`` times, each pick uniform among its matches (seeded); count what ends well."""
    rng = np.random.default_rng(seed % 2**64)  # numpy takes no negative seed; --seed -1 is as good as any
    successes = int(rng.binomial(repeats, np.clip(share, 0.0, 1.0)).sum())
    trials = repeats * len(share)
    low, high = wilson(successes, trials)
    return Sampled(repeats, successes, trials, successes / trials if trials else 0.0, low, high)
