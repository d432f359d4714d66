"""Fusion heads on arrays: shapes, mask-awareness, fitted parameters, JSON round trip."""
import json

import numpy as np
import pytest
from scipy.special import softmax

from lnfusion.exceptions import DataError, LnfusionError, NotFittedError
from lnfusion.fusion.heads import (
    HEADS,
    MeanHead,
    MLPHead,
    StackingHead,
    WeightedMeanHead,
    head_from_dict,
    make_head,
)


def _branch_data(n=300, seed=0, strong=2.5, weak=0.5):
    """Three probability branches: informative, weakly informative, constant (uniform)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    def proba(scale):
        return softmax(scale * np.eye(3)[y] + rng.normal(0, 1, (n, 3)), axis=1)
    Z = {"good": proba(strong), "weak": proba(weak), "flat": np.full((n, 3), 1 / 3)}
    return Z, y


def _with_missing(Z, frac=0.25, seed=1):
    rng = np.random.default_rng(seed)
    out = {}
    for b, a in Z.items():
        a = a.copy()
        a[rng.random(len(a)) < frac] = np.nan
        out[b] = a
    return out


def _fast(head):
    return head.set_params(epochs=60) if isinstance(head, MLPHead) else head


@pytest.mark.parametrize("name", sorted(HEADS))
def test_every_head_gives_probabilities_for_every_node_with_missing_branches(name):
    Z, y = _branch_data()
    Zm = _with_missing(Z)
    Zm["weak"][:5] = np.nan
    Zm["good"][:5] = np.nan
    Zm["flat"][:5] = np.nan                        # first five nodes: no branch at all
    head = _fast(make_head(name)).fit(Zm, y, classes=["a", "b", "c"])
    p = head.predict_proba(Zm)
    assert p.shape == (len(y), 3)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert list(head.classes_) == ["a", "b", "c"]
    # informative: better than chance on the nodes that have the good branch
    seen = ~np.isnan(Zm["good"]).any(axis=1)
    assert np.mean(p[seen].argmax(axis=1) == y[seen]) > 0.6


@pytest.mark.parametrize("name", sorted(HEADS))
def test_to_dict_round_trip_is_bit_for_bit(name):
    Z, y = _branch_data(n=150)
    Z = _with_missing(Z)
    head = _fast(make_head(name)).fit(Z, y, classes=[0, 1, 2])
    data = json.loads(json.dumps(head.to_dict()))
    again = head_from_dict(data)
    assert type(again) is type(head)
    assert again.get_params() == head.get_params()
    assert np.array_equal(again.predict_proba(Z), head.predict_proba(Z))


@pytest.mark.parametrize("name", sorted(HEADS))
def test_unfitted_head_says_call_fit_first(name):
    Z, _ = _branch_data(n=10)
    with pytest.raises(NotFittedError, match=f"{type(HEADS[name]()).__name__}.*call fit first"):
        HEADS[name]().predict_proba(Z)


def test_predict_requires_every_fitted_branch():
    Z, y = _branch_data(n=60)
    head = StackingHead().fit(Z, y)
    with pytest.raises(DataError, match="'weak'"):
        head.predict_proba({"good": Z["good"], "flat": Z["flat"]})
    with pytest.raises(DataError, match="expected 3 columns"):
        head.predict_proba({**Z, "good": Z["good"][:, :2]})
    with pytest.raises(LnfusionError, match="class index"):
        StackingHead().fit(Z, y + 1)


def test_mean_head_averages_available_branches_and_falls_back_to_prior():
    Z, y = _branch_data(n=40)
    Z = {"good": Z["good"].copy(), "weak": Z["weak"].copy()}
    Z["weak"][0] = np.nan
    Z["good"][1] = np.nan
    Z["weak"][1] = np.nan
    head = MeanHead().fit(Z, y)
    p = head.predict_proba(Z)
    np.testing.assert_allclose(p[0], Z["good"][0])
    np.testing.assert_allclose(p[1], np.bincount(y, minlength=3) / len(y))
    np.testing.assert_allclose(p[2:], (Z["good"][2:] + Z["weak"][2:]) / 2)


def test_weighted_head_weights_are_a_distribution_favouring_the_informative_branch():
    Z, y = _branch_data(n=400)
    head = WeightedMeanHead().fit(Z, y)
    w = dict(zip(head.branch_names_, head.weights_))
    assert all(v >= 0 for v in w.values())
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["good"] > 0.6 and w["flat"] < 0.05
    # renormalised over the available branches: only "weak" present -> its probabilities
    Zp = {b: a[:3].copy() for b, a in Z.items()}
    Zp["good"][:] = np.nan
    Zp["flat"][:] = np.nan
    np.testing.assert_allclose(head.predict_proba(Zp), Z["weak"][:3], atol=1e-12)


def test_stacking_head_is_linear_in_its_design_matrix():
    Z, y = _branch_data(n=300)
    Z = _with_missing(Z)
    head = StackingHead(C=0.5).fit(Z, y, classes=["m", "l", "b"])
    X, names, owner = head.design_matrix(Z)
    assert X.shape == (300, 3 * 4) and len(names) == len(owner) == X.shape[1]
    assert names[:4] == ["good:log_p[m]", "good:log_p[l]", "good:log_p[b]", "good:missing"]
    assert head.coef_.shape == (3, X.shape[1]) and head.intercept_.shape == (3,)
    assert head.coef_.flags.c_contiguous      # same layout as after loading: same BLAS rounding
    np.testing.assert_allclose(head.design_mean_, X.mean(axis=0))
    scores = X @ head.coef_.T + head.intercept_
    np.testing.assert_allclose(head.decision_function(Z), scores)
    np.testing.assert_allclose(head.predict_proba(Z), softmax(scores, axis=1))
    # missing rows: filled with the branch's training mean log-probability, indicator 1
    miss = np.isnan(Z["good"]).any(axis=1)
    np.testing.assert_allclose(X[miss][:, :3], np.tile(head.fill_["good"], (miss.sum(), 1)))
    assert set(X[:, 3]) == {0.0, 1.0} and np.array_equal(X[:, 3] == 1, miss)
    # exact modality-level decomposition (what the explanations use)
    phi = {b: (X[:, np.array(owner) == b] - head.design_mean_[np.array(owner) == b])
           @ head.coef_[:, np.array(owner) == b].T for b in head.branch_names_}
    base = head.intercept_ + head.coef_ @ head.design_mean_
    np.testing.assert_allclose(base + sum(phi.values()), scores, atol=1e-10)
    # the constant branch's log-probabilities are ignored (its random missing
    # indicator may pick up noise); without missing values it is ignored entirely
    flat_logp = [j for j, n in enumerate(names) if n.startswith("flat:log_p")]
    assert np.abs(head.coef_[:, flat_logp]).max() == pytest.approx(0.0, abs=1e-12)
    norms = StackingHead(C=0.5).fit(_branch_data(n=300)[0], y).branch_coef_norm()
    assert norms["flat"] == pytest.approx(0.0, abs=1e-12)
    assert norms["good"] > norms["weak"]


def test_stacking_head_binary_problem_uses_the_softmax_form():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p1 = 1 / (1 + np.exp(-(2 * y - 1) * 1.5 - rng.normal(0, 1, 200)))
    Z = {"a": np.column_stack([1 - p1, p1])}
    head = StackingHead().fit(Z, y)
    assert head.coef_.shape == (2, 3)
    p = head.predict_proba(Z)
    assert np.mean(p.argmax(axis=1) == y) > 0.75


def test_stacking_head_needs_every_class():
    Z, y = _branch_data(n=60)
    y = np.where(y == 2, 0, y)
    with pytest.raises(DataError, match="class"):
        StackingHead().fit(Z, y)


def test_mlp_head_is_deterministic_and_leaves_global_rng_alone():
    import torch

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    Z = {"img": np.eye(3)[y] * 2 + rng.normal(0, 1, (200, 3)),
         "tab": rng.normal(0, 1, (200, 6))}
    Z["img"][::5] = np.nan
    state = torch.get_rng_state().clone()
    threads = torch.get_num_threads()
    a = MLPHead(epochs=80, random_state=3).fit(Z, y, classes=[0, 1, 2])
    b = MLPHead(epochs=80, random_state=3).fit(Z, y, classes=[0, 1, 2])
    assert torch.equal(state, torch.get_rng_state())
    assert torch.get_num_threads() == threads
    pa = a.predict_proba(Z)
    assert np.array_equal(pa, b.predict_proba(Z))
    assert np.all(np.isfinite(pa)) and np.mean(pa.argmax(axis=1) == y) > 0.6
    with pytest.raises(DataError, match="classes is required"):
        MLPHead().fit(Z, y)


def test_make_head_accepts_names_and_instances():
    head = StackingHead(C=0.1)
    made = make_head(head)
    assert made is not head and made.get_params() == head.get_params()
    assert make_head("mlp", random_state=7).random_state == 7
    with pytest.raises(DataError, match="expected one of"):
        make_head("median")


def _binary_branches(n=400, seed=0, good=2.0, other=2.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    def proba(scale):
        return softmax(scale * np.eye(2)[y] + rng.normal(0, 1, (n, 2)), axis=1)
    return {"image": proba(good), "tabular": proba(other)}, y


def test_shrunk_head_interpolates_between_stacking_and_equal_weights():
    from lnfusion.fusion.heads import ShrunkStackingHead

    Z, y = _binary_branches(good=3.0, other=0.7)
    free = ShrunkStackingHead(shrinkage=0.0).fit(Z, y)
    stack = StackingHead().fit(Z, y)
    np.testing.assert_allclose(free.coef_, stack.coef_, rtol=1e-10, atol=1e-12)
    equal = ShrunkStackingHead(shrinkage=1.0).fit(Z, y)
    # equal weights: the same coefficient on every branch's log p of a class, none on "missing"
    fb = np.asarray(equal.feature_branch_)
    img, tab = equal.coef_[:, fb == "image"], equal.coef_[:, fb == "tabular"]
    np.testing.assert_allclose(img, tab, atol=1e-12)
    assert equal.equal_slope_ > 0 and np.all(img[:, -1] == 0)
    half = ShrunkStackingHead(shrinkage=0.5).fit(Z, y)
    np.testing.assert_allclose(half.coef_, (free.coef_ + equal.coef_) / 2, atol=1e-10)
    # the free model trusts the informative branch more than equal weights do
    assert free.branch_coef_norm()["image"] / free.branch_coef_norm()["tabular"] > 2


def test_shrunk_head_chooses_its_shrinkage_by_inner_cv_on_its_training_rows():
    from lnfusion.fusion.heads import SHRINKAGE_GRID, ShrunkStackingHead

    # one informative branch, one pure-noise branch: equal weights would add the noise
    rng = np.random.default_rng(3)
    Z, y = _binary_branches(n=600, good=3.0, other=0.0)
    Z["tabular"] = softmax(2.0 * rng.normal(0, 1, (600, 2)), axis=1)
    head = ShrunkStackingHead().fit(Z, y)
    assert set(head.cv_loss_) == {f"{g:g}" for g in SHRINKAGE_GRID}
    assert head.shrinkage_ < 1.0 and head.cv_loss_["0"] < head.cv_loss_["1"]
    # one-standard-error rule: never less shrinkage than the loss minimiser
    assert head.shrinkage_ >= min(SHRINKAGE_GRID, key=lambda g: head.cv_loss_[f"{g:g}"])
    # two equally informative branches: equal weights are as good, so they are kept
    Z2, y2 = _binary_branches(n=600, seed=4, good=1.5, other=1.5)
    assert ShrunkStackingHead().fit(Z2, y2).shrinkage_ >= 0.5
    with pytest.raises(DataError, match="shrinkage must be"):
        ShrunkStackingHead(shrinkage=1.5).fit(Z, y)
    with pytest.raises(DataError, match="grid"):
        ShrunkStackingHead(grid=(0.0, 2.0)).fit(Z, y)


def test_shrunk_weighted_head_is_the_mean_unless_the_training_rows_earn_other_weights():
    from lnfusion.fusion.heads import ShrunkWeightedMeanHead

    # equally informative branches: the plain mean (shrinkage 1), exactly
    Z, y = _binary_branches(n=400, seed=5, good=1.5, other=1.5)
    head = ShrunkWeightedMeanHead().fit(Z, y)
    assert head.shrinkage_ == 1.0
    np.testing.assert_allclose(head.weights_, [0.5, 0.5])
    np.testing.assert_allclose(head.predict_proba(Z), MeanHead().fit(Z, y).predict_proba(Z))
    # one informative branch and one noise branch: weights move toward the informative one
    rng = np.random.default_rng(6)
    Z, y = _binary_branches(n=600, seed=6, good=3.0, other=0.0)
    Z["tabular"] = softmax(2.0 * rng.normal(0, 1, (600, 2)), axis=1)
    head = ShrunkWeightedMeanHead().fit(Z, y)
    assert head.shrinkage_ < 1.0 and head.weights_[0] > 0.6
    np.testing.assert_allclose(head.weights_, (1 - head.shrinkage_) * head.fitted_weights_ + head.shrinkage_ / 2)
    assert head.weights_.min() >= 0 and head.weights_.sum() == pytest.approx(1.0)
    fixed = ShrunkWeightedMeanHead(shrinkage=0.0).fit(Z, y)
    np.testing.assert_allclose(fixed.weights_, WeightedMeanHead().fit(Z, y).weights_)
    assert fixed.cv_loss_ == {}
    # too few rows of a class for an inner CV: the mean
    tiny = {b: a[:3] for b, a in Z.items()}
    assert ShrunkWeightedMeanHead().fit(tiny, np.array([0, 0, 1])).shrinkage_ == 1.0
