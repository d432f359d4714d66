"""Discrimination and threshold metrics of one probability matrix.

Everything here takes plain arrays -- the true class index per node, the
``(n_nodes, n_classes)`` probability matrix, optionally the patient id per node --
so that a single evaluation, the pooled out-of-fold predictions of a
cross-validation and an external site are all measured by the same code.

Statistical building blocks come from :mod:`lnfusion.stats`: the ROC curves
and AUCs (:mod:`lnfusion.stats.auc`), the stratified patient bootstrap
(:mod:`lnfusion.stats.bootstrap`), DeLong and Wilson intervals
(:mod:`lnfusion.stats.roc`).  This module adds the input checks, the
multi-class bookkeeping and the ROC bands; calibration lives in
:mod:`lnfusion.evaluation.calibration` and the paired model comparison in
:mod:`lnfusion.evaluation.comparison`.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lnfusion.data.labels import class_indices
from lnfusion.evaluation.calibration import (
    _ece,
    brier_score,
    calibration_slope_intercept,
    reliability_bins,
)
from lnfusion.exceptions import DataError, EmptyClassError, StatsError
from lnfusion.stats.auc import SortedScores, auc_score, curve_auc, roc_points
from lnfusion.stats.bootstrap import bootstrap_weights

__all__ = [
    "AbsentClassError",
    "MetricsResult",
    "check_predictions",
    "positive_class_index",
    "predict_labels",
    "classification_metrics",
]

#: False-positive-rate grid on which bootstrap ROC bands are reported.
ROC_GRID = np.linspace(0.0, 1.0, 101)

Threshold = str | Mapping[str, float]
AbsentPolicy = Literal["raise", "warn"]
AucMethod = Literal["delong", "bootstrap"]


class AbsentClassError(EmptyClassError):
    """A class has no node in the evaluation set, so its one-vs-rest AUC is undefined.

    Attributes
    ----------
    class_name : str
        The absent class.
    """

    def __init__(self, message: str, *, class_name: str):
        super().__init__(message)
        self.class_name = class_name


# --------------------------------------------------------------------------- input checks
def check_predictions(
    y_true: Sequence[Any] | np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    name: str = "proba",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate and convert predictions to ``(y, proba, groups)`` arrays.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class per node, as class indices (position in ``classes``) or names.
    proba : array-like of shape (n, n_classes)
        Predicted probabilities, columns in ``classes`` order; rows sum to 1.
    classes : sequence of str
        Class names; their order defines the class indices.
    groups : array-like of shape (n,), optional
        Patient id per node.
    name : str, default "proba"
        Name used for ``proba`` in error messages (e.g. the branch name).

    Returns
    -------
    y : numpy.ndarray of int
    proba : numpy.ndarray of float, shape (n, n_classes)
    groups : numpy.ndarray or None

    Raises
    ------
    DataError
        On a shape mismatch, an unknown label, a non-finite probability, a
        probability outside [0, 1] or a row that does not sum to 1.
    """
    classes = tuple(str(c) for c in classes)
    k = len(classes)
    if k < 2:
        raise DataError(f"classes: expected at least 2 class names, got {list(classes)}")
    y = class_indices(y_true, classes, name="y_true")
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape != (y.shape[0], k):
        raise DataError(f"{name}: expected shape ({y.shape[0]}, {k}) (nodes x classes "
                        f"{list(classes)}), got {p.shape}")
    if not np.isfinite(p).all():
        i = int(np.flatnonzero(~np.isfinite(p).all(axis=1))[0])
        raise DataError(f"{name}: row {i} holds a non-finite probability {p[i].tolist()}; "
                        "drop the nodes a branch could not see before computing metrics")
    if (p < -1e-9).any() or (p > 1 + 1e-9).any():
        raise DataError(f"{name}: probabilities must lie in [0, 1]; got min {p.min():.4g}, "
                        f"max {p.max():.4g}")
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-3
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise DataError(f"{name}: each row must sum to 1 (probabilities over {list(classes)}); "
                        f"row {i} sums to {sums[i]:.6g}")
    g = None
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != y.shape:
            raise DataError(f"groups: expected one patient id per node ({y.shape[0]}), "
                            f"got shape {g.shape}")
    return y, np.clip(p, 0.0, 1.0), g


