"""Hypothesis tests, one function per test, each matching R's implementation.

Every function returns a :class:`~lnfusion.stats.records.HypothesisTestResult`
with the test's identifier, statistic, degrees of freedom, two-sided p-value, a
description of exactly what was computed and an effect size where meaningful.

===========================  ===========================================  =====================
function                     R equivalent                                 effect size
===========================  ===========================================  =====================
:func:`chi_square`           ``chisq.test(x, correct = FALSE/TRUE)``      Cramer's V
:func:`fisher_exact`         ``fisher.test(x)`` (2 x 2 and r x c)         odds ratio / Cramer's V
:func:`t_test`               ``t.test(x, y, var.equal = TRUE/FALSE)``     Cohen's d
:func:`oneway_anova`         ``oneway.test(y ~ g, var.equal = TRUE)``     eta squared
:func:`welch_anova`          ``oneway.test(y ~ g, var.equal = FALSE)``    eta squared
:func:`mann_whitney`         ``wilcox.test(x, y, exact, correct)``        rank-biserial r
:func:`kruskal_wallis`       ``kruskal.test(list(...))``                  epsilon squared
:func:`shapiro_wilk`         ``shapiro.test(x)``
:func:`levene`               ``car::leveneTest(center = median)``
:func:`cochran_armitage`     ``prop.trend.test(x, n, score)``
:func:`jonckheere_terpstra`  ``clinfun::jonckheere.test`` (normal approx.)
===========================  ===========================================  =====================
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import stats as sps
from scipy.special import comb

from lnfusion.exceptions import StatsError

from .fisher import (
    DEFAULT_MAX_WORK,
    FisherWorkLimitError,
    fisher_rxc_exact,
    fisher_rxc_monte_carlo,
)
from .records import HypothesisTestResult

__all__ = [
    "expected_counts",
    "chi_square",
    "fisher_exact",
    "t_test",
    "oneway_anova",
    "welch_anova",
    "mann_whitney",
    "kruskal_wallis",
    "shapiro_wilk",
    "levene",
    "cochran_armitage",
    "jonckheere_terpstra",
]

ArrayLike = Sequence[float] | np.ndarray


# --------------------------------------------------------------------------- helpers
def _as_table(table: ArrayLike, *, drop_empty: bool = True) -> np.ndarray:
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise StatsError(f"a contingency table must be 2-dimensional; got shape {x.shape}")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise StatsError("a contingency table must hold non-negative integer counts")
    if drop_empty:
        x = x[x.sum(axis=1) > 0][:, x.sum(axis=0) > 0]
    if x.shape[0] < 2 or x.shape[1] < 2:
        raise StatsError(
            "a contingency table needs at least 2 non-empty rows and 2 non-empty columns; "
            f"got {x.shape[0]} x {x.shape[1]} after dropping empty ones"
        )
    return x


def _as_sample(x: ArrayLike, name: str, min_n: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    a = a[~np.isnan(a)]
    if a.size < min_n:
        raise StatsError(f"sample {name!r} needs at least {min_n} non-missing values; got {a.size}")
    if not np.all(np.isfinite(a)):
        raise StatsError(f"sample {name!r} holds infinite values")
    return a


def _as_groups(groups: Sequence[ArrayLike], min_n: int = 1) -> list[np.ndarray]:
    out = [_as_sample(g, f"group {i}", min_n) for i, g in enumerate(groups)]
    if len(out) < 2:
        raise StatsError(f"at least 2 groups are needed; got {len(out)}")
    return out


def expected_counts(table: ArrayLike) -> np.ndarray:
    """Expected counts under independence, ``outer(row sums, col sums) / N``.

    Parameters
    ----------
    table : array-like, shape (r, c)
        Contingency table of counts.

    Returns
    -------
    numpy.ndarray
        Expected counts, same shape as ``table``.
    """
    x = np.asarray(table, dtype=float)
    return np.outer(x.sum(axis=1), x.sum(axis=0)) / x.sum()


def _cramers_v(chi2: float, x: np.ndarray) -> float:
    k = min(x.shape) - 1
    return float(math.sqrt(chi2 / (x.sum() * k))) if k > 0 else float("nan")


def _pearson_chi2(x: np.ndarray) -> float:
    e = expected_counts(x)
    return float(np.sum((x - e) ** 2 / e))


# --------------------------------------------------------------------------- categorical
def chi_square(table: ArrayLike, *, correction: bool = False) -> HypothesisTestResult:
    """Pearson's chi-square test of independence (R ``chisq.test``).

    Parameters
    ----------
    table : array-like, shape (r, c)
        Contingency table of counts; all-zero rows and columns are dropped.
    correction : bool, default False
        Yates' continuity correction.  As in R it only applies to 2 x 2 tables
        and never moves an ``|O - E|`` below 0 (``min(0.5, |O - E|)``).

    Returns
    -------
    HypothesisTestResult
        ``test`` is ``"chi2"`` or ``"chi2_yates"``; effect size Cramer's V
        (from the uncorrected statistic).
    """
    x = _as_table(table)
    e = expected_counts(x)
    yates = bool(correction and x.shape == (2, 2))
    if yates:
        d = np.abs(x - e)
        stat = float(np.sum((d - np.minimum(0.5, d)) ** 2 / e))
    else:
        stat = float(np.sum((x - e) ** 2 / e))
    dof = (x.shape[0] - 1) * (x.shape[1] - 1)
    pval = float(sps.chi2.sf(stat, dof))
    method = "Pearson's chi-squared test" + (" with Yates' continuity correction" if yates else "")
    return HypothesisTestResult(
        test="chi2_yates" if yates else "chi2", statistic=stat, dof=float(dof), pval=pval,
        method=method, effect_size=_cramers_v(_pearson_chi2(x), x), effect_name="cramers_v",
        n=int(x.sum()),
    )


def fisher_exact(
    table: ArrayLike,
    *,
    method: str = "auto",
    mc_draws: int = 100_000,
    random_state: int | None = 0,
    max_work: int | None = DEFAULT_MAX_WORK,
    alpha: float = 0.05,
) -> HypothesisTestResult:
    """Fisher's exact test (R ``fisher.test``), 2 x 2 and r x c (Freeman-Halton).

    Parameters
    ----------
    table : array-like, shape (r, c)
        Contingency table of counts; all-zero rows and columns are dropped.
    method : {"auto", "exact", "monte_carlo"}, default "auto"
        ``"exact"``: exact enumeration (network algorithm) whatever its cost;
        ``"monte_carlo"``: ``mc_draws`` random tables with the observed margins;
        ``"auto"``: exact while the work stays under ``max_work``, Monte Carlo
        otherwise.  2 x 2 tables are always exact (hypergeometric).
    mc_draws : int, default 100000
        Number of Monte Carlo tables.
    random_state : int or None, default 0
        Seed of the Monte Carlo draws.
    max_work : int or None
        Work limit of the exact enumeration in ``"auto"`` mode.
    alpha : float, default 0.05
        1 - confidence level of the odds ratio's interval (2 x 2 only).

    Returns
    -------
    HypothesisTestResult
        ``test`` is ``"fisher_exact"`` or ``"fisher_mc"`` and ``method`` says
        which computation ran (with draws and seed for Monte Carlo).  For a
        2 x 2 table the effect size is the conditional maximum-likelihood odds
        ratio with its exact confidence interval (as R); for larger tables
        Cramer's V.
    """
    if method not in ("auto", "exact", "monte_carlo"):
        raise StatsError(f"method must be 'auto', 'exact' or 'monte_carlo'; got {method!r}")
    x = _as_table(table)
    n = int(x.sum())
    v = _cramers_v(_pearson_chi2(x), x)
    if x.shape == (2, 2):
        xi = x.astype(np.int64)
        pval = float(fisher_rxc_exact(xi, max_work=None))
        res = sps.contingency.odds_ratio(xi, kind="conditional")
        ci = res.confidence_interval(confidence_level=1 - alpha)
        return HypothesisTestResult(
            test="fisher_exact", statistic=float("nan"), dof=None, pval=pval,
            method="Fisher's exact test (2 x 2, hypergeometric)",
            effect_size=float(res.statistic), effect_name="odds_ratio",
            ci_low=float(ci.low), ci_high=float(ci.high), n=n,
        )
    if method in ("auto", "exact"):
        try:
            pval = fisher_rxc_exact(x, max_work=None if method == "exact" else max_work)
            return HypothesisTestResult(
                test="fisher_exact", statistic=float("nan"), dof=None, pval=float(pval),
                method="Fisher's exact test (Freeman-Halton, exact enumeration)",
                effect_size=v, effect_name="cramers_v", n=n,
            )
        except FisherWorkLimitError:
            pass
    pval = fisher_rxc_monte_carlo(x, draws=mc_draws, random_state=random_state)
    return HypothesisTestResult(
        test="fisher_mc", statistic=float("nan"), dof=None, pval=float(pval),
        method=(f"Fisher's exact test (Freeman-Halton, Monte Carlo: {mc_draws} draws, "
                f"seed {random_state})"),
        effect_size=v, effect_name="cramers_v", n=n,
    )


# --------------------------------------------------------------------------- continuous
def t_test(x: ArrayLike, y: ArrayLike, *, equal_var: bool = False, alpha: float = 0.05) -> HypothesisTestResult:
    """Two-sample t-test (R ``t.test(x, y, var.equal = equal_var)``).

    Parameters
    ----------
    x, y : array-like
        The two samples (``nan`` dropped); each needs at least 2 values.
    equal_var : bool, default False
        ``False``: Welch's test with Satterthwaite degrees of freedom;
        ``True``: Student's pooled-variance test.
    alpha : float, default 0.05
        1 - confidence level of the interval of ``mean(x) - mean(y)``.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"welch_t_test"`` or ``"t_test"``; ``ci_low``/``ci_high`` bound
        the difference in means; effect size Cohen's d (pooled SD).
    """
    a = _as_sample(x, "x", 2)
    b = _as_sample(y, "y", 2)
    na, nb = a.size, b.size
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1), b.var(ddof=1)
    if equal_var:
        dof = na + nb - 2.0
        sp2 = ((na - 1) * va + (nb - 1) * vb) / dof
        se = math.sqrt(sp2 * (1 / na + 1 / nb))
    else:
        sa, sb = va / na, vb / nb
        se = math.sqrt(sa + sb)
        dof = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1)) if se > 0 else float("nan")
    if se == 0:
        raise StatsError("t-test is undefined: both samples are constant")
    diff = ma - mb
    t = diff / se
    pval = float(2 * sps.t.sf(abs(t), dof))
    q = sps.t.ppf(1 - alpha / 2, dof)
    pooled_sd = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    d = diff / pooled_sd if pooled_sd > 0 else float("nan")
    return HypothesisTestResult(
        test="t_test" if equal_var else "welch_t_test", statistic=float(t), dof=float(dof),
        pval=pval, method=("Two-sample t-test (pooled variance)" if equal_var
                           else "Welch two-sample t-test"),
        effect_size=float(d), effect_name="cohens_d",
        ci_low=float(diff - q * se), ci_high=float(diff + q * se), n=na + nb,
    )


def _eta_squared(groups: list[np.ndarray]) -> float:
    allv = np.concatenate(groups)
    gm = allv.mean()
    ssb = sum(g.size * (g.mean() - gm) ** 2 for g in groups)
    sst = float(np.sum((allv - gm) ** 2))
    return float(ssb / sst) if sst > 0 else float("nan")


def oneway_anova(groups: Sequence[ArrayLike]) -> HypothesisTestResult:
    """One-way ANOVA F-test assuming equal variances (R ``oneway.test(var.equal = TRUE)``).

    Parameters
    ----------
    groups : sequence of array-like
        One sample per group (``nan`` dropped).

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"anova"``, F statistic with ``dof`` (k - 1) and ``dof2`` (N - k);
        effect size eta squared.
    """
    gs = _as_groups(groups, 1)
    k = len(gs)
    n = sum(g.size for g in gs)
    if n - k < 1:
        raise StatsError(f"ANOVA needs more observations than groups; got {n} for {k} groups")
    gm = np.concatenate(gs).mean()
    ssb = sum(g.size * (g.mean() - gm) ** 2 for g in gs)
    ssw = sum(float(np.sum((g - g.mean()) ** 2)) for g in gs)
    if ssw == 0:
        raise StatsError("ANOVA is undefined: every group is constant")
    f = (ssb / (k - 1)) / (ssw / (n - k))
    pval = float(sps.f.sf(f, k - 1, n - k))
    return HypothesisTestResult(
        test="anova", statistic=float(f), dof=float(k - 1), dof2=float(n - k), pval=pval,
        method="One-way ANOVA (equal variances)", effect_size=_eta_squared(gs),
        effect_name="eta_squared", n=n,
    )


def welch_anova(groups: Sequence[ArrayLike]) -> HypothesisTestResult:
    """Welch's heteroscedastic one-way ANOVA (R ``oneway.test(var.equal = FALSE)``).

    Parameters
    ----------
    groups : sequence of array-like
        One sample per group, each with at least 2 values and non-zero variance.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"welch_anova"``, F statistic with ``dof`` (k - 1) and the
        Welch denominator ``dof2``; effect size eta squared.
    """
    gs = _as_groups(groups, 2)
    k = len(gs)
    ni = np.array([g.size for g in gs], dtype=float)
    mi = np.array([g.mean() for g in gs])
    vi = np.array([g.var(ddof=1) for g in gs])
    if np.any(vi == 0):
        raise StatsError("Welch ANOVA is undefined when a group has zero variance")
    wi = ni / vi
    sw = wi.sum()
    tmp = np.sum((1 - wi / sw) ** 2 / (ni - 1)) / (k**2 - 1)
    m = np.sum(wi * mi) / sw
    f = np.sum(wi * (mi - m) ** 2) / ((k - 1) * (1 + 2 * (k - 2) * tmp))
    df2 = 1 / (3 * tmp)
    pval = float(sps.f.sf(f, k - 1, df2))
    return HypothesisTestResult(
        test="welch_anova", statistic=float(f), dof=float(k - 1), dof2=float(df2), pval=pval,
        method="Welch one-way ANOVA (unequal variances)", effect_size=_eta_squared(gs),
        effect_name="eta_squared", n=int(ni.sum()),
    )


@lru_cache(maxsize=256)
def _wilcox_counts(m: int, n: int) -> tuple[int, ...]:
    """Null frequencies of the Mann-Whitney statistic: coefficients of the
    Gaussian binomial ``[m + n choose m]_q`` (exact integers)."""
    # prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)
    size = m * n + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i))
        s = n + i
        for u in range(size - 1, s - 1, -1):
            poly[u] -= poly[u - s]
        # divide by (1 - q^i): running sum with step i
        for u in range(i, size):
            poly[u] += poly[u - i]
    return tuple(poly)


def _pwilcox(q: float, m: int, n: int) -> float:
    """P(W <= q) under the null, W the Mann-Whitney statistic (R ``pwilcox``)."""
    counts = _wilcox_counts(min(m, n), max(m, n))
    q = math.floor(q + 1e-7)
    if q < 0:
        return 0.0
    if q >= m * n:
        return 1.0
    return float(sum(counts[: q + 1]) / comb(m + n, n, exact=True))


def mann_whitney(
    x: ArrayLike, y: ArrayLike, *, exact: bool | None = None, correct: bool = True
) -> HypothesisTestResult:
    """Wilcoxon rank-sum / Mann-Whitney U test (R ``wilcox.test(x, y)``).

    Follows R exactly: ``W = sum(rank(x)) - n_x (n_x + 1) / 2``.  The exact
    null distribution is used when ``exact`` is ``True``, or ``None`` with both
    samples under 50 values -- but never with ties (R then falls back to the
    normal approximation).  The normal approximation uses the tie-corrected
    variance and, when ``correct``, a continuity correction of 0.5 towards
    the mean.

    Parameters
    ----------
    x, y : array-like
        The two samples (``nan`` dropped).
    exact : bool or None, default None
        See above.
    correct : bool, default True
        Continuity correction of the normal approximation.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"mann_whitney"``; ``statistic`` is R's W; ``method`` says
        exact or normal approximation; effect size the rank-biserial
        correlation ``2 W / (n_x n_y) - 1`` (positive when x tends to be larger).
    """
    a = _as_sample(x, "x", 1)
    b = _as_sample(y, "y", 1)
    nx, ny = a.size, b.size
    r = sps.rankdata(np.concatenate([a, b]))
    w = float(r[:nx].sum() - nx * (nx + 1) / 2)
    _, tie_counts = np.unique(r, return_counts=True)
    has_ties = bool(np.any(tie_counts > 1))
    use_exact = (nx < 50 and ny < 50) if exact is None else bool(exact)
    use_exact = use_exact and not has_ties
    if use_exact:
        if w > nx * ny / 2:
            p = 1.0 - _pwilcox(w - 1, nx, ny)
        else:
            p = _pwilcox(w, nx, ny)
        pval = min(1.0, 2 * p)
        method = "Wilcoxon rank-sum test (exact)"
    else:
        z = w - nx * ny / 2
        sigma = math.sqrt(
            (nx * ny / 12)
            * ((nx + ny + 1) - np.sum(tie_counts**3 - tie_counts) / ((nx + ny) * (nx + ny - 1)))
        )
        if sigma == 0:
            raise StatsError("Wilcoxon rank-sum test is undefined: all values are tied")
        corr = math.copysign(0.5, z) if (correct and z != 0) else 0.0
        z = (z - corr) / sigma
        pval = float(min(1.0, 2 * min(sps.norm.cdf(z), sps.norm.sf(z))))
        method = ("Wilcoxon rank-sum test (normal approximation"
                  + (" with continuity correction)" if correct else ")"))
    return HypothesisTestResult(
        test="mann_whitney", statistic=w, dof=None, pval=float(pval), method=method,
        effect_size=float(2 * w / (nx * ny) - 1), effect_name="rank_biserial", n=nx + ny,
    )


def kruskal_wallis(groups: Sequence[ArrayLike]) -> HypothesisTestResult:
    """Kruskal-Wallis rank-sum test with tie correction (R ``kruskal.test``).

    Parameters
    ----------
    groups : sequence of array-like
        One sample per group (``nan`` dropped).

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"kruskal"``, H statistic, ``dof`` k - 1, chi-square p-value;
        effect size epsilon squared ``H / (n - 1)``.
    """
    gs = _as_groups(groups, 1)
    allv = np.concatenate(gs)
    n = allv.size
    r = sps.rankdata(allv)
    sizes = np.array([g.size for g in gs])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rank_sums = np.array([r[bounds[i]:bounds[i + 1]].sum() for i in range(len(gs))])
    _, t = np.unique(allv, return_counts=True)
    ties = 1 - np.sum(t**3 - t) / (n**3 - n)
    if ties == 0:
        raise StatsError("Kruskal-Wallis test is undefined: all values are tied")
    h = (12 * np.sum(rank_sums**2 / sizes) / (n * (n + 1)) - 3 * (n + 1)) / ties
    k = len(gs)
    return HypothesisTestResult(
        test="kruskal", statistic=float(h), dof=float(k - 1), pval=float(sps.chi2.sf(h, k - 1)),
        method="Kruskal-Wallis rank-sum test", effect_size=float(h / (n - 1)),
        effect_name="epsilon_squared", n=int(n),
    )


def shapiro_wilk(
    x: ArrayLike, *, max_n: int = 5000, random_state: int | None = 0
) -> HypothesisTestResult:
    """Shapiro-Wilk normality test (R ``shapiro.test``, algorithm AS R94).

    Parameters
    ----------
    x : array-like
        Sample (``nan`` dropped); 3 to any number of values.
    max_n : int, default 5000
        R refuses more than 5000 values; larger samples are tested on a
        seeded random subsample of ``max_n`` values (stated in ``method``).
    random_state : int or None, default 0
        Seed of that subsample.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"shapiro"``, W statistic and p-value.
    """
    a = _as_sample(x, "x", 3)
    method = "Shapiro-Wilk normality test"
    if a.size > max_n:
        rng = np.random.default_rng(random_state)
        a = rng.choice(a, size=max_n, replace=False)
        method += f" (random subsample of {max_n} values, seed {random_state})"
    if np.ptp(a) == 0:
        raise StatsError("Shapiro-Wilk test is undefined for a constant sample")
    w, p = sps.shapiro(a)
    return HypothesisTestResult(test="shapiro", statistic=float(w), dof=None, pval=float(p),
                                method=method, n=int(a.size))


def levene(groups: Sequence[ArrayLike], *, center: str = "median") -> HypothesisTestResult:
    """Levene's test of equal variances (Brown-Forsythe variant by default).

    Parameters
    ----------
    groups : sequence of array-like
        One sample per group.
    center : {"median", "mean"}, default "median"
        ``"median"`` is R ``car::leveneTest``'s default.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"levene"``, F statistic, ``dof`` k - 1, ``dof2`` N - k.
    """
    gs = _as_groups(groups, 2)
    stat, p = sps.levene(*gs, center=center)
    n = sum(g.size for g in gs)
    return HypothesisTestResult(
        test="levene", statistic=float(stat), dof=float(len(gs) - 1), dof2=float(n - len(gs)),
        pval=float(p), method=f"Levene's test (center = {center})", n=n,
    )


# --------------------------------------------------------------------------- trend tests
def cochran_armitage(table: ArrayLike, scores: ArrayLike | None = None) -> HypothesisTestResult:
    """Cochran-Armitage chi-square test for trend in proportions (R ``prop.trend.test``).

    Parameters
    ----------
    table : array-like, shape (2, k)
        Counts of the two classes (rows) across ``k`` ordered levels (columns);
        the proportion tested is that of the first row.
    scores : array-like of length k, optional
        Scores of the ordered levels; default ``1..k``.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"cochran_armitage"``, chi-square statistic on 1 degree of
        freedom (R's form, without the ``N / (N - 1)`` factor of some texts).
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2 or x.shape[0] != 2:
        raise StatsError(f"Cochran-Armitage needs a 2 x k table; got shape {x.shape}")
    s = np.arange(1, x.shape[1] + 1, dtype=float) if scores is None else np.asarray(scores, float)
    if s.shape != (x.shape[1],):
        raise StatsError(f"scores must have one value per column ({x.shape[1]}); got {s.shape}")
    keep = x.sum(axis=0) > 0
    x, s = x[:, keep], s[keep]
    succ, tot = x[0], x.sum(axis=0)
    big_n = tot.sum()
    p = succ.sum() / big_n
    if p in (0.0, 1.0) or x.shape[1] < 2:
        raise StatsError("Cochran-Armitage test is undefined: one class is empty or one level only")
    sbar = np.sum(tot * s) / big_n
    num = np.sum(succ * (s - sbar)) ** 2
    den = p * (1 - p) * np.sum(tot * (s - sbar) ** 2)
    if den == 0:
        raise StatsError("Cochran-Armitage test is undefined: scores are constant")
    chi2 = float(num / den)
    return HypothesisTestResult(
        test="cochran_armitage", statistic=chi2, dof=1.0, pval=float(sps.chi2.sf(chi2, 1)),
        method="Cochran-Armitage chi-squared test for trend in proportions", n=int(big_n),
    )


def jonckheere_terpstra(groups: Sequence[ArrayLike]) -> HypothesisTestResult:
    """Jonckheere-Terpstra test for ordered alternatives (normal approximation).

    ``J = sum_{i<j} #(x_i < x_j) + 0.5 #(x_i = x_j)`` over ordered pairs of
    groups; the variance is corrected for ties (Hollander, Wolfe & Chicken,
    2014, eq. 6.19).  No continuity correction.

    Parameters
    ----------
    groups : sequence of array-like
        Samples in the hypothesised order.

    Returns
    -------
    HypothesisTestResult
        ``test`` ``"jonckheere"``; ``statistic`` is J, two-sided p-value from
        the standardised statistic; ``effect_size`` is that z.
    """
    gs = _as_groups(groups, 1)
    n_i = np.array([g.size for g in gs], dtype=float)
    big_n = n_i.sum()
    j_stat = 0.0
    for i in range(len(gs)):
        for j in range(i + 1, len(gs)):
            a, b = gs[i], gs[j]
            r = sps.rankdata(np.concatenate([a, b]))
            u = r[a.size:].sum() - b.size * (b.size + 1) / 2  # #(a < b) + 0.5 ties
            j_stat += u
    _, t = np.unique(np.concatenate(gs), return_counts=True)
    t = t.astype(float)
    mean = (big_n**2 - np.sum(n_i**2)) / 4
    var = (
        (big_n * (big_n - 1) * (2 * big_n + 5)
         - np.sum(n_i * (n_i - 1) * (2 * n_i + 5))
         - np.sum(t * (t - 1) * (2 * t + 5))) / 72
        + np.sum(n_i * (n_i - 1) * (n_i - 2)) * np.sum(t * (t - 1) * (t - 2))
        / (36 * big_n * (big_n - 1) * (big_n - 2))
        + np.sum(n_i * (n_i - 1)) * np.sum(t * (t - 1)) / (8 * big_n * (big_n - 1))
    )
    if var <= 0:
        raise StatsError("Jonckheere-Terpstra test is undefined: zero variance")
    z = (j_stat - mean) / math.sqrt(var)
    return HypothesisTestResult(
        test="jonckheere", statistic=float(j_stat), dof=None,
        pval=float(2 * sps.norm.sf(abs(z))),
        method="Jonckheere-Terpstra trend test (normal approximation, tie-corrected)",
        effect_size=float(z), effect_name="z", n=int(big_n),
    )
