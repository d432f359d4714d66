"""Resampling validation: patient-grouped cross-validation and leave-one-site-out.

Both runners clone the estimator for every split (:func:`sklearn.base.clone`),
fit the clone on the training patients only, and score the held-out patients
with the same code as :func:`lnfusion.evaluation.evaluate`.  Every node is
predicted exactly once, by a model that never saw its patient; the pooled
out-of-fold predictions are evaluated as a whole as well as split by split.

These are *outer* splits, for estimating performance.  An estimator's own
inner splits (e.g. the out-of-fold predictions a stacking head trains on) run
inside ``fit`` on the training patients and are never mixed with them.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from lnfusion.evaluation.metrics import Threshold
from lnfusion.evaluation.predictions import collect_predictions
from lnfusion.evaluation.report import EvaluationResult, evaluate_predictions
from lnfusion.exceptions import ConfigError, DataError, PersistenceError
from lnfusion.formatting import (
    format_ci,
    format_number,
    format_range,
    html_table,
    jsonable,
    markdown_table,
    table_from_json,
    table_to_json,
)
from lnfusion.io import atomic_write_text
from lnfusion.progress import progress_iter

__all__ = ["CrossValidationResult", "SiteValidationResult", "cross_validate", "validate_by_site"]

_METRICS = ["macro_auc", "accuracy", "balanced_accuracy", "macro_f1", "brier", "ece",
            "calibration_slope", "calibration_intercept"]


@dataclass(frozen=True, eq=False)
class _ResamplingResult:
    """Common part of :class:`CrossValidationResult` and :class:`SiteValidationResult`."""

    split_name: ClassVar[str] = "split"
    format: ClassVar[str] = ""

    pooled: EvaluationResult
    splits: dict[str, EvaluationResult]
    predictions: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Summary rows of every split plus the pooled rows (``<split_name> == "pooled"``)."""
        frames = [r.summary.assign(**{self.split_name: label}) for label, r in self.splits.items()]
        frames.append(self.pooled.summary.assign(**{self.split_name: "pooled"}))
        df = pd.concat(frames, ignore_index=True)
        return df[[self.split_name] + [c for c in df.columns if c != self.split_name]]

    @property
    def per_class(self) -> pd.DataFrame:
        """Per-class rows of every split plus the pooled rows."""
        frames = [r.per_class.assign(**{self.split_name: label}) for label, r in self.splits.items()]
        frames.append(self.pooled.per_class.assign(**{self.split_name: "pooled"}))
        df = pd.concat(frames, ignore_index=True)
        return df[[self.split_name] + [c for c in df.columns if c != self.split_name]]

    @property
    def aggregate(self) -> pd.DataFrame:
        """Mean, standard deviation, minimum and maximum of each metric across splits.

        One row per model and metric: ``model``, ``metric``, ``mean``, ``sd``,
        ``min``, ``max``, ``n_splits`` (splits where the metric is defined).
        """
        per = self.summary[self.summary[self.split_name] != "pooled"]
        rows = []
        for model in self.pooled.models:
            sub = per[per["model"] == model]
            for metric in _METRICS:
                v = sub[metric].astype(float).dropna()
                rows.append({"model": model, "metric": metric,
                             "mean": float(v.mean()) if len(v) else math.nan,
                             "sd": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
                             "min": float(v.min()) if len(v) else math.nan,
                             "max": float(v.max()) if len(v) else math.nan,
                             "n_splits": int(len(v))})
        return pd.DataFrame(rows)

    def plot_roc(self, **kwargs: Any):
        """ROC curves of the pooled out-of-split predictions."""
        return self.pooled.plot_roc(**kwargs)

    def plot_calibration(self, **kwargs: Any):
        """Reliability diagrams of the pooled out-of-split predictions."""
        return self.pooled.plot_calibration(**kwargs)

    def plot_confusion(self, **kwargs: Any):
        """Confusion matrices of the pooled out-of-split predictions."""
        return self.pooled.plot_confusion(**kwargs)

    # ------------------------------------------------------------------ rendering
    def _split_table(self) -> pd.DataFrame:
        ci = f"{100 * (1 - float(self.pooled.settings.get('alpha', 0.05))):g}% CI"
        s = self.summary
        return pd.DataFrame({
            self.split_name: s[self.split_name], "model": s["model"],
            "nodes": s["n"].map(lambda v: format_number(int(v))),
            f"{self.pooled.auc_label} ({ci})": [format_ci(*r) for r in zip(
                s["macro_auc"], s["macro_auc_ci_low"], s["macro_auc_ci_high"])],
            "accuracy": s["accuracy"].map(format_number),
            "balanced accuracy": s["balanced_accuracy"].map(format_number),
            "macro F1": s["macro_f1"].map(format_number),
            "Brier": s["brier"].map(format_number),
        })

    def _aggregate_table(self) -> pd.DataFrame:
        a = self.aggregate
        metric = a["metric"]
        if self.pooled.positive_class is not None:  # two classes: one AUC, not a macro average
            metric = metric.replace("macro_auc", f"auc ({self.pooled.positive_class})")
        return pd.DataFrame({
            "model": a["model"], "metric": metric,
            "mean ± SD": [f"{format_number(m)} ± {format_number(s)}"
                          for m, s in zip(a["mean"], a["sd"])],
            "range": [format_range(lo, hi) for lo, hi in zip(a["min"], a["max"])],
            f"{self.split_name}s": a["n_splits"].astype(str),
        })

    def _heading(self) -> str:
        raise NotImplementedError

    def _intro(self) -> str:
        raise NotImplementedError

    def to_markdown(self) -> str:
        """Per-split and pooled metrics as Markdown, followed by the pooled report."""
        pooled = self.pooled.to_markdown().replace("\n## ", "\n### ").replace("# ", "## ", 1)
        return "\n".join([f"# {self._heading()}", "", self._intro(), "",
                          f"## Per {self.split_name}", "", markdown_table(self._split_table()), "",
                          f"## Across {self.split_name}s", "",
                          markdown_table(self._aggregate_table()), "", pooled])

    def to_html(self, path: str | os.PathLike | None = None, embed_figures: bool = True) -> str:
        """Self-contained HTML page: per-split table, aggregate, then the pooled report."""
        from lnfusion.report.html import HtmlDocument, Section

        doc = HtmlDocument(title=self._heading(), subtitle=[self._intro()])
        doc.add(Section(f"per-{self.split_name}", f"Per {self.split_name}",
                        html_table(self._split_table())))
        doc.add(Section("aggregate", f"Across {self.split_name}s",
                        html_table(self._aggregate_table())))
        for section in self.pooled.html_sections(embed_figures, id_prefix="pooled-"):
            section.title = f"Pooled: {section.title}"
            doc.add(section)
        page = doc.to_html()
        if path is not None:
            atomic_write_text(path, page)
        return page

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dictionary that :meth:`from_dict` reads back."""
        return {"format": self.format, "settings": jsonable(self.settings),
                "pooled": self.pooled.to_dict(),
                "splits": {k: v.to_dict() for k, v in self.splits.items()},
                "predictions": table_to_json(self.predictions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """Rebuild a result from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or data.get("format") != cls.format:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise PersistenceError(f"expected format {cls.format!r}, got {got!r}")
        return cls(pooled=EvaluationResult.from_dict(data["pooled"]),
                   splits={str(k): EvaluationResult.from_dict(v) for k, v in data["splits"].items()},
                   predictions=table_from_json(data["predictions"]),
                   settings=dict(data.get("settings", {})))

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load_json(cls, path: str | os.PathLike):
        """Read a result written by :meth:`save_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise PersistenceError(f"result file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise PersistenceError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data)


@dataclass(frozen=True, eq=False)
class CrossValidationResult(_ResamplingResult):
    """Outcome of :func:`cross_validate`.

    Attributes
    ----------
    pooled : EvaluationResult
        All out-of-fold predictions evaluated together (each node once).
    splits : dict of str to EvaluationResult
        One result per fold (``"1"``, ``"2"``, ...); also available as :attr:`folds`.
        Fold results have no bootstrap (no ROC bands, no macro-AUC test).
    predictions : pandas.DataFrame
        Out-of-fold probabilities, one row per node and model: ``position``
        (in the cohort), ``patient``, ``fold``, ``true``, ``model``, ``proba_<class>``...
    settings : dict
        ``cv`` (splitter repr), ``n_splits``, ``random_state``, the estimator's repr, ...
    summary, per_class, aggregate : pandas.DataFrame
        Per-fold rows (column ``fold``, ``"pooled"`` for the pooled rows) and
        mean/SD across folds.
    """

    split_name: ClassVar[str] = "fold"
    format: ClassVar[str] = "lnfusion.cross_validation_result/1"

    @property
    def folds(self) -> dict[str, EvaluationResult]:
        """Per-fold results (alias of ``splits``)."""
        return self.splits

    def _heading(self) -> str:
        return f"Cross-validation ({len(self.splits)} folds)"

    def _intro(self) -> str:
        return (f"Patient-grouped, class-stratified {len(self.splits)}-fold cross-validation "
                f"({self.settings.get('cv', '')}); the estimator was cloned and refitted on the "
                "training patients of every fold. Pooled: every node predicted once, by the model "
                "of the fold that held its patient out.")


@dataclass(frozen=True, eq=False)
class SiteValidationResult(_ResamplingResult):
    """Outcome of :func:`validate_by_site` (leave-one-site-out external validation).

    Attributes
    ----------
    pooled : EvaluationResult
        Every node scored by the model trained on the other sites.
    splits : dict of str to EvaluationResult
        One full report per held-out site; also available as :attr:`sites`.
    predictions : pandas.DataFrame
        One row per node and model: ``position``, ``patient``, ``site``, ``true``,
        ``model``, ``proba_<class>``...
    settings : dict
    summary, per_class, aggregate : pandas.DataFrame
        Per-site rows (column ``site``) plus the pooled rows, and mean/SD across sites.
    """

    split_name: ClassVar[str] = "site"
    format: ClassVar[str] = "lnfusion.site_validation_result/1"

    @property
    def sites(self) -> dict[str, EvaluationResult]:
        """Per-site results (alias of ``splits``)."""
        return self.splits

    def _heading(self) -> str:
        return f"External validation by site ({len(self.splits)} sites)"

    def _intro(self) -> str:
        return ("Leave-one-site-out: for each site, the estimator was cloned, trained on the "
                "other sites' patients and tested on that site. Pooled: every node scored by the "
                "model that never saw its site.")


# --------------------------------------------------------------------------- runner core
def _clone(estimator: Any) -> Any:
    from sklearn.base import clone

    try:
        return clone(estimator)
    except (TypeError, RuntimeError) as exc:
        raise ConfigError(f"{type(estimator).__name__} cannot be cloned with sklearn.base.clone "
                          f"({exc}); expected a scikit-learn style estimator whose constructor "
                          "only stores its parameters (get_params/set_params)") from exc


def _check_disjoint(groups: np.ndarray, train: np.ndarray, test: np.ndarray, label: str) -> None:
    shared = np.intersect1d(np.asarray(groups[train]).astype(str), np.asarray(groups[test]).astype(str))
    if shared.size:
        raise DataError(f"{label}: patient(s) {shared[:5].tolist()} are in both the training and "
                        "the test part; splits must keep every patient on one side")
    if len(test) == 0 or len(train) == 0:
        raise DataError(f"{label}: empty {'test' if len(test) == 0 else 'training'} part")


def _run_splits(estimator: Any, cohort: Any, splits: Iterable[tuple[str, np.ndarray, np.ndarray]],
                split_name: str, model_name: str, progress: bool
                ) -> tuple[list[tuple[str, np.ndarray, dict[str, np.ndarray]]], dict[str, np.ndarray]]:
    """Fit a clone per split; return per-split predictions and the pooled out-of-split matrix."""
    n, k = len(cohort), len(cohort.classes)
    groups = np.asarray(cohort.groups)
    pooled: dict[str, np.ndarray] = {}
    seen_test = np.zeros(n, dtype=int)
    runs = []
    iterator = progress_iter(list(splits), split_name, progress, unit=split_name,
                             describe=lambda item: str(item[0]))
    for label, train, test in iterator:
        train, test = np.asarray(train, dtype=int), np.asarray(test, dtype=int)
        _check_disjoint(groups, train, test, f"{split_name} {label}")
        model = _clone(estimator)
        model.fit(cohort.subset(train))
        probas = collect_predictions(model, cohort.subset(test), model_name)
        for name, p in probas.items():
            if name not in pooled:
                pooled[name] = np.full((n, k), np.nan)
            pooled[name][test] = p
        seen_test[test] += 1
        runs.append((label, test, probas))
    if (seen_test > 1).any():
        i = int(np.flatnonzero(seen_test > 1)[0])
        raise DataError(f"node at position {i} is in the test part of {int(seen_test[i])} "
                        f"{split_name}s; expected each node tested at most once")
    if (seen_test == 0).any():
        warnings.warn(f"{int((seen_test == 0).sum())} node(s) were in no test part and are left "
                      "out of the pooled metrics", RuntimeWarning, stacklevel=3)
    return runs, pooled


def _evaluate_runs(cls: type, estimator: Any, cohort: Any, runs, pooled, *, split_name: str,
                   split_n_boot: int, eval_kw: dict[str, Any], title: str,
                   settings: dict[str, Any]):
    classes = tuple(cohort.classes)
    y = np.asarray(cohort.y)
    groups = np.asarray(cohort.groups)
    mask = cohort.modality_mask() if hasattr(cohort, "modality_mask") else None
    eval_kw = {**eval_kw, "positive_class": getattr(cohort, "positive_class", None)}
    split_results: dict[str, EvaluationResult] = {}
    pred_rows = []
    tested = np.zeros(len(cohort), dtype=bool)
    for label, test, probas in runs:
        kw = {**eval_kw, "n_boot": split_n_boot}
        split_results[label] = evaluate_predictions(
            y[test], probas, classes, groups[test],
            modality_mask=None if mask is None else mask.iloc[test].reset_index(drop=True),
            absent_class="warn", title=f"{title}: {split_name} {label}", **kw)
        tested[test] = True
        for name, p in probas.items():
            frame = pd.DataFrame({"position": test, "patient": groups[test], split_name: label,
                                  "true": np.asarray(classes, dtype=object)[y[test]], "model": name})
            for j, c in enumerate(classes):
                frame[f"proba_{c}"] = p[:, j]
            pred_rows.append(frame)
    idx = np.flatnonzero(tested)
    pooled_result = evaluate_predictions(
        y[idx], {name: p[idx] for name, p in pooled.items()}, classes, groups[idx],
        modality_mask=None if mask is None else mask.iloc[idx].reset_index(drop=True),
        absent_class="warn", title=f"{title}: pooled", **eval_kw)
    predictions = pd.concat(pred_rows, ignore_index=True)
    settings = {**settings, **eval_kw, "estimator": repr(estimator)[:500],
                "threshold": eval_kw["threshold"] if isinstance(eval_kw["threshold"], str)
                else dict(eval_kw["threshold"])}
    return cls(pooled=pooled_result, splits=split_results, predictions=predictions,
               settings=settings)


def cross_validate(
    estimator: Any,
    cohort: Any,
    cv: int | Any = 5,
    random_state: int | None = 0,
    *,
    alpha: float = 0.05,
    n_bins: int = 10,
    threshold: Threshold = "argmax",
    n_boot: int = 1000,
    auc_method: str = "delong",
    model_name: str = "model",
    progress: bool = False,
) -> CrossValidationResult:
    """Patient-grouped, class-stratified cross-validation of an estimator.

    Parameters
    ----------
    estimator : estimator
        Unfitted or fitted; it is cloned (:func:`sklearn.base.clone`) for every
        fold and the clone fitted with ``fit(cohort.subset(train_idx))``.  With
        ``predict_branch_proba`` each branch is evaluated too.
    cohort : Cohort
        Needs ``y``, ``groups``, ``classes``, ``subset(idx)``, ``__len__``.
    cv : int or splitter, default 5
        Number of folds for :class:`lnfusion.data.PatientStratifiedKFold`
        (shuffled with ``random_state``), or any splitter with
        ``split(X, y, groups)``.  Folds that share a patient between training
        and test are refused.
    random_state : int or None, default 0
        Seed of the fold assignment and of the bootstrap.
    alpha, n_bins, threshold, n_boot, auc_method
        See :func:`lnfusion.evaluation.evaluate`.  The bootstrap (ROC bands and
        macro-AUC test) runs on the pooled predictions only; per-fold results
        use ``n_boot=0``.
    model_name : str, default "model"
    progress : bool, default False
        Show a progress bar over folds.

    Returns
    -------
    CrossValidationResult
    """
    from lnfusion.data.splits import PatientStratifiedKFold

    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        splitter = PatientStratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
    elif hasattr(cv, "split") and not isinstance(cv, (str, bytes)):
        splitter = cv
    else:
        raise ConfigError(f"cv: expected a number of folds or a splitter with split(X, y, groups), "
                          f"got {cv!r}")
    y, groups = np.asarray(cohort.y), np.asarray(cohort.groups)
    folds = [(str(i + 1), tr, te) for i, (tr, te) in
             enumerate(splitter.split(np.zeros((len(cohort), 1)), y, groups))]
    if len(folds) < 2:
        raise ConfigError(f"cv: expected at least 2 folds, got {len(folds)}")
    runs, pooled = _run_splits(estimator, cohort, folds, "fold", model_name, progress)
    eval_kw = dict(alpha=alpha, n_bins=n_bins, threshold=threshold, n_boot=n_boot,
                   random_state=random_state, auc_method=auc_method)
    return _evaluate_runs(CrossValidationResult, estimator, cohort, runs, pooled,
                          split_name="fold", split_n_boot=0, eval_kw=eval_kw,
                          title="Cross-validation",
                          settings={"cv": repr(splitter), "n_splits": len(folds)})


def validate_by_site(
    estimator: Any,
    cohort: Any,
    *,
    alpha: float = 0.05,
    n_bins: int = 10,
    threshold: Threshold = "argmax",
    n_boot: int = 1000,
    random_state: int | None = 0,
    auc_method: str = "delong",
    model_name: str = "model",
    progress: bool = False,
) -> SiteValidationResult:
    """External validation by site: train on the other sites, test on each site in turn.

    With three sites this is "train on two, test on the third", three times.

    Parameters
    ----------
    estimator : estimator
        Cloned for every held-out site (:func:`sklearn.base.clone`).
    cohort : Cohort
        Needs a site per node (``cohort.sites``), at least two sites, and each
        patient at a single site.
    alpha, n_bins, threshold, n_boot, random_state, auc_method
        See :func:`lnfusion.evaluation.evaluate`; each site gets a full report
        (bootstrap included).
    model_name : str, default "model"
    progress : bool, default False
        Show a progress bar over sites.

    Returns
    -------
    SiteValidationResult

    Raises
    ------
    DataError
        No site column, fewer than two sites, or a patient at several sites.
    """
    from lnfusion.data.splits import leave_one_site_out

    sites = getattr(cohort, "sites", None)
    if sites is None:
        raise DataError("validate_by_site: the cohort has no site column (schema 'site'); "
                        "expected a site per node")
    splits = list(leave_one_site_out(np.asarray(sites), np.asarray(cohort.groups)))
    runs, pooled = _run_splits(estimator, cohort, splits, "site", model_name, progress)
    eval_kw = dict(alpha=alpha, n_bins=n_bins, threshold=threshold, n_boot=n_boot,
                   random_state=random_state, auc_method=auc_method)
    return _evaluate_runs(SiteValidationResult, estimator, cohort, runs, pooled,
                          split_name="site", split_n_boot=n_boot, eval_kw=eval_kw,
                          title="External validation",
                          settings={"sites": [s for s, _, _ in splits]})
