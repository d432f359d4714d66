"""Modality-level SHAP values of the late-fusion head.

How much did each branch (each image modality and the clinical branch) move
each node's fused prediction for each class?  Two exact methods:

``"linear"`` (the stacking heads, the default ``"shrunk"`` included)
    The stacking head is a multinomial logistic regression, *linear* in its
    design matrix ``X`` (branch probabilities plus missing-modality
    indicators).  With independent features the interventional SHAP value of
    column ``j`` for class ``c`` is exactly ``coef[c, j] * (x_j - mean_j)``
    (``mean`` = the training column means).  A branch's value is the sum over
    its columns, its missing indicator included, so a missing modality is
    credited with the effect of its absence.  Explained output: the head's
    decision function (logit scale); ``base = intercept + coef @ mean``.
``"coalitions"`` (mean, weighted-mean, MLP heads)
    Exact Shapley values over the ``B`` branches by enumerating all ``2**B``
    coalitions; a branch outside a coalition is shown to the head as missing
    (NaN rows), so the head's own mask-aware rule decides.  Explained output:
    the head's fused probability.  The base value is the head's output with
    every branch missing (the training class prior for the mean heads; the
    uniform distribution for a head that returns NaN then).  A branch whose
    modality is missing for a node gets 0 for that node.

Both return a :class:`~lnfusion.explain.explanation.ShapExplanation` whose
features are the branches (``axes = ("node", "branch", "class")``), and both
satisfy local accuracy: ``base_values + values.sum(axis=1)`` equals the
explained output for every node.  The linear method also gives the values of
the design columns as ``components`` (``components.groups`` names each
column's branch).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lnfusion.exceptions import DataError, NotAvailableError, check_fitted
from lnfusion.explain.explanation import ShapExplanation

__all__ = ["fusion_shap", "head_shap", "model_head_inputs", "linear_head_shap",
           "coalition_shap"]

_METHODS = ("auto", "linear", "coalitions")
_AXES = ("node", "branch", "class")


# --------------------------------------------------------------------------------------
# the two exact methods
# --------------------------------------------------------------------------------------
def linear_head_shap(head: Any, branch_proba: Mapping[str, np.ndarray],
                     branch_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                           tuple[str, ...], tuple[str, ...]]:
    """Exact SHAP of a head linear in its design matrix (the stacking head).

    Parameters
    ----------
    head : fitted head
        With ``design_matrix(Z) -> (X, feature_names, feature_branch)``,
        ``coef_`` (n_classes, n_columns), ``intercept_`` (n_classes,) and
        ``design_mean_`` (n_columns,).
    branch_proba : dict of str to ndarray
        Branch probabilities (NaN rows where a modality is missing).
    branch_names : sequence of str
        Branches in output order.

    Returns
    -------
    values : ndarray (n, n_branches, n_classes)
    base : ndarray (n_classes,)
    feature_values : ndarray (n, n_columns, n_classes)
    feature_names, feature_branch : tuple of str
    """
    X, names, owner = head.design_matrix(branch_proba)
    X = np.asarray(X, dtype=float)
    coef = np.atleast_2d(np.asarray(head.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(head.intercept_, dtype=float))
    mean = np.asarray(head.design_mean_, dtype=float)
    if coef.shape[1] != X.shape[1] or mean.shape != (X.shape[1],):
        raise DataError(f"linear head: design matrix has {X.shape[1]} columns but coef_ is "
                        f"{coef.shape} and design_mean_ {mean.shape}")
    feat = (X - mean[None, :])[:, :, None] * coef.T[None, :, :]  # (n, F, k)
    owner = tuple(str(o) for o in owner)
    unknown = sorted(set(owner) - set(branch_names))
    if unknown:
        raise DataError(f"linear head: design columns belong to unknown branch(es) {unknown}; "
                        f"branches: {list(branch_names)}")
    values = np.stack([feat[:, [j for j, o in enumerate(owner) if o == b], :].sum(axis=1)
                       for b in branch_names], axis=1)
    base = intercept + coef @ mean
    return values, base, feat, tuple(str(n) for n in names), owner


def coalition_shap(predict: Any, branch_proba: Mapping[str, np.ndarray],
                   branch_names: Sequence[str], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Shapley values over branches by enumerating every coalition.

    Parameters
    ----------
    predict : callable
        ``predict(Z) -> (n, n_classes)`` for a dict of head inputs (branch
        probabilities or embeddings) in which a missing branch is a NaN row
        (the head's mask-aware rule).
    branch_proba : dict of str to ndarray
        The head inputs of the nodes to explain.
    branch_names : sequence of str
        The players (``2 ** len(branch_names)`` head evaluations).
    n_classes : int

    Returns
    -------
    values : ndarray (n, n_branches, n_classes)
    base : ndarray (n_classes,)
        The output with every branch missing (uniform when the head returns NaN).
    """
    names = list(branch_names)
    B = len(names)
    n = len(next(iter(branch_proba.values())))
    nan_block = {b: np.full_like(np.asarray(branch_proba[b], dtype=float), np.nan) for b in names}

    def value(coalition: frozenset) -> np.ndarray:
        Z = {b: (np.asarray(branch_proba[b], dtype=float) if b in coalition else nan_block[b])
             for b in names}
        return np.asarray(predict(Z), dtype=float)

    empty = value(frozenset())
    if not np.all(np.isfinite(empty)):
        empty = np.full((n, n_classes), 1.0 / n_classes)
    if n and not np.allclose(empty, empty[0], rtol=0.0, atol=1e-12):
        raise DataError("the fusion head's output with every branch missing differs between nodes; "
                        "a single base value is undefined for the coalition method")
    cache: dict[frozenset, np.ndarray] = {frozenset(): empty}
    for size in range(1, B + 1):
        for combo in itertools.combinations(names, size):
            out = value(frozenset(combo))
            if not np.all(np.isfinite(out)):
                bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
                raise DataError(f"fusion head returned NaN with branches {list(combo)} present "
                                f"(node rows {bad[:5].tolist()}); it must handle missing branches")
            cache[frozenset(combo)] = out
    values = np.zeros((n, B, n_classes))
    for i, b in enumerate(names):
        others = [o for o in names if o != b]
        for size in range(B):
            weight = math.factorial(size) * math.factorial(B - size - 1) / math.factorial(B)
            for combo in itertools.combinations(others, size):
                s = frozenset(combo)
                values[:, i, :] += weight * (cache[s | {b}] - cache[s])
    return values, empty[0].copy()


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def _is_linear_head(head: Any) -> bool:
    return all(hasattr(head, a) for a in ("design_matrix", "coef_", "intercept_", "design_mean_"))


