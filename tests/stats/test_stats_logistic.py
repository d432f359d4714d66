"""Univariable screening and multivariable logistic regression."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.exceptions import DataError, SeparationError, SingularDesignError, StatsError
from lnfusion.stats import fit_logistic, logistic_regression, univariable_screening


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 300
    size = rng.normal(15, 5, n)
    shape = rng.choice(["oval", "round", "irregular"], n)
    noise = rng.normal(0, 1, n)
    lp_met = -4 + 0.2 * size + np.where(shape == "round", 1.0, 0) + np.where(shape == "irregular",
                                                                             1.5, 0)
    lp_lym = -2 + 0.1 * size + np.where(shape == "round", 0.8, 0)
    p = np.exp(np.column_stack([np.zeros(n), lp_met, lp_lym]))
    p /= p.sum(axis=1, keepdims=True)
    label = np.array(["benign", "metastatic", "lymphoma"])[
        (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)]
    df = pd.DataFrame({"label": label, "size": size, "shape": shape, "noise": noise})
    df.loc[[0, 1], "size"] = np.nan
    return df


def test_screening_keeps_informative_variables(data):
    scr = univariable_screening(data, "label", ["size", "shape", "noise"], alpha=0.05)
    assert list(scr.columns) == ["variable", "type", "n", "dof", "lr_stat", "pval", "selected",
                                 "note"]
    s = scr.set_index("variable")
    assert s.loc["size", "selected"] and s.loc["shape", "selected"]
    assert not s.loc["noise", "selected"]
    assert s.loc["shape", "dof"] == 4 and s.loc["size", "dof"] == 2
    assert s.loc["size", "n"] == len(data) - 2


def test_categorical_screening_lr_equals_g_test(data):
    from scipy.stats import chi2_contingency

    scr = univariable_screening(data, "label", ["shape"]).iloc[0]
    tab = pd.crosstab(data["shape"], data["label"]).to_numpy()
    g, p, dof, _ = chi2_contingency(tab, lambda_="log-likelihood", correction=False)
    assert scr["lr_stat"] == pytest.approx(g, rel=1e-10)
    assert scr["pval"] == pytest.approx(p, rel=1e-8)


def test_multinomial_model(data):
    before = data.copy(deep=True)
    res = logistic_regression(data, "label", ["size", "shape", "noise"], reference="benign")
    pd.testing.assert_frame_equal(data, before)
    assert res.kind == "multinomial"
    assert res.classes[0] == "benign" and set(res.classes) == {"benign", "lymphoma", "metastatic"}
    assert res.variables == ("size", "shape")
    assert res.screening is not None and len(res.screening) == 3
    assert res.n_obs == len(data) - 2 and res.n_dropped == 2
    c = res.coefficients
    assert set(c["outcome"]) == {"lymphoma", "metastatic"}
    assert set(c["term"]) == {"Intercept", "size", "shape[oval]", "shape[round]"} or \
        set(c["term"]) == {"Intercept", "size", "shape[irregular]", "shape[oval]"} or \
        set(c["term"]) == {"Intercept", "size", "shape[irregular]", "shape[round]"}
    np.testing.assert_allclose(c["odds_ratio"], np.exp(c["coef"]))
    assert np.all(c["ci_low"] < c["odds_ratio"]) and np.all(c["odds_ratio"] < c["ci_high"])
    met_size = c[(c.outcome == "metastatic") & (c.term == "size")].iloc[0]
    assert met_size["odds_ratio"] > 1 and met_size["pval"] < 0.05
    proba = res.predict_proba(data.dropna())
    assert list(proba.columns) == list(res.classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(proba.to_numpy(), res.model.predict(), atol=1e-10)


def test_reference_level_and_binary_equals_two_class_multinomial(data):
    two = data[data.label != "lymphoma"]
    res = fit_logistic(two, "label", ["size", "shape"], reference="benign",
                       reference_levels={"shape": "oval"})
    assert res.kind == "binary"
    assert set(res.coefficients["term"]) == {"Intercept", "size", "shape[irregular]",
                                             "shape[round]"}
    import statsmodels.api as sm

    X = pd.get_dummies(two[["size", "shape"]].dropna(), columns=["shape"], dtype=float)
    X = sm.add_constant(X.drop(columns="shape_oval"))
    y = (two.loc[X.index, "label"] == "metastatic").astype(int)
    ref = sm.MNLogit(y, X).fit(disp=0)
    np.testing.assert_allclose(res.coefficients["coef"].to_numpy(),
                               np.asarray(ref.params).ravel(), rtol=1e-6)


def test_nomogram_table(data):
    res = fit_logistic(data, "label", ["size", "shape"], reference="benign")
    nomo = res.nomogram_table()
    assert set(nomo["outcome"]) == {"lymphoma", "metastatic"}
    for _, g in nomo.groupby("outcome"):
        pts = g.loc[g.type != "intercept", "points"]
        assert pts.min() == pytest.approx(0) and pts.max() == pytest.approx(100)
        size = g[g.variable == "size"]
        assert size["value"].tolist() == list(res.ranges["size"])
        ref = g[(g.variable == "shape") & (g.level == res.levels["shape"][0])]
        assert ref["coef"].iloc[0] == 0
        scale = g["scale"].iloc[0]
        spans = g[g.type != "intercept"].groupby("variable")["contribution"].agg(np.ptp)
        assert spans.max() * scale == pytest.approx(100)


def test_quasi_separation_names_variable_level_and_class():
    df = pd.DataFrame({"y": [0] * 10 + [1] * 10,
                       "site": ["a"] * 5 + ["b"] * 5 + ["a"] * 10,
                       "x": np.linspace(0, 1, 20)})
    with pytest.raises(SeparationError, match=r"'site'.*'b'.*y=1"):
        fit_logistic(df, "y", ["site", "x"])


def test_complete_separation_by_continuous_variable():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": [0] * 15 + [1] * 15,
                       "x": np.r_[np.arange(15.0), np.arange(15.0) + 20],
                       "z": rng.normal(size=30)})
    with pytest.raises(SeparationError, match="'x'"):
        fit_logistic(df, "y", ["x", "z"])


def test_singular_design_names_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    df = pd.DataFrame({"y": rng.integers(0, 2, 40), "a": x, "b": 2 * x + 1, "c": rng.normal(size=40)})
    with pytest.raises(SingularDesignError, match=r"'b'.*linear combination.*'a'"):
        fit_logistic(df, "y", ["a", "c", "b"])
    df2 = df.assign(k=3.0)
    with pytest.raises(SingularDesignError, match="'k'"):
        fit_logistic(df2, "y", ["a", "k"])


def test_errors(data):
    with pytest.raises(DataError, match="'nope'"):
        fit_logistic(data, "label", ["nope"])
    with pytest.raises(DataError, match="not numeric"):
        fit_logistic(data.assign(s=data["shape"].astype(object)), "label", ["s"], categorical=[])
    with pytest.raises(DataError, match="reference class 'x'"):
        fit_logistic(data, "label", ["size"], reference="x")
    with pytest.raises(StatsError, match="no variable passed"):
        logistic_regression(data, "label", ["noise"])
