"""Paired intervals, checked against small examples worked by hand."""

import math

import numpy as np
import pytest

from helpers import stats


def test_sample_sd_uses_n_minus_one():
    # [0, 0, 3]: mean 1, squared deviations 1 + 1 + 4 = 6, divided by n - 1 = 2 -> sqrt(3)
    assert stats.sample_sd([0, 0, 3]) == pytest.approx(math.sqrt(3))
    assert stats.sample_sd([0.5]) == 0.0


def test_exact_bootstrap_by_hand():
    """[0, 0, 3]: a resample's mean is the number of 3s drawn (0..3), Binomial(3, 1/3):
    P = 8/27, 12/27, 6/27, 1/27. Cumulative: 0.296, 0.741, 0.963, 1. The 2.5% quantile is 0;
    the 97.5% quantile is 3 (0.963 < 0.975); at 90% the 95% quantile is 2 (0.963 >= 0.95)."""
    means = stats.bootstrap_means([0, 0, 3])
    assert len(means) == 27
    assert sorted(np.bincount(means.astype(int)).tolist()) == sorted([8, 12, 6, 1])
    assert stats.bootstrap_interval([0, 0, 3]) == (0.0, 3.0)
    assert stats.bootstrap_interval([0, 0, 3], level=0.90) == (0.0, 2.0)


def test_t_interval_by_hand():
    # mean 1, SD sqrt(3), n 3: half-width t(0.975, 2) * sqrt(3)/sqrt(3) = 4.3027
    lo, hi = stats.t_interval([0, 0, 3])
    assert lo == pytest.approx(1 - 4.3027, abs=1e-3) and hi == pytest.approx(1 + 4.3027, abs=1e-3)
    assert stats.t_interval([1.0]) == (-math.inf, math.inf)


def test_paired_differences_and_verdicts():
    a = [0.80, 0.82, 0.85, 0.81, 0.84]
    b = [0.70, 0.71, 0.74, 0.72, 0.73]
    p = stats.paired(a, b)
    assert p["n"] == 5 and p["difference"] == pytest.approx(0.104)
    assert p["sd"] == pytest.approx(stats.sample_sd(np.subtract(a, b)))
    assert p["verdict"] == "ahead" and p["bootstrap"][0] > 0 and p["t"][0] > 0
    assert stats.paired(b, a)["verdict"] == "behind"
    mixed = stats.paired([0.8, 0.7, 0.9], [0.75, 0.78, 0.8])
    assert mixed["verdict"] == "can't tell"
    assert "cannot tell" in stats.describe(mixed, "x", "y")
    assert stats.describe(p, "transfer", "control").startswith("transfer is ahead of control by +0.104")


def test_verdict_needs_both_intervals():
    assert stats.verdict((0.01, 0.05), (-0.01, 0.07)) == "can't tell"
    assert stats.verdict((0.01, 0.05), (0.001, 0.07)) == "ahead"
    assert stats.verdict((-0.05, -0.01), (-0.07, -0.002)) == "behind"


def test_paired_rejects_unpaired_input():
    with pytest.raises(ValueError, match="same seeds"):
        stats.paired([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="no values"):
        stats.bootstrap_means([])


def test_large_samples_use_random_resamples_reproducibly():
    values = np.linspace(0, 1, 12)
    assert np.array_equal(stats.bootstrap_means(values), stats.bootstrap_means(values))
    lo, hi = stats.bootstrap_interval(values)
    assert lo < values.mean() < hi


def test_holm_by_hand():
    # m = 4, alpha 0.05: sorted 0.01 <= 0.05/4 = 0.0125 yes; 0.02 <= 0.05/3 = 0.0167 no: stop,
    # so 0.03 (<= 0.05/2) is not rejected either although it would pass its own threshold
    assert stats.holm([0.03, 0.01, 0.02, 0.5], 0.05) == [False, True, False, False]
    assert stats.holm([0.001, 0.01, 0.02, 0.04], 0.05) == [True, True, True, True]
    assert stats.holm([], 0.05) == []
    assert stats.holm([0.05], 0.05) == [True] and stats.holm([0.051], 0.05) == [False]


def test_benjamini_hochberg_by_hand():
    # m = 4, thresholds k * 0.05 / 4 = 0.0125, 0.025, 0.0375, 0.05. Sorted 0.01, 0.02, 0.03,
    # 0.5: the largest k with p(k) <= threshold is 3 (0.03 <= 0.0375): the three smallest pass
    assert stats.benjamini_hochberg([0.03, 0.01, 0.02, 0.5], 0.05) == [True, True, True, False]
    # step-up: sorted 0.04 fails its rank-1 threshold (0.025), but 0.045 passes rank 2's (0.05),
    # so both are rejected
    assert stats.benjamini_hochberg([0.045, 0.04], 0.05) == [True, True]
    assert stats.benjamini_hochberg([0.2, 0.3], 0.05) == [False, False]
    assert stats.benjamini_hochberg([], 0.05) == []


def test_benjamini_hochberg_claims_at_least_what_holm_does():
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(0, 0.1, size=9)
        h, b = stats.holm(p), stats.benjamini_hochberg(p)
        assert all(bb for hh, bb in zip(h, b, strict=True) if hh)
