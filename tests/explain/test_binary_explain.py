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
    from lnfusion.fusion.heads import MeanHead, StackingHead

    rng = np.random.default_rng(2)
    n = 90
    y = (rng.random(n) < 0.5).astype(int)
    Z = {}
    for name, strength in (("bmode", 2.0), ("tabular", 0.5)):
        p1 = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1, n))))
        Z[name] = np.column_stack([1 - p1, p1])
    Z["bmode"][::7] = np.nan                     # a missing modality
    for head in (StackingHead(), MeanHead()):
        head.fit(Z, y, classes=CLASSES)
        exp = head_shap(head, Z, positive_class="malignant")
        assert exp.positive_output == "malignant"
        np.testing.assert_allclose(exp.values[:, :, 0], -exp.values[:, :, 1], atol=1e-9)
        table = exp.mean_abs()
        assert list(table.columns) == ["malignant", "all"]
        np.testing.assert_allclose(table["all"], np.abs(exp.values[:, :, 1]).mean(axis=0)[
            [exp.feature_names.index(b) for b in table.index]])
        assert exp.ranking()[0] == "bmode"
        # without a declared positive class, the mirror outputs are still reported once
        default = head_shap(head, Z)
        assert list(default.mean_abs().columns) == ["benign", "all"]
        np.testing.assert_allclose(default.mean_abs()["all"], table["all"])