def _check_present(y: np.ndarray, classes: Sequence[str], absent: AbsentPolicy,
                   where: str) -> np.ndarray:
    """Return a boolean mask of classes having both positives and negatives."""
    counts = np.bincount(y, minlength=len(classes))
    ok = (counts > 0) & (counts < y.shape[0])
    for k in np.flatnonzero(~ok):
        what = "no node" if counts[k] == 0 else "every node"
        msg = (f"{where}: class {classes[k]!r} has {what} ({int(counts[k])} of {y.shape[0]}), "
               f"so its one-vs-rest AUC is undefined; the evaluation set needs nodes of "
               f"every class {list(classes)}")
        if absent == "raise":
            raise AbsentClassError(msg, class_name=str(classes[k]))
        warnings.warn(msg + "; its AUC is reported as NaN", RuntimeWarning, stacklevel=3)
    return ok


def positive_class_index(classes: Sequence[str], positive_class: str | None = None) -> int | None:
    """Position of the positive class of a two-class task; None with more classes.

    A two-class task has one ROC curve and one AUC: the other class's
    one-vs-rest curve is its mirror image.  Its metrics are reported once, for
    the positive class.

    Parameters
    ----------
    classes : sequence of str
        Class names in index order (the schema's declared order).
    positive_class : str, optional
        The positive class (``CohortSchema.positive_class``).  Default: the
        first class of ``classes`` when there are two.

    Returns
    -------
    int or None
        Index of the positive class, or None for three or more classes.

    Raises
    ------
    DataError
        ``positive_class`` is not one of ``classes``, or is given for a task
        with more than two classes.
    """
    classes = [str(c) for c in classes]
    if positive_class is None:
        return 0 if len(classes) == 2 else None
    if len(classes) != 2:
        raise DataError(f"positive_class={positive_class!r}: a positive class applies to two-class "
                        f"tasks only; classes are {classes}")
    if str(positive_class) not in classes:
        raise DataError(f"positive_class: {positive_class!r} is not one of the classes {classes}")
    return classes.index(str(positive_class))


# --------------------------------------------------------------------------- labels
def predict_labels(proba: np.ndarray, classes: Sequence[str],
                   threshold: Threshold = "argmax") -> np.ndarray:
    """Turn probabilities into predicted class indices.

    Parameters
    ----------
    proba : numpy.ndarray of shape (n, n_classes)
    classes : sequence of str
    threshold : "argmax" or mapping of class name to cut-off, default "argmax"
        ``"argmax"`` predicts the most probable class.  A mapping such as
        ``{"metastatic": 0.3}`` calls a node ``metastatic`` whenever its
        probability reaches 0.3 (classes checked in the mapping's order); the
        remaining nodes get the most probable of the classes not in the mapping.

    Returns
    -------
    numpy.ndarray of int
        Predicted class index per node.
    """
    p = np.asarray(proba, dtype=float)
    classes = [str(c) for c in classes]
    if isinstance(threshold, str):
        if threshold != "argmax":
            raise DataError(f"threshold: expected 'argmax' or a mapping of class name to "
                            f"cut-off, got {threshold!r}")
        return p.argmax(axis=1)
    if not isinstance(threshold, Mapping) or not threshold:
        raise DataError(f"threshold: expected 'argmax' or a non-empty mapping of class name "
                        f"to cut-off, got {threshold!r}")
    pred = np.full(p.shape[0], -1, dtype=int)
    for name, cut in threshold.items():
        if str(name) not in classes:
            raise DataError(f"threshold: class {name!r} is not one of {classes}")
        if isinstance(cut, bool) or not (isinstance(cut, numbers.Real) and 0.0 <= float(cut) <= 1.0):
            raise DataError(f"threshold[{name!r}]: expected a cut-off in [0, 1], got {cut!r}")
        k = classes.index(str(name))
        pred[(pred < 0) & (p[:, k] >= float(cut))] = k
    rest = [k for k, c in enumerate(classes) if c not in {str(n) for n in threshold}]
    if not rest:
        rest = list(range(len(classes)))
    todo = pred < 0
    pred[todo] = np.asarray(rest)[p[todo][:, rest].argmax(axis=1)]
    return pred


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class MetricsResult:
    """Metrics of one probability matrix (one model or branch) on one set of nodes.

    Attributes
    ----------
    classes : tuple of str
    summary : dict
        ``n``, ``n_patients``, ``macro_auc`` (+ ``_ci_low``/``_ci_high``),
        ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``brier``, and the
        top-label ``ece``, ``calibration_slope``, ``calibration_intercept``.
        With two classes ``macro_auc`` is the single AUC of the positive class,
        with that AUC's interval.
    per_class : pandas.DataFrame
        One row per class (with two classes, one row: the positive class):
        ``n_pos``, ``n_neg``, ``auc`` with its CI,
        ``sensitivity``, ``specificity``, ``ppv``, ``npv`` with Wilson CIs,
        ``f1``, ``calibration_slope``, ``calibration_intercept`` (one-vs-rest).
    confusion : numpy.ndarray of shape (k, k)
        Counts; rows are true classes, columns predicted classes.
    calibration : pandas.DataFrame
        Reliability bins; column ``curve`` is ``"top_label"`` (confidence of
        the predicted class vs accuracy) or a class name (one-vs-rest).
    roc : pandas.DataFrame
        One-vs-rest ROC points: ``class``, ``fpr``, ``tpr``, ``threshold``.
    roc_band : pandas.DataFrame
        Pointwise bootstrap band of the ROC curve on a fixed FPR grid:
        ``class``, ``fpr``, ``tpr_low``, ``tpr_high`` (empty when ``n_boot=0``).
    positive_class : str or None
        The positive class of a two-class task (None with more classes).
    """

    classes: tuple[str, ...]
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: np.ndarray
    calibration: pd.DataFrame
    roc: pd.DataFrame
    roc_band: pd.DataFrame = field(default_factory=pd.DataFrame)
    positive_class: str | None = None


