"""Label resolution: the class index of every row, from class names or indices.

Every estimator that accepts ``y`` (or reads ``cohort.y``) turns it into class
indices here, so an unknown class or a wrong length reads the same whichever
branch reports it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lnfusion.exceptions import DataError

__all__ = ["class_indices", "resolve_target"]


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
    return class_indices(y, classes), tuple(classes)


def class_indices(y: Any, classes: Sequence[Any], name: str = "y") -> np.ndarray:
    """Class index of every label, given the class names in index order.

    Parameters
    ----------
    y : array-like of shape (n,)
        Class indices (integers, checked to lie in ``0..len(classes) - 1``) or
        class names (matched by their text, so ``1`` matches the class ``"1"``).
    classes : sequence
        Class names in index order.
    name : str, default "y"
        Name of ``y`` in error messages (e.g. ``"y_true"``).

    Returns
    -------
    numpy.ndarray of int64
        Class index per label.

    Raises
    ------
    DataError
        ``y`` is not 1-d, or a label is not a class index or a declared class
        (the message names its position).
    """
    classes = tuple(classes)
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{name}: expected a 1-d array of labels, got shape {y.shape}")
    if y.dtype.kind in "iu":
        bad = np.flatnonzero((y < 0) | (y >= len(classes)))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{name}: {y[i]} at position {i} is not a class index; expected "
                            f"0..{len(classes) - 1} for classes {list(classes)}")
        return y.astype(np.int64)
    index = {str(c): i for i, c in enumerate(classes)}
    out = np.empty(len(y), dtype=np.int64)
    for i, v in enumerate(y.tolist()):
        if str(v) not in index:
            raise DataError(f"{name}: label {v!r} at position {i} is not a declared class; expected one "
                            f"of {list(classes)}")
        out[i] = index[str(v)]
    return out
