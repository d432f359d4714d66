"""LateFusionClassifier with cheap stand-in branches: contract, out-of-fold correctness,
leakage, missing modalities, heads."""
import numpy as np
import pytest
from fusion_standins import (
    MemoriserBranch,
    NearestPatientBranch,
    SignalBranch,
    SpyBranch,
    make_cohort,
)
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from lnfusion.data import split_patients
from lnfusion.exceptions import DataError, NotFittedError
from lnfusion.fusion import LateFusionClassifier, StackingHead
from lnfusion.models.tabular import TabularClassifier


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(120, seed=0)


@pytest.fixture(scope="module")
def big_split():
    c = make_cohort(360, seed=1, signal=1.0)
    s = split_patients(c.y, c.groups, test_size=0.4, random_state=0)
    return c.subset(s.train), c.subset(s.test)


@pytest.fixture(scope="module")
def plain(big_split):
    """The fused model without a memoriser, fitted once for the leakage comparisons."""
    return LateFusionClassifier(branches=_branches(), head="stacking", cv=3, progress=False).fit(big_split[0])


def _branches(**extra):
    out = {"bmode": SignalBranch("bmode"), "cdfi": SignalBranch("cdfi"),
           "tabular": TabularClassifier("logistic")}
    out.update(extra)
    return out


def _macro_auc(y, p):
    return roc_auc_score(y, p, multi_class="ovr", average="macro")


def test_constructor_only_stores_and_clone_round_trips():
    model = LateFusionClassifier(head="no-such-head", cv=1, image_params={"epochs": 1})
    params = model.get_params()
    assert params["head"] == "no-such-head" and params["cv"] == 1
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    twin.set_params(head="mean", cv=3)
    assert (twin.head, twin.cv) == ("mean", 3) and model.head == "no-such-head"
    stacked = LateFusionClassifier(branches=_branches(), head=StackingHead(C=0.3))
    deep = clone(stacked)
    assert deep.branches["bmode"] is not stacked.branches["bmode"]
    assert deep.get_params()["head__C"] == 0.3


def test_bad_settings_raise_at_fit(cohort):
    with pytest.raises(DataError, match="head='no-such-head'"):
        LateFusionClassifier(branches=_branches(), head="no-such-head", progress=False).fit(cohort)
    with pytest.raises(DataError, match="cv=1"):
        LateFusionClassifier(branches=_branches(), cv=1, progress=False).fit(cohort)
    with pytest.raises(DataError, match=r"modalities \['elasto'\] are not in the cohort"):
        LateFusionClassifier(modalities=("elasto",), progress=False).fit(cohort)
    with pytest.raises(DataError, match="at least one branch"):
        LateFusionClassifier(modalities=(), tabular=None, progress=False).fit(cohort)


def test_unfitted_model_says_call_fit_first(cohort):
    with pytest.raises(NotFittedError, match="LateFusionClassifier.*call fit first"):
        LateFusionClassifier().predict_proba(cohort)


def test_every_oof_prediction_comes_from_a_model_that_never_saw_the_patient(cohort):
    model = LateFusionClassifier(branches={"spy": SpyBranch(), "tabular": TabularClassifier("logistic")},
                                 head="mean", cv=4, progress=False).fit(cohort)
    groups = cohort.groups
    # the spy outputs column 1 exactly when the patient was NOT in its training set
    oof = model.oof_proba_["spy"]
    assert np.array_equal(oof, np.tile([0.0, 1.0, 0.0], (len(cohort), 1)))
    # folds: every node held out exactly once, patients never split across folds
    assert set(model.oof_folds_) == {0, 1, 2, 3}
    for g in np.unique(groups):
        assert len(set(model.oof_folds_[groups == g])) == 1
    np.testing.assert_array_equal(model.head_rows_, np.arange(len(cohort)))
    # the refit branch trained on everyone (so it "sees" every training patient)
    assert model.branches_["spy"].seen_ == set(groups)
    assert np.all(model.predict_branch_proba(cohort)["spy"][:, 0] == 1.0)


