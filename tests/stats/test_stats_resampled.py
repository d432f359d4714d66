"""Corrected resampled t-test (Nadeau-Bengio) against a hand computation."""
from __future__ import annotations

import math

import pytest

from lnfusion.stats import corrected_resampled_ttest


def test_matches_hand_computation():
    # 4 folds, differences 0.02, 0.04, 0.00, 0.06: mean 0.03, sd^2 = 0.002/3,
    # n_test/n_train = 50/200 = 0.25, se = sqrt((1/4 + 0.25) * 0.002/3) = sqrt(1/3000)
    a = [0.82, 0.84, 0.80, 0.86]
    b = [0.80, 0.80, 0.80, 0.80]
    r = corrected_resampled_ttest(a, b, n_train=200, n_test=50)
    se = math.sqrt(1 / 3000)
    assert r.mean_diff == pytest.approx(0.03)
    assert r.sd_diff == pytest.approx(math.sqrt(0.002 / 3))
    assert r.se == pytest.approx(se)
    assert r.statistic == pytest.approx(0.03 / se)          # 1.6432
    assert r.dof == 3 and r.n_folds == 4
    # t = 1.64317 on 3 df: two-sided p = 0.19888 (R: 2 * pt(-1.643168, 3))
    assert r.pval == pytest.approx(0.19888, abs=5e-5)
    # qt(0.975, 3) = 3.182446
    assert r.ci_low == pytest.approx(0.03 - 3.182446 * se, abs=1e-6)
    assert r.ci_high == pytest.approx(0.03 + 3.182446 * se, abs=1e-6)


def test_correction_widens_the_naive_interval():
    a = [0.9, 0.85, 0.88, 0.91, 0.87, 0.86]
    b = [0.86, 0.84, 0.85, 0.88, 0.85, 0.83]
    r = corrected_resampled_ttest(a, b, n_train=160, n_test=40)
    naive_se = r.sd_diff / math.sqrt(6)
    assert r.se > naive_se
    assert r.se == pytest.approx(naive_se * math.sqrt(1 + 6 * 0.25))


def test_identical_scores_and_bad_input():
    r = corrected_resampled_ttest([0.8, 0.8], [0.8, 0.8], 10, 5)
    assert r.pval == 1.0 and r.mean_diff == 0.0
    with pytest.raises(ValueError, match="at least two"):
        corrected_resampled_ttest([0.8], [0.7], 10, 5)
    with pytest.raises(ValueError, match="one score per fold"):
        corrected_resampled_ttest([0.8, 0.7], [0.7], 10, 5)
    with pytest.raises(ValueError, match="positive"):
        corrected_resampled_ttest([0.8, 0.7], [0.7, 0.6], 0, 5)
