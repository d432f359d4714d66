"""ROC curves and AUCs from sorted scores: the one AUC implementation of lnfusion.

Every AUC in lnfusion -- :func:`lnfusion.stats.roc_auc` and its intervals, the
evaluation metrics and their bootstraps, the image branch's validation metric
and pre-training's comparison -- comes from :class:`SortedScores`.

Each score column is sorted once (descending, stable).  A curve is then the
cumulative (weighted) count of positives and negatives at the last case of
every run of tied scores, and the AUC is the trapezoidal area under it, which
counts a tied positive-negative pair as one half (the Mann-Whitney form).  A
bootstrap resample is given as case weights (how often each case was drawn,
see :func:`lnfusion.stats.bootstrap.bootstrap_weights`), so resampled curves
need no new sort: a resample with a case drawn twice and its weighted curve
are the same curve.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lnfusion.exceptions import DataError

__all__ = ["SortedScores", "auc_score", "curve_auc", "roc_points"]


def curve_auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Trapezoidal area under ROC points such as :meth:`SortedScores.curve` returns."""
    return float(np.dot(fpr[1:] - fpr[:-1], tpr[1:] + tpr[:-1]) / 2)


class SortedScores:
    """Score columns sorted once, for ROC curves and AUCs on weighted cases.

    Parameters
    ----------
    truth : array-like of bool, shape (n, k)
        ``truth[i, c]``: case ``i`` is a positive of problem ``c``.
    scores : array-like of float, shape (n, k)
        Score of each case in each problem; larger means more likely positive.

    Examples
    --------
    >>> s = SortedScores.one_vs_rest([0, 1, 1, 0], [[.9, .1], [.3, .7], [.5, .5], [.6, .4]])
    >>> s.aucs().tolist()
    [1.0, 1.0]
    """

    def __init__(self, truth: np.ndarray | Sequence, scores: np.ndarray | Sequence):
        t = np.asarray(truth, dtype=bool)
        s = np.asarray(scores, dtype=float)
        if t.ndim != 2 or s.shape != t.shape:
            raise DataError(f"truth and scores must be 2-dimensional of the same shape "
                            f"(cases x problems); got {t.shape} and {s.shape}")
        self.n_cases, self.n_problems = s.shape
        self._order, self._ends, self._pos, self._sorted = [], [], [], []
        for c in range(self.n_problems):
            order = np.argsort(-s[:, c], kind="mergesort")
            sc = s[order, c]
            last = np.ones(sc.size, dtype=bool)
            last[:-1] = sc[1:] != sc[:-1]
            self._order.append(order)
            self._ends.append(np.flatnonzero(last))
            self._pos.append(t[order, c].astype(float))
            self._sorted.append(sc)

    @classmethod
    def one_vs_rest(cls, y: np.ndarray | Sequence, proba: np.ndarray | Sequence) -> SortedScores:
        """One problem per column of ``proba``: class index ``y == c`` against the rest.

        Parameters
        ----------
        y : array-like of int, shape (n,)
            Class index (column of ``proba``) of each case.
        proba : array-like of float, shape (n, k)
        """
        p = np.asarray(proba, dtype=float)
        y = np.asarray(y)
        if p.ndim != 2 or y.shape != (p.shape[0],):
            raise DataError(f"y must hold one class index per row of proba {p.shape}; "
                            f"got shape {y.shape}")
        return cls(y[:, None] == np.arange(p.shape[1])[None, :], p)

    def _counts(self, c: int, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (weighted) true and false positives at each distinct threshold."""
        pos = self._pos[c]
        if weights is None:
            tps = np.cumsum(pos)[self._ends[c]]
            return tps, (self._ends[c] + 1) - tps
        w = np.asarray(weights, dtype=float)[self._order[c]]
        tps = np.cumsum(w * pos)[self._ends[c]]
        return tps, np.cumsum(w)[self._ends[c]] - tps

    def curve(self, c: int = 0, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray] | None:
        """``(fpr, tpr)`` of problem ``c`` at every distinct threshold, from (0, 0).

        Parameters
        ----------
        c : int, default 0
            The problem (column).
        weights : array-like of float, shape (n,), optional
            Case weights (bootstrap draw counts); default 1 for every case.

        Returns
        -------
        (fpr, tpr) or None
            ``None`` when the weighted cases lack positives or negatives.
        """
        if self.n_cases == 0:
            return None
        tps, fps = self._counts(c, weights)
        if tps[-1] <= 0 or fps[-1] <= 0:
            return None
        fpr = np.zeros(tps.size + 1)
        tpr = np.zeros(tps.size + 1)
        fpr[1:] = fps / fps[-1]
        tpr[1:] = tps / tps[-1]
        return fpr, tpr

    def thresholds(self, c: int = 0) -> np.ndarray:
        """Score thresholds of :meth:`curve`'s points (``inf`` first, for the origin)."""
        return np.r_[np.inf, self._sorted[c][self._ends[c]]]

    def auc(self, c: int = 0, weights: np.ndarray | None = None) -> float:
        """AUC of problem ``c`` (ties count one half); ``nan`` without both outcomes."""
        pts = self.curve(c, weights)
        return math.nan if pts is None else curve_auc(*pts)

    def aucs(self, weights: np.ndarray | None = None) -> np.ndarray:
        """AUC of every problem, shape (k,)."""
        return np.array([self.auc(c, weights) for c in range(self.n_problems)])

    def macro_auc(self, weights: np.ndarray | None = None) -> float:
        """Unweighted mean AUC over problems; ``nan`` as soon as one is undefined."""
        total = 0.0
        for c in range(self.n_problems):
            a = self.auc(c, weights)
            if math.isnan(a):
                return math.nan
            total += a
        return total / self.n_problems


def _binary_columns(y_true: np.ndarray | Sequence, y_score: np.ndarray | Sequence
                    ) -> SortedScores:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise DataError(f"y_true and y_score must be 1-dimensional of equal length; got "
                        f"{y.shape} and {s.shape}")
    return SortedScores(y.astype(bool)[:, None], s[:, None])


def auc_score(y_true: np.ndarray | Sequence, y_score: np.ndarray | Sequence,
              weights: np.ndarray | None = None) -> float:
    """AUC of binary truth (bool or 0/1) against scores; ``nan`` without both outcomes.

    Equal to the Mann-Whitney ``U / (n_pos * n_neg)`` (ties count one half) and to
    :func:`sklearn.metrics.roc_auc_score`.
    """
    return _binary_columns(y_true, y_score).auc(0, weights)


def roc_points(y_true: np.ndarray | Sequence, y_score: np.ndarray | Sequence, *,
               drop_intermediate: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of binary truth (bool or 0/1) against scores.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n,)
    drop_intermediate : bool, default False
        Drop points on a straight segment between their neighbours (the first
        and last thresholds stay), as :func:`sklearn.metrics.roc_curve` does by
        default.

    Returns
    -------
    fpr, tpr, thresholds : numpy.ndarray
        One point per distinct score (from (0, 0), threshold ``inf``); the same
        points as ``sklearn.metrics.roc_curve``.  A rate without a case of
        its kind stays 0.
    """
    sorted_scores = _binary_columns(y_true, y_score)
    if sorted_scores.n_cases == 0:
        return np.zeros(1), np.zeros(1), np.full(1, np.inf)
    tps, fps = sorted_scores._counts(0, None)
    thr = sorted_scores.thresholds(0)[1:]
    if drop_intermediate and tps.size > 2:  # the first and last points always stay
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        tps, fps, thr = tps[keep], fps[keep], thr[keep]
    tps, fps, thr = np.r_[0.0, tps], np.r_[0.0, fps], np.r_[np.inf, thr]
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1), thr