def test_holdout_mode_fits_the_head_on_held_out_patients_only(cohort):
    model = LateFusionClassifier(branches={"spy": SpyBranch(), "bmode": SignalBranch("bmode")},
                                 head="stacking", cv="holdout", holdout_size=0.3,
                                 progress=False).fit(cohort)
    held = model.oof_folds_ == 0
    assert set(model.oof_folds_) == {-1, 0}
    np.testing.assert_array_equal(model.head_rows_, np.flatnonzero(held))
    assert np.all(np.isnan(model.oof_proba_["spy"][~held]))
    assert np.array_equal(model.oof_proba_["spy"][held], np.tile([0.0, 1.0, 0.0], (held.sum(), 1)))
    assert not set(cohort.groups[held]) & set(cohort.groups[~held])
    assert 0.2 < held.mean() < 0.4


def test_memorising_branch_gives_no_advantage_on_held_out_patients(big_split, plain):
    """The leakage test: a branch perfect on its training patients and uninformative
    on new ones.  Because the head only sees out-of-fold predictions it learns to
    ignore it; a head fitted on in-sample predictions would trust it blindly."""
    train, test = big_split
    leaky = LateFusionClassifier(branches=_branches(memo=MemoriserBranch()), head="stacking", cv=3,
                                 progress=False).fit(train)
    auc_plain = _macro_auc(test.y, plain.predict_proba(test))
    auc_leaky = _macro_auc(test.y, leaky.predict_proba(test))
    assert auc_plain > 0.8
    assert abs(auc_leaky - auc_plain) < 0.005
    norms = leaky.head_.branch_coef_norm()
    assert norms["memo"] < 1e-8 < min(norms["bmode"], norms["cdfi"], norms["tabular"])
    # its out-of-fold predictions were uninformative (uniform) ...
    np.testing.assert_allclose(leaky.oof_proba_["memo"], 1 / 3)
    # ... while its in-sample predictions are perfect: stacking on those would be fooled
    in_sample = leaky.predict_branch_proba(train)
    naive = StackingHead().fit(in_sample, train.y)
    assert naive.branch_coef_norm()["memo"] > 2 * max(naive.branch_coef_norm()[b]
                                                       for b in ("bmode", "cdfi", "tabular"))
    assert np.mean(naive.predict(in_sample) == train.y) > 0.99   # looks perfect in training


def test_nearest_patient_memoriser_gets_next_to_no_weight(big_split, plain):
    train, test = big_split
    leaky = LateFusionClassifier(branches=_branches(memo=NearestPatientBranch()), head="stacking",
                                 cv=3, progress=False).fit(train)
    # perfect on its own training patients, chance on the others
    assert np.mean(leaky.predict_branch_proba(train)["memo"].argmax(axis=1) == train.y) == 1.0
    assert abs(_macro_auc(train.y, leaky.oof_proba_["memo"]) - 0.5) < 0.1
    auc_plain = _macro_auc(test.y, plain.predict_proba(test))
    auc_leaky = _macro_auc(test.y, leaky.predict_proba(test))
    assert abs(auc_leaky - auc_plain) < 0.02
    norms = leaky.head_.branch_coef_norm()
    assert norms["memo"] < 0.25 * min(norms["bmode"], norms["cdfi"], norms["tabular"])


def test_weighted_head_gives_the_memoriser_no_weight(big_split):
    train, _ = big_split
    model = LateFusionClassifier(branches=_branches(memo=MemoriserBranch()), head="weighted", cv=3,
                                 progress=False).fit(train)
    w = dict(zip(model.head_.branch_names_, model.head_.weights_))
    assert w["memo"] < 1e-3
    assert sum(w.values()) == pytest.approx(1.0)


def test_fused_model_beats_each_branch(big_split, plain):
    train, test = big_split
    model = plain
    fused = _macro_auc(test.y, model.predict_proba(test))
    for name, p in model.predict_branch_proba(test).items():
        seen = ~np.isnan(p).any(axis=1)
        assert fused > _macro_auc(test.y[seen], p[seen]) + 0.02, name


