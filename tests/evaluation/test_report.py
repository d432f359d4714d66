"""evaluate() and EvaluationResult: branches, missing modalities, comparisons, renderers."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from evaluation_standins import CLASSES, FusionStandIn, SignalModel, make_cohort

from lnfusion.evaluation import AbsentClassError, EvaluationResult, evaluate, evaluate_predictions
from lnfusion.exceptions import DataError, NotFittedError, PersistenceError


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(n_patients=60, seed=1)


@pytest.fixture(scope="module")
def result(cohort):
    model = FusionStandIn().fit(cohort)
    return evaluate(model, cohort, n_boot=60, random_state=0, title="Test report")


def test_every_branch_is_reported_on_the_nodes_it_saw(result, cohort):
    s = result.summary.set_index("model")
    assert result.models == ["model", "bmode", "cdfi", "tabular"]
    mask = cohort.modality_mask()
    for m in ("bmode", "cdfi"):
        assert s.loc[m, "n_missing"] == (~mask[m]).sum()
        assert s.loc[m, "n"] == mask[m].sum()
    assert s.loc["model", "n"] == len(cohort) and s.loc["model", "n_missing"] == 0
    assert s.loc["tabular", "n_missing"] == 0
    assert s.loc["model", "n_patients"] == cohort.n_patients
    missing = result.missing.set_index("modality")
    assert missing.loc["bmode", "n_missing"] == (~mask["bmode"]).sum()
    assert (missing["n_nodes"] == len(cohort)).all()
    assert set(result.per_class["model"]) == set(result.models)
    assert len(result.per_class) == 4 * len(CLASSES)


def test_branch_metrics_equal_metrics_on_the_seen_nodes(result, cohort):
    """A branch's AUC is computed exactly on the nodes it could see."""
    from sklearn.metrics import roc_auc_score

    seen = cohort.modality_mask()["bmode"].to_numpy()
    proba = SignalModel("bmode").fit(cohort).predict_proba(cohort)[seen]
    y = cohort.y[seen]
    expected = roc_auc_score(y, proba, multi_class="ovr")
    assert result.summary.set_index("model").loc["bmode", "macro_auc"] == pytest.approx(expected)


def test_comparisons_fused_vs_each_branch(result):
    c = result.comparisons
    assert set(c["model_a"]) == {"model"}
    assert set(c["model_b"]) == {"bmode", "cdfi", "tabular"}
    assert len(c) == 3 * (len(CLASSES) + 1)
    assert c["pval"].between(0, 1).all() and (c["pval_adj"] >= c["pval"] - 1e-12).all()
    per_class = c[c["class"] != "macro"]
    assert (per_class["method"] == "DeLong").all()
    n_seen = result.summary.set_index("model")["n"]
    for b, n in c.groupby("model_b")["n"].first().items():
        assert n == n_seen[b]  # paired on the nodes the branch saw


def test_markdown_lists_every_branch_and_the_pvalues(result):
    md = result.to_markdown()
    assert md.startswith("# Test report")
    for name in result.models:
        assert f"| {name} |" in md
    for p in result.comparisons["pval"]:
        text = "<0.001" if p < 0.001 else f"{p:.3f}"
        assert text in md
    assert "DeLong" in md and "Holm" in md
    assert "## Missing modalities" in md
    # one confusion matrix per model, rows labelled with the classes
    assert md.count("true \\ predicted") == len(result.models)


def test_html_is_self_contained_with_figures(result, tmp_path):
    path = tmp_path / "report.html"
    page = result.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"(src|href)=\"https?://", page)
    for name in result.models:
        assert f"<td>{name}</td>" in page
    for p in result.comparisons["pval"]:
        assert ("&lt;0.001" if p < 0.001 else f"{p:.3f}") in page
    light = result.to_html(embed_figures=False)
    assert "data:image/png" not in light and "<table" in light


