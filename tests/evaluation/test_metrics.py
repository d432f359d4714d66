"""Array-level metrics: agreement with scikit-learn and lnfusion.stats, calibration, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from lnfusion.evaluation import (
    AbsentClassError,
    brier_score,
    calibration_slope_intercept,
    check_predictions,
    classification_metrics,
    cluster_bootstrap_indices,
    compare_models,
    expected_calibration_error,
    predict_labels,
    reliability_bins,
)
from lnfusion.exceptions import DataError, EmptyClassError, LnfusionError
from lnfusion.stats.auc import auc_score, roc_points

CLASSES = ("metastatic", "lymphoma", "benign")


def random_predictions(n: int = 150, seed: int = 0, strength: float = 1.0):
    """Labels, informative Dirichlet-like probabilities and patient ids (1-3 nodes each)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    y[:3] = [0, 1, 2]
    logits = strength * np.eye(3)[y] + rng.normal(0, 1, (n, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    groups = np.repeat(np.arange(n), rng.integers(1, 4, n))[:n].astype(str)
    return y, p, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed):
    y, p, groups = random_predictions(seed=seed)
    m = classification_metrics(y, p, CLASSES, groups, n_boot=0)
    pred = p.argmax(axis=1)
    s = m.summary
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert s["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert s["brier"] == pytest.approx(skm.brier_score_loss(y, p, labels=[0, 1, 2]))
    assert s["macro_auc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert s["n"] == len(y) and s["n_patients"] == len(set(groups))
    pc = m.per_class.set_index("class")
    recall = skm.recall_score(y, pred, average=None)
    precision = skm.precision_score(y, pred, average=None, zero_division=0)
    f1 = skm.f1_score(y, pred, average=None)
    for k, c in enumerate(CLASSES):
        assert pc.loc[c, "auc"] == pytest.approx(skm.roc_auc_score(y == k, p[:, k]))
        assert pc.loc[c, "sensitivity"] == pytest.approx(recall[k])
        assert pc.loc[c, "specificity"] == pytest.approx(skm.recall_score(y != k, pred != k))
        assert pc.loc[c, "ppv"] == pytest.approx(precision[k])
        assert pc.loc[c, "f1"] == pytest.approx(f1[k])
        assert pc.loc[c, "n_pos"] == (y == k).sum()
    np.testing.assert_array_equal(m.confusion, skm.confusion_matrix(y, pred, labels=[0, 1, 2]))


def test_auc_ci_is_delong_from_stats():
    from lnfusion.stats.roc import roc_auc_ci, wilson_ci

    y, p, groups = random_predictions(seed=3)
    m = classification_metrics(y, p, CLASSES, None, alpha=0.1, n_boot=0)
    pred = p.argmax(axis=1)
    for k, row in m.per_class.iterrows():
        ref = roc_auc_ci((y == k).astype(int), p[:, k], method="delong", alpha=0.1)
        assert (row["auc"], row["auc_ci_low"], row["auc_ci_high"]) == pytest.approx(
            (ref.auc, ref.ci_low, ref.ci_high))
        assert row["auc_ci_low"] < row["auc"] < row["auc_ci_high"]
        tp = int(((pred == k) & (y == k)).sum())
        lo, hi = wilson_ci(tp, int((y == k).sum()), alpha=0.1)
        assert (row["sensitivity_ci_low"], row["sensitivity_ci_high"]) == pytest.approx((lo, hi))
    assert np.isnan(m.summary["macro_auc_ci_low"])  # n_boot=0: no macro interval


def test_patient_bootstrap_intervals_agree_with_stats():
    """Same stratified patient bootstrap as lnfusion.stats (own resamples: Monte Carlo tolerance)."""
    from lnfusion.stats.roc import multiclass_auc

    y, p, groups = random_predictions(seed=15)
    m = classification_metrics(y, p, CLASSES, groups, n_boot=400, random_state=4,
                               auc_method="bootstrap")
    ref = multiclass_auc(y, p, classes=[0, 1, 2], method="bootstrap", groups=groups,
                         n_boot=400, random_state=5).set_index("class")
    for k, row in m.per_class.iterrows():
        assert row["auc"] == pytest.approx(ref.loc[k, "auc"])
        assert (row["auc_ci_low"], row["auc_ci_high"]) == pytest.approx(
            (ref.loc[k, "ci_low"], ref.loc[k, "ci_high"]), abs=0.03)
    s = m.summary
    assert s["macro_auc"] == pytest.approx(ref.loc["macro", "auc"])
    assert (s["macro_auc_ci_low"], s["macro_auc_ci_high"]) == pytest.approx(
        (ref.loc["macro", "ci_low"], ref.loc["macro", "ci_high"]), abs=0.03)
    assert s["macro_auc_ci_low"] < s["macro_auc"] < s["macro_auc_ci_high"]


def test_class_names_as_labels_give_the_same_metrics():
    y, p, _ = random_predictions(seed=4)
    by_index = classification_metrics(y, p, CLASSES, n_boot=0)
    by_name = classification_metrics(np.asarray(CLASSES)[y], p, CLASSES, n_boot=0)
    pd.testing.assert_frame_equal(by_index.per_class, by_name.per_class)


def test_absent_class_raises_naming_it():
    y, p, _ = random_predictions(seed=5)
    keep = y != 1
    with pytest.raises(AbsentClassError, match="'lymphoma'") as info:
        classification_metrics(y[keep], p[keep], CLASSES, n_boot=0)
    assert info.value.class_name == "lymphoma"
    assert isinstance(info.value, EmptyClassError) and isinstance(info.value, LnfusionError)
    with pytest.warns(RuntimeWarning, match="lymphoma"):
        m = classification_metrics(y[keep], p[keep], CLASSES, n_boot=0, absent_class="warn")
    pc = m.per_class.set_index("class")
    assert np.isnan(pc.loc["lymphoma", "auc"]) and np.isnan(m.summary["macro_auc"])
    assert not np.isnan(pc.loc["benign", "auc"])


@pytest.mark.parametrize("bad, match", [
    (lambda p: p[:, :2], r"expected shape \(\d+, 3\)"),
    (lambda p: np.where(np.arange(len(p))[:, None] == 7, np.nan, p), "row 7"),
    (lambda p: p * 1.5, "sum to 1|lie in"),
])
def test_malformed_probabilities_are_rejected(bad, match):
    y, p, _ = random_predictions(seed=6)
    with pytest.raises(DataError, match=match):
        check_predictions(y, bad(p), CLASSES)


def test_unknown_label_is_named():
    y, p, _ = random_predictions(n=10, seed=7)
    labels = np.asarray(CLASSES, dtype=object)[y]
    labels[4] = "reactive"
    with pytest.raises(DataError, match="'reactive' at position 4"):
        check_predictions(labels, p, CLASSES)


def test_inputs_are_not_mutated():
    y, p, groups = random_predictions(seed=8)
    y0, p0, g0 = y.copy(), p.copy(), groups.copy()
    classification_metrics(y, p, CLASSES, groups, n_boot=20)
    compare_models(y, p, p[:, ::-1].copy(), CLASSES, groups, n_boot=20)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(groups, g0)


def test_predict_labels_threshold_mapping():
    p = np.array([[0.35, 0.60, 0.05], [0.20, 0.10, 0.70], [0.10, 0.50, 0.40], [0.30, 0.30, 0.40]])
    np.testing.assert_array_equal(predict_labels(p, CLASSES), [1, 2, 1, 2])
    # metastatic called whenever p >= 0.3; the rest by argmax over lymphoma/benign
    np.testing.assert_array_equal(predict_labels(p, CLASSES, {"metastatic": 0.3}), [0, 2, 1, 0])
    with pytest.raises(DataError, match="'reactive'"):
        predict_labels(p, CLASSES, {"reactive": 0.5})
    with pytest.raises(DataError, match="threshold"):
        predict_labels(p, CLASSES, "youden")


def test_brier_reduces_to_twice_binary_brier():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 50)
    q = rng.random(50)
    p = np.column_stack([1 - q, q])
    assert brier_score(y, p) == pytest.approx(2 * skm.brier_score_loss(y, q))


def test_ece_and_reliability_bins_by_hand():
    # two bins: confidence 0.55 (1 of 2 right) and 0.95 (2 of 2 right)
    p = np.array([[0.55, 0.45], [0.55, 0.45], [0.95, 0.05], [0.05, 0.95]])
    y = np.array([0, 1, 0, 1])
    expected = (2 * abs(0.5 - 0.55) + 2 * abs(1.0 - 0.95)) / 4
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected)
    bins = reliability_bins(np.array([1, 0, 1, 1.0]), p.max(axis=1), n_bins=10)
    assert bins["n"].tolist() == [2, 2]
    assert bins["observed"].tolist() == [0.5, 1.0]


def test_calibration_slope_recovers_miscalibration():
    rng = np.random.default_rng(10)
    lp = rng.normal(0, 1.5, 4000)
    truth = 1 / (1 + np.exp(-lp))
    y = (rng.random(lp.size) < truth).astype(int)
    slope, intercept = calibration_slope_intercept(y, truth)
    assert slope == pytest.approx(1, abs=0.12) and intercept == pytest.approx(0, abs=0.12)
    overconfident = 1 / (1 + np.exp(-2 * lp))
    slope2, _ = calibration_slope_intercept(y, overconfident)
    assert slope2 == pytest.approx(0.5, abs=0.08)
    assert all(np.isnan(calibration_slope_intercept(np.ones(5), np.full(5, 0.5))))


def test_roc_points_and_rank_auc_match_sklearn():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.random(80), 1)  # many ties
    fpr, tpr, _ = roc_points(y, s)
    ref_fpr, ref_tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s))