def _head_predict(head: Any):
    fn = getattr(head, "predict_proba", None)
    if not callable(fn):
        raise NotAvailableError(f"fusion head {type(head).__name__} has no predict_proba(Z); "
                                "cannot compute modality-level SHAP values")
    return fn


def head_shap(head: Any, Z: Mapping[str, np.ndarray], *, class_names: Sequence[str] | None = None,
              node_ids: Sequence[str] | None = None, method: str = "auto",
              positive_class: str | None = None) -> ShapExplanation:
    """Modality-level SHAP values of a fitted fusion head for the inputs ``Z``.

    Parameters
    ----------
    head : fitted fusion head
        A :mod:`lnfusion.fusion.heads` head (``branch_names_``, ``predict_proba(Z)``;
        the stacking head also ``design_matrix``, ``coef_``, ``intercept_``,
        ``design_mean_``).
    Z : dict of str to ndarray
        The head's input per branch (probabilities, or embeddings for the MLP
        head), NaN rows where a modality is missing.
    class_names : sequence of str, optional
        Default: the head's ``classes_``.
    node_ids : sequence of str, optional
        Default: ``"0", "1", ...``.
    method : {"auto", "linear", "coalitions"}
        ``"auto"``: ``"linear"`` for a head linear in its design matrix (the
        stacking head), else ``"coalitions"``.
    positive_class : str, optional
        Two classes only: the class whose values the importance tables report
        (``ShapExplanation.positive_output``; default the first class).

    Returns
    -------
    ShapExplanation
        Features = branches, outputs = classes, instances = nodes;
        ``output`` is ``"logit"`` (linear) or ``"probability"`` (coalitions).

    Raises
    ------
    NotFittedError
        The head is not fitted.
    NotAvailableError
        ``method="linear"`` for a head that is not linear.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    check_fitted(head, "branch_names_")
    branch_names = tuple(str(b) for b in head.branch_names_)
    missing = [b for b in branch_names if b not in Z]
    if missing:
        raise DataError(f"head_shap: the inputs lack branch(es) {missing}; expected {list(branch_names)}")
    Z = {b: np.asarray(Z[b], dtype=float) for b in branch_names}
    n = len(Z[branch_names[0]])
    if class_names is None:
        class_names = [str(c) for c in head.classes_]
    class_names = tuple(str(c) for c in class_names)
    node_ids = tuple(str(v) for v in (node_ids if node_ids is not None else range(n)))
    if len(node_ids) != n:
        raise DataError(f"head_shap: {len(node_ids)} node ids for {n} nodes")

    if method == "auto":
        method = "linear" if _is_linear_head(head) else "coalitions"
    if method == "linear":
        if not _is_linear_head(head):
            raise NotAvailableError(
                f"fusion head {type(head).__name__} is not linear in a design matrix; "
                "use method='coalitions'")
        values, base, feat, fnames, fbranch = linear_head_shap(head, Z, branch_names)
        columns = ShapExplanation(feat, base, fnames, class_names, node_ids, output="logit",
                                  method="linear", axes=("node", "column", "class"), groups=fbranch,
                                  positive_output=positive_class)
        return ShapExplanation(values, base, branch_names, class_names, node_ids, output="logit",
                               method="linear", axes=_AXES, components=columns,
                               positive_output=positive_class)
    values, base = coalition_shap(_head_predict(head), Z, branch_names, len(class_names))
    return ShapExplanation(values, base, branch_names, class_names, node_ids, output="probability",
                           method="coalitions", axes=_AXES, positive_output=positive_class)


def fusion_shap(model: Any, cohort: Any = None, *, head_inputs: Mapping[str, np.ndarray] | None = None,
                node_ids: Sequence[str] | None = None, method: str = "auto") -> ShapExplanation:
    """Modality-level SHAP values of a fitted :class:`~lnfusion.fusion.LateFusionClassifier`.

    Parameters
    ----------
    model : LateFusionClassifier
        Fitted; its ``head_`` is explained.
    cohort : Cohort, optional
        The nodes to explain.  Required unless ``head_inputs`` is given.
    head_inputs : dict of str to ndarray, optional
        Precomputed head inputs (``model.predict_branch_proba(cohort)`` for the
        probability heads), to avoid running the image branches twice.
    node_ids : sequence of str, optional
        Node labels; default from the cohort (``patient`` or ``patient/node``).
    method : {"auto", "linear", "coalitions"}
        See :func:`head_shap`.

    Returns
    -------
    ShapExplanation
        ``values`` (n_nodes, n_branches, n_classes) and ``base_values``
        (n_classes,), local-accurate for every node.  With two classes its
        ``positive_output`` is the cohort's positive class.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    """
    check_fitted(model, "head_")
    head = model.head_
    if head_inputs is None:
        if cohort is None:
            raise DataError("fusion_shap: pass a cohort or head_inputs")
        head_inputs = model_head_inputs(model, cohort)
    if node_ids is None and cohort is not None:
        from lnfusion.explain.selection import node_labels

        node_ids = node_labels(cohort)
    classes = [str(c) for c in model.classes_]
    positive = getattr(cohort, "positive_class", None)
    return head_shap(head, head_inputs, class_names=classes, node_ids=node_ids, method=method,
                     positive_class=positive if len(classes) == 2 and positive in classes else None)


def model_head_inputs(model: Any, cohort: Any) -> dict[str, np.ndarray]:
    """What the fitted model's head receives for ``cohort``: branch probabilities
    (or branch embeddings for the MLP head), NaN rows where a modality is missing."""
    fn = getattr(model, "head_inputs", None)
    if callable(fn):
        return dict(fn(cohort))
    return dict(model.predict_branch_proba(cohort))
