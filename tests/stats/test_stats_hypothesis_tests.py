"""Properties of the hypothesis tests beyond the R golden values."""
from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import gammaln

from lnfusion.exceptions import StatsError
from lnfusion.stats import (
    HypothesisTestResult,
    chi_square,
    expected_counts,
    fisher_exact,
    fisher_rxc_exact,
    fisher_rxc_monte_carlo,
    jonckheere_terpstra,
    kruskal_wallis,
    mann_whitney,
    t_test,
    welch_anova,
)
from lnfusion.stats.fisher import FisherWorkLimitError, _count_fillings, _fillings
from lnfusion.stats.hypothesis_tests import _wilcox_counts


def _brute_fisher(x: np.ndarray) -> float:
    """Sum of probabilities of all tables with x's margins at most as probable as x."""
    r, c = x.shape
    rows, cols, n = x.sum(1), x.sum(0), x.sum()
    const = gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(n + 1)
    k_obs = -gammaln(x + 1).sum()
    total = 0.0

    def rec(i, rem_cols, acc):
        nonlocal total
        if i == r - 1:
            k = acc - gammaln(np.array(rem_cols) + 1).sum()
            if k <= k_obs + 1e-7:
                total += math.exp(const + k)
            return
        for fill in itertools.product(*[range(v + 1) for v in rem_cols]):
            if sum(fill) == rows[i]:
                rec(i + 1, [a - b for a, b in zip(rem_cols, fill)],
                    acc - gammaln(np.array(fill) + 1).sum())

    rec(0, list(cols), 0.0)
    return total


@pytest.mark.parametrize("seed", range(12))
def test_fisher_rxc_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    shape = (rng.integers(2, 4), rng.integers(2, 5))
    x = rng.integers(0, 5, size=shape)
    x[0, 0] += 1
    x[1, 1] += 1
    assert fisher_rxc_exact(x) == pytest.approx(_brute_fisher(x), rel=1e-9)


def test_fisher_invariant_to_transpose_and_permutation():
    x = np.array([[3, 1, 0, 2], [1, 4, 2, 0], [0, 2, 5, 1]])
    p = fisher_rxc_exact(x)
    assert fisher_rxc_exact(x.T) == pytest.approx(p, rel=1e-12)
    assert fisher_rxc_exact(x[::-1, ::-1]) == pytest.approx(p, rel=1e-12)
    # empty rows/columns are ignored
    padded = np.zeros((4, 5), dtype=int)
    padded[:3, :4] = x
    assert fisher_rxc_exact(padded) == pytest.approx(p, rel=1e-12)


def test_fisher_2x2_matches_scipy():
    for x in ([[3, 1], [1, 3]], [[10, 2], [3, 15]], [[0, 5], [6, 2]], [[7, 7], [7, 7]]):
        assert fisher_exact(x).pval == pytest.approx(sps.fisher_exact(x).pvalue, rel=1e-9)


def test_fillings_enumeration():
    rem = np.array([4, 2, 3])
    fills = _fillings(rem, 5)
    brute = [f for f in itertools.product(range(5), range(3), range(4)) if sum(f) == 5]
    assert sorted(map(tuple, fills.tolist())) == sorted(brute)
    assert _count_fillings(rem, 5) == len(brute)


def test_fisher_monte_carlo_reproducible_and_named():
    x = np.array([[8, 2, 3, 1], [2, 9, 4, 3], [1, 3, 10, 6]])
    a = fisher_rxc_monte_carlo(x, draws=5000, random_state=3)
    b = fisher_rxc_monte_carlo(x, draws=5000, random_state=3)
    assert a == b
    assert a >= 1 / 5001
    res = fisher_exact(x, method="monte_carlo", mc_draws=5000, random_state=3)
    assert res.test == "fisher_mc" and res.pval == a
    assert "5000 draws" in res.method and "seed 3" in res.method


def test_fisher_auto_falls_back_to_monte_carlo():
    x = np.full((3, 7), 30)
    with pytest.raises(FisherWorkLimitError):
        fisher_rxc_exact(x)
    res = fisher_exact(x, method="auto", mc_draws=2000)
    assert res.test == "fisher_mc"
    assert res.pval > 0.9  # perfectly balanced table


