"""Two-class explanations: importance reported once, for the positive class (not twice it)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality
from lnfusion.explain.fusion_head import head_shap

CLASSES = ("benign", "malignant")


def _cohort(positive: str | None = "malignant", n: int = 120, seed: int = 0) -> Cohort:
    rng = np.random.default_rng(seed)
    malignant = rng.random(n) < 0.4
    rows = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)], "node_id": "N0",
        "label": np.where(malignant, "malignant", "benign"),
        "size": rng.normal(10, 3, n) + 6 * malignant,
        "noise": rng.normal(0, 1, n),
        "margin": np.where(rng.random(n) < 0.7, np.where(malignant, "irregular", "smooth"),
                           rng.choice(["smooth", "irregular"], n)),
        "bmode": [f"img/{i}.png" for i in range(n)]})
    schema = CohortSchema(classes=CLASSES, site=None, positive_class=positive,
                          descriptors={"size": Descriptor("continuous"),
                                       "noise": Descriptor("continuous"),
                                       "margin": Descriptor("categorical", levels=("smooth", "irregular"))},
                          modalities={"bmode": Modality()})
    return Cohort.from_manifest(rows, schema, check_images=False)


@pytest.mark.parametrize("positive", ["malignant", "benign", None])
def test_clinical_branch_importance_is_reported_once(positive):
    pytest.importorskip("xgboost")
    pytest.importorskip("shap")
    from lnfusion.explain.tabular import tabular_shap
    from lnfusion.models.tabular import TabularClassifier

    cohort = _cohort(positive)
    clf = TabularClassifier(xgb_params={"n_estimators": 20, "max_depth": 2}).fit(cohort)
    exp = tabular_shap(clf, cohort)
    expected = positive or "benign"              # default: the first declared class
    assert exp.reported_outputs == (expected,)
    table = exp.mean_abs()
    assert list(table.columns) == [expected, "all"]
    per_class = np.abs(exp.values).mean(axis=0)  # (features, 2): the two columns are equal
    np.testing.assert_allclose(per_class[:, 0], per_class[:, 1], rtol=1e-6)
    np.testing.assert_allclose(table.loc[list(exp.feature_names), "all"], per_class[:, 0], rtol=1e-6)
    assert exp.ranking()[0] == "size"


def test_fusion_head_importance_is_reported_once():
    from lnfusion.fusion.heads import MeanHead, ShrunkStackingHead, StackingHead

    rng = np.random.default_rng(2)
    n = 90
    y = (rng.random(n) < 0.5).astype(int)
    Z = {}
    for name, strength in (("bmode", 2.0), ("tabular", 0.5)):
        p1 = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1, n))))
        Z[name] = np.column_stack([1 - p1, p1])
    Z["bmode"][::7] = np.nan                     # a missing modality
    for head in (StackingHead(), MeanHead(), ShrunkStackingHead()):
        head.fit(Z, y, classes=CLASSES)
        exp = head_shap(head, Z, positive_class="malignant")
        assert exp.positive_output == "malignant"
        table = exp.mean_abs()
        assert list(table.columns) == ["malignant", "all"]
        rows = [exp.feature_names.index(b) for b in table.index]
        if exp.output == "logit":    # the log-odds of malignant: the two logits' difference
            expected = np.abs(exp.values[:, :, 1] - exp.values[:, :, 0]).mean(axis=0)
            assert exp.reported_unit == "log-odds"
        else:                        # a probability
            expected = np.abs(exp.values[:, :, 1]).mean(axis=0)
        np.testing.assert_allclose(table["all"], expected[rows])
        assert exp.ranking()[0] == "bmode"
        # without a declared positive class: the first class, reported once all the same
        default = head_shap(head, Z)
        assert default.reported_outputs == ("benign",)
        np.testing.assert_allclose(default.mean_abs()["all"], table["all"])
        # the log-odds / probability of benign is the mirror image: same importance
        other = head_shap(head, Z, positive_class="benign")
        assert list(other.mean_abs().columns) == ["benign", "all"]
        np.testing.assert_allclose(other.mean_abs()["all"], table["all"])


def test_card_contributions_of_a_two_class_logit_head_are_log_odds():
    from lnfusion.explain.cards import plot_contributions
    from lnfusion.fusion.heads import ShrunkStackingHead

    rng = np.random.default_rng(4)
    n = 60
    y = (rng.random(n) < 0.5).astype(int)
    p1 = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(0, 1, n))))
    Z = {"bmode": np.column_stack([1 - p1, p1]), "tabular": np.column_stack([p1, 1 - p1])[::-1]}
    head = ShrunkStackingHead().fit(Z, y, classes=CLASSES)
    exp = head_shap(head, Z, positive_class="malignant")
    table = exp.contributions(3, "malignant", sort=False)
    np.testing.assert_allclose(table["shap"], exp.values[3, :, 1] - exp.values[3, :, 0])
    # local accuracy on the log-odds: base difference plus the contributions
    logits = exp.output_values()[3]
    assert logits[1] - logits[0] == pytest.approx(
        exp.base_values[1] - exp.base_values[0] + table["shap"].sum())
    np.testing.assert_allclose(exp.contributions(3, "benign", sort=False)["shap"], -table["shap"])
    fig = plot_contributions(exp, 3, "malignant")
    assert fig.axes[0].get_xlabel() == "SHAP (log-odds)"