def _delong_ci(y_bin: np.ndarray, score: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """One-vs-rest AUC with DeLong's interval (:func:`lnfusion.stats.roc.roc_auc_ci`).

    The interval is ``nan`` where DeLong's method is undefined (fewer than two
    positives or negatives).
    """
    from lnfusion.stats.roc import roc_auc_ci

    try:
        res = roc_auc_ci(y_bin, score, method="delong", alpha=alpha)
    except StatsError:
        return auc_score(y_bin, score), math.nan, math.nan
    return float(res.auc), float(res.ci_low), float(res.ci_high)


@dataclass(frozen=True, eq=False)
class _Bootstrap:
    band: pd.DataFrame        # class, fpr, tpr_low, tpr_high
    auc_ci: np.ndarray        # (k, 2) percentile interval of each one-vs-rest AUC
    macro_ci: np.ndarray      # (2,) percentile interval of the macro AUC


def _bootstrap_roc(y: np.ndarray, proba: np.ndarray, classes: Sequence[str],
                   groups: np.ndarray | None, present: np.ndarray, alpha: float, n_boot: int,
                   random_state: Any) -> _Bootstrap:
    """One stratified patient bootstrap giving ROC bands and AUC / macro-AUC intervals."""
    k = len(classes)
    empty = pd.DataFrame(columns=["class", "fpr", "tpr_low", "tpr_high"])
    if n_boot <= 0:
        return _Bootstrap(empty, np.full((k, 2), np.nan), np.full(2, np.nan))
    curves = np.full((n_boot, k, ROC_GRID.size), np.nan)
    aucs = np.full((n_boot, k), np.nan)
    sorted_scores = SortedScores.one_vs_rest(y, proba)
    resamples = bootstrap_weights(y.shape[0], groups, n_boot, random_state, strata=y)
    for b, weights in enumerate(resamples):
        for c in np.flatnonzero(present):
            pts = sorted_scores.curve(c, weights)
            if pts is None:
                continue
            curves[b, c] = np.interp(ROC_GRID, *pts)
            aucs[b, c] = curve_auc(*pts)
    q = [alpha / 2, 1 - alpha / 2]
    frames, auc_ci = [], np.full((k, 2), np.nan)
    for c in np.flatnonzero(present):
        ok = ~np.isnan(aucs[:, c])
        if not ok.any():
            continue
        lo, hi = np.quantile(curves[ok, c], q, axis=0)
        frames.append(pd.DataFrame({"class": classes[c], "fpr": ROC_GRID, "tpr_low": lo,
                                    "tpr_high": hi}))
        auc_ci[c] = np.quantile(aucs[ok, c], q)
    macro = aucs.mean(axis=1)
    macro = macro[~np.isnan(macro)]
    macro_ci = np.quantile(macro, q) if macro.size else np.full(2, np.nan)
    band = pd.concat(frames, ignore_index=True) if frames else empty
    return _Bootstrap(band, auc_ci, np.asarray(macro_ci, dtype=float))


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    alpha: float = 0.05,
    n_bins: int = 10,
    threshold: Threshold = "argmax",
    n_boot: int = 1000,
    random_state: int | None = 0,
    auc_method: AucMethod = "delong",
    absent_class: AbsentPolicy = "raise",
    name: str = "proba",
    positive_class: str | None = None,
) -> MetricsResult:
    """Discrimination, classification and calibration metrics of one probability matrix.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class per node, as indices into ``classes`` or as class names.
    proba : array-like of shape (n, n_classes)
        Predicted probabilities in ``classes`` order (no NaN: drop the nodes a
        branch could not see first).
    classes : sequence of str
        Class names.
    groups : array-like of shape (n,), optional
        Patient id per node: the bootstraps (macro-AUC interval, ROC bands,
        ``auc_method="bootstrap"``) resample whole patients.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    n_bins : int, default 10
        Equal-width bins of the reliability diagrams and of the ECE.
    threshold : "argmax" or mapping, default "argmax"
        How probabilities become a predicted class; see :func:`predict_labels`.
    n_boot : int, default 1000
        Bootstrap resamples for the macro-AUC interval and the pointwise ROC
        bands (0 skips both).
    random_state : int or None, default 0
        Seed of the bootstraps.
    auc_method : {"delong", "bootstrap"}, default "delong"
        Interval of the per-class AUCs: DeLong (nodes treated as independent)
        or the stratified bootstrap, resampling patients when ``groups`` is
        given (prefer it when patients have several nodes).
    absent_class : {"raise", "warn"}, default "raise"
        What to do when a class has no node (or every node): raise
        :class:`AbsentClassError` naming it, or warn and report its AUC (and
        the macro AUC) as NaN.
    name : str, default "proba"
        Name of the model in error messages.
    positive_class : str, optional
        Two classes only: the positive class whose AUC, sensitivity,
        specificity, PPV, NPV, ROC curve and calibration curve are reported
        (see :func:`positive_class_index`; default the first class).

    Returns
    -------
    MetricsResult

    Notes
    -----
    * Two classes: the other class's one-vs-rest curve mirrors the positive
      one (same AUC, sensitivity and specificity swapped), so ``per_class``,
      ``roc``, ``roc_band`` and the per-class calibration curve hold the
      positive class alone, and ``summary["macro_auc"]`` is its AUC with its
      own interval (DeLong or bootstrap, as ``auc_method``) rather than a
      mean over mirror images.  ``accuracy``, ``balanced_accuracy``,
      ``macro_f1``, ``brier`` and the confusion matrix still count both classes.
    * AUCs are one-vs-rest.  DeLong intervals come from
      :func:`lnfusion.stats.roc.roc_auc_ci`.  One stratified bootstrap (patients
      drawn with replacement within strata of the same class make-up,
      :func:`lnfusion.stats.bootstrap.cluster_bootstrap_indices`; nodes within
      classes without ``groups``) gives the pointwise ROC bands, the percentile interval of the
      macro AUC (unweighted mean over classes; DeLong's variance is not defined
      for a mean of AUCs whose positive sets differ) and, with
      ``auc_method="bootstrap"``, the per-class intervals.
    * Sensitivity, specificity, PPV and NPV are one-vs-rest from the predicted
      classes, with Wilson score intervals
      (:func:`lnfusion.stats.roc.sensitivity_specificity`).
    * ``balanced_accuracy`` is the mean per-class sensitivity (recall), ``macro_f1``
      the unweighted mean per-class F1 (0 when a class is neither present nor
      predicted), as in scikit-learn.
    * ``brier`` is the multi-class Brier score (sum over classes, range 0-2).
    * ``ece``, ``calibration_slope`` and ``calibration_intercept`` are top-label:
      the probability given to the predicted class against whether it was right
      (with ``threshold="argmax"``, the confidence); ``per_class`` holds the
      one-vs-rest slope and intercept of each class.  (Intercepts pooled over
      one-vs-rest pairs would be 0 by construction, since every row sums to 1.)

    Raises
    ------
    DataError
        On malformed input (see :func:`check_predictions`).
    AbsentClassError
        When a class is absent and ``absent_class="raise"``.
    """
    from lnfusion.stats.roc import sensitivity_specificity

    classes = tuple(str(c) for c in classes)
    y, p, g = check_predictions(y_true, proba, classes, groups, name=name)
    if not 0.0 < float(alpha) < 1.0:
        raise DataError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    if absent_class not in ("raise", "warn"):
        raise DataError(f"absent_class: expected 'raise' or 'warn', got {absent_class!r}")
    if auc_method not in ("delong", "bootstrap"):
        raise DataError(f"auc_method: expected 'delong' or 'bootstrap', got {auc_method!r}")
    if int(n_boot) < 0:
        raise DataError(f"n_boot: expected a number of resamples >= 0, got {n_boot!r}")
    n, k = p.shape
    if n == 0:
        raise DataError(f"{name}: no node to evaluate")
    present = _check_present(y, classes, absent_class, name)
    pos = positive_class_index(classes, positive_class)
    reported = np.arange(k) if pos is None else np.array([pos])
    pred = predict_labels(p, classes, threshold)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, pred), 1)

    onehot = np.eye(k, dtype=int)[y]
    curves = present.copy()
    curves[np.setdiff1d(np.arange(k), reported)] = False
    boot = _bootstrap_roc(y, p, classes, g, curves, alpha, int(n_boot), random_state)
    rows = []
    for c in range(k):
        tp = int(cm[c, c])
        fn = int(cm[c].sum()) - tp
        fp = int(cm[:, c].sum()) - tp
        if present[c]:
            if auc_method == "delong":
                auc, auc_lo, auc_hi = _delong_ci(onehot[:, c], p[:, c], alpha)
            else:
                auc = auc_score(onehot[:, c], p[:, c])
                auc_lo, auc_hi = boot.auc_ci[c]
            slope, intercept = calibration_slope_intercept(onehot[:, c], p[:, c])
        else:
            auc = auc_lo = auc_hi = slope = intercept = math.nan
        d = sensitivity_specificity(y, pred, positive=c, alpha=alpha)
        rows.append({
            "class": classes[c], "n_pos": tp + fn, "n_neg": n - tp - fn,
            "auc": auc, "auc_ci_low": auc_lo, "auc_ci_high": auc_hi,
            "sensitivity": d.sensitivity, "sensitivity_ci_low": d.sensitivity_ci_low,
            "sensitivity_ci_high": d.sensitivity_ci_high,
            "specificity": d.specificity, "specificity_ci_low": d.specificity_ci_low,
            "specificity_ci_high": d.specificity_ci_high,
            "ppv": d.ppv, "ppv_ci_low": d.ppv_ci_low, "ppv_ci_high": d.ppv_ci_high,
            "npv": d.npv, "npv_ci_low": d.npv_ci_low, "npv_ci_high": d.npv_ci_high,
            "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0,
            "calibration_slope": slope, "calibration_intercept": intercept,
        })
    per_class = pd.DataFrame(rows)
    f1 = per_class["f1"].mean()
    recall = np.nanmean(per_class["sensitivity"].to_numpy(dtype=float))

    if not present.all():
        macro = macro_lo = macro_hi = math.nan
    elif pos is not None:
        macro, macro_lo, macro_hi = (float(per_class.loc[pos, col])
                                     for col in ("auc", "auc_ci_low", "auc_ci_high"))
    else:
        macro = float(np.mean(per_class["auc"]))
        macro_lo, macro_hi = (float(v) for v in boot.macro_ci)
    per_class = per_class.iloc[reported].reset_index(drop=True)
    correct = (pred == y).astype(float)
    confidence = p[np.arange(n), pred]
    top = reliability_bins(correct, confidence, n_bins)
    slope, intercept = calibration_slope_intercept(correct, confidence)
    summary = {
        "n": n,
        "n_patients": int(np.unique(g.astype(str)).size) if g is not None else n,
        "macro_auc": macro, "macro_auc_ci_low": macro_lo, "macro_auc_ci_high": macro_hi,
        "accuracy": float(np.trace(cm) / n),
        "balanced_accuracy": float(recall),
        "macro_f1": float(f1),
        "brier": brier_score(y, p),
        "ece": _ece(top),
        "calibration_slope": slope, "calibration_intercept": intercept,
    }

    top = top.assign(curve="top_label")
    cal_frames = [top] + [reliability_bins(onehot[:, c], p[:, c], n_bins).assign(curve=classes[c])
                          for c in reported]
    calibration = pd.concat(cal_frames, ignore_index=True)
    calibration = calibration[["curve"] + [col for col in calibration if col != "curve"]]

    roc_frames = []
    for c in np.flatnonzero(curves):
        fpr, tpr, thr = roc_points(onehot[:, c], p[:, c], drop_intermediate=True)
        roc_frames.append(pd.DataFrame({"class": classes[c], "fpr": fpr, "tpr": tpr,
                                        "threshold": np.minimum(thr, 1.0)}))
    roc = (pd.concat(roc_frames, ignore_index=True) if roc_frames
           else pd.DataFrame(columns=["class", "fpr", "tpr", "threshold"]))
    return MetricsResult(classes=classes, summary=summary, per_class=per_class, confusion=cm,
                         calibration=calibration, roc=roc, roc_band=boot.band,
                         positive_class=None if pos is None else classes[pos])
