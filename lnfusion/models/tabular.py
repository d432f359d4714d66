"""The tabular (clinical / sonographic descriptor) branch: :class:`TabularClassifier`.

It learns from ``cohort.descriptors`` (one row per node) and follows the
scikit-learn estimator contract used by every lnfusion branch.

Two built-in estimators:

``"xgboost"`` (default)
    Gradient-boosted trees (``tree_method="hist"``) with XGBoost's native
    categorical support (``enable_categorical=True``) and native NaN handling.
    Unordered categorical descriptors enter as pandas ``Categorical`` columns
    whose categories are the declared levels; ordinal descriptors enter as their
    level index (0, 1, ...; a float so a tree can split on the order);
    continuous descriptors as floats.  Missing values stay NaN.
``"logistic"``
    The classical baseline: one-hot encoding of categorical descriptors
    (a missing value is an all-zero row), median imputation of ordinal indices
    and continuous values, standardisation, then a multinomial
    :class:`~sklearn.linear_model.LogisticRegression`.

Any other scikit-learn classifier instance is accepted and receives the same
encoded matrix as the logistic baseline.

Persistence never uses pickle: XGBoost's own JSON model format, logistic
coefficients in safetensors, everything else in JSON.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from lnfusion._version import __version__
from lnfusion.data.cohort import OUTCOME_DERIVED_ATTR
from lnfusion.data.labels import resolve_target
from lnfusion.data.schema import check_model_inputs
from lnfusion.exceptions import (
    CategoryLevelError,
    DataError,
    FormatVersionError,
    IntegrityError,
    NotAvailableError,
    ParameterError,
    PersistenceError,
    check_fitted,
)
from lnfusion.io import atomic_dir, atomic_write_bytes, atomic_write_text, recover_output
from lnfusion.models.hardware import check_threads, resolve_threads

__all__ = ["TabularClassifier", "XGB_DEFAULTS", "TABULAR_FORMAT_VERSION"]

#: Version of the folder written by :meth:`TabularClassifier.save`.
TABULAR_FORMAT_VERSION = 1

#: XGBoost settings used unless ``xgb_params`` overrides them.  Small trees and a
#: slow learning rate suit cohorts of a few hundred patients.
XGB_DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "reg_lambda": 1.0,
    "tree_method": "hist",
    "enable_categorical": True,
    "max_cat_to_onehot": 1,
}

_CONFIG_FILE = "tabular.json"
_XGB_FILE = "xgboost_model.json"
_LOGISTIC_FILE = "logistic.safetensors"
_KINDS = ("categorical", "ordinal", "continuous")


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def _descriptor_table(X: Any) -> pd.DataFrame:
    """The descriptor DataFrame of a Cohort (``X.descriptors``) or ``X`` itself."""
    if isinstance(X, pd.DataFrame):
        return X
    table = getattr(X, "descriptors", None)
    if isinstance(table, pd.DataFrame):
        return table
    raise DataError(f"expected a Cohort (with a .descriptors DataFrame) or a pandas DataFrame, "
                    f"got {type(X).__name__}")


def _outcome_derived(X: Any, table: pd.DataFrame) -> list[str]:
    """Columns declared outcome-derived by a Cohort's schema or by a frame's ``attrs``."""
    schema = getattr(X, "schema", None)
    names = list(getattr(schema, "outcome_derived", ()) or ())
    names += [c for c in table.attrs.get(OUTCOME_DERIVED_ATTR, ()) or () if c not in names]
    return names


def _column_spec(name: str, col: pd.Series) -> tuple[str, list | None]:
    """Kind and levels of one descriptor column, read from its dtype."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        levels = [v.item() if hasattr(v, "item") else v for v in col.cat.categories]
        return ("ordinal" if col.cat.ordered else "categorical"), levels
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return "continuous", None
    values = col.dropna()
    levels = sorted({str(v) for v in values})
    if not levels:
        raise DataError(f"descriptor column {name!r} is empty and not numeric; "
                        "expected numbers or categorical levels")
    return "categorical", levels


