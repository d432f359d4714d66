"""Label resolution: the class index of every row, from class names or indices.

Every estimator that accepts ``y`` (or reads ``cohort.y``) turns it into class
indices here, so an unknown class or a wrong length reads the same whichever
branch reports it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lnfusion.exceptions import DataError

__all__ = ["resolve_target"]


def resolve_target(X: Any, y: Any = None) -> tuple[np.ndarray, tuple]:
    """Return ``(y as class indices, class names)`` for a Cohort or a DataFrame.

    Parameters
    ----------
    X : Cohort or pandas.DataFrame
        With a Cohort, ``y`` defaults to ``X.y`` and the classes are ``X.classes``.
    y : array-like, optional
        Class indices (integers) or class names.  Required with a DataFrame; the
        classes are then the sorted distinct values.

    Returns
    -------
    y : numpy.ndarray of int
        Class index per row.
    classes : tuple
        Class names (or values) in index order.

    Raises
    ------
    DataError
        ``y`` is missing, has the wrong length, or holds an unknown class.
    """
    classes = getattr(X, "classes", None)
    if y is None:
        if classes is None or getattr(X, "y", None) is None:
            raise DataError("y is required when X is a DataFrame; pass the labels as y")
        y = X.y
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"y must be one label per row: expected shape ({len(X)},), got {y.shape}")
    if classes is None:
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise DataError("y contains NaN; expected a label for every row")
        classes = tuple(v.item() if hasattr(v, "item") else v for v in np.unique(y))
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[v.item() if hasattr(v, "item") else v] for v in y], dtype=np.int64), classes
    classes = tuple(classes)
    if y.dtype.kind in "iu":
        bad = np.flatnonzero((y < 0) | (y >= len(classes)))
        if bad.size:
            raise DataError(f"y[{bad[0]}] = {y[bad[0]]} is not a class index; expected 0..{len(classes) - 1} "
                            f"for classes {list(classes)}")
        return y.astype(np.int64), classes
    index = {str(c): i for i, c in enumerate(classes)}
    out = np.empty(len(y), dtype=np.int64)
    for i, v in enumerate(y):
        if str(v) not in index:
            raise DataError(f"y[{i}] = {v!r} is not a declared class; expected one of {list(classes)}")
        out[i] = index[str(v)]
    return out, classes
