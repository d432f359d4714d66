"""ROC statistics: AUC with confidence intervals, DeLong's test, Wilson intervals.

* :func:`roc_auc_ci` -- AUC with a DeLong (1988) confidence interval computed
  with the fast algorithm of Sun & Xu (2014), identical to R
  ``pROC::ci.auc(method = "delong")``; or with a stratified, seeded percentile
  bootstrap (``pROC::ci.auc(method = "bootstrap")``) that resamples whole
  patients when ``groups`` is given.
* :func:`delong_test` -- DeLong's test for two correlated AUCs on the same
  cases (``pROC::roc.test(method = "delong", paired = TRUE)``).
* :func:`multiclass_auc` -- one-vs-rest AUC per class plus the macro average.
* :func:`sensitivity_specificity` and :func:`wilson_ci` -- proportions with
  Wilson score intervals (R ``prop.test(correct = FALSE)$conf.int``).

The AUCs come from :mod:`lnfusion.stats.auc` and the bootstraps from
:mod:`lnfusion.stats.bootstrap`, the implementations the evaluation and the
image branch's training use as well.

Scores are oriented so that larger means "more likely positive" (pROC's
``direction = "<"``); the AUC is not flipped when it falls below 0.5.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from lnfusion.exceptions import DataError, StatsError

from .auc import SortedScores, auc_score
from .bootstrap import bootstrap_weights
from .records import Record

__all__ = [
    "AucResult",
    "DelongTestResult",
    "DiagnosticResult",
    "roc_auc",
    "roc_auc_ci",
    "delong_test",
    "multiclass_auc",
    "sensitivity_specificity",
    "wilson_ci",
]

ArrayLike = Sequence | np.ndarray | pd.Series


@dataclass(frozen=True)
class AucResult(Record):
    """AUC with a confidence interval.

    Attributes
    ----------
    auc : float
    ci_low, ci_high : float
        Bounds of the ``1 - alpha`` interval, clipped to [0, 1].
    method : str
        ``"delong"`` or ``"bootstrap"``.
    n_pos, n_neg : int
        Numbers of positive and negative cases.
    se : float or None
        DeLong standard error (``None`` for the bootstrap).
    alpha : float
    n_boot : int or None
        Bootstrap replicates used.
    """

    auc: float
    ci_low: float
    ci_high: float
    method: str
    n_pos: int
    n_neg: int
    se: float | None = None
    alpha: float = 0.05
    n_boot: int | None = None


@dataclass(frozen=True)
class DelongTestResult(Record):
    """DeLong's test of two correlated AUCs.

    Attributes
    ----------
    auc_a, auc_b : float
    diff : float
        ``auc_a - auc_b``.
    z : float
    pval : float
        Two-sided.
    ci_low, ci_high : float
        ``1 - alpha`` interval of ``diff``.
    se : float
        Standard error of ``diff``.
    """

    auc_a: float
    auc_b: float
    diff: float
    z: float
    pval: float
    ci_low: float
    ci_high: float
    se: float = float("nan")


@dataclass(frozen=True)
class DiagnosticResult(Record):
    """Sensitivity, specificity and predictive values with Wilson intervals."""

    sensitivity: float
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    specificity: float
    specificity_ci_low: float
    specificity_ci_high: float
    ppv: float
    ppv_ci_low: float
    ppv_ci_high: float
    npv: float
    npv_ci_low: float
    npv_ci_high: float
    accuracy: float
    tp: int
    fn: int
    tn: int
    fp: int
    threshold: float | None = None
    alpha: float = 0.05


# ----------------------------------------------------------------------------- helpers
def _binary_truth(y_true: ArrayLike, pos_label: object = 1) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise DataError(f"y_true must be 1-dimensional; got shape {y.shape}")
    if y.dtype == bool:
        return y.copy()
    if pd.isna(pd.Series(y)).any():
        raise DataError("y_true holds missing values")
    uniq = pd.unique(pd.Series(y))
    if len(uniq) > 2:
        raise DataError(f"y_true must hold two classes; got {len(uniq)}: {list(uniq)[:10]}")
    if pos_label not in set(uniq.tolist()):
        if set(uniq.tolist()) <= {0, 1}:
            return y == 1
        raise DataError(f"positive label {pos_label!r} is not among y_true's values {list(uniq)}")
    return y == pos_label


def _scores(y_score: ArrayLike, n: int, name: str = "y_score") -> np.ndarray:
    s = np.asarray(y_score, dtype=float)
    if s.ndim != 1 or s.size != n:
        raise DataError(f"{name} must be 1-dimensional with {n} values (one per case); "
                        f"got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise DataError(f"{name} holds missing or infinite values")
    return s


def _delong_components(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fast DeLong (Sun & Xu, 2014) for k score vectors.

    Parameters
    ----------
    pos : array, shape (k, m)
        Scores of the m positive cases under each of k classifiers.
    neg : array, shape (k, n)

    Returns
    -------
    v_pos : array (k, m)
        Structural components of the positives (share of negatives ranked below,
        ties counting 1/2).
    v_neg : array (k, n)
        Structural components of the negatives (share of positives ranked above).
    """
    k, m = pos.shape
    n = neg.shape[1]
    tx = np.vstack([sps.rankdata(pos[i]) for i in range(k)])
    ty = np.vstack([sps.rankdata(neg[i]) for i in range(k)])
    tz = np.vstack([sps.rankdata(np.concatenate([pos[i], neg[i]])) for i in range(k)])
    v_pos = (tz[:, :m] - tx) / n
    v_neg = 1.0 - (tz[:, m:] - ty) / m
    return v_pos, v_neg


