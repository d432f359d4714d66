"""SHAP values of the clinical (XGBoost) branch, in one fixed shape.

:func:`tabular_shap` runs TreeSHAP on an XGBoost model and always returns
values of shape ``(n_samples, n_features, n_classes)`` with base values of
shape ``(n_classes,)``, whatever the installed shap version returns (a list of
per-class arrays before shap 0.45, a 3-D array since, a 2-D array for binary
models).  The explained output is XGBoost's raw margin (log-odds scale) for
each class: ``base_values[c] + values[i, :, c].sum() == margin[i, c]``; the
softmax of the margins is XGBoost's predicted probability.

The result is a :class:`~lnfusion.explain.explanation.ShapExplanation`
(features = descriptors, outputs = classes); for shap's own plots,
``result.to_shap(class_)`` returns one :class:`shap.Explanation` per class
(``shap.plots.beeswarm``, ``bar``, ``waterfall`` accept it as they are).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, NotAvailableError, NotFittedError
from lnfusion.explain.explanation import ShapExplanation, ShapShapeError

if TYPE_CHECKING:  # pragma: no cover
    import xgboost

__all__ = ["tabular_shap", "normalize_shap_output", "ShapShapeError"]

_BACKENDS = ("shap", "xgboost")


def _resolve_model(model: Any, data: Any) -> tuple[xgboost.Booster, pd.DataFrame | np.ndarray,
                                                    tuple[str, ...] | None, pd.DataFrame | None]:
    """Booster, feature frame, class names and display table from a TabularClassifier / XGBoost model."""
    import xgboost

    classes = getattr(model, "classes_", None)
    display = None
    if isinstance(model, xgboost.Booster):
        booster = model
    elif isinstance(model, xgboost.XGBModel):
        try:
            booster = model.get_booster()
        except Exception as exc:  # xgboost raises its own NotFittedError type
            raise NotFittedError.for_estimator(model) from exc
    elif hasattr(model, "feature_frame") and hasattr(model, "get_params"):  # TabularClassifier
        booster = model.booster_  # raises NotFittedError / NotAvailableError (not XGBoost)
        present = getattr(model, "classes_present_", None)
        if classes is not None and present is not None:
            classes = np.asarray(classes, dtype=object)[np.asarray(present, dtype=int)]
        table = getattr(data, "descriptors", data)
        if isinstance(table, pd.DataFrame):
            display = table.loc[:, list(model.feature_names_in_)].reset_index(drop=True)
        data = model.feature_frame(data)  # a Cohort or a descriptor table -> model input
    else:
        raise NotAvailableError(
            f"tabular_shap: expected a TabularClassifier, xgboost.Booster or XGBoost sklearn "
            f"model, got {type(model).__name__}")
    if not isinstance(data, (pd.DataFrame, np.ndarray)):
        raise DataError(
            f"tabular_shap: data must be a DataFrame or array of features (or a Cohort with a "
            f"TabularClassifier), got {type(data).__name__}")
    names = tuple(str(c) for c in classes) if classes is not None else None
    return booster, data, names, display


def _as_frame(data: pd.DataFrame | np.ndarray, booster: xgboost.Booster) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2:
        raise DataError(f"tabular_shap: expected a 2-D feature array, got shape {arr.shape}")
    names = booster.feature_names or [f"f{j}" for j in range(arr.shape[1])]
    if len(names) != arr.shape[1]:
        raise DataError(f"tabular_shap: the model has {len(names)} features, data has {arr.shape[1]}")
    return pd.DataFrame(arr, columns=list(names))


def normalize_shap_output(values: Any, base_values: Any, n_samples: int,
                          n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Map any TreeExplainer output layout to ``(n, f, k)`` values and ``(k,)`` base values.

    Accepted layouts: a list of ``k`` arrays ``(n, f)`` (shap < 0.45), an array
    ``(n, f, k)`` (shap >= 0.45), an array ``(n, f)`` (single-output model).
    A single output (binary XGBoost: log-odds of the second class) becomes two
    classes, ``[-phi, phi]``, so class 0's margin is the log-odds of class 0.
    """
    if isinstance(values, (list, tuple)):
        arrays = [np.asarray(v, dtype=float) for v in values]
        if not arrays or any(a.shape != (n_samples, n_features) for a in arrays):
            raise ShapShapeError(
                f"SHAP values: expected a list of ({n_samples}, {n_features}) arrays, got shapes "
                f"{[a.shape for a in arrays]}")
        vals = np.stack(arrays, axis=-1)
    else:
        vals = np.asarray(values, dtype=float)
        if vals.shape == (n_samples, n_features):
            vals = vals[:, :, None]
        elif vals.ndim != 3 or vals.shape[:2] != (n_samples, n_features):
            raise ShapShapeError(
                f"SHAP values: expected shape ({n_samples}, {n_features}[, n_classes]), "
                f"got {vals.shape}")
    base = np.atleast_1d(np.asarray(base_values, dtype=float)).reshape(-1)
    if base.shape[0] == vals.shape[0] * vals.shape[2] and base.shape[0] != vals.shape[2]:
        base = base.reshape(vals.shape[0], vals.shape[2])[0]  # per-sample base values
    if base.shape != (vals.shape[2],):
        raise ShapShapeError(
            f"SHAP base values: expected {vals.shape[2]} value(s), got shape {np.shape(base_values)}")
    if vals.shape[2] == 1:
        vals = np.concatenate([-vals, vals], axis=2)
        base = np.array([-base[0], base[0]])
    return vals, base


