"""Rules that choose the hypothesis test for a variable, and per-variable overrides.

Categorical variables (a levels x classes contingency table)
    Pearson's chi-square test when **every** expected count is at least 5
    (Cochran, 1954), with Yates' correction only if ``yates=True`` (2 x 2 only;
    off by default, as the correction is conservative).  Otherwise Fisher's
    exact test: hypergeometric for 2 x 2, Freeman-Halton for r x c -- exact
    enumeration while feasible, else Monte Carlo with ``mc_draws`` seeded draws
    (``exact="auto"``).  ``exact=True`` always enumerates, ``exact=False``
    always simulates r x c tables.

Continuous variables (one sample per class)
    Shapiro-Wilk in every class (classes under 3 values or constant count as
    non-normal; classes over 5000 values are tested on a seeded subsample of
    5000).  If no class rejects normality at ``normality_alpha``, a parametric
    test: for two classes Welch's t-test, for more Welch's ANOVA
    (``parametric="welch"``, the default: robust to unequal variances at
    little cost, Delacre et al. 2017); ``parametric="student"`` uses Student's
    t / classical ANOVA; ``parametric="levene"`` uses them unless Levene's
    (median-centred) test rejects equal variances at ``normality_alpha``.
    Otherwise Mann-Whitney (two classes) or Kruskal-Wallis (more).

Ordinal variables
    Kruskal-Wallis on the level ranks.  With ``trend=True``: Cochran-Armitage
    for two classes, Jonckheere-Terpstra (classes in their given order) for more.

Override names accepted by ``tests={variable: name}``:
``"auto"``, ``"chi2"``, ``"chi2_yates"``, ``"fisher"`` (= ``"fisher_exact"``),
``"fisher_mc"``, ``"t_test"``, ``"welch_t_test"``, ``"anova"``,
``"welch_anova"``, ``"mann_whitney"``, ``"kruskal"``, ``"cochran_armitage"``,
``"jonckheere"``; and the families ``"parametric"`` / ``"nonparametric"``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lnfusion.exceptions import StatsError

from . import hypothesis_tests as ht
from .fisher import DEFAULT_MAX_WORK
from .records import HypothesisTestResult

__all__ = [
    "CATEGORICAL_TESTS",
    "CONTINUOUS_TESTS",
    "ORDINAL_TESTS",
    "TEST_LABELS",
    "TestSettings",
    "not_testable",
    "select_categorical_test",
    "select_continuous_test",
    "select_ordinal_test",
    "is_normal",
]

CATEGORICAL_TESTS = ("auto", "chi2", "chi2_yates", "fisher", "fisher_exact", "fisher_mc")
CONTINUOUS_TESTS = ("auto", "parametric", "nonparametric", "t_test", "welch_t_test", "anova",
                    "welch_anova", "mann_whitney", "kruskal")
ORDINAL_TESTS = ("auto", "kruskal", "mann_whitney", "cochran_armitage", "jonckheere", "trend",
                 "chi2", "fisher", "fisher_exact", "fisher_mc")

#: Short labels shown in rendered tables.
TEST_LABELS = {
    "chi2": "Chi-square",
    "chi2_yates": "Chi-square (Yates)",
    "fisher_exact": "Fisher exact",
    "fisher_mc": "Fisher exact (Monte Carlo)",
    "t_test": "Student t-test",
    "welch_t_test": "Welch t-test",
    "anova": "ANOVA",
    "welch_anova": "Welch ANOVA",
    "mann_whitney": "Mann-Whitney U",
    "kruskal": "Kruskal-Wallis",
    "cochran_armitage": "Cochran-Armitage trend",
    "jonckheere": "Jonckheere-Terpstra",
    "none": "not testable",
}


@dataclass(frozen=True)
class TestSettings:
    """Options of the test-choice rules (see module docstring)."""

    __test__ = False

    yates: bool = False
    normality_alpha: float = 0.05
    parametric: str = "welch"
    exact: bool | str = "auto"
    mc_draws: int = 100_000
    random_state: int | None = 0
    fisher_max_work: int | None = DEFAULT_MAX_WORK
    trend: bool = False

    def __post_init__(self) -> None:
        if self.parametric not in ("welch", "student", "levene"):
            raise StatsError(
                f"parametric must be 'welch', 'student' or 'levene'; got {self.parametric!r}"
            )
        if self.exact not in ("auto", True, False):
            raise StatsError(f"exact must be 'auto', True or False; got {self.exact!r}")
        if not 0 < self.normality_alpha < 1:
            raise StatsError(f"normality_alpha must be in (0, 1); got {self.normality_alpha!r}")
        if int(self.mc_draws) < 1:
            raise StatsError(f"mc_draws must be a positive integer; got {self.mc_draws!r}")

    @property
    def fisher_method(self) -> str:
        return {"auto": "auto", True: "exact", False: "monte_carlo"}[self.exact]


def not_testable(reason: str) -> HypothesisTestResult:
    """A record for a variable on which no test can be run (``pval`` is ``nan``)."""
    return HypothesisTestResult(test="none", statistic=float("nan"), dof=None,
                                pval=float("nan"), method=f"not testable: {reason}")


def _fisher(table: np.ndarray, s: TestSettings, method: str | None = None) -> HypothesisTestResult:
    return ht.fisher_exact(table, method=method or s.fisher_method, mc_draws=int(s.mc_draws),
                           random_state=s.random_state, max_work=s.fisher_max_work)


def select_categorical_test(
    table: np.ndarray, settings: TestSettings | None = None, override: str = "auto"
) -> HypothesisTestResult:
    """Test a levels x classes contingency table by the categorical rule.

    Parameters
    ----------
    table : array-like, shape (levels, classes)
        Counts; empty rows and columns are ignored.
    settings : TestSettings, optional
        Rule options.
    override : str, default "auto"
        One of :data:`CATEGORICAL_TESTS`.

    Returns
    -------
    HypothesisTestResult
        The chosen test's result, or a not-testable record (``pval`` nan) when
        fewer than two non-empty levels or classes remain.
    """
    s = settings or TestSettings()
    if override not in CATEGORICAL_TESTS:
        raise StatsError(f"unknown categorical test {override!r}; expected one of {CATEGORICAL_TESTS}")
    x = np.asarray(table, dtype=float)
    x = x[x.sum(axis=1) > 0][:, x.sum(axis=0) > 0]
    if x.shape[0] < 2:
        return not_testable("fewer than 2 observed levels")
    if x.shape[1] < 2:
        return not_testable("fewer than 2 classes with observations")
    if override == "chi2":
        return ht.chi_square(x, correction=False)
    if override == "chi2_yates":
        return ht.chi_square(x, correction=True)
    if override in ("fisher", "fisher_exact"):
        return _fisher(x, s)
    if override == "fisher_mc":
        return _fisher(x, s, "monte_carlo")
    if np.all(ht.expected_counts(x) >= 5):
        return ht.chi_square(x, correction=s.yates)
    return _fisher(x, s)


def is_normal(groups: Sequence[np.ndarray], settings: TestSettings | None = None) -> tuple[bool, list[float]]:
    """Apply Shapiro-Wilk to every group.

    Returns
    -------
    (bool, list of float)
        Whether no group rejects normality at ``normality_alpha``, and the
        per-group p-values (``nan`` for a group under 3 values or constant,
        which counts as non-normal).
    """
    s = settings or TestSettings()
    pvals: list[float] = []
    ok = True
    for g in groups:
        if g.size < 3 or np.ptp(g) == 0:
            pvals.append(float("nan"))
            ok = False
            continue
        p = ht.shapiro_wilk(g, random_state=s.random_state).pval
        pvals.append(p)
        if not p >= s.normality_alpha:
            ok = False
    return ok, pvals


def _parametric(groups: list[np.ndarray], s: TestSettings) -> HypothesisTestResult:
    equal = s.parametric == "student"
    if s.parametric == "levene":
        try:
            equal = ht.levene(groups).pval >= s.normality_alpha
        except StatsError:
            equal = False
    if len(groups) == 2:
        return ht.t_test(groups[0], groups[1], equal_var=equal)
    return ht.oneway_anova(groups) if equal else ht.welch_anova(groups)


def _nonparametric(groups: list[np.ndarray]) -> HypothesisTestResult:
    if len(groups) == 2:
        return ht.mann_whitney(groups[0], groups[1])
    return ht.kruskal_wallis(groups)


def _run(fn, *args, **kwargs) -> HypothesisTestResult:
    try:
        return fn(*args, **kwargs)
    except StatsError as exc:
        return not_testable(str(exc))


def select_continuous_test(
    groups: Sequence[np.ndarray], settings: TestSettings | None = None, override: str = "auto"
) -> tuple[HypothesisTestResult, bool]:
    """Test one continuous variable across classes by the continuous rule.

    Parameters
    ----------
    groups : sequence of numpy.ndarray
        Non-missing values of each class (empty classes are ignored).
    settings : TestSettings, optional
        Rule options.
    override : str, default "auto"
        One of :data:`CONTINUOUS_TESTS`.

    Returns
    -------
    (HypothesisTestResult, bool)
        The result and whether a parametric test was used (which decides
        between mean +/- SD and median [IQR] in Table 1).
    """
    s = settings or TestSettings()
    if override not in CONTINUOUS_TESTS:
        raise StatsError(f"unknown continuous test {override!r}; expected one of {CONTINUOUS_TESTS}")
    gs = [np.asarray(g, dtype=float) for g in groups]
    gs = [g[~np.isnan(g)] for g in gs]
    gs = [g for g in gs if g.size > 0]
    if len(gs) < 2:
        return not_testable("fewer than 2 classes with observations"), False
    k = len(gs)
    if override in ("t_test", "welch_t_test", "mann_whitney") and k != 2:
        raise StatsError(f"test {override!r} compares 2 classes; this variable has {k}")
    if override in ("anova", "welch_anova", "kruskal") and k < 2:
        raise StatsError(f"test {override!r} needs at least 2 classes")
    if override == "t_test":
        return _run(ht.t_test, gs[0], gs[1], equal_var=True), True
    if override == "welch_t_test":
        return _run(ht.t_test, gs[0], gs[1], equal_var=False), True
    if override == "anova":
        return _run(ht.oneway_anova, gs), True
    if override == "welch_anova":
        return _run(ht.welch_anova, gs), True
    if override == "mann_whitney":
        return _run(ht.mann_whitney, gs[0], gs[1]), False
    if override == "kruskal":
        return _run(ht.kruskal_wallis, gs), False
    if override == "parametric":
        normal = True
    elif override == "nonparametric":
        normal = False
    else:
        normal, _ = is_normal(gs, s)
    if normal:
        res = _run(_parametric, gs, s)
        if not math.isnan(res.pval):
            return res, True
    return _run(_nonparametric, gs), False


def select_ordinal_test(
    values_by_class: Sequence[np.ndarray],
    table: np.ndarray,
    scores: np.ndarray,
    settings: TestSettings | None = None,
    override: str = "auto",
) -> HypothesisTestResult:
    """Test one ordinal variable across classes by the ordinal rule.

    Parameters
    ----------
    values_by_class : sequence of numpy.ndarray
        Numeric level scores of each class (for rank tests).
    table : numpy.ndarray, shape (levels, classes)
        Counts of each level per class (for table-based tests).
    scores : numpy.ndarray, shape (levels,)
        Score of each level (for Cochran-Armitage).
    settings : TestSettings, optional
        Rule options (``trend`` selects a trend test).
    override : str, default "auto"
        One of :data:`ORDINAL_TESTS` (``"trend"`` = the trend test for the
        number of classes).
    """
    s = settings or TestSettings()
    if override not in ORDINAL_TESTS:
        raise StatsError(f"unknown ordinal test {override!r}; expected one of {ORDINAL_TESTS}")
    if override in ("chi2", "fisher", "fisher_exact", "fisher_mc"):
        return select_categorical_test(table, s, override)
    keep = [i for i, g in enumerate(values_by_class) if g.size > 0]
    gs = [np.asarray(values_by_class[i], dtype=float) for i in keep]
    if len(gs) < 2:
        return not_testable("fewer than 2 classes with observations")
    k = len(gs)
    if override == "auto":
        override = "trend" if s.trend else "kruskal"
    if override == "trend":
        override = "cochran_armitage" if k == 2 else "jonckheere"
    if override == "kruskal":
        return _run(ht.kruskal_wallis, gs)
    if override == "mann_whitney":
        if k != 2:
            raise StatsError(f"test 'mann_whitney' compares 2 classes; this variable has {k}")
        return _run(ht.mann_whitney, gs[0], gs[1])
    if override == "cochran_armitage":
        if k != 2:
            raise StatsError(f"test 'cochran_armitage' compares 2 classes; this variable has {k}")
        t2 = np.asarray(table, dtype=float)[:, keep].T  # (2, levels)
        return _run(ht.cochran_armitage, t2, scores)
    return _run(ht.jonckheere_terpstra, gs)
