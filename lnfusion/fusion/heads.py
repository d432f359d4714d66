"""Fusion heads: combine the per-branch outputs of a :class:`LateFusionClassifier`.

Every head takes ``Z``, a dict ``branch name -> (n_nodes, k) array`` in which a
row of NaN means the branch could not see that node (its modality is missing),
and follows the same small contract:

``fit(Z, y, classes=None)``
    ``y`` holds class indices ``0..n_classes-1``; ``classes`` optionally names them.
``predict_proba(Z) -> (n_nodes, n_classes)``
    Rows sum to 1.  A node is never dropped: missing branches are handled by
    each head (see its docstring).
``to_dict()`` / ``head_from_dict(d)``
    Plain-JSON persistence (arrays as lists; float64/float32 round-trip exactly).

Six heads:

- :class:`MeanHead`: mean of the available branches' probabilities.
- :class:`WeightedMeanHead`: non-negative weights summing to 1, fitted on
  out-of-fold probabilities by minimising the log-loss.
- :class:`StackingHead`: multinomial logistic regression on out-of-fold
  log-probabilities, mask-aware; linear in its design matrix so modality-level
  SHAP values are exact.
- :class:`ShrunkStackingHead` (the default, ``"shrunk"``): the stacking head
  shrunk toward equal branch weights, the shrinkage chosen by inner CV on the
  head's training rows; still linear.
- :class:`ShrunkWeightedMeanHead` (``"shrunk_weighted"``): the weighted mean
  shrunk toward the plain mean the same way.
- :class:`MLPHead`: intermediate fusion, a small torch MLP on concatenated
  branch embeddings.
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from lnfusion.exceptions import DataError, PersistenceError, check_fitted

__all__ = [
    "FusionHead",
    "MeanHead",
    "WeightedMeanHead",
    "StackingHead",
    "ShrunkStackingHead",
    "ShrunkWeightedMeanHead",
    "MLPHead",
    "HEADS",
    "make_head",
    "head_from_dict",
    "available_rows",
]

#: Probabilities are clipped to ``[PROBA_FLOOR, 1]`` before taking logs.
PROBA_FLOOR = 1e-6


# --------------------------------------------------------------------------------------
# array <-> JSON
# --------------------------------------------------------------------------------------
def _encode(a: np.ndarray) -> dict[str, Any]:
    a = np.asarray(a)
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.ravel().tolist()}


def _decode(d: Mapping[str, Any]) -> np.ndarray:
    try:
        return np.asarray(d["data"], dtype=np.dtype(d["dtype"])).reshape(d["shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PersistenceError(f"malformed array in head parameters ({exc!r})") from exc


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def available_rows(a: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``a`` that hold a prediction (no NaN)."""
    return ~np.isnan(a).any(axis=1)