def tabular_shap(model: Any, data: Any, *, class_names: Sequence[str] | None = None,
                 backend: str = "shap") -> ShapExplanation:
    """TreeSHAP values of an XGBoost model for every class, in one fixed shape.

    Parameters
    ----------
    model : TabularClassifier, xgboost.Booster or xgboost.XGBModel
        A fitted model.  For a :class:`~lnfusion.models.TabularClassifier` the
        features are built with its ``feature_frame`` (categorical dtypes).
    data : Cohort, DataFrame or ndarray
        The samples to explain.  With a TabularClassifier: a Cohort or a
        descriptor DataFrame (``feature_frame`` encodes it).  With an XGBoost
        model: the feature table exactly as the model takes it.
    class_names : sequence of str, optional
        Class names; default the model's ``classes_`` or ``"0", "1", ...``.
    backend : {"shap", "xgboost"}
        ``"shap"`` uses :class:`shap.TreeExplainer` (path-dependent TreeSHAP);
        ``"xgboost"`` calls XGBoost's own ``pred_contribs=True``.  Both run the
        same algorithm and agree to floating-point precision.

    Returns
    -------
    ShapExplanation
        ``values`` of shape ``(n_samples, n_features, n_classes)``, ``base_values``
        of shape ``(n_classes,)``; the explained output is the raw margin
        (``output="margin"``, ``method="treeshap"``); ``data`` is the model's
        feature table, ``display_data`` the descriptors as read.
        A TabularClassifier trained without some class explains only the
        classes it saw (``classes_[classes_present_]``).  With two classes and a
        Cohort, ``positive_output`` is the cohort's positive class.

    Raises
    ------
    NotAvailableError
        The model is not an XGBoost model.
    NotFittedError
        The model is not fitted.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"tabular_shap: backend must be one of {_BACKENDS}, got {backend!r}")
    import xgboost

    booster, features, model_classes, display = _resolve_model(model, data)
    frame = _as_frame(features, booster)
    dmatrix = xgboost.DMatrix(frame, enable_categorical=True)
    n, f = frame.shape
    if backend == "shap":
        import shap

        explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
        raw = explainer.shap_values(dmatrix)
        values, base = normalize_shap_output(raw, explainer.expected_value, n, f)
    else:
        contribs = booster.predict(dmatrix, pred_contribs=True, strict_shape=True)  # (n, k, f+1)
        if contribs.ndim != 3 or contribs.shape[0] != n or contribs.shape[2] != f + 1:
            raise ShapShapeError(f"XGBoost pred_contribs: unexpected shape {contribs.shape}")
        values, base = normalize_shap_output(np.transpose(contribs[:, :, :f], (0, 2, 1)),
                                             contribs[0, :, f], n, f)
    k = values.shape[2]
    names = tuple(class_names) if class_names is not None else model_classes
    if names is None:
        names = tuple(str(i) for i in range(k))
    if len(names) != k:
        raise DataError(f"tabular_shap: the model explains {k} classes, got {len(names)} class names")
    if display is not None:
        display.index = frame.index
    names = tuple(str(c) for c in names)
    positive = getattr(data, "positive_class", None)  # a Cohort's (two classes)
    return ShapExplanation(values=values, base_values=base, feature_names=tuple(frame.columns),
                           output_names=names, data=frame,
                           display_data=display, output="margin", method="treeshap",
                           axes=("sample", "feature", "class"),
                           positive_output=positive if k == 2 and positive in names else None)
