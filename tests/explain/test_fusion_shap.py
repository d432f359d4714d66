"""Modality-level SHAP of the fusion heads: exactness and local accuracy."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from lnfusion.exceptions import DataError, NotAvailableError, NotFittedError
from lnfusion.explain.explanation import ShapExplanation
from lnfusion.explain.fusion_head import coalition_shap, head_shap
from lnfusion.fusion.heads import MeanHead, StackingHead, WeightedMeanHead

CLASSES = ("metastatic", "lymphoma", "benign")
BRANCHES = ("bmode", "cdfi", "elasto", "tabular")


def _dirichlet_towards(y: np.ndarray, strength: float, rng) -> np.ndarray:
    alpha = np.ones((len(y), 3))
    alpha[np.arange(len(y)), y] += strength
    return np.vstack([rng.dirichlet(a) for a in alpha])


def _branch_proba(n: int = 150, seed: int = 0):
    """Branch probabilities: elasto very informative, bmode not at all; some missing."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    Z = {"bmode": rng.dirichlet(np.ones(3), n),
         "cdfi": _dirichlet_towards(y, 1.0, rng),
         "elasto": _dirichlet_towards(y, 12.0, rng),
         "tabular": _dirichlet_towards(y, 2.0, rng)}
    Z["cdfi"][::5] = np.nan
    Z["elasto"][1::7] = np.nan
    return Z, y


@pytest.fixture(scope="module")
def data():
    return _branch_proba()


@pytest.fixture(scope="module")
def stacking(data):
    Z, y = data
    return StackingHead().fit(Z, y, classes=CLASSES)


def test_stacking_head_local_accuracy_every_node(stacking, data):
    Z, _ = data
    result = head_shap(stacking, Z)
    assert result.method == "linear" and result.output == "logit"
    assert result.values.shape == (len(Z["bmode"]), 4, 3)
    assert result.base_values.shape == (3,)
    np.testing.assert_allclose(result.output_values(), stacking.decision_function(Z), atol=1e-10)
    # the per-column values add up to the branch values
    fb = np.asarray(result.components.groups)
    for i, b in enumerate(result.feature_names):
        np.testing.assert_allclose(result.components.values[:, fb == b, :].sum(axis=1),
                                   result.values[:, i, :], atol=1e-12)


def test_stacking_values_are_the_exact_interventional_shapley_values(stacking, data):
    """Brute force: Shapley values of the linear decision function over design columns
    grouped by branch, with absent groups set to the training mean."""
    Z, _ = data
    result = head_shap(stacking, {b: v[:6] for b, v in Z.items()})
    X = stacking.design_matrix({b: v[:6] for b, v in Z.items()})[0]
    fb = np.asarray(stacking.feature_branch_)
    mean = stacking.design_mean_

    def f(S):
        cols = np.isin(fb, list(S))
        Xs = np.where(cols[None, :], X, mean[None, :])
        return Xs @ stacking.coef_.T + stacking.intercept_

    B = len(BRANCHES)
    for i, b in enumerate(BRANCHES):
        phi = np.zeros((6, 3))
        others = [o for o in BRANCHES if o != b]
        for size in range(B):
            w = math.factorial(size) * math.factorial(B - size - 1) / math.factorial(B)
            for S in itertools.combinations(others, size):
                phi += w * (f(set(S) | {b}) - f(set(S)))
        np.testing.assert_allclose(result.values[:, i, :], phi, atol=1e-10)


def test_informative_branch_ranks_first_uninformative_last(stacking, data):
    Z, _ = data
    result = head_shap(stacking, Z)
    ranking = result.ranking()
    assert ranking[0] == "elasto"
    assert ranking[-1] == "bmode"
    assert result.ranking(among=["bmode", "cdfi"]) == ["cdfi", "bmode"]
    with pytest.raises(DataError, match="unknown branch"):
        result.ranking(among=["doppler"])
    table = result.mean_abs()
    assert list(table.columns) == [*CLASSES, "all"]
    assert table["all"].is_monotonic_decreasing


@pytest.mark.parametrize("head_cls", [MeanHead, WeightedMeanHead])
def test_mean_heads_exact_shapley_local_accuracy(head_cls, data):
    Z, y = data
    head = head_cls().fit(Z, y, classes=CLASSES)
    result = head_shap(head, Z)
    assert result.method == "coalitions" and result.output == "probability"
    np.testing.assert_allclose(result.output_values(), head.predict_proba(Z), atol=1e-12)
    np.testing.assert_allclose(result.base_values, head.class_prior_, atol=1e-12)
    # a branch missing for a node contributes nothing to that node
    i = result.feature_names.index("cdfi")
    np.testing.assert_array_equal(result.values[::5, i, :], 0.0)
    # values of each node sum to 0 over classes (probabilities sum to 1)
    np.testing.assert_allclose(result.values.sum(axis=2), 0.0, atol=1e-12)


