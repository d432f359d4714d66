"""Classification metrics computed from arrays.

Everything here takes plain arrays -- the true class index per node, the
``(n_nodes, n_classes)`` probability matrix, optionally the patient id per node --
so that a single evaluation, the pooled out-of-fold predictions of a
cross-validation and an external site are all measured by the same code.

Statistical building blocks (AUC confidence intervals, DeLong's test, Wilson
intervals, p-value adjustment) come from :mod:`lnfusion.stats`; this module adds
the multi-class bookkeeping, calibration, ROC bands and the patient-level
(cluster) bootstrap of the macro-AUC difference.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, EmptyClassError, StatsError

__all__ = [
    "AbsentClassError",
    "MetricsResult",
    "check_predictions",
    "predict_labels",
    "classification_metrics",
    "compare_models",
    "brier_score",
    "reliability_bins",
    "expected_calibration_error",
    "calibration_slope_intercept",
    "cluster_bootstrap_indices",
]

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` before taking logits for the
#: calibration slope and intercept.
EPS = 1e-6

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
    y_arr = np.asarray(y_true)
    if y_arr.ndim != 1:
        raise DataError(f"y_true: expected a 1-d array, got shape {y_arr.shape}")
    if y_arr.dtype.kind in "iu":
        y = y_arr.astype(int)
        bad = (y < 0) | (y >= k)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"y_true: class index {y[i]} at position {i} is outside "
                            f"0..{k - 1} (classes {list(classes)})")
    else:
        lookup = {c: i for i, c in enumerate(classes)}
        y = np.empty(y_arr.shape[0], dtype=int)
        for i, v in enumerate(y_arr.tolist()):
            if str(v) not in lookup:
                raise DataError(f"y_true: label {v!r} at position {i} is not one of the "
                                f"classes {list(classes)}")
            y[i] = lookup[str(v)]
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


# --------------------------------------------------------------------------- calibration
def brier_score(y: np.ndarray, proba: np.ndarray) -> float:
    """Multi-class Brier score: mean over nodes of the summed squared error (range 0-2).

    Equal to :func:`sklearn.metrics.brier_score_loss` for multi-class input and
    to twice the binary Brier score for two classes.
    """
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((p * n_bins).astype(int), n_bins - 1)


def reliability_bins(outcome: np.ndarray, predicted: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width reliability bins.

    Parameters
    ----------
    outcome : numpy.ndarray of {0, 1}
        Observed event per node (e.g. "the predicted class is right").
    predicted : numpy.ndarray of float in [0, 1]
        Predicted probability of the event.
    n_bins : int, default 10
        Number of equal-width bins on [0, 1]; empty bins are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``bin``, ``bin_low``, ``bin_high``, ``n``, ``mean_predicted``, ``observed``.
    """
    if int(n_bins) < 1:
        raise DataError(f"n_bins: expected a positive integer, got {n_bins!r}")
    n_bins = int(n_bins)
    idx = _bin_index(np.asarray(predicted, dtype=float), n_bins)
    rows = []
    for b in np.unique(idx):
        sel = idx == b
        rows.append({"bin": int(b), "bin_low": b / n_bins, "bin_high": (b + 1) / n_bins,
                     "n": int(sel.sum()), "mean_predicted": float(predicted[sel].mean()),
                     "observed": float(outcome[sel].mean())})
    return pd.DataFrame(rows, columns=["bin", "bin_low", "bin_high", "n", "mean_predicted",
                                       "observed"])


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Top-label expected calibration error (Guo et al., 2017).

    Nodes are binned by the probability of their predicted (most probable)
    class; ECE is the node-weighted mean of ``|accuracy - confidence|`` over bins.
    """
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    return _ece(reliability_bins(correct, conf, n_bins))


def _ece(bins: pd.DataFrame) -> float:
    """Node-weighted mean gap between observed and predicted over reliability bins."""
    n = bins["n"].sum()
    return float(np.sum(bins["n"] * np.abs(bins["observed"] - bins["mean_predicted"])) / n)


def calibration_slope_intercept(outcome: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Logistic calibration slope and intercept (calibration-in-the-large).

    The slope is ``b`` in ``logit P(y=1) = a + b * logit(p)``; the intercept is
    ``a`` in ``logit P(y=1) = a + logit(p)`` (slope fixed at 1), as recommended
    by Van Calster et al. (2016).  Perfect calibration gives slope 1 and
    intercept 0.  Probabilities are clipped to ``[1e-6, 1 - 1e-6]``.

    Returns
    -------
    (slope, intercept) : tuple of float
        ``nan`` when the outcome is constant or the fit does not converge
        (e.g. perfect separation).
    """
    import statsmodels.api as sm

    y = np.asarray(outcome, dtype=float)
    p = np.clip(np.asarray(predicted, dtype=float), EPS, 1 - EPS)
    if y.size < 2 or y.min() == y.max():
        return math.nan, math.nan
    lp = np.log(p / (1 - p))
    fam = sm.families.Binomial()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for exog, offset, j in ((np.column_stack([np.ones_like(lp), lp]), None, 1),
                                (np.ones((lp.size, 1)), lp, 0)):
            try:
                fit = sm.GLM(y, exog, family=fam, offset=offset).fit()
                val = float(fit.params[j])
                ok = bool(fit.converged) and math.isfinite(val) and abs(val) < 1e3
            except (ValueError, np.linalg.LinAlgError, ArithmeticError, StatsError):
                ok, val = False, math.nan
            except Exception as exc:  # statsmodels' PerfectSeparationError
                if type(exc).__name__ != "PerfectSeparationError":
                    raise
                ok, val = False, math.nan
            out.append(val if ok else math.nan)
    return out[0], out[1]