@pytest.mark.parametrize("head", ["stacking", "shrunk", "mean", "weighted", "mlp"])
def test_missing_modalities_at_fit_and_predict_are_kept(cohort, head):
    from lnfusion.fusion import MLPHead

    head_obj = MLPHead(epochs=40) if head == "mlp" else head
    model = LateFusionClassifier(branches=_branches(), head=head_obj, cv=3, progress=False).fit(cohort)
    mask = cohort.modality_mask()
    assert model.missing_counts_ == {"bmode": int((~mask["bmode"]).sum()),
                                     "cdfi": int((~mask["cdfi"]).sum()), "tabular": 0}
    assert model.modality_missing_counts_["bmode"] == model.missing_counts_["bmode"] > 0
    p = model.predict_proba(cohort)
    assert p.shape == (len(cohort), 3) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    # nodes missing both images at predict time still get a prediction (from the tabular branch)
    none = np.flatnonzero(~mask["bmode"].to_numpy() & ~mask["cdfi"].to_numpy())
    assert none.size > 0
    branch = model.predict_branch_proba(cohort)
    assert np.all(np.isnan(branch["bmode"][none])) and np.all(np.isfinite(p[none]))
    assert set(model.predict(cohort)) <= set(cohort.classes)
    assert list(model.classes_) == list(cohort.classes)
    if head == "mlp":
        assert set(model.oof_embeddings_) == {"bmode", "cdfi", "tabular"}
        assert model.oof_embeddings_["tabular"].shape[1] == len(
            model.branches_["tabular"].encoded_feature_names_)


def test_fit_does_not_mutate_the_cohort(cohort):
    before = cohort.table
    LateFusionClassifier(branches=_branches(), cv=2, progress=False).fit(cohort)
    assert cohort.table.equals(before)


def test_tabular_option_builds_the_clinical_branch(cohort):
    model = LateFusionClassifier(modalities=(), tabular="logistic", cv=2, progress=False).fit(cohort)
    assert model.branch_names_ == ["tabular"]
    assert model.branches_["tabular"].estimator == "logistic"
    from sklearn.neighbors import KNeighborsClassifier

    knn = LateFusionClassifier(modalities=(), tabular=KNeighborsClassifier(5), cv=2,
                               progress=False).fit(cohort)
    assert isinstance(knn.branches_["tabular"].model_, KNeighborsClassifier)


def test_fit_from_oof_equals_fit_and_compares_heads_on_one_set_of_branch_fits(cohort):
    from lnfusion.fusion.oof import cross_fit, inner_splits

    model = LateFusionClassifier(branches=_branches(), head="weighted", cv=3, progress=False).fit(cohort)
    y = cohort.y
    splits = inner_splits(y, cohort.groups, 3, 0.25, 0)
    oof, fitted = cross_fit(model.make_branches(cohort), cohort, y, 3, splits, progress=False)
    again = LateFusionClassifier(branches=_branches(), head="weighted", cv=3,
                                 progress=False).fit_from_oof(cohort, oof, fitted)
    np.testing.assert_array_equal(again.predict_proba(cohort), model.predict_proba(cohort))
    # another head on the same branch fits: the refit branches are the very same objects
    mean = LateFusionClassifier(branches=_branches(), head="mean", progress=False).fit_from_oof(cohort, oof, fitted)
    assert mean.branches_["tabular"] is again.branches_["tabular"]
    np.testing.assert_allclose(mean.predict_proba(cohort),
                               np.nanmean(np.stack(list(mean.predict_branch_proba(cohort).values())), axis=0))
    # other splits, no refit: out-of-fold outputs only
    oof2, none = cross_fit(model.make_branches(cohort), cohort, y, 3,
                           inner_splits(y, cohort.groups, "holdout", 0.25, 0), progress=False, refit=False)
    assert none == {} and (oof2.folds >= 0).sum() < len(cohort)
    with pytest.raises(DataError, match="differ from the fitted"):
        LateFusionClassifier(progress=False).fit_from_oof(cohort, oof, {"tabular": fitted["tabular"]})
    with pytest.raises(DataError, match="needs out-of-fold embeddings"):
        LateFusionClassifier(head="mlp", progress=False).fit_from_oof(cohort, oof, fitted)
    with pytest.raises(DataError, match="nothing to fit"):
        cross_fit(model.make_branches(cohort), cohort, y, 3, [], progress=False, refit=False)
