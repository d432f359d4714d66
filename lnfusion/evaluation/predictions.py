"""Collect a fitted estimator's probabilities (fused model and branches) on a cohort.

Shared by :func:`lnfusion.evaluation.evaluate` and the cross-validation and
by-site runners so that every caller scores models the same way.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lnfusion.exceptions import DataError

__all__ = ["align_proba", "collect_predictions"]


def align_proba(proba: Any, model_classes: Sequence[Any] | None, classes: Sequence[str],
                name: str = "model") -> np.ndarray:
    """Reorder probability columns from the model's class order to ``classes``.

    Parameters
    ----------
    proba : array-like of shape (n, n_model_classes)
        Probabilities in ``model_classes`` order; rows of NaN (a branch that
        could not see the node) are kept.
    model_classes : sequence of str or int, or None
        The estimator's ``classes_``: class names, or class indices into
        ``classes``.  ``None`` means the columns are already in ``classes`` order.
    classes : sequence of str
        Target class order (the cohort's).
    name : str, default "model"
        Model or branch name used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n, len(classes))
        A class the model never saw gets probability 0 (NaN on NaN rows).

    Raises
    ------
    DataError
        When the number of columns does not match or a model class is unknown.
    """
    classes = [str(c) for c in classes]
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2:
        raise DataError(f"{name}: predict_proba returned shape {p.shape}; expected "
                        "(n_nodes, n_classes)")
    if model_classes is None:
        if p.shape[1] != len(classes):
            raise DataError(f"{name}: predict_proba returned {p.shape[1]} columns; expected "
                            f"{len(classes)} (classes {classes})")
        return p
    names = []
    for c in model_classes:
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= int(c) < len(classes):
                raise DataError(f"{name}: classes_ holds index {c}, outside 0..{len(classes) - 1} "
                                f"(classes {classes})")
            names.append(classes[int(c)])
        else:
            names.append(str(c))
    unknown = [c for c in names if c not in classes]
    if unknown:
        raise DataError(f"{name}: classes_ {names} include {unknown}, which the evaluation "
                        f"cohort does not declare (classes {classes})")
    if p.shape[1] != len(names):
        raise DataError(f"{name}: predict_proba returned {p.shape[1]} columns but classes_ has "
                        f"{len(names)} ({names})")
    out = np.zeros((p.shape[0], len(classes)))
    for j, c in enumerate(names):
        out[:, classes.index(c)] = p[:, j]
    out[np.isnan(p).any(axis=1)] = np.nan
    return out


def collect_predictions(model: Any, cohort: Any, model_name: str = "model") -> dict[str, np.ndarray]:
    """Probabilities of a fitted model and of each of its branches on ``cohort``.

    Parameters
    ----------
    model : estimator
        Fitted, with ``predict_proba(cohort)``; when it also has
        ``predict_branch_proba(cohort)`` (e.g. :class:`lnfusion.fusion.LateFusionClassifier`)
        each branch is collected too.
    cohort : Cohort
        The nodes to score.
    model_name : str, default "model"
        Key of the model's own probabilities.

    Returns
    -------
    dict
        ``{model_name: (n, k) array, branch: (n, k) array with NaN rows where the
        branch saw nothing, ...}``, columns in ``cohort.classes`` order; the
        model comes first.
    """
    classes = tuple(cohort.classes)
    model_classes = getattr(model, "classes_", None)
    n = len(cohort)
    out = {model_name: align_proba(model.predict_proba(cohort), model_classes, classes, model_name)}
    branch_fn = getattr(model, "predict_branch_proba", None)
    if callable(branch_fn):
        for branch, proba in branch_fn(cohort).items():
            if str(branch) == model_name:
                raise DataError(f"branch name {branch!r} clashes with the model's name; pass "
                                "another model_name")
            out[str(branch)] = align_proba(proba, model_classes, classes, str(branch))
    for key, p in out.items():
        if p.shape[0] != n:
            raise DataError(f"{key}: {p.shape[0]} rows of probabilities for {n} nodes")
    return out
