"""SHAP values of the clinical (XGBoost) branch, in one fixed shape.

:func:`tabular_shap` runs TreeSHAP on an XGBoost model and always returns
values of shape ``(n_samples, n_features, n_classes)`` with base values of
shape ``(n_classes,)``, whatever the installed shap version returns (a list of
per-class arrays before shap 0.45, a 3-D array since, a 2-D array for binary
models).  The explained output is XGBoost's raw margin (log-odds scale) for
each class: ``base_values[c] + values[i, :, c].sum() == margin[i, c]``; the
softmax of the margins is XGBoost's predicted probability.

For shap's own plots, :meth:`TabularShap.explanation` returns one
:class:`shap.Explanation` per class (``shap.plots.beeswarm``, ``bar``,
``waterfall`` accept it as they are).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, LnfusionError, NotAvailableError, NotFittedError

if TYPE_CHECKING:  # pragma: no cover
    import shap
    import xgboost

__all__ = ["TabularShap", "tabular_shap", "normalize_shap_output", "ShapShapeError"]

_BACKENDS = ("shap", "xgboost")


class ShapShapeError(LnfusionError, ValueError):
    """SHAP values came back in a shape that cannot be mapped to (samples, features, classes)."""


@dataclass(frozen=True, eq=False)
class TabularShap:
    """TreeSHAP values of a tabular model for every class.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_features, n_classes)
        SHAP value of each feature for each sample and class (raw-margin scale).
    base_values : ndarray of shape (n_classes,)
        Expected margin per class (the same for every sample).
    data : DataFrame of shape (n_samples, n_features)
        The features exactly as fed to the model; its index names the samples.
    class_names : tuple of str
        Class name per last axis position.
    output : str
        What is explained: ``"margin"`` (XGBoost raw margin, log-odds scale).
    display_data : DataFrame or None
        The features as a reader knows them (e.g. ordinal descriptors as their
        levels rather than the level index the model sees); default ``data``.
    """

    values: np.ndarray
    base_values: np.ndarray
    data: pd.DataFrame
    class_names: tuple[str, ...]
    output: str = "margin"
    display_data: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        n, f, k = self.values.shape
        if (self.base_values.shape != (k,) or self.data.shape != (n, f) or len(self.class_names) != k
                or (self.display_data is not None and self.display_data.shape != (n, f))):
            raise ShapShapeError(
                f"TabularShap: inconsistent shapes: values {self.values.shape}, base_values "
                f"{self.base_values.shape}, data {self.data.shape}, {len(self.class_names)} class names"
                + ("" if self.display_data is None else f", display_data {self.display_data.shape}"))

    @property
    def _display(self) -> pd.DataFrame:
        return self.data if self.display_data is None else self.display_data

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature (column) names, aligned with ``values``' second axis."""
        return tuple(str(c) for c in self.data.columns)

    def output_values(self) -> np.ndarray:
        """Base value plus the sum of SHAP values: the explained margin, shape (n_samples, n_classes)."""
        return self.base_values[None, :] + self.values.sum(axis=1)

    def class_index(self, class_: int | str) -> int:
        """Position of ``class_`` (a name or an index) on the class axis."""
        if isinstance(class_, (int, np.integer)) and not isinstance(class_, bool):
            if not 0 <= int(class_) < len(self.class_names):
                raise DataError(f"class index {class_} out of range 0..{len(self.class_names) - 1}")
            return int(class_)
        try:
            return self.class_names.index(str(class_))
        except ValueError:
            raise DataError(
                f"unknown class {class_!r}; expected one of {list(self.class_names)}") from None

    def explanation(self, class_: int | str) -> shap.Explanation:
        """One class's values as a :class:`shap.Explanation` for shap's plots.

        Categorical features are given as their category codes in ``data``
        (NaN when missing, so colour scales work) and as their labels in
        ``display_data`` (ordinal descriptors as their levels).
        """
        import shap

        c = self.class_index(class_)
        numeric = _numeric_view(self.data)
        display = self._display.astype(object).to_numpy()
        return shap.Explanation(
            values=self.values[:, :, c].copy(),
            base_values=np.full(len(self.data), self.base_values[c]),
            data=numeric,
            display_data=display,
            feature_names=list(self.feature_names),
            instance_names=[str(i) for i in self.data.index],
            output_names=self.class_names[c],
        )

    def explanations(self) -> dict[str, shap.Explanation]:
        """:meth:`explanation` for every class, keyed by class name."""
        return {name: self.explanation(i) for i, name in enumerate(self.class_names)}

    def mean_abs(self) -> pd.DataFrame:
        """Global importance: mean ``|SHAP|`` per feature (rows) and class (columns).

        A column ``"all"`` holds the sum over classes; rows are sorted by it,
        most important first.
        """
        table = pd.DataFrame(np.abs(self.values).mean(axis=0), index=list(self.feature_names),
                             columns=list(self.class_names))
        table["all"] = table.sum(axis=1)
        table.index.name = "feature"
        return table.sort_values("all", ascending=False, kind="stable")

    def sample(self, i: int, class_: int | str) -> pd.DataFrame:
        """One sample's contributions to one class, largest ``|SHAP|`` first.

        Returns a DataFrame with columns ``feature``, ``value`` (the feature's
        value for that sample, as in ``display_data``) and ``shap``.
        """
        c = self.class_index(class_)
        row = self._display.iloc[i]
        out = pd.DataFrame({"feature": list(self.feature_names),
                            "value": [row.iloc[j] for j in range(len(row))],
                            "shap": self.values[i, :, c]})
        order = np.argsort(-np.abs(out["shap"].to_numpy()), kind="stable")
        return out.iloc[order].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (sample, feature, class) with columns
        ``sample``, ``feature``, ``class``, ``shap``."""
        n, f, k = self.values.shape
        return pd.DataFrame({
            "sample": np.repeat(np.asarray(self.data.index, dtype=object), f * k),
            "feature": np.tile(np.repeat(np.asarray(self.feature_names, dtype=object), k), n),
            "class": np.tile(np.asarray(self.class_names, dtype=object), n * f),
            "shap": self.values.reshape(-1),
        })

    def subset(self, rows: Sequence[int] | np.ndarray) -> TabularShap:
        """The explanation restricted to the samples at integer positions ``rows``."""
        rows = np.asarray(rows, dtype=int)
        return TabularShap(self.values[rows], self.base_values, self.data.iloc[rows],
                           self.class_names, self.output,
                           None if self.display_data is None else self.display_data.iloc[rows])


def _numeric_view(frame: pd.DataFrame) -> np.ndarray:
    """The features as floats: category codes for categorical columns (NaN when missing)."""
    numeric = np.empty(frame.shape, dtype=float)
    for j, col in enumerate(frame.columns):
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            numeric[:, j] = codes
        else:
            numeric[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return numeric


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
                 backend: str = "shap") -> TabularShap:
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
    TabularShap
        ``values`` of shape ``(n_samples, n_features, n_classes)``, ``base_values``
        of shape ``(n_classes,)``; the explained output is the raw margin.
        A TabularClassifier trained without some class explains only the
        classes it saw (``classes_[classes_present_]``).

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
    return TabularShap(values=values, base_values=base, data=frame,
                       class_names=tuple(str(c) for c in names), display_data=display)