def test_json_round_trip(result, tmp_path):
    path = result.save_json(tmp_path / "metrics.json")
    data = json.loads(path.read_text())
    assert data["format"].startswith("lnfusion.evaluation_result/")
    back = EvaluationResult.load_json(path)
    assert back.classes == result.classes and back.settings == json.loads(json.dumps(result.settings))
    for name in ("summary", "per_class", "comparisons", "confusion", "missing"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name),
                                      check_dtype=False)
    assert back.to_markdown() == result.to_markdown()
    with pytest.raises(PersistenceError, match="format"):
        EvaluationResult.from_dict({"format": "something else"})


def test_confusion_matrix_counts(result, cohort):
    mat = result.confusion_matrix("model")
    assert list(mat.index) == list(CLASSES) and list(mat.columns) == list(CLASSES)
    assert mat.to_numpy().sum() == len(cohort)
    np.testing.assert_array_equal(mat.sum(axis=1).to_numpy(), np.bincount(cohort.y, minlength=3))
    with pytest.raises(DataError, match="'elasto'"):
        result.confusion_matrix("elasto")


def test_plain_estimator_gives_only_the_model_row(cohort):
    model = SignalModel("bmode", fill=True).fit(cohort)
    res = evaluate(model, cohort, n_boot=0)
    assert res.models == ["model"] and len(res.comparisons) == 0
    assert "vs each branch" not in res.to_markdown()


def test_class_order_of_the_model_is_aligned(cohort):
    """A model whose classes_ are in another order is scored in the cohort's order."""
    base = SignalModel("bmode", fill=True).fit(cohort)

    class Reordered(SignalModel):
        def fit(self, c, y=None):
            self.classes_ = np.asarray(CLASSES[::-1], dtype=object)
            return self

        def predict_proba(self, c):
            return super().predict_proba(c)[:, ::-1]

    a = evaluate(base, cohort, n_boot=0).summary
    b = evaluate(Reordered("bmode", fill=True).fit(cohort), cohort, n_boot=0).summary
    pd.testing.assert_frame_equal(a, b)


def test_absent_class_in_the_evaluation_set_is_named(cohort):
    model = FusionStandIn().fit(cohort)
    no_lymphoma = cohort.subset(np.flatnonzero(cohort.y != 1))
    with pytest.raises(AbsentClassError, match="'lymphoma'.*AUC is undefined"):
        evaluate(model, no_lymphoma, n_boot=0)


def test_unfitted_model_raises_not_fitted(cohort):
    with pytest.raises(NotFittedError, match="call fit first"):
        evaluate(FusionStandIn(), cohort, n_boot=0)


def test_branch_that_saw_nothing_is_listed_without_metrics():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1, 2], 10)
    p = rng.dirichlet(np.ones(3), 30)
    blind = np.full((30, 3), np.nan)
    with pytest.warns(RuntimeWarning, match="'elasto' could not see any"):
        res = evaluate_predictions(y, {"fused": p, "elasto": blind}, CLASSES, n_boot=0)
    row = res.summary.set_index("model").loc["elasto"]
    assert row["n"] == 0 and row["n_missing"] == 30 and np.isnan(row["macro_auc"])
    assert "elasto" in res.to_markdown()


def test_partial_nan_rows_and_nan_in_the_model_are_rejected():
    y = np.tile([0, 1, 2], 4)
    p = np.full((12, 3), 1 / 3)
    half = p.copy()
    half[2, 0] = np.nan
    with pytest.raises(DataError, match="row 2 mixes NaN"):
        evaluate_predictions(y, {"fused": p, "b": half}, CLASSES, n_boot=0)
    blind = p.copy()
    blind[3] = np.nan
    with pytest.raises(DataError, match="must score every node"):
        evaluate_predictions(y, {"fused": blind}, CLASSES, n_boot=0)


def test_real_late_fusion_classifier_is_evaluated(cohort):
    """Integration: the real LateFusionClassifier with cheap stand-in branches."""
    fusion = pytest.importorskip("lnfusion.fusion.late")
    model = fusion.LateFusionClassifier(
        branches={"bmode": SignalModel("bmode"), "cdfi": SignalModel("cdfi")},
        head="stacking", cv=3, progress=False)
    model.fit(cohort)
    res = evaluate(model, cohort, n_boot=20)
    assert res.models == ["model", "bmode", "cdfi"]
    assert set(res.comparisons["model_b"]) == {"bmode", "cdfi"}
