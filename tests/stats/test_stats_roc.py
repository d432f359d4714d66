"""ROC statistics: AUC intervals, DeLong test, multiclass, Wilson, sensitivity/specificity."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from lnfusion.exceptions import DataError, StatsError
from lnfusion.stats import (
    delong_test,
    multiclass_auc,
    roc_auc,
    roc_auc_ci,
    sensitivity_specificity,
    wilson_ci,
)
from lnfusion.stats.bootstrap import cluster_bootstrap_indices


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    a = y * 1.2 + rng.normal(size=120)
    b = y * 0.4 + rng.normal(size=120)
    return y, a, b


def test_auc_matches_mann_whitney_and_brute_force(binary):
    y, a, _ = binary
    pos, neg = a[y == 1], a[y == 0]
    brute = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert roc_auc(y, a) == pytest.approx(brute)
    u = sps.mannwhitneyu(pos, neg).statistic
    assert roc_auc(y, a) == pytest.approx(u / (pos.size * neg.size))


def test_delong_ci_contains_auc_and_tracks_alpha(binary):
    y, a, _ = binary
    r95 = roc_auc_ci(y, a)
    r80 = roc_auc_ci(y, a, alpha=0.2)
    assert r95.method == "delong"
    assert r95.ci_low < r95.auc < r95.ci_high
    assert r80.ci_low > r95.ci_low and r80.ci_high < r95.ci_high
    assert (r95.n_pos, r95.n_neg) == (int(y.sum()), int((1 - y).sum()))
    assert r95.auc - r95.ci_low == pytest.approx(sps.norm.ppf(0.975) * r95.se)


def test_perfect_classifier_interval_clipped():
    y = np.r_[np.zeros(10), np.ones(10)]
    s = np.r_[np.arange(10.0), np.arange(10.0) + 100]
    r = roc_auc_ci(y, s)
    assert r.auc == 1 and r.ci_high == 1 and r.ci_low == 1


def test_bootstrap_reproducible_stratified_and_close_to_delong(binary):
    y, a, _ = binary
    b1 = roc_auc_ci(y, a, method="bootstrap", n_boot=500, random_state=1)
    b2 = roc_auc_ci(y, a, method="bootstrap", n_boot=500, random_state=1)
    b3 = roc_auc_ci(y, a, method="bootstrap", n_boot=500, random_state=2)
    assert b1 == b2 and b1 != b3
    assert b1.n_boot == 500 and b1.method == "bootstrap"
    d = roc_auc_ci(y, a)
    assert abs(b1.ci_low - d.ci_low) < 0.04 and abs(b1.ci_high - d.ci_high) < 0.04


def test_group_sampler_draws_whole_groups_per_stratum():
    y = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    g = np.array([1, 1, 2, 2, 2, 3, 3, 4, 5, 5])
    for idx in cluster_bootstrap_indices(y.size, g, 50, random_state=0, strata=y):
        chosen = g[idx]
        for grp in np.unique(chosen):
            # every drawn group comes with all of its rows (a multiple of its size)
            assert np.sum(chosen == grp) % np.sum(g == grp) == 0
        # stratification: 2 all-positive groups and 3 all-negative groups each time
        drawn_pos = np.sum(y[idx] == 1)
        assert drawn_pos in (4,)  # groups 1 and 3 both have 2 rows


def test_bootstrap_with_groups(binary):
    y, a, _ = binary
    groups = np.repeat(np.arange(60), 2)
    y_g = np.repeat(y[:60], 2)
    a_g = a[:120]
    res = roc_auc_ci(y_g, a_g, method="bootstrap", groups=groups, n_boot=300)
    assert res.ci_low < res.auc < res.ci_high
    with pytest.raises(StatsError, match="use method='bootstrap'"):
        roc_auc_ci(y_g, a_g, groups=groups)


def test_delong_test_properties(binary):
    y, a, b = binary
    t = delong_test(y, a, b)
    assert t.auc_a == pytest.approx(roc_auc(y, a)) and t.auc_b == pytest.approx(roc_auc(y, b))
    assert t.diff == pytest.approx(t.auc_a - t.auc_b)
    assert t.ci_low < t.diff < t.ci_high
    assert t.pval == pytest.approx(2 * sps.norm.sf(abs(t.z)))
    rev = delong_test(y, b, a)
    assert rev.z == pytest.approx(-t.z) and rev.pval == pytest.approx(t.pval)
    same = delong_test(y, a, a)
    assert same.z == 0 and same.pval == 1


def test_multiclass_auc():
    rng = np.random.default_rng(5)
    classes = ["metastatic", "lymphoma", "benign"]
    y = rng.choice(classes, 150)
    logits = rng.normal(size=(150, 3)) + 1.5 * (y[:, None] == np.array(classes)[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    res = multiclass_auc(y, pd.DataFrame(proba, columns=classes), n_boot=200)
    assert res["class"].tolist() == classes + ["macro"]
    for j, c in enumerate(classes):
        row = res[res["class"] == c].iloc[0]
        assert row["auc"] == pytest.approx(roc_auc(y == c, proba[:, j]))
        assert row["ci_low"] < row["auc"] < row["ci_high"]
    macro = res.iloc[-1]
    assert macro["auc"] == pytest.approx(res["auc"].iloc[:3].mean())
    assert macro["method"] == "bootstrap" and macro["ci_low"] < macro["auc"] < macro["ci_high"]
    with pytest.raises(DataError, match="not among classes"):
        multiclass_auc(y, proba, classes=["a", "b", "c"], n_boot=10)


def test_wilson_interval():
    lo, hi = wilson_ci(0, 20)
    assert lo == 0 and 0 < hi < 0.2
    lo, hi = wilson_ci(20, 20)
    assert hi == 1 and lo > 0.8
    lo, hi = wilson_ci(7, 20, alpha=0.05)
    z = sps.norm.ppf(0.975)
    p = 7 / 20
    centre = (p + z**2 / 40) / (1 + z**2 / 20)
    assert (lo + hi) / 2 == pytest.approx(centre)
    assert all(np.isnan(wilson_ci(0, 0)))
    with pytest.raises(StatsError):
        wilson_ci(5, 3)


def test_sensitivity_specificity_counts_and_threshold():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
    r = sensitivity_specificity(y, pred)
    assert (r.tp, r.fn, r.tn, r.fp) == (3, 1, 4, 2)
    assert r.sensitivity == 0.75 and r.specificity == pytest.approx(4 / 6)
    assert (r.sensitivity_ci_low, r.sensitivity_ci_high) == wilson_ci(3, 4)
    assert r.ppv == pytest.approx(3 / 5) and r.npv == pytest.approx(4 / 5)
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.4, 0.2, 0.6, 0.55])
    t = sensitivity_specificity(y, scores, threshold=0.5)
    assert (t.tp, t.fn, t.tn, t.fp) == (3, 1, 4, 2) and t.threshold == 0.5
    lab = sensitivity_specificity(np.where(y == 1, "met", "ben"), np.where(pred == 1, "met", "ben"),
                                  positive="met")
    assert lab.sensitivity == r.sensitivity


def test_input_errors(binary):
    y, a, _ = binary
    with pytest.raises(DataError, match="two classes"):
        roc_auc_ci([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(StatsError, match="positive and negative"):
        roc_auc_ci([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="missing or infinite"):
        roc_auc_ci(y, np.where(np.arange(a.size) == 3, np.nan, a))
    with pytest.raises(DataError, match="one per case"):
        roc_auc_ci(y, a[:-1])