def _delong_cov(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """DeLong covariance (k, k) of the AUCs of k score vectors on the same cases.

    The AUCs themselves come from :func:`lnfusion.stats.auc.auc_score` (the
    structural components average to the same values).
    """
    v_pos, v_neg = _delong_components(pos, neg)
    m, n = v_pos.shape[1], v_neg.shape[1]
    sx = np.atleast_2d(np.cov(v_pos))
    sy = np.atleast_2d(np.cov(v_neg))
    return sx / m + sy / n


def roc_auc(y_true: ArrayLike, y_score: ArrayLike, *, pos_label: object = 1) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count 1/2).

    Parameters
    ----------
    y_true : array-like
        Binary truth (bool, 0/1, or two labels with ``pos_label``).
    y_score : array-like of float
        Larger means more likely positive.
    pos_label : object, default 1
        The positive label.
    """
    y = _binary_truth(y_true, pos_label)
    s = _scores(y_score, y.size)
    if y.all() or not y.any():
        raise StatsError("AUC needs both positive and negative cases; y_true has one class only")
    return auc_score(y, s)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must be in (0, 1); got {alpha!r}")


def _check_groups(groups: ArrayLike | None, n: int) -> np.ndarray | None:
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.size != n:
        raise DataError(f"groups must be 1-dimensional with {n} values; got shape {g.shape}")
    if pd.isna(pd.Series(g)).any():
        raise DataError("groups holds missing values")
    return g


def roc_auc_ci(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    method: str = "delong",
    alpha: float = 0.05,
    groups: ArrayLike | None = None,
    n_boot: int = 2000,
    random_state: int | None = 0,
    pos_label: object = 1,
) -> AucResult:
    """AUC with a DeLong or stratified bootstrap confidence interval.

    Parameters
    ----------
    y_true : array-like
        Binary truth (bool, 0/1, or two labels with ``pos_label``).
    y_score : array-like of float
        Larger means more likely positive.
    method : {"delong", "bootstrap"}, default "delong"
        ``"delong"``: normal interval ``auc +/- z * se`` with DeLong's variance,
        clipped to [0, 1] (as pROC).  ``"bootstrap"``: percentile interval of
        ``n_boot`` resamples drawn separately among positives and negatives
        (stratified, as pROC's default), or -- with ``groups`` -- whole groups
        drawn with replacement within strata of groups of the same class make-up
        (:func:`lnfusion.stats.bootstrap.cluster_bootstrap_indices`).
    alpha : float, default 0.05
        1 - confidence level.
    groups : array-like, optional
        Patient (cluster) id of each case; only with ``method="bootstrap"``
        (DeLong's variance assumes independent cases).
    n_boot : int, default 2000
        Bootstrap replicates.
    random_state : int or None, default 0
        Seed of the bootstrap.
    pos_label : object, default 1
        The positive label.

    Returns
    -------
    AucResult

    Raises
    ------
    StatsError
        One class only, an unknown method, or ``groups`` with DeLong.
    """
    _check_alpha(alpha)
    y = _binary_truth(y_true, pos_label)
    s = _scores(y_score, y.size)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise StatsError(f"AUC needs positive and negative cases; got {n_pos} positive, "
                         f"{n_neg} negative")
    g = _check_groups(groups, y.size)
    if method == "delong":
        if g is not None:
            raise StatsError("DeLong's variance assumes independent cases; with groups "
                             "(several nodes per patient) use method='bootstrap'")
        if n_pos < 2 or n_neg < 2:
            raise StatsError("DeLong's interval needs at least 2 positive and 2 negative cases")
        cov = _delong_cov(s[y][None, :], s[~y][None, :])
        auc = auc_score(y, s)
        se = math.sqrt(max(float(cov[0, 0]), 0.0))
        z = sps.norm.ppf(1 - alpha / 2)
        lo, hi = auc - z * se, auc + z * se
        return AucResult(auc=auc, ci_low=float(min(max(lo, 0.0), 1.0)),
                         ci_high=float(min(max(hi, 0.0), 1.0)), method="delong",
                         n_pos=n_pos, n_neg=n_neg, se=se, alpha=alpha)
    if method != "bootstrap":
        raise StatsError(f"method must be 'delong' or 'bootstrap'; got {method!r}")
    if n_boot < 1:
        raise StatsError(f"n_boot must be a positive integer; got {n_boot!r}")
    scores = SortedScores(y[:, None], s[:, None])
    auc = scores.auc()
    boots = _bootstrap_stat(y.astype(int), g, random_state, n_boot, scores.auc)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return AucResult(auc=auc, ci_low=float(lo), ci_high=float(hi), method="bootstrap",
                     n_pos=n_pos, n_neg=n_neg, se=None, alpha=alpha, n_boot=int(boots.size))


def _bootstrap_stat(strata: np.ndarray, groups: np.ndarray | None,
                    random_state: int | np.random.Generator | None, n_boot: int,
                    fn: Callable[..., float]) -> np.ndarray:
    """``fn(weights=w)`` on ``n_boot`` stratified patient resamples (nan ones dropped).

    The resamples are those of :func:`lnfusion.stats.bootstrap.bootstrap_weights`.
    """
    out = np.array([fn(weights=w) for w in bootstrap_weights(strata.size, groups, n_boot,
                                                              random_state, strata)])
    out = out[~np.isnan(out)]
    if out.size == 0:
        raise StatsError("no bootstrap resample held both classes; cannot form an interval")
    return out


def delong_test(
    y_true: ArrayLike, score_a: ArrayLike, score_b: ArrayLike, *, alpha: float = 0.05,
    pos_label: object = 1,
) -> DelongTestResult:
    """DeLong's test for two correlated AUCs measured on the same cases.

    Parameters
    ----------
    y_true : array-like
        Binary truth.
    score_a, score_b : array-like of float
        Scores of the two models for the same cases.
    alpha : float, default 0.05
        1 - confidence level of the difference's interval.
    pos_label : object, default 1

    Returns
    -------
    DelongTestResult
        ``z = (auc_a - auc_b) / se``, two-sided normal p-value and the Wald
        interval of the difference (pROC ``roc.test(method = "delong")``).
        Identical scores give ``z = 0`` and ``pval = 1``.
    """
    _check_alpha(alpha)
    y = _binary_truth(y_true, pos_label)
    a = _scores(score_a, y.size, "score_a")
    b = _scores(score_b, y.size, "score_b")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos < 2 or n_neg < 2:
        raise StatsError(f"DeLong's test needs at least 2 positive and 2 negative cases; got "
                         f"{n_pos} and {n_neg}")
    pos = np.vstack([a[y], b[y]])
    neg = np.vstack([a[~y], b[~y]])
    cov = _delong_cov(pos, neg)
    aucs = SortedScores(np.column_stack([y, y]), np.column_stack([a, b])).aucs()
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    if se == 0:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    else:
        z = diff / se
    pval = float(2 * sps.norm.sf(abs(z)))
    q = sps.norm.ppf(1 - alpha / 2)
    return DelongTestResult(auc_a=float(aucs[0]), auc_b=float(aucs[1]), diff=diff, z=float(z),
                            pval=pval, ci_low=diff - q * se, ci_high=diff + q * se, se=se)


def multiclass_auc(
    y_true: ArrayLike,
    proba: np.ndarray | pd.DataFrame,
    classes: Sequence | None = None,
    method: str = "delong",
    *,
    alpha: float = 0.05,
    groups: ArrayLike | None = None,
    n_boot: int = 2000,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """One-vs-rest AUC per class and their macro average.

    Parameters
    ----------
    y_true : array-like
        Class label of each case.
    proba : array (n, k) or DataFrame
        Score (probability) of each class; a DataFrame's columns name the classes.
    classes : sequence, optional
        Class of each column of ``proba``.  Default: the DataFrame's columns,
        else the sorted distinct labels of ``y_true``.
    method : {"delong", "bootstrap"}, default "delong"
        Interval of the per-class AUCs (see :func:`roc_auc_ci`).  The macro
        average's interval is always a bootstrap percentile interval (resampling
        within classes, or whole groups), since its DeLong variance would need
        covariances between AUCs with different positive sets.
    alpha, groups, n_boot, random_state
        As in :func:`roc_auc_ci`.

    Returns
    -------
    pandas.DataFrame
        Columns ``class``, ``auc``, ``ci_low``, ``ci_high``, ``method``,
        ``n_pos``, ``n_neg``; one row per class then a row ``class == "macro"``
        (whose ``n_pos`` is the number of cases and ``n_neg`` 0).

    Notes
    -----
    With two classes the rows are mirror images of one ROC curve (equal AUCs,
    and the macro average is that AUC again): use :func:`roc_auc_ci` on the
    positive class instead, as :func:`lnfusion.evaluation.classification_metrics`
    does for a two-class task.
    """
    _check_alpha(alpha)
    y = np.asarray(y_true)
    if isinstance(proba, pd.DataFrame):
        if classes is None:
            classes = list(proba.columns)
        p = proba.to_numpy(dtype=float)
    else:
        p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise DataError(f"proba must have shape (n_cases={y.size}, n_classes); got {p.shape}")
    if classes is None:
        classes = sorted(pd.unique(pd.Series(y)).tolist())
    classes = list(classes)
    if len(classes) != p.shape[1]:
        raise DataError(f"proba has {p.shape[1]} columns but {len(classes)} classes were given")
    unknown = set(pd.unique(pd.Series(y)).tolist()) - set(classes)
    if unknown:
        raise DataError(f"y_true holds labels {sorted(map(str, unknown))} not among classes {classes}")
    if not np.all(np.isfinite(p)):
        raise DataError("proba holds missing or infinite values")
    rows = []
    for j, c in enumerate(classes):
        r = roc_auc_ci(y == c, p[:, j], method=method, alpha=alpha, groups=groups,
                       n_boot=n_boot, random_state=random_state)
        rows.append({"class": c, "auc": r.auc, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "method": r.method, "n_pos": r.n_pos, "n_neg": r.n_neg})
    codes = pd.Categorical(y, categories=classes).codes
    g = _check_groups(groups, y.size)
    boots = _bootstrap_stat(codes, g, random_state, n_boot,
                            SortedScores.one_vs_rest(codes, p).macro_auc)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    rows.append({"class": "macro", "auc": float(np.mean([r["auc"] for r in rows])),
                 "ci_low": float(lo), "ci_high": float(hi), "method": "bootstrap",
                 "n_pos": int(y.size), "n_neg": 0})
    return pd.DataFrame(rows, columns=["class", "auc", "ci_low", "ci_high", "method", "n_pos",
                                       "n_neg"])


def wilson_ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``.

    Identical to R ``prop.test(k, n, correct = FALSE)$conf.int``.

    Parameters
    ----------
    k : int
        Successes (0 <= k <= n).
    n : int
        Trials (> 0).
    alpha : float, default 0.05
        1 - confidence level.

    Returns
    -------
    (float, float)
        Lower and upper bound; ``(nan, nan)`` when ``n == 0``.
    """
    _check_alpha(alpha)
    if n < 0 or k < 0 or k > n:
        raise StatsError(f"wilson_ci needs 0 <= k <= n; got k={k}, n={n}")
    if n == 0:
        return float("nan"), float("nan")
    z = sps.norm.ppf(1 - alpha / 2)
    p = k / n
    z22n = z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z22n / (2 * n))
    lo = 0.0 if p <= 0 else (p + z22n - half) / (1 + 2 * z22n)
    hi = 1.0 if p >= 1 else (p + z22n + half) / (1 + 2 * z22n)
    return float(lo), float(hi)


