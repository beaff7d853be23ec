"""Paired comparisons over seeds: is one contender really ahead of another?

Two contenders trained on the *same* few-shot samples (one per seed) are compared seed by seed:
the differences cancel most of what the sample itself does to both. The mean difference gets
two 95% intervals:

- a bootstrap interval (resample the seeds with replacement). With up to 7 seeds every one of
  the n**n resamples is enumerated, so the interval is exact and needs no random numbers;
- a t-interval (mean ± t × sample SD / sqrt(n)), which is wider with few seeds.

With five seeds a bootstrap interval runs narrow, so :func:`verdict` says "ahead" or "behind"
only when **both** intervals leave out zero on the same side, and "can't tell" otherwise.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

__all__ = ["paired", "describe", "bootstrap_interval", "bootstrap_means", "t_interval",
           "sample_sd", "verdict", "holm", "benjamini_hochberg", "LEVEL", "EXACT_UP_TO"]

LEVEL = 0.95
EXACT_UP_TO = 7  # seeds: enumerate every resample up to here (7**7 = 823,543 resamples)


def sample_sd(values) -> float:
    """Standard deviation with n - 1 in the denominator (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def bootstrap_means(values, n_boot: int = 20000, seed: int = 0) -> np.ndarray:
    """The mean of every resample (exact enumeration for few values, else ``n_boot`` random ones)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        raise ValueError("no values to resample")
    if n <= EXACT_UP_TO:
        idx = np.array(list(itertools.product(range(n), repeat=n)))
    else:
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    return values[idx].mean(axis=1)


def bootstrap_interval(values, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (the ``inverted_cdf`` quantiles of the resamples)."""
    means = bootstrap_means(values)
    tail = (1 - level) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail], method="inverted_cdf")
    return float(lo), float(hi)


def t_interval(values, level: float = LEVEL) -> tuple[float, float]:
    """mean ± t(n-1) × sample SD / sqrt(n); infinite when there is a single value."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return -float("inf"), float("inf")
    half = stats.t.ppf(1 - (1 - level) / 2, n - 1) * sample_sd(values) / np.sqrt(n)
    return float(values.mean() - half), float(values.mean() + half)


def verdict(boot: tuple, t: tuple) -> str:
    """'ahead', 'behind' or "can't tell", from two intervals of a difference (a minus b)."""
    if boot[0] > 0 and t[0] > 0:
        return "ahead"
    if boot[1] < 0 and t[1] < 0:
        return "behind"
    return "can't tell"


def paired(a, b, level: float = LEVEL) -> dict:
    """Compare ``a`` with ``b``, two lists of scores on the same seeds, in that order."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need the same seeds: got {a.shape} and {b.shape}")
    d = a - b
    boot, t = bootstrap_interval(d, level), t_interval(d, level)
    return {"n": int(len(d)), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
            "difference": float(d.mean()), "sd": sample_sd(d),
            "bootstrap": [boot[0], boot[1]], "t": [t[0], t[1]], "verdict": verdict(boot, t)}


def describe(p: dict, name_a: str = "a", name_b: str = "b") -> str:
    """One sentence, generated from the numbers, saying what a paired comparison found."""
    (blo, bhi), (tlo, thi) = p["bootstrap"], p["t"]
    gap = (f"{p['difference']:+.3f} (95% intervals: bootstrap {blo:+.3f} to {bhi:+.3f}, "
           f"t {tlo:+.3f} to {thi:+.3f}; n={p['n']} seeds)")
    if p["verdict"] == "ahead":
        return f"{name_a} is ahead of {name_b} by {gap}."
    if p["verdict"] == "behind":
        return f"{name_a} is behind {name_b} by {gap}."
    return f"{name_a} vs {name_b}: {gap}; the seeds cannot tell them apart."


# ---------------------------------------------------------------- many cells at once

def holm(pvalues, alpha: float = 0.05) -> list[bool]:
    """Holm's step-down correction: which of ``pvalues`` are rejected with the family-wise error
    rate (any false claim among them all) held at ``alpha``. The smallest p is compared with
    alpha/m, the next with alpha/(m-1), and so on; the first that fails stops the rest."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    keep = [False] * m
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if not p[i] <= alpha / (m - rank):
            break
        keep[int(i)] = True
    return keep


def benjamini_hochberg(pvalues, alpha: float = 0.05) -> list[bool]:
    """Benjamini and Hochberg's step-up correction: which of ``pvalues`` are rejected with the
    false discovery rate (the expected share of false claims among those made) held at
    ``alpha``. With the p-values sorted, the largest rank k with p(k) <= k × alpha / m is found;
    it and every smaller p are rejected."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    passed = [rank for rank, i in enumerate(order, start=1) if p[i] <= rank * alpha / m]
    keep = [False] * m
    for i in order[: max(passed, default=0)]:
        keep[int(i)] = True
    return keep