def test_chi_square_yates_only_2x2_and_cramers_v():
    x = np.array([[12, 5], [7, 15]])
    plain, yates = chi_square(x), chi_square(x, correction=True)
    assert yates.statistic < plain.statistic and yates.test == "chi2_yates"
    big = np.array([[20, 15, 12], [10, 18, 14]])
    assert chi_square(big, correction=True).test == "chi2"
    assert plain.effect_name == "cramers_v"
    assert plain.effect_size == pytest.approx(math.sqrt(plain.statistic / x.sum()))


def test_expected_counts_margins():
    x = np.array([[1, 2, 3], [4, 5, 6]])
    e = expected_counts(x)
    np.testing.assert_allclose(e.sum(0), x.sum(0))
    np.testing.assert_allclose(e.sum(1), x.sum(1))


def test_table_errors():
    with pytest.raises(StatsError, match="2 non-empty rows"):
        chi_square([[3, 4], [0, 0]])
    with pytest.raises(StatsError, match="non-negative integer"):
        fisher_exact([[1.5, 2], [3, 4]])


def test_wilcox_null_distribution():
    for m, n in [(3, 4), (5, 5), (7, 2)]:
        counts = np.array(_wilcox_counts(min(m, n), max(m, n)), dtype=float)
        assert counts.sum() == math.comb(m + n, m)
        np.testing.assert_array_equal(counts, counts[::-1])  # symmetric about mn/2
    # brute force for m=3, n=4
    brute = np.zeros(13)
    for xs in itertools.combinations(range(7), 3):
        w = sum(xs) - 3  # ranks 0-based: sum(rank) - m(m+1)/2 with 1-based ranks
        brute[w] += 1
    np.testing.assert_array_equal(np.array(_wilcox_counts(3, 4)), brute)


def test_mann_whitney_exact_vs_normal_and_symmetry():
    x = [1.1, 2.3, 3.8, 4.4, 5.9]
    y = [2.0, 6.1, 7.5, 8.2, 9.7, 10.3]
    ex = mann_whitney(x, y)
    assert "exact" in ex.method
    assert mann_whitney(y, x).pval == pytest.approx(ex.pval)
    assert mann_whitney(x, y, exact=False).pval != ex.pval
    # ties force the normal approximation even when exact is requested
    assert "normal" in mann_whitney([1, 2, 2, 3], [2, 3, 4, 5], exact=True).method
    assert ex.effect_size == pytest.approx(2 * ex.statistic / 30 - 1)


def test_kruskal_two_groups_equals_uncorrected_wilcoxon():
    x = np.array([1.1, 2.3, 3.8, 4.4, 5.9, 3.3])
    y = np.array([2.0, 6.1, 7.5, 8.2, 9.7, 10.3, 4.0])
    kw = kruskal_wallis([x, y])
    mw = mann_whitney(x, y, exact=False, correct=False)
    assert kw.pval == pytest.approx(mw.pval, rel=1e-10)


def test_t_test_and_welch_anova_agree_for_two_groups():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 15), rng.normal(0.7, 2, 20)
    t = t_test(a, b)
    f = welch_anova([a, b])
    assert f.statistic == pytest.approx(t.statistic**2, rel=1e-10)
    assert f.pval == pytest.approx(t.pval, rel=1e-10)
    assert t.ci_low < a.mean() - b.mean() < t.ci_high


def test_jonckheere_variance_matches_permutation_distribution():
    # exact null mean and variance of J over all distinct assignments, with ties
    values = np.array([1, 2, 2, 3, 3, 3, 4, 5])
    sizes = (3, 3, 2)
    js = []
    for first in itertools.combinations(range(8), 3):
        rest = [i for i in range(8) if i not in first]
        for second in itertools.combinations(rest, 3):
            third = [i for i in rest if i not in second]
            groups = [values[list(first)], values[list(second)], values[third]]
            js.append(jonckheere_terpstra(groups).statistic)
    js = np.array(js)
    groups = [values[:3], values[3:6], values[6:]]
    res = jonckheere_terpstra(groups)
    z = res.effect_size
    # z = (J - E) / sqrt(Var): recover E and Var from two groupings and compare
    mean_exact, var_exact = js.mean(), js.var()
    assert (res.statistic - mean_exact) / math.sqrt(var_exact) == pytest.approx(z, rel=1e-10)
    assert sum(sizes) == values.size


def test_records_are_frozen_and_tidy():
    res = chi_square([[12, 5], [7, 15]])
    assert isinstance(res, HypothesisTestResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.pval = 0.5  # type: ignore[misc]
    row = res.to_frame()
    assert list(row.columns[:4]) == ["test", "statistic", "dof", "pval"]
    assert len(row) == 1
