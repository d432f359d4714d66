"""Golden tests: lnfusion.stats against values computed by R (tests/stats/golden).

The fixture ``golden.json`` holds the input data and R's results; it is
written by ``make_golden.R`` (printed output in ``r_output.txt``).  R is not
needed to run these tests.  Every p-value, statistic and interval bound must
agree within 1e-6 relative.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lnfusion import stats as st

GOLDEN = json.loads((Path(__file__).parent / "golden" / "golden.json").read_text())
CASES = GOLDEN["cases"]
RTOL = 1e-6


def _close(actual, expected, rtol=RTOL, atol=1e-12):
    a = np.asarray(actual, dtype=float)
    e = np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    a = np.atleast_1d(a)
    assert a.shape == e.shape, (a, e)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


def _is_slow(case) -> bool:
    # exact r x c enumeration of the 178-count 3 x 4 table takes seconds in Python
    table = case["input"].get("table")
    return case["fn"] == "fisher.test" and table is not None and np.sum(table) > 150


def cases(fn: str) -> list:
    sel = [c for c in CASES if c["fn"] == fn]
    assert sel, f"no golden case for {fn}"
    return [pytest.param(c, id=c["id"], marks=[pytest.mark.slow] if _is_slow(c) else [])
            for c in sel]


def test_fixture_meta():
    assert GOLDEN["meta"]["r_version"].startswith("R version 4")
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", cases("chisq.test"))
def test_chisq(case):
    res = st.chi_square(case["input"]["table"], correction=case["params"]["correct"])
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    _close(res.statistic, exp["statistic"])
    _close(res.dof, exp["parameter"])
    assert ("Yates" in res.method) == ("Yates" in exp["method"])


@pytest.mark.parametrize("case", cases("fisher.test"))
def test_fisher(case):
    table = case["input"]["table"]
    res = st.fisher_exact(table, method="exact")
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    assert res.test == "fisher_exact"
    if np.shape(table) == (2, 2):
        # fisher.test finds the conditional MLE and its interval with uniroot()'s
        # default tolerance (~1.2e-4 absolute on a [0, 1] scale, up to ~1% on a large
        # upper bound); the 1e-6 reference is the same R code with uniroot(tol = 1e-13).
        _close(res.effect_size, exp["estimate_precise"])
        _close([res.ci_low, res.ci_high], exp["conf_int_precise"])
        _close(res.effect_size, exp["estimate"], rtol=1e-4)
        _close([res.ci_low, res.ci_high], exp["conf_int"], rtol=1e-2)


@pytest.mark.parametrize("case", [c for c in cases("fisher.test")
                                  if np.shape(c.values[0]["input"]["table"]) != (2, 2)])
def test_fisher_monte_carlo_close_to_exact(case):
    table = np.asarray(case["input"]["table"])
    p = st.fisher_rxc_monte_carlo(table, draws=20_000, random_state=1)
    exact = case["expected"]["p_value"]
    se = math.sqrt(exact * (1 - exact) / 20_000)
    assert abs(p - exact) < 5 * se + 1e-4


@pytest.mark.parametrize("case", cases("kruskal.test"))
def test_kruskal(case):
    res = st.kruskal_wallis(case["input"]["groups"])
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    _close(res.statistic, exp["statistic"])
    _close(res.dof, exp["parameter"])


@pytest.mark.parametrize("case", cases("oneway.test"))
def test_oneway(case):
    groups = case["input"]["groups"]
    fn = st.oneway_anova if case["params"]["var_equal"] else st.welch_anova
    res = fn(groups)
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    _close(res.statistic, exp["statistic"])
    _close([res.dof, res.dof2], exp["parameter"])


@pytest.mark.parametrize("case", cases("t.test"))
def test_ttest(case):
    res = st.t_test(case["input"]["x"], case["input"]["y"],
                    equal_var=case["params"]["var_equal"])
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    _close(res.statistic, exp["statistic"])
    _close(res.dof, exp["parameter"])
    _close([res.ci_low, res.ci_high], exp["conf_int"])


@pytest.mark.parametrize("case", cases("wilcox.test"))
def test_wilcox(case):
    exact = case["params"]["exact"]
    res = st.mann_whitney(case["input"]["x"], case["input"]["y"], exact=exact,
                          correct=case["params"]["correct"])
    exp = case["expected"]
    _close(res.pval, exp["p_value"])
    _close(res.statistic, exp["statistic"])
    assert ("exact" in res.method) == ("exact" in exp["method"])


@pytest.mark.parametrize("case", cases("shapiro.test"))
def test_shapiro(case):
    res = st.shapiro_wilk(case["input"]["x"])
    exp = case["expected"]
    _close(res.statistic, exp["statistic"])
    _close(res.pval, exp["p_value"])


@pytest.mark.parametrize("case", cases("prop.test"))
def test_wilson(case):
    lo, hi = st.wilson_ci(case["input"]["k"], case["input"]["n"])
    _close([lo, hi], case["expected"]["conf_int"])


@pytest.mark.parametrize("case", cases("prop.trend.test"))
def test_prop_trend(case):
    x = np.asarray(case["input"]["x"], dtype=float)
    n = np.asarray(case["input"]["n"], dtype=float)
    res = st.cochran_armitage(np.vstack([x, n - x]), case["input"].get("score"))
    exp = case["expected"]
    _close(res.statistic, exp["statistic"])
    _close(res.pval, exp["p_value"])


@pytest.mark.parametrize("case", cases("pROC::ci.auc"))
def test_proc_ci_auc(case):
    inp, exp = case["input"], case["expected"]
    a = st.roc_auc_ci(inp["y"], inp["score_a"], method="delong")
    b = st.roc_auc_ci(inp["y"], inp["score_b"], method="delong")
    a90 = st.roc_auc_ci(inp["y"], inp["score_a"], method="delong", alpha=0.10)
    _close(a.auc, exp["auc_a"])
    _close(b.auc, exp["auc_b"])
    _close([a.ci_low, a.ci_high], exp["ci_a"])
    _close([b.ci_low, b.ci_high], exp["ci_b"])
    _close([a90.ci_low, a90.ci_high], exp["ci_a_90"])
    _close(a.se**2, exp["var_a"])


@pytest.mark.parametrize("case", cases("pROC::roc.test"))
def test_proc_roc_test(case):
    inp, exp = case["input"], case["expected"]
    res = st.delong_test(inp["y"], inp["score_a"], inp["score_b"])
    _close(res.z, exp["statistic"])
    _close(res.pval, exp["p_value"])
    _close([res.ci_low, res.ci_high], exp["conf_int"])
    _close([res.auc_a, res.auc_b], exp["estimate"])


_R_METHOD = {"holm": "holm", "hochberg": "hochberg", "hommel": "hommel",
             "bonferroni": "bonferroni", "BH": "fdr_bh", "BY": "fdr_by", "fdr": "fdr",
             "none": "none"}


@pytest.mark.parametrize("case", cases("p.adjust"))
@pytest.mark.parametrize("r_method", list(_R_METHOD))
def test_p_adjust(case, r_method):
    p = np.array([np.nan if v is None else v for v in case["input"]["p"]], dtype=float)
    got = st.adjust_pvalues(p, _R_METHOD[r_method])
    _close(got, case["expected"][r_method])
    # NaN stays in place and does not count as a test
    assert np.array_equal(np.isnan(got), np.isnan(p))


@pytest.mark.parametrize("case", cases("glm"))
def test_glm_binomial(case):
    inp, exp = case["input"], case["expected"]
    df = pd.DataFrame({"y": inp["y"], "x": inp["x"], "g": inp["g"]})
    res = st.fit_logistic(df, "y", ["x", "g"], reference=0)
    c = res.coefficients.set_index("term")
    r_terms = {"(Intercept)": "Intercept", "gx": "x", "ggb": "g[b]", "ggc": "g[c]"}
    order = [r_terms[t] for t in exp["terms"]]
    _close(c.loc[order, "coef"], exp["estimate"])
    _close(c.loc[order, "se"], exp["se"], rtol=1e-5)
    _close(c.loc[order, "z"], exp["z"], rtol=1e-5)
    _close(c.loc[order, "pval"], exp["p_value"], rtol=1e-5)
    _close(np.log(c.loc[order, "ci_low"]), exp["ci_low"], rtol=1e-5)
    _close(np.log(c.loc[order, "ci_high"]), exp["ci_high"], rtol=1e-5)
    _close(res.llf, exp["loglik"])
    _close(res.aic, exp["aic"])
