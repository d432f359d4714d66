"""TreeSHAP of the clinical branch: fixed shape, agreement with XGBoost, local accuracy."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

xgboost = pytest.importorskip("xgboost")
shap = pytest.importorskip("shap")

from lnfusion.exceptions import DataError, LnfusionError, NotAvailableError, NotFittedError  # noqa: E402
from lnfusion.explain.tabular import (  # noqa: E402
    ShapExplanation,
    ShapShapeError,
    normalize_shap_output,
    tabular_shap,
)
from lnfusion.models.tabular import TabularClassifier  # noqa: E402

CLASSES = ("metastatic", "lymphoma", "benign")


def _descriptors(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Descriptors where ``shape`` alone decides the class; the rest is noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    shape = np.array(["irregular", "round", "oval"], dtype=object)[y]
    frame = pd.DataFrame({
        "age": rng.normal(55, 12, n),
        "shape": pd.Categorical(shape, categories=["oval", "round", "irregular"]),
        "echogenicity": pd.Categorical(rng.choice(["hypo", "iso", "hyper"], n),
                                       categories=["hypo", "iso", "hyper"]),
        "short_axis_mm": rng.gamma(4, 2, n),
        "elasto_score": pd.Categorical(rng.integers(1, 6, n), categories=[1, 2, 3, 4, 5],
                                       ordered=True),
    })
    frame.loc[::9, "age"] = np.nan
    frame.loc[::11, "echogenicity"] = np.nan
    return frame, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _descriptors()
    clf = TabularClassifier(xgb_params={"n_estimators": 30}).fit(X, np.asarray(CLASSES, dtype=object)[y])
    return clf, X, y


def _contribs(booster, frame):
    dm = xgboost.DMatrix(frame, enable_categorical=True)
    return booster.predict(dm, pred_contribs=True), booster.predict(dm, output_margin=True)


@pytest.mark.parametrize("backend", ["shap", "xgboost"])
def test_values_equal_xgboost_pred_contribs(fitted, backend):
    clf, X, _ = fitted
    result = tabular_shap(clf, X, backend=backend)
    frame = clf.feature_frame(X)
    contribs, _ = _contribs(clf.booster_, frame)  # (n, k, f + 1)
    n, f = frame.shape
    k = len(clf.classes_)
    assert result.values.shape == (n, f, k)
    assert result.base_values.shape == (k,)
    np.testing.assert_allclose(result.values, np.transpose(contribs[:, :, :f], (0, 2, 1)), atol=1e-5)
    np.testing.assert_allclose(result.base_values, contribs[0, :, f], atol=1e-5)
    assert result.feature_names == tuple(frame.columns)


@pytest.mark.parametrize("backend", ["shap", "xgboost"])
def test_local_accuracy_every_sample(fitted, backend):
    clf, X, _ = fitted
    result = tabular_shap(clf, X, backend=backend)
    _, margin = _contribs(clf.booster_, clf.feature_frame(X))
    np.testing.assert_allclose(result.output_values(), margin, atol=1e-5)
    # the margins are XGBoost's probabilities on the softmax scale
    proba = np.exp(margin) / np.exp(margin).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


def test_class_names_follow_the_model(fitted):
    clf, X, _ = fitted
    result = tabular_shap(clf, X)
    assert result.output_names == tuple(clf.classes_)
    assert result.output_index("benign") == list(clf.classes_).index("benign")
    with pytest.raises(DataError, match="unknown class"):
        result.output_index("nope")


def test_deciding_descriptor_ranks_first(fitted):
    clf, X, _ = fitted
    table = tabular_shap(clf, X).mean_abs()
    assert table.index[0] == "shape"
    assert list(table.columns) == [*clf.classes_, "all"]
    # for every class too, and for every sample the top contribution is 'shape'
    for c in clf.classes_:
        assert table[c].idxmax() == "shape"


def test_sample_table_orders_by_magnitude(fitted):
    clf, X, y = fitted
    result = tabular_shap(clf, X)
    one = result.contributions(3, CLASSES[y[3]])
    assert one.loc[0, "feature"] == "shape"
    assert np.all(np.diff(np.abs(one["shap"].to_numpy())) <= 1e-12)
    assert one.loc[0, "value"] == X.loc[3, "shape"]


def test_inputs_are_not_mutated(fitted):
    clf, X, _ = fitted
    before = X.copy()
    tabular_shap(clf, X)
    pd.testing.assert_frame_equal(X, before)


def test_explanation_objects_drive_shap_plots(fitted):
    clf, X, _ = fitted
    result = tabular_shap(clf, X.iloc[:40])
    explanations = {c: result.to_shap(c) for c in result.output_names}
    assert list(explanations) == list(clf.classes_)
    e = explanations["lymphoma"]
    assert e.values.shape == (40, X.shape[1])
    np.testing.assert_allclose(e.base_values, result.base_values[result.output_index("lymphoma")])
    # categorical columns become codes (NaN when missing) for shap's colour scale
    assert np.isnan(e.data[0, list(result.feature_names).index("echogenicity")])
    for plot in (lambda: shap.plots.beeswarm(e, show=False), lambda: shap.plots.bar(e, show=False),
                 lambda: shap.plots.waterfall(e[0], show=False)):
        plot()
        assert plt.gcf().axes, "shap drew nothing"
        plt.close("all")


def test_plain_xgboost_models_and_arrays():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = (X[:, 2] > 0).astype(int)
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=2).fit(X, y)
    for target in (model, model.get_booster()):
        result = tabular_shap(target, X)
        # binary: one margin becomes two classes, class 0 = -log-odds
        assert result.values.shape == (120, 4, 2)
        margin = model.get_booster().predict(xgboost.DMatrix(X), output_margin=True)
        np.testing.assert_allclose(result.output_values()[:, 1], margin, atol=1e-5)
        np.testing.assert_allclose(result.output_values()[:, 0], -margin, atol=1e-5)
        assert result.mean_abs().index[0] == "f2"


@pytest.mark.parametrize("layout", ["list", "array3d", "array2d"])
def test_normalize_every_shap_layout(layout):
    rng = np.random.default_rng(2)
    vals = rng.normal(size=(5, 3, 3))
    base = np.array([0.1, 0.2, 0.3])
    if layout == "list":
        out, b = normalize_shap_output([vals[:, :, c] for c in range(3)], list(base), 5, 3)
    elif layout == "array3d":
        out, b = normalize_shap_output(vals, base, 5, 3)
    else:
        out, b = normalize_shap_output(vals[:, :, 1], 0.2, 5, 3)
        vals = np.stack([-vals[:, :, 1], vals[:, :, 1]], axis=2)
        base = np.array([-0.2, 0.2])
    np.testing.assert_array_equal(out, vals)
    np.testing.assert_array_equal(b, base)


def test_normalize_rejects_wrong_shapes():
    with pytest.raises(ShapShapeError, match=r"expected shape \(5, 3"):
        normalize_shap_output(np.zeros((5, 4, 3)), np.zeros(3), 5, 3)
    with pytest.raises(ShapShapeError, match="base values"):
        normalize_shap_output(np.zeros((5, 3, 3)), np.zeros(2), 5, 3)
    assert issubclass(ShapShapeError, LnfusionError)


def test_errors_name_the_problem(fitted):
    clf, X, y = fitted
    with pytest.raises(NotFittedError, match="call fit first"):
        tabular_shap(TabularClassifier(), X)
    logistic = TabularClassifier(estimator="logistic").fit(X, y)
    with pytest.raises(NotAvailableError, match="booster"):
        tabular_shap(logistic, X)
    with pytest.raises(NotAvailableError, match="expected a TabularClassifier"):
        tabular_shap(object(), X)
    with pytest.raises(ValueError, match="backend"):
        tabular_shap(clf, X, backend="kernel")


def test_long_frame_and_subset(fitted):
    clf, X, _ = fitted
    result = tabular_shap(clf, X.iloc[:10])
    long = result.to_frame()
    assert len(long) == 10 * X.shape[1] * 3
    wide = long.pivot_table(index=["sample", "feature"], columns="class", values="shap")
    assert wide.loc[(0, "shape"), "benign"] == pytest.approx(
        result.values[0, result.feature_names.index("shape"), result.output_index("benign")])
    sub = result.subset([2, 5])
    assert isinstance(sub, ShapExplanation)
    np.testing.assert_array_equal(sub.values, result.values[[2, 5]])