# --------------------------------------------------------------------------- ROC helpers
def _roc_points(y_bin: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve at every distinct threshold (like ``roc_curve(drop_intermediate=False)``)."""
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    last = np.empty(s.size, dtype=bool)
    last[:-1] = s[1:] != s[:-1]
    last[-1] = True
    ends = np.flatnonzero(last)
    tps = np.cumsum(y_bin[order])[ends]
    fps = (ends + 1) - tps
    tpr = np.zeros(ends.size + 1)
    fpr = np.zeros(ends.size + 1)
    tpr[1:] = tps / max(tps[-1], 1)
    fpr[1:] = fps / max(fps[-1], 1)
    return fpr, tpr


def _trapezoid(fpr: np.ndarray, tpr: np.ndarray) -> float:
    return float(np.dot(fpr[1:] - fpr[:-1], tpr[1:] + tpr[:-1]) / 2)


def _auc_rank(y_bin: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count one half); ``nan`` without both outcomes."""
    m = int(np.sum(y_bin))
    if m == 0 or m == len(y_bin):
        return math.nan
    return _trapezoid(*_roc_points(np.asarray(y_bin), np.asarray(score, dtype=float)))


def _macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean([_auc_rank((y == k).astype(int), proba[:, k])
                          for k in range(proba.shape[1])]))


