"""Branches as named estimators (scikit-learn's composition style) and the estimator checks that apply.

The estimators take a Cohort, not an array, so most of scikit-learn's
``estimator_checks`` cannot run; the parameter-handling ones can, and do.
"""
import numpy as np
import pytest
from fusion_standins import SignalBranch, make_cohort
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from lnfusion.data import PatientStratifiedKFold
from lnfusion.exceptions import ParameterError
from lnfusion.fusion import LateFusionClassifier, StackingHead
from lnfusion.models import ImageBranchClassifier
from lnfusion.models.tabular import TabularClassifier

DEFAULTS = {
    "LateFusionClassifier": LateFusionClassifier(),
    "ImageBranchClassifier": ImageBranchClassifier("bmode"),
    "TabularClassifier": TabularClassifier(),
}
EXPLICIT = LateFusionClassifier(branches=[("bmode", SignalBranch("bmode")),
                                          ("tabular", TabularClassifier("logistic"))],
                                head=StackingHead(C=0.5))


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(120, seed=0)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
@pytest.mark.parametrize("check", [check_get_params_invariance, check_set_params,
                                   check_no_attributes_set_in_init,
                                   check_parameters_default_constructible])
def test_scikit_learn_parameter_checks(name, check):
    check(name, DEFAULTS[name])


@pytest.mark.parametrize("check", [check_get_params_invariance, check_set_params,
                                   check_no_attributes_set_in_init])
def test_scikit_learn_parameter_checks_with_explicit_branches(check):
    check("LateFusionClassifier", EXPLICIT)


@pytest.mark.parametrize("model", [DEFAULTS["LateFusionClassifier"], EXPLICIT],
                         ids=["shorthands", "explicit"])
def test_clone_round_trips_every_parameter(model):
    def values(m):  # every parameter but the estimator objects (cloned, so not equal)
        return {k: v for k, v in m.get_params().items()
                if k != "branches" and not hasattr(v, "get_params")}

    twin = clone(model)
    assert values(twin) == values(model)
    assert set(twin.get_params()) == set(model.get_params())
    if model.branches is not None:
        assert all(a is not b for (_, a), (_, b) in zip(twin.branches, model.branches))


def test_branch_parameters_are_listed_in_the_nested_vocabulary():
    params = LateFusionClassifier(image_params={"epochs": 2}, random_state=3).get_params()
    assert params["bmode__epochs"] == 2 and params["elasto__modality"] == "elasto"
    assert params["cdfi__random_state"] == 3                       # inherited from the model
    assert params["tabular__estimator"] == "xgboost" and params["tabular"] == "xgboost"
    assert "bmode" not in params                                   # no object to mutate yet
    assert "tabular__estimator" in LateFusionClassifier(modalities=(), tabular="logistic").get_params()


def test_set_params_on_one_branch_makes_the_branches_explicit():
    model = LateFusionClassifier(image_params={"epochs": 2}, tabular="logistic")
    assert model.set_params(bmode__epochs=5) is model
    assert [name for name, _ in model.branches] == ["bmode", "cdfi", "elasto", "tabular"]
    branches = model.make_branches()
    assert (branches["bmode"].epochs, branches["cdfi"].epochs) == (5, 2)
    assert branches["tabular"].estimator == "logistic"
    assert model.image_params == {"epochs": 2}                     # the shorthand is kept as given
    # plain parameters first: a new image_params in the same call builds the branches
    fresh = LateFusionClassifier(modalities=("bmode",)).set_params(image_params={"lr": 0.1}, bmode__epochs=4)
    assert (fresh.make_branches()["bmode"].lr, fresh.make_branches()["bmode"].epochs) == (0.1, 4)
    # once explicit, branches decide (documented precedence)
    model.set_params(image_params={"epochs": 9})
    assert model.make_branches()["cdfi"].epochs == 2


def test_set_params_replaces_and_reaches_explicit_branches():
    signal = SignalBranch("bmode", C=1.0)
    model = LateFusionClassifier(branches={"bmode": signal, "tabular": TabularClassifier()})
    model.set_params(bmode__C=0.1, tabular__estimator="logistic")
    assert signal.C == 0.1 and isinstance(model.branches, dict)
    assert model.get_params()["bmode"] is signal and model.get_params()["tabular__estimator"] == "logistic"
    other = SignalBranch("cdfi")
    model.set_params(bmode=other)
    assert model.branches["bmode"] is other
    with pytest.raises(ValueError, match=r"Invalid parameter\(s\) \['doppler'\].*branches: \['bmode', 'tabular'\]"):
        model.set_params(doppler__C=1.0)
    # a `tabular` estimator with implicit branches: scikit-learn's own nested rule
    tab = TabularClassifier("logistic")
    implicit = LateFusionClassifier(modalities=(), tabular=tab).set_params(tabular__descriptors=["age"])
    assert implicit.branches is None and tab.descriptors == ["age"]


def test_parameters_are_validated_at_fit_naming_the_parameter(cohort):
    bad = [(dict(image_params={"epochs": 0}), "bmode__epochs=0: expected a positive integer"),
           (dict(image_params={"epoch": 3}), "image_params="),
           (dict(holdout_size=1.5), "holdout_size=1.5"),
           (dict(n_jobs=0), "n_jobs=0"),
           (dict(backbone={"bmode": "resnet18"}), "backbone="),
           (dict(tabular="svm"), "tabular='svm'")]
    for params, message in bad:
        with pytest.raises(ParameterError, match=message):
            LateFusionClassifier(**params)._validate_params()
    model = LateFusionClassifier(modalities=("bmode",)).set_params(bmode__precision="fp8")
    with pytest.raises(ParameterError, match="bmode__precision='fp8'") as info:
        model.fit(cohort)
    assert info.value.param == "bmode__precision"
    with pytest.raises(ParameterError, match="branches"):
        LateFusionClassifier(branches=[("a__b", SignalBranch())])._validate_params()


def test_grid_over_clinical_branch_parameters_with_patient_grouped_cv(cohort):
    """GridSearchCV's loop (clone, set_params, fit per fold) with patient-grouped folds."""
    base = LateFusionClassifier(modalities=(), tabular="logistic", cv=2, progress=False)
    grid = ParameterGrid({"tabular__estimator": ["logistic", "xgboost"],
                          "tabular__descriptors": [None, ["elasto_score"]]})
    folds = list(PatientStratifiedKFold(n_splits=3, shuffle=True, random_state=0)
                 .split(None, cohort.y, cohort.groups))
    scores = {}
    for params in grid:
        proba = np.zeros((len(cohort), len(cohort.classes)))
        for train, test in folds:
            model = clone(base).set_params(**params).fit(cohort.subset(train))
            fitted = model.branches_["tabular"]
            assert fitted.estimator == params["tabular__estimator"]
            expected = params["tabular__descriptors"] or ["age", "shape", "elasto_score"]
            assert list(fitted.feature_names_in_) == expected
            proba[test] = model.predict_proba(cohort.subset(test))
        key = (params["tabular__estimator"], str(params["tabular__descriptors"]))
        scores[key] = roc_auc_score(cohort.y, proba, multi_class="ovr")
    assert len(scores) == 4 and all(0.5 < s <= 1.0 for s in scores.values())
    # every descriptor carries signal here: the full set beats one column for both estimators
    for est in ("logistic", "xgboost"):
        assert scores[(est, "None")] > scores[(est, "['elasto_score']")]
