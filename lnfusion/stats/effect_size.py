"""Standardized mean differences (SMD) between two groups.

* Continuous: ``(mean_a - mean_b) / sqrt((var_a + var_b) / 2)`` (Austin, 2009).
  The sign is kept (positive when group a has the larger mean).
* Categorical with ``k`` levels: the multivariate SMD of Yang & Dalton
  (2012), ``sqrt((p_a - p_b)' S^-1 (p_a - p_b))`` over the first ``k - 1``
  level proportions, ``S`` the mean of the two multinomial covariance
  matrices.  For two levels this is ``|p_a - p_b| / sqrt((p_a q_a + p_b q_b) / 2)``.
  Always non-negative.

An absolute SMD above 0.1 is the usual threshold for a meaningful imbalance.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["smd_continuous", "smd_categorical"]


def smd_continuous(a: np.ndarray, b: np.ndarray) -> float:
    """SMD of two continuous samples (``nan`` values dropped).

    Returns ``nan`` when either sample has fewer than 2 values, 0 when both
    are constant and equal, and ``inf`` when both are constant and differ.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a = a[~np.isnan(a)]
    b = b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return float("nan")
    diff = a.mean() - b.mean()
    pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(diff / pooled)


def smd_categorical(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """SMD of two categorical distributions given their level counts.

    Parameters
    ----------
    counts_a, counts_b : array-like, shape (k,)
        Counts of each level in the two groups (same level order).

    Returns
    -------
    float
        Non-negative SMD; ``nan`` if a group is empty.
    """
    ca = np.asarray(counts_a, dtype=float)
    cb = np.asarray(counts_b, dtype=float)
    if ca.sum() == 0 or cb.sum() == 0:
        return float("nan")
    keep = (ca + cb) > 0
    pa = (ca / ca.sum())[keep]
    pb = (cb / cb.sum())[keep]
    if pa.size < 2:
        return 0.0
    pa, pb = pa[:-1], pb[:-1]
    d = pa - pb
    s = (np.diag(pa) - np.outer(pa, pa) + np.diag(pb) - np.outer(pb, pb)) / 2
    if not np.any(d):
        return 0.0
    try:
        val = float(d @ np.linalg.solve(s, d))
    except np.linalg.LinAlgError:
        val = float(d @ np.linalg.pinv(s) @ d)
    if not np.isfinite(val) or val < 0:
        return float("inf")
    return math.sqrt(val)
