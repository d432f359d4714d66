"""Calibration of predicted probabilities: Brier score, reliability bins, ECE, slope and intercept.

Like the other evaluation metrics these take plain arrays (the true class index
per node and the ``(n_nodes, n_classes)`` probability matrix, or a binary
outcome and its predicted probability).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, StatsError

__all__ = [
    "brier_score",
    "reliability_bins",
    "expected_calibration_error",
    "calibration_slope_intercept",
]

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` before taking logits for the
#: calibration slope and intercept.
EPS = 1e-6


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