def test_cluster_bootstrap_resamples_whole_patients():
    groups = np.array(["a", "a", "b", "c", "c", "c"])
    sizes = {"a": 2, "b": 1, "c": 3}
    for idx in cluster_bootstrap_indices(6, groups, 30, random_state=1):
        picked = pd.Series(groups[idx]).value_counts()
        for g, count in picked.items():
            assert count % sizes[g] == 0  # a patient brings all of its nodes, each time drawn
    a = list(cluster_bootstrap_indices(6, groups, 5, random_state=2))
    b = list(cluster_bootstrap_indices(6, groups, 5, random_state=2))
    assert all(np.array_equal(x, z) for x, z in zip(a, b))


def test_roc_band_brackets_the_curve_on_average():
    y, p, groups = random_predictions(n=200, seed=12)
    m = classification_metrics(y, p, CLASSES, groups, n_boot=200)
    band = m.roc_band
    assert set(band["class"]) == set(CLASSES)
    assert (band["tpr_low"] <= band["tpr_high"]).all()
    for c in CLASSES:
        pts = m.roc[m.roc["class"] == c]
        b = band[band["class"] == c]
        tpr = np.interp(b["fpr"], pts["fpr"], pts["tpr"])
        inside = (tpr >= b["tpr_low"] - 1e-9) & (tpr <= b["tpr_high"] + 1e-9)
        assert inside.mean() > 0.9