def sensitivity_specificity(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    positive: object = 1,
    alpha: float = 0.05,
    *,
    threshold: float | None = None,
) -> DiagnosticResult:
    """Sensitivity, specificity, PPV and NPV with Wilson confidence intervals.

    Parameters
    ----------
    y_true : array-like
        True labels; ``positive`` marks the positive class, any other value is negative.
    y_pred : array-like
        Predicted labels, or scores when ``threshold`` is given (predicted
        positive when ``score >= threshold``).
    positive : object, default 1
        The positive label.
    alpha : float, default 0.05
        1 - confidence level.
    threshold : float, optional
        Decision threshold on scores.

    Returns
    -------
    DiagnosticResult
        Proportions with no denominator are ``nan``.
    """
    t = np.asarray(y_true)
    pr = np.asarray(y_pred)
    if t.shape != pr.shape or t.ndim != 1:
        raise DataError(f"y_true and y_pred must be 1-dimensional of equal length; got "
                        f"{t.shape} and {pr.shape}")
    truth = t == positive
    if threshold is not None:
        sc = np.asarray(pr, dtype=float)
        if not np.all(np.isfinite(sc)):
            raise DataError("y_pred scores hold missing or infinite values")
        pred = sc >= threshold
    else:
        pred = pr == positive
    tp = int(np.sum(truth & pred))
    fn = int(np.sum(truth & ~pred))
    tn = int(np.sum(~truth & ~pred))
    fp = int(np.sum(~truth & pred))

    def prop(k: int, n: int) -> tuple[float, float, float]:
        if n == 0:
            return float("nan"), float("nan"), float("nan")
        lo, hi = wilson_ci(k, n, alpha)
        return k / n, lo, hi

    se = prop(tp, tp + fn)
    sp = prop(tn, tn + fp)
    ppv = prop(tp, tp + fp)
    npv = prop(tn, tn + fn)
    total = tp + fn + tn + fp
    return DiagnosticResult(
        sensitivity=se[0], sensitivity_ci_low=se[1], sensitivity_ci_high=se[2],
        specificity=sp[0], specificity_ci_low=sp[1], specificity_ci_high=sp[2],
        ppv=ppv[0], ppv_ci_low=ppv[1], ppv_ci_high=ppv[2],
        npv=npv[0], npv_ci_low=npv[1], npv_ci_high=npv[2],
        accuracy=(tp + tn) / total if total else float("nan"),
        tp=tp, fn=fn, tn=tn, fp=fp, threshold=threshold, alpha=alpha,
    )
