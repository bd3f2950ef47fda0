"""Uncertainty of accuracies measured on a few questions: intervals and paired comparisons.

- :func:`wilson`: the Wilson score interval of a proportion (``scipy.stats.binomtest(...).proportion_ci(
  method="wilson")``), which keeps its coverage at small ``n`` and near 0 or 1, where the normal
  interval ``p +- 1.96 * se`` does not (it gives ``[0, 0]`` for 0 of 30).
- :func:`stderr`: ``sqrt(p * (1 - p) / (n - 1))``, the standard error lm-eval reports for the mean
  of 0/1 scores (its ``mean_stderr``), for lm-eval's table.
- :func:`paired`: two ways of answering the same questions (two students, two recipes, two votes):
  the exact McNemar test (a two-sided binomial test on the questions only one of them gets right)
  and a paired bootstrap interval of the difference in accuracy (percentile, 10,000 resamples of
  the questions, a fixed seed so a report is the same every time).
- :func:`paired_over_seeds`: the same over several training seeds, each question's difference
  averaged over the seeds and the questions resampled.

scipy is imported inside the functions: ``mixdistill score`` and ``--help`` never pay for it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n``, as fractions (``(0.0, 1.0)`` when ``n`` is 0)."""
    if n <= 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def stderr(successes: int, n: int) -> float:
    """The standard error of a proportion as lm-eval computes it for a mean: sample std / sqrt(n)."""
    if n < 2:
        return float("nan")
    p = successes / n
    return math.sqrt(p * (1 - p) / (n - 1))


@dataclass(frozen=True)
class Paired:
    """``a`` against ``b`` on the same ``n`` questions: how many only ``a`` / only ``b`` gets right,
    the difference in accuracy (fractions, ``a - b``), its paired bootstrap interval and the exact
    McNemar p-value."""

    n: int
    only_a: int
    only_b: int
    difference: float
    low: float
    high: float
    p_value: float


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of ``only_a`` of the discordant pairs at 1/2."""
    if only_a + only_b == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired(a: Sequence[bool], b: Sequence[bool], confidence: float = CONFIDENCE) -> Paired:
    """Compare two 0/1 score vectors over the same questions (position ``i`` is the same question)."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same questions: {len(a)} against {len(b)}")
    n = len(a)
    only_a = sum(1 for x, y in zip(a, b) if x and not y)
    only_b = sum(1 for x, y in zip(a, b) if y and not x)
    difference = (only_a - only_b) / n if n else 0.0
    low, high = _bootstrap_difference(a, b, confidence) if n else (0.0, 0.0)
    return Paired(n, only_a, only_b, difference, low, high, mcnemar_exact(only_a, only_b))


@dataclass(frozen=True)
class OverSeeds:
    """``a`` against ``b`` on the same ``n`` questions in each of ``seeds`` seeds: the difference in
    accuracy of each seed and over all (fractions, ``a - b``), with the interval of the latter."""

    n: int
    seeds: int
    per_seed: tuple[float, ...]
    difference: float
    low: float
    high: float


def paired_over_seeds(a: Sequence[Sequence[bool]], b: Sequence[Sequence[bool]],
                      confidence: float = CONFIDENCE) -> OverSeeds:
    """Compare two sides over several seeds: ``a[s][i]`` is seed ``s``'s score on question ``i``, the
    same question in every seed and on both sides. Each question's difference is averaged over the
    seeds; the interval is a bootstrap of the questions (percentile, as :func:`paired`), so a question
    counts once however many seeds answer it."""
    import numpy as np

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"paired scores over seeds need the same seeds and questions: {x.shape} against {y.shape}")
    per_question = (x - y).mean(axis=0)
    per_seed = tuple(float(d) for d in (x - y).mean(axis=1))
    low, high = _bootstrap_mean(per_question, confidence)
    return OverSeeds(x.shape[1], x.shape[0], per_seed, float(per_question.mean()), low, high)


def _bootstrap_mean(values, confidence: float) -> tuple[float, float]:
    import numpy as np
    from scipy.stats import bootstrap

    if len(values) < 2 or np.all(values == values[0]):  # every resample gives the same mean
        return (float(np.mean(values)), float(np.mean(values))) if len(values) else (0.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bootstrap((values,), np.mean, vectorized=True, n_resamples=BOOTSTRAP_RESAMPLES,
                           confidence_level=confidence, method="percentile", rng=np.random.default_rng(BOOTSTRAP_SEED))
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def _bootstrap_difference(a: Sequence[bool], b: Sequence[bool], confidence: float) -> tuple[float, float]:
    import numpy as np
    from scipy.stats import bootstrap

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.array_equal(x, y):  # every resample gives 0: nothing to estimate
        return (0.0, 0.0)

    def difference(u, v, axis=-1):
        return u.mean(axis=axis) - v.mean(axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when a resample is degenerate; the percentiles stand
        result = bootstrap((x, y), difference, paired=True, vectorized=True, n_resamples=BOOTSTRAP_RESAMPLES,
                           confidence_level=confidence, method="percentile",
                           rng=np.random.default_rng(BOOTSTRAP_SEED))
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))