def _as_levels(name: str, col: pd.Series, levels: list, kind: str) -> pd.Categorical:
    """``col`` as a Categorical over ``levels``; an undeclared value raises ``CategoryLevelError``."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        if list(col.cat.categories) == list(levels):  # a Cohort's declared levels: fast path
            return pd.Categorical.from_codes(col.cat.codes.to_numpy(), categories=levels,
                                             ordered=(kind == "ordinal"))
        values = col.astype(object)
    else:
        values = col
    keys = {str(v): v for v in levels}
    mapped = []
    for i, v in enumerate(values):
        if pd.isna(v):
            mapped.append(np.nan)
        elif str(v) in keys:
            mapped.append(keys[str(v)])
        else:
            raise CategoryLevelError(
                f"descriptor {name!r}, row {i}: value {v!r} is not a level seen at fit; "
                f"expected one of {levels}", row=i, column=name)
    return pd.Categorical(mapped, categories=levels, ordered=(kind == "ordinal"))


# --------------------------------------------------------------------------------------
# the encoded matrix of the logistic baseline and of any sklearn classifier
# --------------------------------------------------------------------------------------
def _encode_raw(frame: pd.DataFrame, kinds: Mapping[str, str],
                levels: Mapping[str, list | None]) -> tuple[np.ndarray, list[str]]:
    """One-hot categorical columns; ordinal/continuous as floats (NaN kept)."""
    blocks, names = [], []
    for col in frame.columns:
        kind = kinds[col]
        if kind == "categorical":
            codes = frame[col].cat.codes.to_numpy()
            onehot = np.zeros((len(frame), len(levels[col])), dtype=np.float64)
            ok = codes >= 0
            onehot[np.flatnonzero(ok), codes[ok]] = 1.0
            blocks.append(onehot)
            names += [f"{col}={lvl}" for lvl in levels[col]]
        else:
            blocks.append(frame[col].to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            names.append(col)
    if not blocks:
        return np.zeros((len(frame), 0)), names
    return np.hstack(blocks), names


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------
class TabularClassifier(ClassifierMixin, BaseEstimator):
    """Classifier on the clinical / sonographic descriptors of each node.

    Parameters
    ----------
    estimator : {"xgboost", "logistic"} or scikit-learn classifier, default "xgboost"
        ``"xgboost"``: gradient-boosted trees with native categorical and NaN
        support.  ``"logistic"``: one-hot + median imputation + standardisation +
        multinomial logistic regression.  A classifier instance is cloned and fed
        the same encoded matrix as ``"logistic"`` (it cannot be saved unless it is
        a ``LogisticRegression``: lnfusion never pickles).
    descriptors : sequence of str, optional
        Descriptor columns to use; default all of ``cohort.descriptors``.
        Naming a column the cohort's schema declares outcome-derived
        (``CohortSchema.outcome_derived``, also carried by
        ``cohort.table.attrs["outcome_derived"]``) raises
        :class:`~lnfusion.exceptions.OutcomeDerivedError` at :meth:`fit`.
    xgb_params : dict, optional
        Overrides of :data:`XGB_DEFAULTS` for ``"xgboost"``.
    random_state : int, default 0
        Seed of the estimator.
    n_threads : int or None, default None
        CPU threads of XGBoost (its ``n_jobs``; an ``n_jobs`` or ``nthread``
        in ``xgb_params`` wins).  None: the cores available to the process
        (its CPU affinity, capped by ``OMP_NUM_THREADS``); a
        :class:`~lnfusion.fusion.LateFusionClassifier` fitting branches in
        parallel gives each its share of the cores.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Class names in column order of :meth:`predict_proba`.
    feature_names_in_ : numpy.ndarray of str
        Descriptor columns used, in order.
    feature_kinds_ : dict
        ``categorical`` / ``ordinal`` / ``continuous`` per column.
    feature_levels_ : dict
        Levels per categorical/ordinal column (``None`` for continuous).
    encoded_feature_names_ : list of str
        Column names of :meth:`transform` (one-hot expanded).
    model_ : fitted estimator
        ``xgboost.XGBClassifier`` or the scikit-learn classifier.
    booster_ : xgboost.Booster
        The trained booster (``estimator="xgboost"`` only).

    Examples
    --------
    >>> clf = TabularClassifier().fit(cohort)                 # doctest: +SKIP
    >>> clf.predict_proba(test_cohort)                        # doctest: +SKIP
    >>> import xgboost, shap                                  # doctest: +SKIP
    >>> X = clf.feature_frame(test_cohort)                    # doctest: +SKIP
    >>> clf.booster_.predict(xgboost.DMatrix(X, enable_categorical=True), pred_contribs=True)
    """

    def __init__(self, estimator: Any = "xgboost", descriptors: Sequence[str] | None = None,
                 xgb_params: Mapping[str, Any] | None = None, random_state: int | None = 0,
                 n_threads: int | None = None):
        self.estimator = estimator
        self.descriptors = descriptors
        self.xgb_params = xgb_params
        self.random_state = random_state
        self.n_threads = n_threads

    # -- helpers ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_fitted(self, "model_")

    def _kind(self) -> str:
        est = self.estimator
        if isinstance(est, str):
            if est not in ("xgboost", "logistic"):
                raise ParameterError("estimator", est, "'xgboost', 'logistic' or a scikit-learn "
                                     "classifier instance", type(self).__name__)
            return est
        if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
            raise ParameterError("estimator", est, "'xgboost', 'logistic' or a classifier with "
                                 "fit/predict_proba", type(self).__name__)
        return "sklearn"

    def _validate_params(self) -> None:
        """Check every parameter's type; :class:`ParameterError` names the first bad one."""
        owner = type(self).__name__
        self._kind()
        desc = self.descriptors
        if desc is not None and (isinstance(desc, str) or not isinstance(desc, Sequence)
                                 or not all(isinstance(d, str) and d for d in desc)):
            raise ParameterError("descriptors", desc, "None or a list of descriptor column names",
                                 owner)
        if self.xgb_params is not None and (not isinstance(self.xgb_params, Mapping)
                                            or not all(isinstance(k, str) for k in self.xgb_params)):
            raise ParameterError("xgb_params", self.xgb_params, "None or a dict of XGBoost settings",
                                 owner)
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))):
            raise ParameterError("random_state", rs, "None or an integer", owner)
        check_threads(self.n_threads, owner)

    def _select(self, table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise DataError(f"descriptor column(s) {missing} not found; available: {list(table.columns)}")
        return table.loc[:, list(columns)]

    def _frame(self, table: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.feature_names_in_:
            kind = self.feature_kinds_[col]
            series = table[col]
            if kind == "continuous":
                try:
                    out[col] = pd.to_numeric(series, errors="raise").astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"descriptor {col!r}: expected numbers, got {series.dtype}") from exc
            else:
                cat = _as_levels(col, series, self.feature_levels_[col], kind)
                if kind == "ordinal":
                    codes = cat.codes.astype(np.float64)
                    codes[codes < 0] = np.nan
                    out[col] = codes
                else:
                    out[col] = cat
        return pd.DataFrame(out, index=pd.RangeIndex(len(table)))

    def _encoded(self, frame: pd.DataFrame) -> np.ndarray:
        raw, _ = _encode_raw(frame, self.feature_kinds_, self.feature_levels_)
        raw = np.where(np.isnan(raw), self.impute_[None, :], raw)
        return (raw - self.center_[None, :]) / self.scale_[None, :]

    # -- public API ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> TabularClassifier:
        """Learn from the descriptors of a Cohort (or a DataFrame with ``y``).

        Parameters
        ----------
        X : Cohort or pandas.DataFrame
            A Cohort (its ``descriptors`` are used) or a descriptor DataFrame.
        y : array-like, optional
            Class indices or names; defaults to ``cohort.y``.

        Returns
        -------
        self
        """
        self._validate_params()
        kind = self._kind()
        table = _descriptor_table(X)
        y_idx, classes = resolve_target(X, y)
        columns = list(self.descriptors) if self.descriptors is not None else list(table.columns)
        check_model_inputs(columns, _outcome_derived(X, table), "TabularClassifier.fit")
        if not columns:
            raise DataError("TabularClassifier needs at least one descriptor column; the cohort has none")
        table = self._select(table, columns)
        present = np.unique(y_idx)
        if present.size < 2:
            raise DataError(f"TabularClassifier needs at least two classes in the training data; "
                            f"got only {[classes[i] for i in present]}")

        self.classes_ = np.asarray(classes, dtype=object)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        specs = {c: _column_spec(c, table[c]) for c in columns}
        self.feature_kinds_ = {c: s[0] for c, s in specs.items()}
        self.feature_levels_ = {c: s[1] for c, s in specs.items()}
        frame = self._frame(table)

        raw, self.encoded_feature_names_ = _encode_raw(frame, self.feature_kinds_, self.feature_levels_)
        with np.errstate(all="ignore"):
            impute = np.nanmedian(raw, axis=0) if raw.size else np.zeros(raw.shape[1])
        impute = np.where(np.isnan(impute), 0.0, impute)
        filled = np.where(np.isnan(raw), impute[None, :], raw)
        center = filled.mean(axis=0)
        scale = filled.std(axis=0)
        self.impute_ = impute
        self.center_ = center
        self.scale_ = np.where(scale > 0, scale, 1.0)

        self.classes_present_ = present.astype(np.int64)
        remap = np.full(len(classes), -1, dtype=np.int64)
        remap[present] = np.arange(present.size)
        y_fit = remap[y_idx]
        if kind == "xgboost":
            import xgboost

            params = dict(XGB_DEFAULTS)
            params.update(self.xgb_params or {})
            params["random_state"] = self.random_state
            if "nthread" not in params:
                params.setdefault("n_jobs", resolve_threads(self.n_threads))
            params.setdefault("objective", "multi:softprob" if present.size > 2 else "binary:logistic")
            model = xgboost.XGBClassifier(**params)
            model.fit(frame, y_fit)
        elif kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=1.0, max_iter=2000, random_state=self.random_state)
            model.fit(self._encoded(frame), y_fit)
        else:
            model = clone(self.estimator)
            if "random_state" in model.get_params() and self.random_state is not None:
                model.set_params(random_state=self.random_state)
            model.fit(self._encoded(frame), y_fit)
        self.model_ = model
        return self

    @property
    def booster_(self):
        """The trained ``xgboost.Booster`` (``estimator="xgboost"`` only)."""
        self._check_fitted()
        if not hasattr(self.model_, "get_booster"):
            raise NotAvailableError(f"TabularClassifier(estimator={self.estimator!r}) has no booster_; "
                                    "only estimator='xgboost' does")
        return self.model_.get_booster()

    def feature_frame(self, X: Any) -> pd.DataFrame:
        """The exact DataFrame fed to the model (before one-hot encoding).

        Categorical descriptors are pandas ``Categorical`` over the levels seen
        at fit, ordinal descriptors their level index (float, NaN when missing),
        continuous descriptors floats.  ``xgboost.DMatrix(frame,
        enable_categorical=True)`` reproduces the model's input exactly.
        """
        self._check_fitted()
        table = self._select(_descriptor_table(X), self.feature_names_in_)
        return self._frame(table)

    def transform(self, X: Any) -> np.ndarray:
        """Encoded descriptors (one-hot, median-imputed, standardised), ``(n, n_encoded)``.

        This is the input of the logistic baseline and the branch "embedding"
        used by the intermediate-fusion MLP head.  Column names are
        :attr:`encoded_feature_names_`.
        """
        return self._encoded(self.feature_frame(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n_nodes, n_classes)`` in :attr:`classes_` order.

        A class absent from the training data gets probability 0.
        """
        frame = self.feature_frame(X)
        if len(frame) == 0:
            return np.zeros((0, len(self.classes_)))
        if isinstance(self.estimator, str) and self.estimator == "xgboost":
            proba = self.model_.predict_proba(frame)
        elif isinstance(self.estimator, str):
            proba = _logistic_proba(self.model_.coef_, self.model_.intercept_, self._encoded(frame))
        else:
            proba = self.model_.predict_proba(self._encoded(frame))
        out = np.zeros((len(frame), len(self.classes_)), dtype=np.float64)
        out[:, self.classes_present_] = proba
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class name per node."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the fitted branch to a new folder (JSON + XGBoost JSON / safetensors).

        Raises
        ------
        NotAvailableError
            The estimator is neither XGBoost nor a logistic regression (it could
            only be saved with pickle, which lnfusion never uses).
        """
        self._check_fitted()
        from sklearn.linear_model import LogisticRegression

        if hasattr(self.model_, "get_booster"):
            model_type = "xgboost"
        elif isinstance(self.model_, LogisticRegression):
            model_type = "logistic"
        else:
            raise NotAvailableError(
                f"TabularClassifier with estimator {type(self.model_).__name__} cannot be saved: "
                "lnfusion never pickles; use estimator='xgboost' or 'logistic'")
        params = self.get_params(deep=False)
        if not isinstance(params["estimator"], str):
            params["estimator"] = "logistic"  # a LogisticRegression instance; coefficients are saved
        config = {
            "format_version": TABULAR_FORMAT_VERSION,
            "lnfusion_version": __version__,
            "class": type(self).__name__,
            "model_type": model_type,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
            "classes": list(self.classes_),
            "classes_present": self.classes_present_.tolist(),
            "feature_names": list(self.feature_names_in_),
            "feature_kinds": self.feature_kinds_,
            "feature_levels": self.feature_levels_,
            "encoded_feature_names": list(self.encoded_feature_names_),
            "impute": self.impute_.tolist(),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }
        with atomic_dir(path, overwrite=overwrite) as tmp:
            if model_type == "xgboost":
                self.booster_.save_model(str(tmp / _XGB_FILE))
            else:
                from safetensors.numpy import save as st_save

                tensors = {"coef": np.ascontiguousarray(self.model_.coef_, dtype=np.float64),
                           "intercept": np.ascontiguousarray(self.model_.intercept_, dtype=np.float64)}
                atomic_write_bytes(tmp / _LOGISTIC_FILE, st_save(tensors))
            atomic_write_text(tmp / _CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TabularClassifier:
        """Read a branch written by :meth:`save` (never unpickles anything)."""
        path = Path(path)
        recover_output(path)
        cfg_path = path / _CONFIG_FILE
        if not cfg_path.is_file():
            raise IntegrityError(f"{cfg_path}: missing; expected a folder written by TabularClassifier.save")
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IntegrityError(f"{cfg_path}: not valid JSON ({exc})") from exc
        if cfg.get("format_version") != TABULAR_FORMAT_VERSION:
            raise FormatVersionError(
                f"{cfg_path}: format version {cfg.get('format_version')!r}; this lnfusion "
                f"({__version__}) reads TabularClassifier format version {TABULAR_FORMAT_VERSION}")
        try:
            params = dict(cfg["params"])
            if params.get("descriptors") is not None:
                params["descriptors"] = list(params["descriptors"])
            self = cls(**params)
            self.classes_ = np.asarray(cfg["classes"], dtype=object)
            self.classes_present_ = np.asarray(cfg["classes_present"], dtype=np.int64)
            self.feature_names_in_ = np.asarray(cfg["feature_names"], dtype=object)
            self.n_features_in_ = len(self.feature_names_in_)
            self.feature_kinds_ = dict(cfg["feature_kinds"])
            self.feature_levels_ = dict(cfg["feature_levels"])
            self.encoded_feature_names_ = list(cfg["encoded_feature_names"])
            self.impute_ = np.asarray(cfg["impute"], dtype=np.float64)
            self.center_ = np.asarray(cfg["center"], dtype=np.float64)
            self.scale_ = np.asarray(cfg["scale"], dtype=np.float64)
            model_type = cfg["model_type"]
        except (KeyError, TypeError, ValueError) as exc:
            raise PersistenceError(f"{cfg_path}: malformed TabularClassifier config ({exc!r})") from exc
        if model_type == "xgboost":
            import xgboost

            file = path / _XGB_FILE
            if not file.is_file():
                raise IntegrityError(f"{file}: missing; expected the XGBoost JSON model")
            model = xgboost.XGBClassifier()
            model.load_model(str(file))
        elif model_type == "logistic":
            from safetensors.numpy import load as st_load
            from sklearn.linear_model import LogisticRegression

            file = path / _LOGISTIC_FILE
            if not file.is_file():
                raise IntegrityError(f"{file}: missing; expected the logistic coefficients")
            tensors = st_load(file.read_bytes())
            model = LogisticRegression()
            model.coef_ = tensors["coef"]
            model.intercept_ = tensors["intercept"]
            model.classes_ = np.arange(len(self.classes_present_))
            model.n_features_in_ = model.coef_.shape[1]
        else:
            raise FormatVersionError(f"{cfg_path}: unknown model_type {model_type!r}")
        self.model_ = model
        return self


def _logistic_proba(coef: np.ndarray, intercept: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Probabilities of a fitted (binary or multinomial) logistic regression."""
    from scipy.special import expit, softmax

    # C order whatever the fitted layout (sklearn's may be Fortran): BLAS may round
    # differently for another layout, and predictions must match bit for bit after loading.
    scores = np.ascontiguousarray(X) @ np.ascontiguousarray(coef).T + intercept[None, :]
    if coef.shape[0] == 1:
        p1 = expit(scores[:, 0])
        return np.column_stack([1.0 - p1, p1])
    return softmax(scores, axis=1)
