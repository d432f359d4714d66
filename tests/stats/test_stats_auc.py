"""The one ROC/AUC implementation (lnfusion.stats.auc) against scikit-learn, ties included."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from lnfusion.exceptions import DataError
from lnfusion.stats import roc_auc
from lnfusion.stats.auc import SortedScores, auc_score, curve_auc, roc_points


@pytest.mark.parametrize("seed", range(5))
def test_binary_auc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    s = np.round(rng.normal(size=n) + 0.7 * y, 1)  # many tied scores, within and across classes
    assert len(np.unique(s)) < n
    ref = skm.roc_auc_score(y, s)
    assert auc_score(y, s) == pytest.approx(ref, abs=1e-12)
    assert roc_auc(y, s) == pytest.approx(ref, abs=1e-12)
    assert SortedScores(y[:, None] == 1, s[:, None]).auc() == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_one_vs_rest_aucs_match_sklearn_multiclass(seed):
    rng = np.random.default_rng(10 + seed)
    n, k = 200, 4
    y = rng.integers(0, k, n)
    logits = np.round(rng.normal(size=(n, k)) + np.eye(k)[y], 1)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = SortedScores.one_vs_rest(y, p)
    per_class = skm.roc_auc_score(y, p, multi_class="ovr", average=None)
    np.testing.assert_allclose(scores.aucs(), per_class, atol=1e-12)
    assert scores.macro_auc() == pytest.approx(
        skm.roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12)


def test_weights_equal_duplicated_cases():
    """A bootstrap resample as weights scores like the resample itself (sklearn on the copy)."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60), 1)
    idx = rng.integers(0, 60, 60)
    w = np.bincount(idx, minlength=60).astype(float)
    assert auc_score(y, s, weights=w) == pytest.approx(skm.roc_auc_score(y[idx], s[idx]), abs=1e-12)
    fpr, tpr = SortedScores(y[:, None] == 1, s[:, None]).curve(0, w)
    assert curve_auc(fpr, tpr) == pytest.approx(skm.roc_auc_score(y[idx], s[idx]), abs=1e-12)


@pytest.mark.parametrize("drop", [False, True])
def test_roc_points_match_sklearn_roc_curve(drop):
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 150)
    s = np.round(rng.normal(size=150) + y, 1)
    fpr, tpr, thr = roc_points(y, s, drop_intermediate=drop)
    ref_fpr, ref_tpr, ref_thr = skm.roc_curve(y, s, drop_intermediate=drop)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    np.testing.assert_allclose(thr, ref_thr)


def test_undefined_auc_is_nan_and_shapes_are_checked():
    assert np.isnan(auc_score([1, 1, 1], [0.2, 0.4, 0.9]))
    scores = SortedScores.one_vs_rest([0, 0, 1], [[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert np.isnan(scores.aucs()[2]) and np.isnan(scores.macro_auc())
    assert scores.aucs()[:2].tolist() == [1.0, 1.0]
    with pytest.raises(DataError, match="equal length"):
        auc_score([0, 1], [0.5])
    with pytest.raises(DataError, match="same shape"):
        SortedScores(np.ones((3, 2), bool), np.ones((3, 1)))
