"""Multiple-testing adjustment of p-values, identical to R's ``p.adjust``.

Methods (aliases in brackets):

* ``"bonferroni"``
* ``"holm"`` -- Holm (1979) step-down.
* ``"hochberg"`` -- Hochberg (1988) step-up.
* ``"hommel"`` -- Hommel (1988).
* ``"bh"`` [``"fdr_bh"``, ``"fdr"``, ``"BH"``] -- Benjamini & Hochberg (1995).
* ``"by"`` [``"fdr_by"``, ``"BY"``] -- Benjamini & Yekutieli (2001).
* ``"none"``

Missing p-values (``nan``) are kept in place and do not count towards the
number of tests, as in R (``p.adjust(p, n = sum(!is.na(p)))``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lnfusion.exceptions import StatsError

__all__ = ["ADJUST_METHODS", "adjust_pvalues", "p_adjust", "normalize_adjust_method"]

_ALIASES = {
    "bonferroni": "bonferroni",
    "holm": "holm",
    "hochberg": "hochberg",
    "hommel": "hommel",
    "bh": "bh",
    "fdr_bh": "bh",
    "fdr": "bh",
    "by": "by",
    "fdr_by": "by",
    "none": "none",
}

#: Canonical method names accepted by :func:`adjust_pvalues`.
ADJUST_METHODS = ("bonferroni", "holm", "hochberg", "hommel", "bh", "by", "none")


def normalize_adjust_method(method: str | None) -> str:
    """Return the canonical name of an adjustment method.

    Parameters
    ----------
    method : str or None
        Any accepted name or alias (case-insensitive); ``None`` means ``"none"``.

    Raises
    ------
    StatsError
        If the method is unknown.
    """
    if method is None:
        return "none"
    key = str(method).lower()
    if key not in _ALIASES:
        raise StatsError(
            f"unknown p-value adjustment method {method!r}; expected one of "
            f"{sorted(_ALIASES)}"
        )
    return _ALIASES[key]


def adjust_pvalues(pvals: Sequence[float] | np.ndarray, method: str | None = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons exactly as R's ``p.adjust``.

    Parameters
    ----------
    pvals : array-like of float
        Raw p-values in [0, 1]; ``nan`` entries are ignored and returned as ``nan``.
    method : str, default "holm"
        ``"bonferroni"``, ``"holm"``, ``"hochberg"``, ``"hommel"``, ``"bh"``
        (aliases ``"fdr_bh"``, ``"fdr"``), ``"by"`` (alias ``"fdr_by"``) or ``"none"``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape and order as ``pvals``.

    Raises
    ------
    StatsError
        On an unknown method or p-values outside [0, 1].

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.03], "holm").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    m = normalize_adjust_method(method)
    p0 = np.asarray(pvals, dtype=float)
    shape = p0.shape
    p0 = p0.ravel().copy()
    finite = ~np.isnan(p0)
    p = p0[finite]
    if np.any((p < 0) | (p > 1)):
        raise StatsError(f"p-values must lie in [0, 1]; got min {p.min()!r}, max {p.max()!r}")
    n = p.size
    if n <= 1 or m == "none":
        return p0.reshape(shape)
    if n == 2 and m == "hommel":
        m = "hochberg"
    if m == "bonferroni":
        adj = np.minimum(1.0, n * p)
    elif m == "holm":
        o = np.argsort(p, kind="stable")
        i = np.arange(1, n + 1)
        adj = np.empty(n)
        adj[o] = np.minimum(1.0, np.maximum.accumulate((n + 1 - i) * p[o]))
    elif m in ("hochberg", "bh", "by"):
        o = np.argsort(-p, kind="stable")
        i = np.arange(n, 0, -1)
        if m == "hochberg":
            vals = (n + 1 - i) * p[o]
        elif m == "bh":
            vals = n / i * p[o]
        else:
            q = np.sum(1.0 / np.arange(1, n + 1))
            vals = q * n / i * p[o]
        adj = np.empty(n)
        adj[o] = np.minimum(1.0, np.minimum.accumulate(vals))
    else:  # hommel
        adj = _hommel(p)
    out = p0.copy()
    out[finite] = adj
    return out.reshape(shape)


def _hommel(p: np.ndarray) -> np.ndarray:
    """Hommel's adjustment, a line-by-line port of R's ``p.adjust``."""
    n = p.size
    o = np.argsort(p, kind="stable")
    ps = p[o]
    i = np.arange(1, n + 1)
    q = np.full(n, np.min(n * ps / i))
    pa = q.copy()
    for j in range(n - 1, 1, -1):
        ij = np.arange(0, n - j + 1)  # R: seq_len(n - j + 1)
        i2 = np.arange(n - j + 1, n)  # R: (n - j + 2):n
        q1 = np.min(j * ps[i2] / np.arange(2, j + 1))
        q[ij] = np.minimum(j * ps[ij], q1)
        q[i2] = q[n - j]
        pa = np.maximum(pa, q)
    res = np.maximum(pa, ps)
    out = np.empty(n)
    out[o] = res
    return out


def p_adjust(pvals: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Alias of :func:`adjust_pvalues` under R's name."""
    return adjust_pvalues(pvals, method)
