"""TabularClassifier: XGBoost / logistic / any sklearn classifier on cohort descriptors."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fusion"))
from fusion_standins import make_cohort  # noqa: E402

from lnfusion.exceptions import (  # noqa: E402
    CategoryLevelError,
    DataError,
    FormatVersionError,
    NotAvailableError,
    NotFittedError,
)
from lnfusion.models.tabular import TabularClassifier  # noqa: E402


@pytest.fixture(scope="module")
def split():
    c = make_cohort(240, seed=3, tab_signal=1.5)
    from lnfusion.data import split_patients

    s = split_patients(c.y, c.groups, test_size=0.3, random_state=0)
    return c.subset(s.train), c.subset(s.test)


def _auc(y, p):
    return roc_auc_score(y, p, multi_class="ovr")


@pytest.mark.parametrize("estimator", ["xgboost", "logistic"])
def test_learns_from_descriptors_with_missing_values(split, estimator):
    train, test = split
    assert train.descriptors.isna().any().any()
    before = train.descriptors
    clf = TabularClassifier(estimator, xgb_params={"n_estimators": 60}).fit(train)
    assert train.descriptors.equals(before)
    p = clf.predict_proba(test)
    assert p.shape == (len(test), 3) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert _auc(test.y, p) > 0.75
    assert list(clf.classes_) == list(train.classes)
    assert set(clf.predict(test)) <= set(train.classes)
    assert list(clf.feature_names_in_) == ["age", "shape", "elasto_score"]


def test_feature_frame_and_booster_give_shap_ready_inputs(split):
    import xgboost

    train, test = split
    clf = TabularClassifier(xgb_params={"n_estimators": 40}).fit(train)
    frame = clf.feature_frame(test)
    assert isinstance(frame["shape"].dtype, pd.CategoricalDtype)
    assert list(frame["shape"].cat.categories) == ["oval", "round", "irregular"]
    assert frame["elasto_score"].dtype == np.float64                     # ordinal: level index
    assert set(frame["elasto_score"].dropna()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert frame["age"].isna().sum() == test.descriptors["age"].isna().sum()
    dm = xgboost.DMatrix(frame, enable_categorical=True)
    contribs = clf.booster_.predict(dm, pred_contribs=True)              # (n, k, n_features + 1)
    margins = clf.booster_.predict(dm, output_margin=True)
    np.testing.assert_allclose(contribs.sum(axis=2), margins, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(clf.booster_.predict(dm), clf.predict_proba(test), rtol=1e-6)
    with pytest.raises(NotAvailableError, match="only estimator='xgboost'"):
        _ = TabularClassifier("logistic").fit(train).booster_


def test_logistic_baseline_is_onehot_impute_standardise_multinomial(split):
    train, _ = split
    clf = TabularClassifier("logistic").fit(train)
    assert clf.encoded_feature_names_ == ["age", "shape=oval", "shape=round", "shape=irregular",
                                          "elasto_score"]
    X = clf.transform(train)
    assert not np.isnan(X).any()
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-10)
    assert clf.model_.coef_.shape == (3, 5)                               # multinomial
    missing_shape = train.descriptors["shape"].isna().to_numpy()
    raw_onehot = X[:, 1:4] * clf.scale_[1:4] + clf.center_[1:4]
    np.testing.assert_allclose(raw_onehot[missing_shape], 0.0, atol=1e-12)   # NaN -> all-zero one-hot


def test_any_sklearn_classifier_gets_the_encoded_matrix(split):
    from sklearn.ensemble import RandomForestClassifier

    train, test = split
    clf = TabularClassifier(RandomForestClassifier(n_estimators=20), random_state=5).fit(train)
    assert clf.model_.random_state == 5 and clf.model_.n_features_in_ == 5
    assert _auc(test.y, clf.predict_proba(test)) > 0.7
    with pytest.raises(NotAvailableError, match="never pickles"):
        clf.save("unused")
    with pytest.raises(DataError, match="expected 'xgboost', 'logistic'"):
        TabularClassifier("svm").fit(train)


def test_clone_params_and_not_fitted(split):
    clf = TabularClassifier("logistic", descriptors=["age"], random_state=3)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    twin.set_params(estimator="xgboost")
    assert clf.estimator == "logistic"
    with pytest.raises(NotFittedError, match="TabularClassifier.*call fit first"):
        clf.predict_proba(split[1])


@pytest.mark.parametrize("estimator", ["xgboost", "logistic"])
def test_save_load_is_bit_for_bit_without_pickle(tmp_path, split, estimator):
    train, test = split
    clf = TabularClassifier(estimator, xgb_params={"n_estimators": 40}).fit(train)
    clf.save(tmp_path / "tab")
    assert not [p for p in (tmp_path / "tab").iterdir() if p.suffix in (".pkl", ".pickle", ".joblib")]
    again = TabularClassifier.load(tmp_path / "tab")
    assert np.array_equal(again.predict_proba(test), clf.predict_proba(test))
    assert np.array_equal(again.transform(test), clf.transform(test))
    assert again.get_params() == clf.get_params()
    cfg = json.loads((tmp_path / "tab" / "tabular.json").read_text())
    cfg["format_version"] = 7
    (tmp_path / "tab" / "tabular.json").write_text(json.dumps(cfg))
    with pytest.raises(FormatVersionError, match="format version 7"):
        TabularClassifier.load(tmp_path / "tab")


def test_dataframe_input_absent_class_and_unknown_level():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"size": rng.normal(10, 3, 60), "echo": rng.choice(["hypo", "iso"], 60)})
    y = np.where(df["size"] > 10, "malignant", "benign")
    clf = TabularClassifier("logistic").fit(df, y)
    assert list(clf.classes_) == ["benign", "malignant"]
    assert clf.feature_kinds_ == {"size": "continuous", "echo": "categorical"}
    assert np.mean(clf.predict(df) == y) > 0.9
    with pytest.raises(CategoryLevelError, match="'echo', row 1: value 'hyper'"):
        clf.predict_proba(pd.DataFrame({"size": [1.0, 2.0], "echo": ["iso", "hyper"]}))
    with pytest.raises(DataError, match="y is required"):
        TabularClassifier().fit(df)
    with pytest.raises(DataError, match=r"descriptor column\(s\) \['age'\] not found"):
        TabularClassifier(descriptors=["age"]).fit(df, y)


def test_class_absent_from_training_gets_probability_zero(split):
    train, test = split
    keep = np.flatnonzero(train.y != 1)
    clf = TabularClassifier(xgb_params={"n_estimators": 20}).fit(train.subset(keep))
    p = clf.predict_proba(test)
    assert p.shape == (len(test), 3) and np.all(p[:, 1] == 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)


def test_random_state_makes_xgboost_reproducible(split):
    train, test = split
    a = TabularClassifier(random_state=1, xgb_params={"n_estimators": 30}).fit(train).predict_proba(test)
    b = TabularClassifier(random_state=1, xgb_params={"n_estimators": 30}).fit(train).predict_proba(test)
    assert np.array_equal(a, b)