def test_compare_models_uses_delong_per_class_and_bootstrap_for_macro():
    from lnfusion.stats.adjust import adjust_pvalues
    from lnfusion.stats.roc import delong_test

    y, p_good, groups = random_predictions(n=160, seed=13, strength=2.0)
    _, p_weak, _ = random_predictions(n=160, seed=14, strength=0.2)
    table = compare_models(y, p_good, p_weak, CLASSES, groups, names=("fused", "bmode"),
                           n_boot=300, random_state=0)
    assert table["class"].tolist() == list(CLASSES) + ["macro"]
    assert set(table["model_a"]) == {"fused"} and set(table["model_b"]) == {"bmode"}
    per_class = table.iloc[:3]
    for k, row in per_class.iterrows():
        ref = delong_test((y == k).astype(int), p_good[:, k], p_weak[:, k])
        assert row["pval"] == pytest.approx(ref.pval)
        assert row["diff"] == pytest.approx(ref.diff)
        assert row["method"] == "DeLong"
    np.testing.assert_allclose(per_class["pval_adj"], adjust_pvalues(per_class["pval"], "holm"))
    macro = table.iloc[3]
    assert macro["diff"] == pytest.approx(
        skm.roc_auc_score(y, p_good, multi_class="ovr") - skm.roc_auc_score(y, p_weak, multi_class="ovr"))
    assert macro["ci_low"] < macro["diff"] < macro["ci_high"]
    assert macro["pval"] < 0.05 and "patient bootstrap" in macro["method"]
    same = compare_models(y, p_good, p_good, CLASSES, groups, n_boot=50)
    assert same.iloc[3]["diff"] == 0 and same.iloc[3]["pval"] == 1.0
