"""explain(): one call, every explanation; local accuracy for every explained node."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("shap")
xgboost = pytest.importorskip("xgboost")

from lnfusion.exceptions import DataError, NotFittedError  # noqa: E402
from lnfusion.explain import ExplanationBundle, explain  # noqa: E402
from lnfusion.explain.attribution import ImageAttribution  # noqa: E402
from lnfusion.fusion import LateFusionClassifier  # noqa: E402


@pytest.fixture(scope="module")
def bundle(explain_toy):
    cohort, model = explain_toy
    return explain(model, cohort, patients="P000,P001", image_method="both", n_background=4,
                   shap_nsamples=4)


def test_bundle_shapes_and_probabilities(bundle, explain_toy):
    cohort, model = explain_toy
    assert isinstance(bundle, ExplanationBundle)
    n = len(cohort)
    assert len(bundle) == n
    assert bundle.modality.values.shape == (n, 3, 3)
    assert bundle.modality.feature_names == ("bmode", "elasto", "tabular")
    assert bundle.tabular.values.shape == (n, 3, 3)  # age, shape, elasto_score
    np.testing.assert_allclose(bundle.proba.to_numpy(), model.predict_proba(cohort), atol=1e-10)
    assert list(bundle.y_true) == list(cohort.labels)
    assert bundle.node_ids[:3] == ("P000/N1", "P000/N2", "P001/N1")
    assert list(bundle.selected) == [0, 1, 2]
    assert set(bundle.branch_proba) == {"bmode", "elasto", "tabular"}
    assert np.isnan(bundle.branch_proba["elasto"][5]).all()  # node 5 lacks elastography


def test_fusion_head_local_accuracy_every_node(bundle, explain_toy):
    cohort, model = explain_toy
    logits = model.head_.decision_function(model.head_inputs(cohort))
    np.testing.assert_allclose(bundle.modality.output_values(), logits, atol=1e-9)
    assert bundle.modality.method == "linear"


def test_tabular_local_accuracy_and_pred_contribs(bundle, explain_toy):
    cohort, model = explain_toy
    tab = model.branches_["tabular"]
    dm = xgboost.DMatrix(tab.feature_frame(cohort), enable_categorical=True)
    margin = tab.booster_.predict(dm, output_margin=True)
    contribs = tab.booster_.predict(dm, pred_contribs=True)
    np.testing.assert_allclose(bundle.tabular.output_values(), margin, atol=1e-5)
    np.testing.assert_allclose(bundle.tabular.values, np.transpose(contribs[:, :, :-1], (0, 2, 1)),
                               atol=1e-5)
    # descriptors are shown as the reader knows them (ordinal levels, not level indices)
    assert set(bundle.tabular.display_data["elasto_score"].dropna()) <= {1, 2, 3, 4, 5}


def test_image_attributions_for_the_chosen_patients_only(bundle, explain_toy):
    cohort, _ = explain_toy
    assert bundle.images and all(isinstance(a, ImageAttribution) for a in bundle.images)
    assert {a.row for a in bundle.images} == {0, 1, 2}
    for method in ("gradcam", "shap"):
        for row in (0, 1, 2):
            mods = {a.modality for a in bundle.images_for(row) if a.method == method}
            expected = {m for m in ("bmode", "elasto") if cohort.images(m)[row]}
            assert mods == expected
    for a in bundle.images:
        assert a.heatmap.shape == (32, 40)
        assert np.isfinite(a.heatmap).all()
        assert a.target == bundle.predicted[a.row]
        if a.method == "gradcam":
            assert a.heatmap.min() >= 0.0 and a.heatmap.max() <= 1.0
    # P001's B-mode has an ROI: nothing is attributed outside it
    roi_maps = [a for a in bundle.images if a.row == 2 and a.modality == "bmode"]
    assert roi_maps and all(a.roi == (2, 2, 38, 30) for a in roi_maps)
    for a in roi_maps:
        assert np.all(a.heatmap[:2, :] == 0) and np.all(a.heatmap[:, 38:] == 0)


def test_global_summaries(bundle):
    mod = bundle.modality_importance()
    assert list(mod.columns) == ["metastatic", "lymphoma", "benign", "all"]
    assert mod["all"].is_monotonic_decreasing
    desc = bundle.descriptor_importance()
    assert set(desc.index) == {"age", "shape", "elasto_score"}
    frame = bundle.predictions_frame()
    assert list(frame.columns[:4]) == ["node", "patient", "true", "predicted"]
    np.testing.assert_allclose(frame[["p_metastatic", "p_lymphoma", "p_benign"]].sum(axis=1), 1.0)


def test_row_lookup(bundle):
    assert bundle.row("P001") == 2
    assert bundle.row("P000/N2") == 1
    assert bundle.row(-1) == len(bundle) - 1
    with pytest.raises(DataError, match="not in this explanation"):
        bundle.row("nobody")


def test_save_writes_consistent_tables(bundle, tmp_path):
    files = bundle.save(tmp_path / "out")
    names = {f.name for f in files}
    assert {"predictions.csv", "modality_shap.csv", "tabular_shap.csv", "explanation.json",
            "modality_importance.png", "descriptor_importance.png"} <= names
    long = pd.read_csv(tmp_path / "out" / "modality_shap.csv")
    assert len(long) == len(bundle) * 3 * 3
    base = pd.read_csv(tmp_path / "out" / "modality_base_values.csv", index_col="class")["base_value"]
    total = long.groupby(["node", "class"])["shap"].sum().unstack()[list(bundle.classes)]
    recon = total.loc[list(bundle.node_ids)].to_numpy() + base[list(bundle.classes)].to_numpy()
    np.testing.assert_allclose(recon, bundle.modality.output_values(), atol=1e-9)
    tab = pd.read_csv(tmp_path / "out" / "tabular_shap.csv")
    assert set(tab["node"]) == set(bundle.node_ids)
    assert (tmp_path / "out" / "modality_importance.png").read_bytes()[:4] == b"\x89PNG"


def test_inputs_as_manifest_path_or_rows(bundle, explain_toy, tmp_path):
    cohort, model = explain_toy
    rows = pd.read_csv(cohort.root / "manifest.csv").iloc[2:5]
    manifest = cohort.root / "three.csv"
    rows.to_csv(manifest, index=False)
    from_path = explain(model, manifest, image_method="none")
    assert from_path.node_ids == bundle.node_ids[2:5]
    # (CNN outputs depend on the batch composition at float precision)
    np.testing.assert_allclose(from_path.modality.values, bundle.modality.values[2:5], atol=1e-4)
    assert from_path.images == () and list(from_path.selected) == [0, 1, 2]
    # manifest rows as a DataFrame: relative paths resolve against the current folder
    absolute = rows.copy()
    for m in ("bmode", "elasto"):
        absolute[m] = [str(cohort.root / v) if isinstance(v, str) and v else v for v in absolute[m]]
    from_rows = explain(model, absolute, image_method="none")
    np.testing.assert_allclose(from_rows.modality.values, from_path.modality.values, atol=1e-9)


def test_unlabelled_cohort_has_no_true_label(explain_toy, tmp_path):
    from lnfusion.data import Cohort

    cohort, model = explain_toy
    rows = pd.read_csv(cohort.root / "manifest.csv").iloc[:4].drop(columns="label")
    new = Cohort.from_manifest(rows, root=cohort.root, schema=cohort.root / "schema.json")
    result = explain(model, new, image_method="none")
    assert result.y_true is None
    assert result.predictions_frame()["true"].isna().all()
    fig = result.card(0)
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert not any("(true)" in t for t in ticks)
    assert "true:" not in fig._suptitle.get_text()
    assert "true label" not in result.card_html(0)


def test_image_shap_leaves_numpy_global_random_state_alone(explain_toy):
    from lnfusion.explain.images import image_shap

    cohort, model = explain_toy
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    maps = image_shap(model.branches_["elasto"], cohort, [3], "benign", n_background=2, nsamples=2)
    assert np.random.random() == expected
    assert [(a.row, a.target, a.method) for a in maps] == [(3, "benign", "shap")]
    # no image of the modality: nothing to explain
    assert image_shap(model.branches_["elasto"], cohort, [5], n_background=2, nsamples=2) == []


def test_errors(explain_toy):
    cohort, model = explain_toy
    with pytest.raises(DataError, match=r"\['P999'\] not found"):
        explain(model, cohort, patients=["P000", "P999"], image_method="none")
    with pytest.raises(ValueError, match="image_method"):
        explain(model, cohort, image_method="lime")
    with pytest.raises(NotFittedError, match="call fit first"):
        explain(LateFusionClassifier(), cohort)
    with pytest.raises(DataError, match="expected a Cohort"):
        explain(model, 42)
