"""Paired comparison of two models over repeated cross-validation folds.

The folds of a K-fold cross-validation share training patients, so the per-fold
differences in a score are positively correlated and the plain paired t-test
(variance ``s^2 / J``) is far too confident.  Nadeau and Bengio's corrected
resampled t-test inflates the variance by the test/train size ratio; Bouckaert
and Frank showed that it keeps its nominal size for repeated K-fold CV (where
``n_test / n_train = 1 / (K - 1)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lnfusion.stats.records import Record

__all__ = ["CorrectedTTestResult", "corrected_resampled_ttest"]


@dataclass(frozen=True)
class CorrectedTTestResult(Record):
    """Outcome of :func:`corrected_resampled_ttest`.

    Attributes
    ----------
    mean_diff : float
        Mean of the per-fold differences ``a - b``.
    sd_diff : float
        Their sample standard deviation (``ddof=1``).
    n_folds : int
        Number of paired folds ``J`` (folds x repeats).
    test_train_ratio : float
        ``n_test / n_train`` used in the correction.
    se : float
        Corrected standard error ``sqrt((1 / J + n_test / n_train) * sd_diff**2)``.
    statistic : float
        ``mean_diff / se`` (t with ``J - 1`` degrees of freedom).
    dof : int
    pval : float
        Two-sided p-value.
    ci_low, ci_high : float
        ``mean_diff -/+ t_{1 - alpha/2, J-1} * se``.
    conf_level : float
    """

    mean_diff: float
    sd_diff: float
    n_folds: int
    test_train_ratio: float
    se: float
    statistic: float
    dof: int
    pval: float
    ci_low: float
    ci_high: float
    conf_level: float = 0.95


def corrected_resampled_ttest(a: Any, b: Any, n_train: float, n_test: float,
                              conf_level: float = 0.95) -> CorrectedTTestResult:
    """Nadeau-Bengio corrected resampled t-test of paired per-fold scores.

    Parameters
    ----------
    a, b : array-like of float (J,)
        Scores (e.g. AUC) of the two models on the same ``J`` outer folds
        (all repeats of a repeated K-fold, in the same order).
    n_train, n_test : float
        Training and test set sizes of a fold (the mean over folds when they
        differ by a patient or two).
    conf_level : float, default 0.95

    Returns
    -------
    CorrectedTTestResult

    Raises
    ------
    ValueError
        Fewer than two folds, lengths differ, non-finite scores or sizes.

    References
    ----------
    Nadeau C, Bengio Y. Inference for the generalization error. Machine
    Learning 2003;52:239-81.  Bouckaert RR, Frank E. Evaluating the
    replicability of significance tests for comparing learning algorithms.
    PAKDD 2004:3-12.
    """
    from scipy import stats

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one score per fold each; got {a.size} and {b.size} scores")
    if a.size < 2:
        raise ValueError(f"need at least two paired folds, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    if not (n_train > 0 and n_test > 0 and math.isfinite(n_train) and math.isfinite(n_test)):
        raise ValueError(f"n_train and n_test must be positive, got {n_train!r} and {n_test!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    d = a - b
    J = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    ratio = float(n_test) / float(n_train)
    se = math.sqrt((1.0 / J + ratio) * sd * sd)
    dof = J - 1
    if se == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0.0 else 0.0
    else:
        t = mean / se
        p = float(2.0 * stats.t.sf(abs(t), dof))
    q = float(stats.t.ppf(0.5 + conf_level / 2.0, dof))
    return CorrectedTTestResult(mean_diff=mean, sd_diff=sd, n_folds=J, test_train_ratio=ratio, se=se,
                                statistic=float(t), dof=dof, pval=p, ci_low=mean - q * se,
                                ci_high=mean + q * se, conf_level=conf_level)