def test_weighted_head_zero_weight_branch_gets_nothing_when_others_present():
    rng = np.random.default_rng(3)
    Z = {"a": rng.dirichlet(np.ones(3), 20), "b": rng.dirichlet(np.ones(3), 20)}
    head = WeightedMeanHead().fit(Z, rng.integers(0, 3, 20), classes=CLASSES)
    head.weights_ = np.array([1.0, 0.0])
    result = head_shap(head, Z)
    # with 'a' present, 'b' never changes the output; alone, it moves it off the prior
    v_b = Z["b"] - head.class_prior_
    np.testing.assert_allclose(result.values[:, 1, :], 0.5 * v_b, atol=1e-12)
    np.testing.assert_allclose(result.output_values(), Z["a"], atol=1e-12)


def test_coalition_shap_matches_linear_formula_on_a_linear_game():
    """For an additive head, the Shapley values are each branch's own term."""
    rng = np.random.default_rng(4)
    Z = {b: rng.normal(size=(8, 2)) for b in "xyz"}
    w = {"x": 1.0, "y": -2.0, "z": 0.5}

    def predict(D):
        return sum(w[b] * np.nan_to_num(D[b], nan=0.0) for b in D)

    values, base = coalition_shap(predict, Z, list("xyz"), 2)
    np.testing.assert_allclose(base, 0.0)
    for i, b in enumerate("xyz"):
        np.testing.assert_allclose(values[:, i, :], w[b] * Z[b], atol=1e-12)


def test_frames_and_subset(stacking, data):
    Z, _ = data
    ids = [f"P{i:03d}" for i in range(len(Z["bmode"]))]
    result = head_shap(stacking, Z, node_ids=ids)
    long = result.to_frame()
    assert list(long.columns) == ["node", "branch", "class", "shap"]
    assert len(long) == len(ids) * 4 * 3
    row = long[(long.node == "P002") & (long.branch == "elasto") & (long["class"] == "benign")]
    assert row["shap"].item() == pytest.approx(result.values[2, 2, 2])
    node = result.instance_frame(2)
    assert node.shape == (4, 3) and node.index.name == "branch"
    assert isinstance(result.base_frame(), pd.Series)
    sub = result.subset([3, 1])
    assert isinstance(sub, ShapExplanation) and sub.instance_names == ("P003", "P001")
    np.testing.assert_array_equal(sub.components.values, result.components.values[[3, 1]])


def test_inputs_not_mutated(stacking, data):
    Z, _ = data
    before = {b: v.copy() for b, v in Z.items()}
    head_shap(stacking, Z)
    head_shap(MeanHead().fit(Z, data[1], classes=CLASSES), Z)
    for b in Z:
        np.testing.assert_array_equal(Z[b], before[b])


def test_errors(stacking, data):
    Z, y = data
    with pytest.raises(NotFittedError, match="call fit first"):
        head_shap(StackingHead(), Z)
    with pytest.raises(NotAvailableError, match="not linear"):
        head_shap(MeanHead().fit(Z, y, classes=CLASSES), Z, method="linear")
    with pytest.raises(DataError, match="lack branch"):
        head_shap(stacking, {"bmode": Z["bmode"]})
    with pytest.raises(ValueError, match="method"):
        head_shap(stacking, Z, method="kernel")
    # the coalition method also works on the stacking head (and is local-accurate on proba)
    res = head_shap(stacking, Z, method="coalitions")
    np.testing.assert_allclose(res.output_values(), stacking.predict_proba(Z), atol=1e-10)


def test_mlp_head_on_embeddings_local_accuracy():
    pytest.importorskip("torch")
    from lnfusion.fusion.heads import MLPHead

    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 60)
    Z = {"bmode": rng.normal(size=(60, 4)), "elasto": rng.normal(size=(60, 4)) + y[:, None]}
    Z["elasto"][::4] = np.nan
    head = MLPHead(hidden=8, epochs=20).fit(Z, y, classes=CLASSES)
    result = head_shap(head, Z)
    assert result.method == "coalitions"
    np.testing.assert_allclose(result.output_values(), head.predict_proba(Z), atol=1e-9)
    np.testing.assert_array_equal(result.values[::4, 1, :], 0.0)


def test_coalition_base_must_not_depend_on_the_node():
    Z = {"a": np.ones((3, 2)), "b": np.ones((3, 2))}

    def predict(D):
        out = np.nan_to_num(D["a"], nan=0.0) + np.nan_to_num(D["b"], nan=0.0)
        return out + np.arange(3)[:, None]  # node-dependent output with no branch

    with pytest.raises(DataError, match="base value is undefined"):
        coalition_shap(predict, Z, ["a", "b"], 2)
