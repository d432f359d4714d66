"""Result records shared by the statistics module.

Every statistical function of :mod:`lnfusion.stats` returns a small frozen
dataclass (a *record*) rather than a tuple, so results are self-describing,
immutable and convertible to a tidy one-row :class:`pandas.DataFrame`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Record", "HypothesisTestResult"]


class Record:
    """Mixin giving records ``to_dict`` and ``to_frame``."""

    __test__ = False  # keep pytest from collecting records imported in test modules

    def to_dict(self) -> dict[str, Any]:
        """Return the record's fields as a plain ``dict``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_frame(self) -> pd.DataFrame:
        """Return the record as a one-row tidy :class:`pandas.DataFrame`."""
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class HypothesisTestResult(Record):
    """Outcome of one hypothesis test.

    Attributes
    ----------
    test : str
        Stable identifier of the test (``"chi2"``, ``"chi2_yates"``,
        ``"fisher_exact"``, ``"fisher_mc"``, ``"t_test"``, ``"welch_t_test"``,
        ``"anova"``, ``"welch_anova"``, ``"mann_whitney"``, ``"kruskal"``,
        ``"cochran_armitage"``, ``"jonckheere"``, ``"shapiro"``, ``"levene"``).
    statistic : float
        Test statistic (chi-square, t, F, W, H, z, ...; ``nan`` when the test
        has none, e.g. Fisher's exact test on an r x c table).
    dof : float or None
        Degrees of freedom (numerator degrees of freedom for F tests).
    pval : float
        Two-sided p-value.
    method : str
        Human-readable description naming exactly what was computed
        (e.g. ``"Fisher's exact test (Freeman-Halton, exact enumeration)"``).
    dof2 : float or None
        Denominator degrees of freedom of F tests.
    effect_size : float or None
        Effect size where meaningful (see ``effect_name``).
    effect_name : str or None
        Name of the effect size (``"cramers_v"``, ``"odds_ratio"``,
        ``"cohens_d"``, ``"eta_squared"``, ``"rank_biserial"``,
        ``"epsilon_squared"``).
    ci_low, ci_high : float or None
        Confidence interval: of the difference in means for t-tests, of the
        conditional odds ratio for Fisher's 2 x 2 test.
    n : int or None
        Number of observations used.
    """

    test: str
    statistic: float
    dof: float | None
    pval: float
    method: str = ""
    dof2: float | None = None
    effect_size: float | None = None
    effect_name: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None

    @property
    def significant(self) -> bool:
        """``True`` when ``pval < 0.05`` (``False`` for a missing p-value)."""
        return bool(not math.isnan(self.pval) and self.pval < 0.05)