class _SortedScores:
    """Each class's scores sorted once, so resampled ROC curves need no new sort.

    A bootstrap resample is given by node weights (how often each node was
    drawn); curves and AUCs are then cumulative sums in the pre-sorted order.
    """

    def __init__(self, y: np.ndarray, proba: np.ndarray):
        self.order, self.ends, self.pos = [], [], []
        for c in range(proba.shape[1]):
            order = np.argsort(-proba[:, c], kind="mergesort")
            s = proba[order, c]
            last = np.empty(s.size, dtype=bool)
            last[:-1] = s[1:] != s[:-1]
            last[-1] = True
            self.order.append(order)
            self.ends.append(np.flatnonzero(last))
            self.pos.append((y[order] == c).astype(float))

    def curve(self, weights: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(fpr, tpr)`` of class ``c`` on the weighted nodes; None without both outcomes."""
        w = weights[self.order[c]]
        tps = np.cumsum(w * self.pos[c])[self.ends[c]]
        fps = np.cumsum(w)[self.ends[c]] - tps
        if tps[-1] <= 0 or fps[-1] <= 0:
            return None
        fpr = np.zeros(tps.size + 1)
        tpr = np.zeros(tps.size + 1)
        fpr[1:] = fps / fps[-1]
        tpr[1:] = tps / tps[-1]
        return fpr, tpr

    def macro_auc(self, weights: np.ndarray) -> float:
        """Mean one-vs-rest AUC on the weighted nodes (nan when a class is missing)."""
        total = 0.0
        for c in range(len(self.order)):
            pts = self.curve(weights, c)
            if pts is None:
                return math.nan
            total += _trapezoid(*pts)
        return total / len(self.order)


def cluster_bootstrap_indices(n: int, groups: np.ndarray | None, n_boot: int,
                              random_state: int | np.random.Generator | None = 0,
                              strata: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield bootstrap resamples of node positions, resampling whole patients.

    Parameters
    ----------
    n : int
        Number of nodes.
    groups : numpy.ndarray of shape (n,) or None
        Patient id per node; ``None`` resamples nodes independently.
    n_boot : int
        Number of resamples.
    random_state : int, Generator or None, default 0
    strata : numpy.ndarray of shape (n,), optional
        Class per node.  Patients are then drawn within strata of patients
        with the same class make-up (nodes within classes when ``groups`` is
        None), as pROC's stratified bootstrap, so every resample keeps the
        class counts of the patients.

    Yields
    ------
    numpy.ndarray of int
        Node positions of one resample (patients drawn with replacement, each
        bringing all of its nodes).
    """
    rng = np.random.default_rng(random_state)
    ids = np.arange(n) if groups is None else np.asarray(groups).astype(str)
    _, codes = np.unique(ids, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.cumsum(counts) - counts
    if strata is None:
        pools = [np.arange(counts.size)]
    else:
        st = np.asarray(strata).astype(str)[order]
        keys = np.asarray(["|".join(np.unique(st[s0:s0 + c])) for s0, c in zip(starts, counts)])
        pools = [np.flatnonzero(keys == key) for key in np.unique(keys)]
    for _ in range(int(n_boot)):
        pick = np.concatenate([pool[rng.integers(0, pool.size, pool.size)] for pool in pools])
        lens = counts[pick]
        ends = np.cumsum(lens)
        offs = np.repeat(starts[pick] - (ends - lens), lens)
        yield order[np.arange(ends[-1]) + offs]


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
    per_class : pandas.DataFrame
        One row per class: ``n_pos``, ``n_neg``, ``auc`` with its CI,
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
    """

    classes: tuple[str, ...]
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: np.ndarray
    calibration: pd.DataFrame
    roc: pd.DataFrame
    roc_band: pd.DataFrame = field(default_factory=pd.DataFrame)


def _delong_ci(y_bin: np.ndarray, score: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """One-vs-rest AUC with DeLong's interval (:func:`lnfusion.stats.roc.roc_auc_ci`).

    The interval is ``nan`` where DeLong's method is undefined (fewer than two
    positives or negatives).
    """
    from lnfusion.stats.roc import roc_auc_ci

    try:
        res = roc_auc_ci(y_bin, score, method="delong", alpha=alpha)
    except StatsError:
        return _auc_rank(y_bin, score), math.nan, math.nan
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
    sorted_scores = _SortedScores(y, proba)
    n = y.shape[0]
    for b, idx in enumerate(cluster_bootstrap_indices(n, groups, n_boot, random_state, strata=y)):
        weights = np.bincount(idx, minlength=n).astype(float)
        for c in np.flatnonzero(present):
            pts = sorted_scores.curve(weights, c)
            if pts is None:
                continue
            curves[b, c] = np.interp(ROC_GRID, *pts)
            aucs[b, c] = _trapezoid(*pts)
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

    Returns
    -------
    MetricsResult

    Notes
    -----
    * AUCs are one-vs-rest.  DeLong intervals come from
      :func:`lnfusion.stats.roc.roc_auc_ci`.  One stratified bootstrap (patients
      drawn with replacement within strata of the same class make-up, as in
      :func:`lnfusion.stats.roc.multiclass_auc`; nodes within classes without
      ``groups``) gives the pointwise ROC bands, the percentile interval of the
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
    pred = predict_labels(p, classes, threshold)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, pred), 1)

    onehot = np.eye(k, dtype=int)[y]
    boot = _bootstrap_roc(y, p, classes, g, present, alpha, int(n_boot), random_state)
    rows = []
    for c in range(k):
        tp = int(cm[c, c])
        fn = int(cm[c].sum()) - tp
        fp = int(cm[:, c].sum()) - tp
        if present[c]:
            if auc_method == "delong":
                auc, auc_lo, auc_hi = _delong_ci(onehot[:, c], p[:, c], alpha)
            else:
                auc = _auc_rank(onehot[:, c], p[:, c])
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

    if present.all():
        macro = float(np.mean(per_class["auc"]))
        macro_lo, macro_hi = (float(v) for v in boot.macro_ci)
    else:
        macro = macro_lo = macro_hi = math.nan
    correct = (pred == y).astype(float)
    confidence = p[np.arange(n), pred]
    top = reliability_bins(correct, confidence, n_bins)
    slope, intercept = calibration_slope_intercept(correct, confidence)
    summary = {
        "n": n,
        "n_patients": int(np.unique(g.astype(str)).size) if g is not None else n,
        "macro_auc": macro, "macro_auc_ci_low": macro_lo, "macro_auc_ci_high": macro_hi,
        "accuracy": float(np.trace(cm) / n),
        "balanced_accuracy": float(np.nanmean(per_class["sensitivity"].to_numpy(dtype=float))),
        "macro_f1": float(per_class["f1"].mean()),
        "brier": brier_score(y, p),
        "ece": _ece(top),
        "calibration_slope": slope, "calibration_intercept": intercept,
    }

    top = top.assign(curve="top_label")
    cal_frames = [top] + [reliability_bins(onehot[:, c], p[:, c], n_bins).assign(curve=classes[c])
                          for c in range(k)]
    calibration = pd.concat(cal_frames, ignore_index=True)
    calibration = calibration[["curve"] + [col for col in calibration if col != "curve"]]

    from sklearn.metrics import roc_curve

    roc_frames = []
    for c in np.flatnonzero(present):
        fpr, tpr, thr = roc_curve(onehot[:, c], p[:, c])
        roc_frames.append(pd.DataFrame({"class": classes[c], "fpr": fpr, "tpr": tpr,
                                        "threshold": np.minimum(thr, 1.0)}))
    roc = (pd.concat(roc_frames, ignore_index=True) if roc_frames
           else pd.DataFrame(columns=["class", "fpr", "tpr", "threshold"]))
    return MetricsResult(classes=classes, summary=summary, per_class=per_class, confusion=cm,
                         calibration=calibration, roc=roc, roc_band=boot.band)


# --------------------------------------------------------------------------- comparisons
def compare_models(
    y_true: Sequence[Any] | np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    names: tuple[str, str] = ("a", "b"),
    alpha: float = 0.05,
    n_boot: int = 1000,
    random_state: int | None = 0,
    adjust: str = "holm",
) -> pd.DataFrame:
    """Paired comparison of two models' AUCs on the same nodes.

    Parameters
    ----------
    y_true : array-like of shape (n,)
    proba_a, proba_b : numpy.ndarray of shape (n, n_classes)
        Probabilities of the two models for the same nodes, in ``classes`` order.
    classes : sequence of str
    groups : array-like of shape (n,), optional
        Patient id per node: the macro bootstrap resamples whole patients.
    names : (str, str), default ("a", "b")
        Model names written in the ``model_a`` / ``model_b`` columns.
    alpha : float, default 0.05
    n_boot : int, default 1000
        Paired bootstrap resamples for the macro-AUC difference (0 skips it).
    random_state : int or None, default 0
    adjust : str, default "holm"
        p-value adjustment across the per-class tests
        (:func:`lnfusion.stats.adjust.adjust_pvalues`).

    Returns
    -------
    pandas.DataFrame
        One row per class plus a ``"macro"`` row: ``model_a``, ``model_b``,
        ``class``, ``n``, ``auc_a``, ``auc_b``, ``diff`` (a - b), ``ci_low``,
        ``ci_high`` (of the difference), ``z``, ``pval``, ``pval_adj``, ``method``.

    Notes
    -----
    * Per class: DeLong's test for two correlated ROC curves
      (:func:`lnfusion.stats.roc.delong_test`) on the one-vs-rest problem; the
      p-values of the classes are adjusted together (``pval_adj``, Holm by default).
      DeLong's test treats nodes as independent.
    * Macro: the difference of macro AUCs (mean of one-vs-rest AUCs) is compared by a
      paired bootstrap that resamples patients (nodes when ``groups`` is None),
      stratified by the patients' classes, and re-scores both models on each
      resample; as in pROC's ``roc.test(method = "bootstrap")``,
      ``z = diff / sd(bootstrap diffs)``, ``pval = 2 * (1 - Phi(|z|))``, and the CI is
      the percentile interval of the bootstrap differences.  Its ``pval_adj`` equals
      ``pval`` (one test; :func:`lnfusion.evaluation.evaluate` adjusts the macro rows
      across branches).
    """
    from scipy.stats import norm

    from lnfusion.stats.adjust import adjust_pvalues
    from lnfusion.stats.roc import delong_test

    classes = tuple(str(c) for c in classes)
    y, pa, g = check_predictions(y_true, proba_a, classes, groups, name=names[0])
    _, pb, _ = check_predictions(y, proba_b, classes, None, name=names[1])
    n, k = pa.shape
    counts = np.bincount(y, minlength=k)
    present = (counts > 0) & (counts < n)  # absent classes were reported by the metrics
    rows = []
    for c in range(k):
        base = {"model_a": names[0], "model_b": names[1], "class": classes[c], "n": n}
        if not present[c]:
            rows.append({**base, "auc_a": math.nan, "auc_b": math.nan, "diff": math.nan,
                         "ci_low": math.nan, "ci_high": math.nan, "z": math.nan,
                         "pval": math.nan, "method": "undefined (class absent)"})
            continue
        yb = (y == c).astype(int)
        try:
            t = delong_test(yb, pa[:, c], pb[:, c], alpha=alpha)
        except StatsError as exc:
            rows.append({**base, "auc_a": _auc_rank(yb, pa[:, c]), "auc_b": _auc_rank(yb, pb[:, c]),
                         "diff": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "z": math.nan, "pval": math.nan, "method": f"undefined ({exc})"})
            continue
        rows.append({**base, "auc_a": float(t.auc_a), "auc_b": float(t.auc_b),
                     "diff": float(t.diff), "ci_low": float(t.ci_low),
                     "ci_high": float(t.ci_high), "z": float(t.z), "pval": float(t.pval),
                     "method": "DeLong"})
    adj = adjust_pvalues([r["pval"] for r in rows], adjust)
    for r, v in zip(rows, adj):
        r["pval_adj"] = float(v)

    macro = {"model_a": names[0], "model_b": names[1], "class": "macro", "n": n}
    if present.all():
        auc_a, auc_b = _macro_auc(y, pa), _macro_auc(y, pb)
        diffs = []
        if n_boot > 0:
            sa, sb = _SortedScores(y, pa), _SortedScores(y, pb)
            for idx in cluster_bootstrap_indices(n, g, n_boot, random_state, strata=y):
                weights = np.bincount(idx, minlength=n).astype(float)
                diffs.append(sa.macro_auc(weights) - sb.macro_auc(weights))
        d = np.asarray(diffs)
        d = d[~np.isnan(d)]
        if d.size >= 2 and d.std(ddof=1) > 0:
            z = (auc_a - auc_b) / d.std(ddof=1)
            pval = float(2 * norm.sf(abs(z)))
            lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
            method = f"paired {'patient' if g is not None else 'node'} bootstrap ({d.size} resamples)"
        elif d.size >= 2:  # identical predictions on every resample
            z, pval, lo, hi = 0.0, 1.0, 0.0, 0.0
            method = f"paired {'patient' if g is not None else 'node'} bootstrap ({d.size} resamples)"
        else:
            z = pval = lo = hi = math.nan
            method = "not computed (n_boot=0)" if n_boot <= 0 else "bootstrap failed"
        macro.update({"auc_a": auc_a, "auc_b": auc_b, "diff": auc_a - auc_b,
                      "ci_low": float(lo), "ci_high": float(hi), "z": float(z),
                      "pval": float(pval), "method": method, "pval_adj": float(pval)})
    else:
        macro.update({"auc_a": math.nan, "auc_b": math.nan, "diff": math.nan,
                      "ci_low": math.nan, "ci_high": math.nan, "z": math.nan,
                      "pval": math.nan, "method": "undefined (class absent)",
                      "pval_adj": math.nan})
    rows.append(macro)
    cols = ["model_a", "model_b", "class", "n", "auc_a", "auc_b", "diff", "ci_low", "ci_high",
            "z", "pval", "pval_adj", "method"]
    return pd.DataFrame(rows)[cols]