def _check_y(y: Any, n: int, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise DataError(f"y must hold one class index per node: expected shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(f"y must hold integer class indices, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"y holds class index {int(y.max()) if y.max() >= n_classes else int(y.min())}; "
                        f"expected 0..{n_classes - 1}")
    return y.astype(np.int64)


class FusionHead(BaseEstimator):
    """Base class of the fusion heads (see the module docstring for the contract).

    Subclasses set ``kind`` (the name used by ``LateFusionClassifier(head=...)``)
    and ``input_kind``: ``"proba"`` (branch probabilities) or ``"embedding"``
    (branch ``transform`` outputs).
    """

    kind: str = ""
    input_kind: str = "proba"

    # -- shared checks ------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_fitted(self, "branch_names_")

    def _stack_fit_inputs(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None,
                          ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if not isinstance(Z, Mapping) or not Z:
            raise DataError(f"{type(self).__name__}.fit: Z must be a non-empty dict "
                            "branch name -> (n_nodes, k) array")
        Z = {str(k): np.asarray(v, dtype=np.float64) for k, v in Z.items()}
        n = self._check_shapes(Z)
        if self.input_kind == "proba":
            widths = {a.shape[1] for a in Z.values()}
            if len(widths) != 1:
                raise DataError(f"{type(self).__name__}.fit: every branch must give the same number "
                                f"of class probabilities; got {({k: a.shape[1] for k, a in Z.items()})}")
            k = widths.pop()
            if classes is not None and len(classes) != k:
                raise DataError(f"{type(self).__name__}.fit: {len(classes)} classes named but the "
                                f"branches give {k} probabilities")
        else:
            if classes is None:
                raise DataError(f"{type(self).__name__}.fit: classes is required (embeddings do "
                                "not tell the number of classes)")
            k = len(classes)
        self.branch_names_ = list(Z)
        self.n_classes_ = int(k)
        self.classes_ = np.asarray(list(classes) if classes is not None else list(range(k)), dtype=object)
        y = _check_y(y, n, k)
        counts = np.bincount(y, minlength=k).astype(np.float64)
        self.class_prior_ = counts / max(counts.sum(), 1.0)
        self.input_dims_ = {b: int(a.shape[1]) for b, a in Z.items()}
        return Z, y

    def _check_shapes(self, Z: Mapping[str, np.ndarray]) -> int:
        sizes = {b: a.shape for b, a in Z.items()}
        for b, a in Z.items():
            if a.ndim != 2:
                raise DataError(f"branch {b!r}: expected a 2-D array (n_nodes, k), got shape {a.shape}")
        if len({s[0] for s in sizes.values()}) != 1:
            raise DataError(f"branches disagree on the number of nodes: {sizes}")
        return next(iter(sizes.values()))[0]

    def _predict_inputs(self, Z: Mapping[str, Any]) -> dict[str, np.ndarray]:
        self._check_fitted()
        if not isinstance(Z, Mapping):
            raise DataError(f"{type(self).__name__}: Z must be a dict branch name -> array")
        missing = [b for b in self.branch_names_ if b not in Z]
        if missing:
            raise DataError(f"{type(self).__name__}: branch(es) {missing} missing from Z; "
                            f"expected {self.branch_names_}")
        out = {b: np.asarray(Z[b], dtype=np.float64) for b in self.branch_names_}
        self._check_shapes(out)
        for b, a in out.items():
            if a.shape[1] != self.input_dims_[b]:
                raise DataError(f"branch {b!r}: expected {self.input_dims_[b]} columns, got {a.shape[1]}")
        return out

    def predict(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Index of the most probable class per node."""
        return np.argmax(self.predict_proba(Z), axis=1)

    # -- persistence --------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted state as plain JSON-compatible objects."""
        out: dict[str, Any] = {"type": self.kind, "params": self.get_params(deep=False)}
        if hasattr(self, "branch_names_"):
            out["fitted"] = {
                "branch_names": list(self.branch_names_),
                "n_classes": self.n_classes_,
                "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
                "class_prior": _encode(self.class_prior_),
                "input_dims": dict(self.input_dims_),
                **self._state(),
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionHead:
        """Rebuild a head written by :meth:`to_dict`."""
        try:
            head = cls(**dict(data.get("params", {})))
            fitted = data.get("fitted")
            if fitted is not None:
                head.branch_names_ = list(fitted["branch_names"])
                head.n_classes_ = int(fitted["n_classes"])
                head.classes_ = np.asarray(fitted["classes"], dtype=object)
                head.class_prior_ = _decode(fitted["class_prior"])
                head.input_dims_ = {str(k): int(v) for k, v in fitted["input_dims"].items()}
                head._set_state(fitted)
        except (KeyError, TypeError, ValueError) as exc:
            raise PersistenceError(f"malformed {cls.__name__} parameters ({exc!r})") from exc
        return head


# --------------------------------------------------------------------------------------
# probability-averaging heads
# --------------------------------------------------------------------------------------
def _weighted_average(Z: Mapping[str, np.ndarray], weights: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Average of the available branches with ``weights`` renormalised per node.

    Nodes whose available branches all have weight 0 get the plain mean of the
    available branches; nodes with no available branch get ``prior``.
    """
    names = list(Z)
    P = np.stack([Z[b] for b in names], axis=1)              # (n, B, k)
    A = ~np.isnan(P).any(axis=2)                              # (n, B)
    P = np.where(A[:, :, None], P, 0.0)
    W = A * weights[None, :]
    total = W.sum(axis=1)
    equal = A.astype(np.float64)
    use_equal = total <= 0
    W[use_equal] = equal[use_equal]
    total = W.sum(axis=1)
    out = np.empty((P.shape[0], P.shape[2]))
    has = total > 0
    out[has] = np.einsum("nb,nbk->nk", W[has], P[has]) / total[has, None]
    out[~has] = prior[None, :]
    return out


class MeanHead(FusionHead):
    """Mean of the available branches' probabilities (nothing is learned but the prior).

    A node no branch can see gets the training class prior.
    """

    kind = "mean"

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> MeanHead:
        """Record the branches and the class prior."""
        self._stack_fit_inputs(Z, y, classes)
        return self

    def predict_proba(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Mean of the available branches' probabilities per node."""
        Z = self._predict_inputs(Z)
        return _weighted_average(Z, np.ones(len(self.branch_names_)), self.class_prior_)


class WeightedMeanHead(FusionHead):
    """Weighted mean of branch probabilities; weights fitted on out-of-fold predictions.

    The weights are non-negative and sum to 1; they minimise the mean log-loss
    of the fused probabilities (SLSQP on the simplex).  For a node that misses
    some branches the weights of the available ones are renormalised.

    Parameters
    ----------
    max_iter : int, default 500
        Iterations of the optimiser.

    Attributes
    ----------
    weights_ : numpy.ndarray
        One weight per branch, in ``branch_names_`` order.
    """

    kind = "weighted"

    def __init__(self, max_iter: int = 500):
        self.max_iter = max_iter

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> WeightedMeanHead:
        """Fit the branch weights by minimising the log-loss."""
        Z, y = self._stack_fit_inputs(Z, y, classes)
        P, A, yk = self._true_class_proba(Z, y)
        self.weights_ = self._fit_weights(P, A)
        return self

    def _true_class_proba(self, Z: Mapping[str, np.ndarray], y: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per node with any branch: each branch's probability of the true class, availability, class."""
        P = np.stack([Z[b] for b in self.branch_names_], axis=1)
        A = ~np.isnan(P).any(axis=2)
        keep = A.any(axis=1)
        P, A, yk = np.where(A[:, :, None], P, 0.0)[keep], A[keep], y[keep]
        return P[np.arange(len(yk)), :, yk], A, yk                  # (n, B) prob of the true class

    @staticmethod
    def _log_loss(w: np.ndarray, Py: np.ndarray, A: np.ndarray) -> float:
        W = A * w[None, :]
        tot = np.maximum(W.sum(axis=1), 1e-12)
        p = (W * Py).sum(axis=1) / tot
        return float(-np.mean(np.log(np.clip(p, PROBA_FLOOR, 1.0))))

    def _fit_weights(self, Py: np.ndarray, A: np.ndarray) -> np.ndarray:
        from scipy.optimize import minimize

        B = Py.shape[1]
        if len(Py) == 0 or B == 1:
            return np.full(B, 1.0 / B)
        res = minimize(self._log_loss, np.full(B, 1.0 / B), args=(Py, A), method="SLSQP",
                       bounds=[(0.0, 1.0)] * B,
                       constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
                       options={"maxiter": self.max_iter, "ftol": 1e-10})
        w = np.clip(res.x, 0.0, None)
        return w / w.sum() if w.sum() > 0 else np.full(B, 1.0 / B)

    def predict_proba(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Weighted mean of the available branches' probabilities per node."""
        Z = self._predict_inputs(Z)
        return _weighted_average(Z, self.weights_, self.class_prior_)

    def _state(self) -> dict[str, Any]:
        return {"weights": _encode(self.weights_)}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self.weights_ = _decode(state["weights"])


#: Default candidate shrinkages of the shrunk heads.
SHRINKAGE_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


class ShrunkWeightedMeanHead(WeightedMeanHead):
    """Weighted mean shrunk toward the plain mean, the shrinkage chosen by inner CV.

    ``weights_ = (1 - shrinkage) * w + shrinkage / n_branches``, with ``w`` the
    :class:`WeightedMeanHead` weights (non-negative, summing to 1, fitted by
    log-loss on the out-of-fold predictions).  ``shrinkage=1`` is exactly
    :class:`MeanHead`; ``shrinkage="cv"`` picks it from ``grid`` by stratified
    K-fold over the head's training rows (mean held-out log-loss; only the
    out-of-fold predictions of the training patients) with the
    one-standard-error rule (the largest shrinkage within one standard error of
    the best), so the plain mean is kept unless the data clearly show better
    weights.

    Why: the head learns from out-of-fold branch predictions made by models
    trained on fewer patients than the refit branches it is applied to, on few
    rows.  A free head can then under-weight the branch that gains most from
    more data, or (a logistic stacker) even give it a negative weight; weights
    on the simplex cannot invert a branch, and shrinking them toward equal
    weights keeps the fused model near the mean of its branches unless the
    training patients show that unequal weights are better.

    Parameters
    ----------
    max_iter : int, default 500
    shrinkage : "cv" or float in [0, 1], default "cv"
    grid : sequence of float, optional
        Candidates for ``"cv"``; default :data:`SHRINKAGE_GRID`.
    cv : int, default 5
        Inner folds (fewer when a class has fewer rows; with fewer than two
        rows per class the shrinkage is 1).

    Attributes
    ----------
    weights_ : numpy.ndarray
        Final (shrunk) weights, in ``branch_names_`` order.
    fitted_weights_ : numpy.ndarray
        The unshrunk weights ``w``.
    shrinkage_ : float
    cv_loss_ : dict of str to float
        Mean held-out log-loss per candidate (``"cv"`` only).
    """

    kind = "shrunk_weighted"

    def __init__(self, max_iter: int = 500, shrinkage: Any = "cv", grid: Sequence[float] | None = None,
                 cv: int = 5):
        super().__init__(max_iter=max_iter)
        self.shrinkage = shrinkage
        self.grid = grid
        self.cv = cv

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> ShrunkWeightedMeanHead:
        """Fit the weights, choose the shrinkage, shrink (see the class docstring)."""
        Z, y = self._stack_fit_inputs(Z, y, classes)
        Py, A, yk = self._true_class_proba(Z, y)
        B = len(self.branch_names_)
        w = self._fit_weights(Py, A)
        equal = np.full(B, 1.0 / B)
        lam, self.cv_loss_ = _choose_shrinkage(
            self, yk, self.n_classes_,
            lambda tr: (self._fit_weights(Py[tr], A[tr]), equal),
            lambda pair, g, te: self._log_loss((1 - g) * pair[0] + g * pair[1], Py[te], A[te]))
        self.fitted_weights_ = w
        self.shrinkage_ = lam
        self.weights_ = (1 - lam) * w + lam * equal
        return self

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "fitted_weights": _encode(self.fitted_weights_),
                "shrinkage": self.shrinkage_, "cv_loss": dict(self.cv_loss_)}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        super()._set_state(state)
        self.fitted_weights_ = _decode(state["fitted_weights"])
        self.shrinkage_ = float(state["shrinkage"])
        self.cv_loss_ = {str(k): float(v) for k, v in state["cv_loss"].items()}


def _choose_shrinkage(head: Any, y: np.ndarray, n_classes: int, fit: Any, loss: Any) -> tuple[float, dict]:
    """The shrinkage of ``head`` (its ``shrinkage``, ``grid``, ``cv``): fixed, or by inner CV.

    ``fit(train_rows) -> state`` fits the unshrunk and the equal models on some
    rows; ``loss(state, g, test_rows)`` is the held-out log-loss of shrinkage
    ``g``.  Returns ``(shrinkage, {str(g): mean held-out loss})``.  The choice
    follows the one-standard-error rule: the largest shrinkage whose mean loss
    is within one standard error (over the inner folds) of the smallest, so a
    departure from equal weights must beat the noise of the inner CV.
    """
    from sklearn.model_selection import StratifiedKFold

    name = type(head).__name__
    if not isinstance(head.shrinkage, str):
        lam = float(head.shrinkage)
        if not 0.0 <= lam <= 1.0:
            raise DataError(f"{name}: shrinkage must be in [0, 1], got {head.shrinkage!r}")
        return lam, {}
    if head.shrinkage != "cv":
        raise DataError(f"{name}: shrinkage must be 'cv' or a number in [0, 1], got {head.shrinkage!r}")
    grid = [float(g) for g in (SHRINKAGE_GRID if head.grid is None else head.grid)]
    if not grid or any(not 0.0 <= g <= 1.0 for g in grid):
        raise DataError(f"{name}: grid must hold shrinkages in [0, 1], got {head.grid!r}")
    folds = min(int(head.cv), int(np.bincount(y, minlength=n_classes).min()))
    if folds < 2:
        return 1.0, {}
    per_fold = []
    rows = np.arange(len(y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(rows, y):
        if len(np.unique(y[tr])) < n_classes:
            continue
        state = fit(tr)
        per_fold.append([loss(state, g, te) for g in grid])
    if not per_fold:
        return 1.0, {}
    L = np.asarray(per_fold)                                   # (folds, grid)
    mean = L.mean(axis=0)
    best = int(np.argmin(mean))
    se = L[:, best].std(ddof=1) / np.sqrt(len(L)) if len(L) > 1 else 0.0
    # one-standard-error rule: the most shrinkage whose loss is within one SE of the best
    lam = max(g for g, v in zip(grid, mean) if v <= mean[best] + se + 1e-12)
    return lam, {f"{g:g}": float(v) for g, v in zip(grid, mean)}


# --------------------------------------------------------------------------------------
# stacking
# --------------------------------------------------------------------------------------
def _softmax(scores: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return softmax(scores, axis=1)


class StackingHead(FusionHead):
    """Multinomial logistic regression on out-of-fold log-probabilities.

    Design matrix, per branch ``b`` in ``branch_names_`` order: the ``k``
    columns ``log(max(p_bc, 1e-6))``, then one 0/1 column ``b:missing``.  For a
    node the branch cannot see, its log-probability columns hold the branch's
    training mean (:attr:`fill_`) and ``b:missing`` is 1.  The columns are
    standardised for the L2 penalty, and the coefficients are mapped back, so
    the head is exactly

        ``decision_function(Z) = design_matrix(Z)[0] @ coef_.T + intercept_``,
        ``predict_proba(Z) = softmax(decision_function(Z))``.

    Modality-level SHAP values are therefore exact:
    ``phi[c, j] = coef_[c, j] * (x_j - design_mean_[j])`` summed over the columns
    ``j`` whose ``feature_branch`` is the branch.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 regularisation strength (on standardised columns).
    max_iter : int, default 1000
        Iterations of the lbfgs solver.

    Attributes
    ----------
    coef_ : numpy.ndarray, shape (n_classes, n_features)
        Coefficients on the raw (unstandardised) design matrix.
    intercept_ : numpy.ndarray, shape (n_classes,)
    feature_names_ : list of str
    feature_branch_ : list of str
        Branch of each design column.
    design_mean_ : numpy.ndarray, shape (n_features,)
        Column means of the training design matrix.
    fill_ : dict
        Training mean log-probabilities per branch (used for missing nodes).
    """

    kind = "stacking"

    def __init__(self, C: float = 1.0, max_iter: int = 1000):
        self.C = C
        self.max_iter = max_iter

    def _design(self, Z: Mapping[str, np.ndarray]) -> np.ndarray:
        blocks = []
        for b in self.branch_names_:
            P = Z[b]
            A = available_rows(P)
            L = np.log(np.clip(np.where(A[:, None], P, 1.0), PROBA_FLOOR, 1.0))
            L[~A] = self.fill_[b][None, :]
            blocks += [L, (~A).astype(np.float64)[:, None]]
        return np.hstack(blocks)

    def design_matrix(self, Z: Mapping[str, Any]) -> tuple[np.ndarray, list[str], list[str]]:
        """The head's input: ``(X, feature_names, feature_branch)``."""
        Z = self._predict_inputs(Z)
        return self._design(Z), list(self.feature_names_), list(self.feature_branch_)

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> StackingHead:
        """Fit the multinomial logistic regression on the design matrix of ``Z``."""
        Z, y = self._stack_fit_inputs(Z, y, classes)
        k = self.n_classes_
        absent = [self.classes_[c] for c in range(k) if not np.any(y == c)]
        if absent:
            raise DataError(f"StackingHead.fit: class(es) {absent} have no out-of-fold prediction; "
                            "expected every class in the training data")
        self.fill_ = {}
        names, branch_of = [], []
        for b in self.branch_names_:
            P = Z[b]
            A = available_rows(P)
            L = np.log(np.clip(P[A], PROBA_FLOOR, 1.0))
            self.fill_[b] = L.mean(axis=0) if A.any() else np.full(k, np.log(1.0 / k))
            names += [f"{b}:log_p[{c}]" for c in self.classes_] + [f"{b}:missing"]
            branch_of += [b] * (k + 1)
        self.feature_names_ = names
        self.feature_branch_ = branch_of
        X = self._design(Z)
        self.coef_, self.intercept_, self.design_mean_, self.n_iter_ = self._fit_free(X, y)
        return self

    def _fit_free(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """L2 multinomial logistic regression on the standardised design matrix.

        Returns the coefficients and intercepts on the raw design scale, the
        column means and the solver's iterations.
        """
        from sklearn.linear_model import LogisticRegression

        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter)
        lr.fit((X - mean) / std, y)
        coef_s, icpt_s = lr.coef_, lr.intercept_
        if coef_s.shape[0] == 1:  # binary: the symmetric softmax form of the sigmoid
            coef_s = np.vstack([-coef_s[0] / 2, coef_s[0] / 2])
            icpt_s = np.array([-icpt_s[0] / 2, icpt_s[0] / 2])
        # C order, like the arrays load gives back: BLAS may round differently for
        # another memory layout, and predictions must match bit for bit after loading.
        coef = np.ascontiguousarray(coef_s / std[None, :])
        return coef, np.ascontiguousarray(icpt_s - coef @ mean), mean, int(np.max(lr.n_iter_))

    def decision_function(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Class scores (logits) ``design_matrix(Z) @ coef_.T + intercept_``."""
        X = self.design_matrix(Z)[0]
        return X @ np.ascontiguousarray(self.coef_).T + self.intercept_[None, :]

    def predict_proba(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Softmax of :meth:`decision_function`."""
        return _softmax(self.decision_function(Z))

    def branch_coef_norm(self) -> dict[str, float]:
        """Frobenius norm of each branch's coefficients (its log-probability and missing columns).

        A quick measure of how much the head relies on each branch; 0 means ignored.
        """
        self._check_fitted()
        fb = np.asarray(self.feature_branch_)
        return {b: float(np.linalg.norm(self.coef_[:, fb == b])) for b in self.branch_names_}

    def _state(self) -> dict[str, Any]:
        return {"coef": _encode(self.coef_), "intercept": _encode(self.intercept_),
                "design_mean": _encode(self.design_mean_),
                "fill": {b: _encode(v) for b, v in self.fill_.items()},
                "feature_names": list(self.feature_names_),
                "feature_branch": list(self.feature_branch_)}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self.coef_ = _decode(state["coef"])
        self.intercept_ = _decode(state["intercept"])
        self.design_mean_ = _decode(state["design_mean"])
        self.fill_ = {b: _decode(v) for b, v in state["fill"].items()}
        self.feature_names_ = list(state["feature_names"])
        self.feature_branch_ = list(state["feature_branch"])


def _multinomial_nll(scores: np.ndarray, y: np.ndarray) -> float:
    from scipy.special import logsumexp

    return float(np.mean(logsumexp(scores, axis=1) - scores[np.arange(len(y)), y]))


class ShrunkStackingHead(StackingHead):
    """Stacking shrunk toward equal branch weights, the shrinkage chosen by inner CV.

    Two logistic models on the same design matrix as :class:`StackingHead`:

    - *free*: the stacking head (one coefficient per column, L2-penalised);
    - *equal*: one slope ``s`` shared by every branch (plus a class intercept),
      ``score_c = a_c + s * sum_b log p_bc``: every branch weighs the same, as
      in a (tempered) product of the branches' probabilities.

    The head is ``(1 - shrinkage) * free + shrinkage * equal``, coefficient by
    coefficient, so it is still linear in its design matrix (exact modality
    SHAP values, same persistence as the stacking head).  ``shrinkage="cv"``
    picks it from ``grid`` by stratified K-fold over the head's training rows
    (mean held-out log-loss; the out-of-fold predictions of the training
    patients only, never the evaluation patients), by the one-standard-error
    rule: the largest shrinkage within one standard error of the best.  A
    float fixes it.

    Why: the head learns from out-of-fold branch predictions, made by models
    trained on fewer patients than the refit branches it is applied to; a free
    stacker then under-weights the branch that gains most from more data (on
    small cohorts, the image branch), and with few head rows it is noisy.
    Equal weights are the robust prior; the data must earn any departure.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 strength of the free model (as :class:`StackingHead`).
    max_iter : int, default 1000
    shrinkage : "cv" or float in [0, 1], default "cv"
    grid : sequence of float, optional
        Candidate shrinkages for ``"cv"``; default :data:`SHRINKAGE_GRID`.
    cv : int, default 5
        Folds of the inner CV (fewer when a class has fewer rows; with fewer
        than two rows per class the shrinkage is 1).

    Attributes
    ----------
    shrinkage_ : float
        The shrinkage used.
    cv_loss_ : dict of str to float
        Mean held-out log-loss per candidate (``"cv"`` only).
    equal_slope_ : float
        ``s`` of the equal-weights model fitted on all rows.
    """

    kind = "shrunk"

    def __init__(self, C: float = 1.0, max_iter: int = 1000, shrinkage: Any = "cv",
                 grid: Sequence[float] | None = None, cv: int = 5):
        super().__init__(C=C, max_iter=max_iter)
        self.shrinkage = shrinkage
        self.grid = grid
        self.cv = cv

    def _equal_columns(self) -> np.ndarray:
        """(n_classes, n_features) 0/1: column j holds log p of class c for some branch."""
        k = self.n_classes_
        E = np.zeros((k, len(self.feature_names_)))
        for j0 in range(0, len(self.feature_names_), k + 1):   # per branch: k log-p columns + missing
            E[np.arange(k), j0 + np.arange(k)] = 1.0
        return E

    def _fit_equal(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Slope ``s`` and intercepts ``a`` of the equal-weights model (maximum likelihood)."""
        from scipy.optimize import minimize

        E = self._equal_columns()
        U = X @ E.T                                        # (n, k): sum over branches of log p_c
        k = self.n_classes_

        def loss(theta: np.ndarray) -> float:
            a = np.concatenate([[0.0], theta[1:]])
            return _multinomial_nll(theta[0] * U + a[None, :], y)

        res = minimize(loss, np.concatenate([[1.0], np.zeros(k - 1)]), method="L-BFGS-B",
                       bounds=[(0.0, None)] + [(None, None)] * (k - 1))
        s = float(res.x[0])
        a = np.concatenate([[0.0], res.x[1:]])
        return s * E, a - a.mean(), s

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> ShrunkStackingHead:
        """Fit the free and the equal-weights models and mix them (see the class docstring)."""
        super().fit(Z, y, classes)                           # checks, design columns, free model
        y = _check_y(y, len(next(iter(Z.values()))), self.n_classes_)
        X = self._design({b: np.asarray(Z[b], dtype=np.float64) for b in self.branch_names_})

        def fit_both(tr: np.ndarray):
            return self._fit_free(X[tr], y[tr])[:2], self._fit_equal(X[tr], y[tr])[:2]

        def loss(state, g: float, te: np.ndarray) -> float:
            (cf, bf), (ce, be) = state
            scores = X[te] @ ((1 - g) * cf + g * ce).T + ((1 - g) * bf + g * be)[None, :]
            return _multinomial_nll(scores, y[te])

        lam, self.cv_loss_ = _choose_shrinkage(self, y, self.n_classes_, fit_both, loss)
        ce, be, s = self._fit_equal(X, y)
        self.coef_ = np.ascontiguousarray((1 - lam) * self.coef_ + lam * ce)
        self.intercept_ = np.ascontiguousarray((1 - lam) * self.intercept_ + lam * be)
        self.shrinkage_ = float(lam)
        self.equal_slope_ = float(s)
        return self

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "shrinkage": self.shrinkage_, "equal_slope": self.equal_slope_,
                "cv_loss": dict(self.cv_loss_)}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        super()._set_state(state)
        self.shrinkage_ = float(state["shrinkage"])
        self.equal_slope_ = float(state["equal_slope"])
        self.cv_loss_ = {str(k): float(v) for k, v in state["cv_loss"].items()}


# --------------------------------------------------------------------------------------
# intermediate fusion
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _one_torch_thread():
    """Run a tiny network on one thread (faster than a shared pool, and the same
    arithmetic on every machine); the previous setting is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MLPHead(FusionHead):
    """Intermediate fusion: a small MLP on the concatenated branch embeddings.

    Input per branch: its ``transform`` embedding (or its log-probabilities for a
    branch without ``transform``), standardised with the training mean/std of
    the nodes it sees; a node the branch cannot see gets zeros (= the mean) and
    a 0/1 ``missing`` column per branch.  Network: Linear -> ReLU -> Dropout ->
    Linear, trained full-batch with Adam and cross-entropy for a fixed number of
    epochs, on one CPU thread.  Randomness is local (``torch.random.fork_rng``):
    fitting never changes torch's global random state.

    Parameters
    ----------
    hidden : int, default 64
    epochs : int, default 300
    lr : float, default 1e-3
    weight_decay : float, default 1e-3
    dropout : float, default 0.2
    random_state : int, default 0
    """

    kind = "mlp"
    input_kind = "embedding"

    def __init__(self, hidden: int = 64, epochs: int = 300, lr: float = 1e-3,
                 weight_decay: float = 1e-3, dropout: float = 0.2, random_state: int = 0):
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.random_state = random_state

    def _design(self, Z: Mapping[str, np.ndarray]) -> np.ndarray:
        blocks = []
        for b in self.branch_names_:
            E = Z[b]
            A = available_rows(E)
            X = np.where(A[:, None], (np.where(A[:, None], E, 0.0) - self.center_[b]) / self.scale_[b], 0.0)
            blocks += [X, (~A).astype(np.float64)[:, None]]
        return np.hstack(blocks).astype(np.float32)

    def _network(self, n_in: int):
        import torch

        return torch.nn.Sequential(
            torch.nn.Linear(n_in, self.hidden), torch.nn.ReLU(), torch.nn.Dropout(self.dropout),
            torch.nn.Linear(self.hidden, self.n_classes_))

    def fit(self, Z: Mapping[str, Any], y: Any, classes: Sequence | None = None) -> MLPHead:
        """Standardise, then train the MLP (``classes`` is required)."""
        import torch

        Z, y = self._stack_fit_inputs(Z, y, classes)
        self.center_, self.scale_ = {}, {}
        for b in self.branch_names_:
            E = Z[b]
            A = available_rows(E)
            rows = E[A] if A.any() else np.zeros((1, E.shape[1]))
            sd = rows.std(axis=0)
            self.center_[b] = rows.mean(axis=0)
            self.scale_[b] = np.where(sd > 1e-12, sd, 1.0)
        X = torch.from_numpy(self._design(Z))
        t = torch.from_numpy(y)
        with torch.random.fork_rng(devices=[]), _one_torch_thread():
            torch.manual_seed(int(self.random_state))
            net = self._network(X.shape[1])
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            loss_fn = torch.nn.CrossEntropyLoss()
            net.train()
            for _ in range(int(self.epochs)):
                opt.zero_grad()
                loss = loss_fn(net(X), t)
                loss.backward()
                opt.step()
        net.eval()
        self.network_ = net
        self.loss_ = float(loss.detach()) if self.epochs else float("nan")
        return self

    def predict_proba(self, Z: Mapping[str, Any]) -> np.ndarray:
        """Softmax of the network's output (computed in float64)."""
        import torch

        Z = self._predict_inputs(Z)
        with torch.no_grad(), _one_torch_thread():
            logits = self.network_(torch.from_numpy(self._design(Z))).numpy().astype(np.float64)
        return _softmax(logits)

    def _state(self) -> dict[str, Any]:
        return {"center": {b: _encode(v) for b, v in self.center_.items()},
                "scale": {b: _encode(v) for b, v in self.scale_.items()},
                "network": {k: _encode(v.detach().numpy()) for k, v in self.network_.state_dict().items()},
                "loss": self.loss_}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        import torch

        self.center_ = {b: _decode(v) for b, v in state["center"].items()}
        self.scale_ = {b: _decode(v) for b, v in state["scale"].items()}
        n_in = sum(self.input_dims_[b] + 1 for b in self.branch_names_)
        net = self._network(n_in)
        net.load_state_dict({k: torch.from_numpy(_decode(v).copy()) for k, v in state["network"].items()})
        net.eval()
        self.network_ = net
        self.loss_ = float(state.get("loss", float("nan")))


# --------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------
#: Head name -> class, for ``LateFusionClassifier(head=...)`` and persistence.
HEADS: dict[str, type[FusionHead]] = {
    "mean": MeanHead,
    "weighted": WeightedMeanHead,
    "stacking": StackingHead,
    "shrunk": ShrunkStackingHead,
    "shrunk_weighted": ShrunkWeightedMeanHead,
    "mlp": MLPHead,
}


def make_head(head: str | FusionHead, random_state: int | None = None) -> FusionHead:
    """An unfitted head from its name (``"stacking"``, ...) or a clone of a head instance."""
    from sklearn.base import clone

    if isinstance(head, FusionHead):
        return clone(head)
    if isinstance(head, str) and head in HEADS:
        out = HEADS[head]()
        if random_state is not None and "random_state" in out.get_params():
            out.set_params(random_state=random_state)
        return out
    raise DataError(f"head={head!r}: expected one of {sorted(HEADS)} or a FusionHead instance")


def head_from_dict(data: Mapping[str, Any]) -> FusionHead:
    """Rebuild any head from :meth:`FusionHead.to_dict` output."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind not in HEADS:
        raise PersistenceError(f"unknown fusion head type {kind!r}; expected one of {sorted(HEADS)}")
    return HEADS[kind].from_dict(data)
