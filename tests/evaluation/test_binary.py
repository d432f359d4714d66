"""Two-class tasks: one positive class, one AUC with its interval and test, no mirror rows.

The reference values of the AUCs, DeLong intervals, DeLong tests and the Holm
adjustment across branches come from R (pROC ``ci.auc`` / ``roc.test``,
``p.adjust``): ``tests/stats/golden/golden.json``, cases ``binary_eval_*``,
written by ``tests/stats/golden/make_golden.R`` (R is not needed here).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality
from lnfusion.evaluation import (
    EvaluationResult,
    classification_metrics,
    compare_models,
    cross_validate,
    evaluate,
    evaluate_predictions,
    positive_class_index,
)
from lnfusion.exceptions import DataError
from lnfusion.stats import delong_test, roc_auc_ci

GOLDEN = json.loads((Path(__file__).parents[1] / "stats" / "golden" / "golden.json").read_text())
BINARY_CASES = [c for c in GOLDEN["cases"] if c["fn"] == "binary evaluation"]
CLASSES = ("benign", "malignant")
RTOL = 1e-6


def _two_col(p_malignant) -> np.ndarray:
    p = np.asarray(p_malignant, dtype=float)
    return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(3)
    n = 80
    y = (np.arange(n) % 3 == 0).astype(int)          # 1 = malignant
    groups = np.array([f"P{i // 2:03d}" for i in range(n)])
    score = {name: 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1, n))))
             for name, strength in (("model", 1.4), ("bmode", 0.9), ("tabular", 0.3))}
    return y, groups, {k: _two_col(v) for k, v in score.items()}


# ----------------------------------------------------------------------------- positive class
def test_positive_class_defaults_to_the_first_declared_class():
    assert positive_class_index(CLASSES) == 0
    assert positive_class_index(CLASSES, "malignant") == 1
    assert positive_class_index(("metastatic", "lymphoma", "benign")) is None
    with pytest.raises(DataError, match="not one of the classes"):
        positive_class_index(CLASSES, "cancer")
    with pytest.raises(DataError, match="two-class tasks only"):
        positive_class_index(("a", "b", "c"), "a")


def test_schema_declares_the_positive_class_and_round_trips():
    schema = CohortSchema(classes=CLASSES, positive_class="malignant")
    assert schema.positive == "malignant"
    again = CohortSchema.from_dict(json.loads(schema.to_json()))
    assert again == schema and again.positive_class == "malignant"
    assert CohortSchema(classes=CLASSES).positive == "benign"
    assert CohortSchema().positive is None


# ----------------------------------------------------------------------------- metrics
def test_binary_metrics_report_the_positive_class_once(arrays):
    from sklearn import metrics as skm

    y, groups, probas = arrays
    p = probas["model"]
    m = classification_metrics(y, p, CLASSES, groups, n_boot=50, positive_class="malignant")
    assert m.positive_class == "malignant"
    assert m.per_class["class"].tolist() == ["malignant"]
    row = m.per_class.iloc[0]
    ref = roc_auc_ci(y, p[:, 1], method="delong")
    assert row["auc"] == pytest.approx(skm.roc_auc_score(y, p[:, 1]))
    assert (row["auc_ci_low"], row["auc_ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    pred = p.argmax(axis=1)
    assert row["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert row["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - pred))
    assert row["n_pos"] == y.sum() and row["n_neg"] == (1 - y).sum()
    s = m.summary
    # the single AUC and its own (DeLong) interval, not a bootstrap of a mean of mirror images
    assert (s["macro_auc"], s["macro_auc_ci_low"], s["macro_auc_ci_high"]) == pytest.approx(
        (ref.auc, ref.ci_low, ref.ci_high))
    # summary metrics still count both classes
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert s["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m.confusion.shape == (2, 2)
    assert set(m.roc["class"]) == {"malignant"} and set(m.roc_band["class"]) == {"malignant"}
    assert set(m.calibration["curve"]) == {"top_label", "malignant"}


def test_default_positive_is_the_first_class_with_the_same_auc(arrays):
    y, groups, probas = arrays
    first = classification_metrics(y, probas["model"], CLASSES, n_boot=0)
    second = classification_metrics(y, probas["model"], CLASSES, n_boot=0, positive_class="malignant")
    assert first.per_class["class"].tolist() == ["benign"]
    assert first.summary["macro_auc"] == pytest.approx(second.summary["macro_auc"])
    a, b = first.per_class.iloc[0], second.per_class.iloc[0]
    assert a["sensitivity"] == pytest.approx(b["specificity"])   # mirror image
    assert (a["auc_ci_low"], a["auc_ci_high"]) == pytest.approx((b["auc_ci_low"], b["auc_ci_high"]))


def test_bootstrap_interval_of_the_single_auc(arrays):
    y, groups, probas = arrays
    m = classification_metrics(y, probas["model"], CLASSES, groups, n_boot=80,
                               auc_method="bootstrap", positive_class="malignant")
    row = m.per_class.iloc[0]
    assert row["auc_ci_low"] < row["auc"] < row["auc_ci_high"]
    assert m.summary["macro_auc_ci_low"] == row["auc_ci_low"]
    assert m.summary["macro_auc_ci_high"] == row["auc_ci_high"]


# ----------------------------------------------------------------------------- comparison
def test_binary_comparison_is_one_delong_test_without_mirror_adjustment(arrays):
    y, groups, probas = arrays
    c = compare_models(y, probas["model"], probas["bmode"], CLASSES, groups, n_boot=30,
                       names=("model", "bmode"), positive_class="malignant")
    assert c["class"].tolist() == ["malignant"]
    t = delong_test(y, probas["model"][:, 1], probas["bmode"][:, 1])
    row = c.iloc[0]
    assert row["pval"] == pytest.approx(t.pval) and row["z"] == pytest.approx(t.z)
    assert row["pval_adj"] == row["pval"]       # not doubled by Holm over a mirror class
    assert row["method"] == "DeLong"


# ----------------------------------------------------------------------------- report
@pytest.fixture(scope="module")
def report(arrays):
    y, groups, probas = arrays
    return evaluate_predictions(y, probas, CLASSES, groups, n_boot=40, positive_class="malignant",
                                title="Binary")


def test_binary_report_tables(report, arrays):
    y, _, probas = arrays
    assert report.positive_class == "malignant"
    assert report.per_class.groupby("model").size().tolist() == [1, 1, 1]
    assert set(report.per_class["class"]) == {"malignant"}
    c = report.comparisons
    assert len(c) == 2 and set(c["class"]) == {"malignant"}
    raw = [delong_test(y, probas["model"][:, 1], probas[b][:, 1]).pval for b in ("bmode", "tabular")]
    from lnfusion.stats import adjust_pvalues

    np.testing.assert_allclose(c["pval"], raw)
    np.testing.assert_allclose(c["pval_adj"], adjust_pvalues(raw, "holm"))  # across branches


def test_binary_report_text_names_the_single_auc(report):
    md = report.to_markdown()
    assert "macro AUC" not in md
    assert "AUC of malignant (95% CI)" in md
    assert "## Positive class: malignant" in md and "one-vs-rest" not in md
    assert "positive class: malignant" in md
    assert "roc.test(method='delong', paired=TRUE)" in md
    assert "macro" not in report.display_tables()["comparisons"]["class"].tolist()
    html = report.to_html(embed_figures=False)
    assert "AUC of malignant" in html and "macro AUC" not in html
    assert "AUC of malignant" in repr(report)


def test_binary_result_round_trips_json(report):
    again = EvaluationResult.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.positive_class == "malignant"
    assert again.to_markdown() == report.to_markdown()


def test_binary_roc_plot_has_one_curve_per_model(report):
    fig = report.plot_roc()
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert len(axes) == 1
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert not any("benign" in t for t in labels)


# ----------------------------------------------------------------------------- cohort
def _binary_cohort(n_patients=48, positive=None, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = CLASSES[int(p % 3 == 0)]
        rows.append({"patient_id": f"P{p:03d}", "node_id": "N0", "label": label,
                     "size": rng.normal(12 + 6 * (label == "malignant"), 3),
                     "bmode": f"img/{p}.png"})
    schema = CohortSchema(classes=CLASSES, site=None, positive_class=positive,
                          descriptors={"size": Descriptor("continuous")},
                          modalities={"bmode": Modality()})
    return Cohort.from_manifest(pd.DataFrame(rows), schema, check_images=False)


class _SizeModel:
    """Logistic score of ``size``; scikit-learn style, for evaluate() and cross_validate()."""

    def __init__(self, slope: float = 0.4):
        self.slope = slope

    def get_params(self, deep=True):
        return {"slope": self.slope}

    def set_params(self, **params):
        self.slope = params.get("slope", self.slope)
        return self

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.centre_ = float(cohort.descriptors["size"].mean())
        return self

    def predict_proba(self, cohort):
        z = self.slope * (cohort.descriptors["size"].to_numpy(dtype=float) - self.centre_)
        return _two_col(1 / (1 + np.exp(-z)))


def test_evaluate_uses_the_schema_positive_class():
    cohort = _binary_cohort(positive="malignant")
    assert cohort.positive_class == "malignant"
    result = evaluate(_SizeModel().fit(cohort), cohort, n_boot=20)
    assert result.positive_class == "malignant"
    assert result.per_class["class"].tolist() == ["malignant"]
    assert result.summary["macro_auc"].iloc[0] > 0.8
    default = evaluate(_SizeModel().fit(_binary_cohort()), _binary_cohort(), n_boot=0)
    assert default.positive_class == "benign"


def test_cross_validation_of_a_binary_cohort_reports_the_single_auc():
    cohort = _binary_cohort(positive="malignant")
    cv = cross_validate(_SizeModel(), cohort, cv=3, n_boot=20)
    assert cv.pooled.positive_class == "malignant"
    assert set(cv.per_class["class"]) == {"malignant"}
    md = cv.to_markdown()
    assert "AUC of malignant" in md and "macro AUC" not in md
    assert "| auc (malignant) |" in md and "macro_auc" not in md


# ----------------------------------------------------------------------------- R (pROC)
@pytest.mark.parametrize("case", BINARY_CASES, ids=[c["id"] for c in BINARY_CASES])
def test_binary_evaluation_matches_proc(case):
    inp, exp = case["input"], case["expected"]
    positive = case["params"]["positive_class"]
    y = np.asarray(inp["y"], dtype=object)
    probas = {name: _two_col(inp[f"p_{key}"]) for name, key in
              (("a", "a"), ("b", "b"), ("c", "c"))}
    res = evaluate_predictions(y, probas, tuple(inp["classes"]), n_boot=0, positive_class=positive)
    s = res.summary.set_index("model")
    np.testing.assert_allclose(s.loc[["a", "b", "c"], "macro_auc"], exp["auc"], rtol=RTOL)
    np.testing.assert_allclose(s.loc["a", ["macro_auc_ci_low", "macro_auc_ci_high"]].to_numpy(float),
                               exp["ci_a"], rtol=RTOL)
    pc = res.per_class.set_index("model")
    assert set(pc["class"]) == {positive}
    np.testing.assert_allclose(pc.loc["b", ["auc_ci_low", "auc_ci_high"]].to_numpy(float),
                               exp["ci_b"], rtol=RTOL)
    c = res.comparisons.set_index("model_b")
    assert set(c["class"]) == {positive}
    for branch, key in (("b", "test_ab"), ("c", "test_ac")):
        t = exp[key]
        np.testing.assert_allclose(c.loc[branch, "z"], t["statistic"], rtol=RTOL)
        np.testing.assert_allclose(c.loc[branch, "pval"], t["p_value"], rtol=RTOL)
        np.testing.assert_allclose(c.loc[branch, ["ci_low", "ci_high"]].to_numpy(float),
                                   t["conf_int"], rtol=RTOL)
        np.testing.assert_allclose(c.loc[branch, ["auc_a", "auc_b"]].to_numpy(float),
                                   t["estimate"], rtol=RTOL)
    np.testing.assert_allclose(c.loc[["b", "c"], "pval_adj"], exp["p_holm"], rtol=RTOL)


def test_binary_golden_cases_are_present():
    assert {c["params"]["positive_class"] for c in BINARY_CASES} == {"malignant", "benign"}


def test_cli_evaluate_prints_the_single_auc(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from PIL import Image

    from lnfusion.cli import evaluate_cmd, main

    cohort = _binary_cohort(positive="malignant")
    manifest = cohort.table
    for rel in manifest["bmode"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / rel)
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    cohort.schema.save(tmp_path / "schema.json")
    model = _SizeModel().fit(cohort)
    monkeypatch.setattr(evaluate_cmd, "load_model", lambda d: model)
    (tmp_path / "model").mkdir()
    out = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "model"),
                                       str(tmp_path / "manifest.csv"), "--out", str(out),
                                       "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert "Positive class: malignant" in result.output
    assert "auc_ci_low" in result.output and "macro_auc" not in result.output
    text = out.read_text(encoding="utf-8")
    assert "AUC of malignant" in text and "macro AUC" not in text


def test_binary_calibration_plot_has_the_positive_class_panel(report):
    fig = report.plot_calibration()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["top label", "malignant (positive class)"]
