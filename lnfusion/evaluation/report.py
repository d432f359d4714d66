"""The evaluation report: metrics of the fused model and of each branch, comparisons, plots.

:func:`evaluate` scores a fitted model on a cohort; :func:`evaluate_predictions`
does the same from probability arrays (used by the cross-validation and
by-site runners).  Both return an :class:`EvaluationResult` holding tidy
DataFrames that render to Markdown, self-contained HTML and JSON.
"""
from __future__ import annotations

import html
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.evaluation.comparison import compare_models
from lnfusion.evaluation.metrics import Threshold, classification_metrics, positive_class_index
from lnfusion.evaluation.predictions import collect_predictions
from lnfusion.exceptions import DataError, PersistenceError
from lnfusion.formatting import (
    format_ci,
    format_number,
    format_pvalue,
    html_table,
    jsonable,
    markdown_table,
    table_from_json,
    table_to_json,
)
from lnfusion.io import atomic_write_text

__all__ = ["EvaluationResult", "evaluate", "evaluate_predictions", "FORMAT"]

#: Format stamp written by :meth:`EvaluationResult.to_dict`.
FORMAT = "lnfusion.evaluation_result/1"

_TABLES = ("summary", "per_class", "comparisons", "confusion", "calibration", "roc", "roc_band",
           "missing")

_SUMMARY_COLS = ["model", "n", "n_missing", "n_patients", "macro_auc", "macro_auc_ci_low",
                 "macro_auc_ci_high", "accuracy", "balanced_accuracy", "macro_f1", "brier", "ece",
                 "calibration_slope", "calibration_intercept"]

MACRO_TEST_NOTE = (
    "Per class: DeLong's test of the two correlated one-vs-rest ROC curves on the nodes both "
    "models scored; p-values Holm-adjusted across the classes of each comparison (pval_adj). "
    "Macro: paired bootstrap of the macro-AUC difference resampling whole patients "
    "(z = diff / SD of bootstrap differences, as pROC's roc.test(method='bootstrap'); CI = "
    "percentile interval); p-values Holm-adjusted across the branches compared (pval_adj).")

BINARY_TEST_NOTE = (
    "DeLong's test of the two correlated ROC curves of the positive class on the nodes both "
    "models scored (as pROC's roc.test(method='delong', paired=TRUE)); one test per comparison, "
    "p-values Holm-adjusted across the branches compared (pval_adj).")


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Metrics of a model and its branches on one evaluation set.

    Build with :func:`evaluate` or :func:`evaluate_predictions`.

    Attributes
    ----------
    classes : tuple of str
        Class names in index order.
    summary : pandas.DataFrame
        One row per model/branch (the reference model first): ``n`` nodes
        scored, ``n_missing`` nodes the branch could not see, ``n_patients``,
        ``macro_auc`` with its CI (two classes: the AUC of the positive class),
        ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``brier``, ``ece``,
        ``calibration_slope``, ``calibration_intercept``.
    per_class : pandas.DataFrame
        One row per model and class (one-vs-rest; two classes: the positive
        class only): ``auc`` with its CI, ``sensitivity``, ``specificity``,
        ``ppv``, ``npv`` with Wilson CIs, ``f1``, ``calibration_slope``,
        ``calibration_intercept``.
    comparisons : pandas.DataFrame
        Reference model vs each branch, per class (DeLong) and macro (paired
        patient bootstrap); two classes: one DeLong row per branch.  See
        :func:`lnfusion.evaluation.compare_models`.
    confusion : pandas.DataFrame
        Long format: ``model``, ``true``, ``predicted``, ``count``.
    calibration : pandas.DataFrame
        Reliability bins: ``model``, ``curve`` (``"top_label"`` or a class), ``bin``,
        ``bin_low``, ``bin_high``, ``n``, ``mean_predicted``, ``observed``.
    roc : pandas.DataFrame
        One-vs-rest ROC points: ``model``, ``class``, ``fpr``, ``tpr``, ``threshold``.
    roc_band : pandas.DataFrame
        Pointwise bootstrap band: ``model``, ``class``, ``fpr``, ``tpr_low``, ``tpr_high``.
    missing : pandas.DataFrame
        Nodes missing each modality: ``modality``, ``n_missing``, ``n_nodes``.
    settings : dict
        ``alpha``, ``n_bins``, ``threshold``, ``n_boot``, ``random_state``,
        ``reference`` (the model compared with every branch), ``models``,
        ``positive_class`` (two classes; None otherwise).
    title : str
        Report heading.
    """

    classes: tuple[str, ...]
    summary: pd.DataFrame
    per_class: pd.DataFrame
    comparisons: pd.DataFrame
    confusion: pd.DataFrame
    calibration: pd.DataFrame
    roc: pd.DataFrame
    roc_band: pd.DataFrame
    missing: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    title: str = "Evaluation"

    # ------------------------------------------------------------------ accessors
    @property
    def models(self) -> list[str]:
        """Model and branch names, reference model first."""
        return [str(m) for m in self.summary["model"]]

    @property
    def positive_class(self) -> str | None:
        """The positive class of a two-class task (None with more classes)."""
        value = self.settings.get("positive_class")
        return None if value is None else str(value)

    @property
    def auc_label(self) -> str:
        """How the summary's AUC is named: ``"AUC of <positive class>"`` or ``"macro AUC"``."""
        pos = self.positive_class
        return "macro AUC" if pos is None else f"AUC of {pos}"

    @property
    def reference(self) -> str:
        """Name of the model every branch is compared with."""
        return str(self.settings.get("reference", self.models[0]))

    def confusion_matrix(self, model: str | None = None) -> pd.DataFrame:
        """Square confusion matrix (rows true, columns predicted) of one model.

        Parameters
        ----------
        model : str, optional
            Model or branch name; default the reference model.
        """
        model = self.reference if model is None else model
        if model not in self.models:
            raise DataError(f"model {model!r} is not in this result; models: {self.models}")
        sub = self.confusion[self.confusion["model"] == model]
        mat = sub.pivot(index="true", columns="predicted", values="count")
        mat = mat.reindex(index=list(self.classes), columns=list(self.classes)).fillna(0)
        mat.index.name, mat.columns.name = "true", "predicted"
        return mat.astype(int)

    # ------------------------------------------------------------------ plots
    def plot_roc(self, models: Sequence[str] | None = None, **kwargs: Any):
        """One-vs-rest ROC curves with bootstrap CI bands; see :func:`lnfusion.plotting.plot_roc`."""
        from lnfusion.plotting import plot_roc

        return plot_roc(self, models=models, **kwargs)

    def plot_calibration(self, models: Sequence[str] | None = None, **kwargs: Any):
        """Reliability diagrams; see :func:`lnfusion.plotting.plot_calibration`."""
        from lnfusion.plotting import plot_calibration

        return plot_calibration(self, models=models, **kwargs)

    def plot_confusion(self, models: Sequence[str] | None = None, **kwargs: Any):
        """Confusion matrices; see :func:`lnfusion.plotting.plot_confusion`."""
        from lnfusion.plotting import plot_confusion

        return plot_confusion(self, models=models, **kwargs)

    # ------------------------------------------------------------------ display tables
    def _ci_label(self) -> str:
        return f"{100 * (1 - float(self.settings.get('alpha', 0.05))):g}% CI"

    def display_tables(self) -> dict[str, pd.DataFrame]:
        """Formatted (string) tables used by :meth:`to_markdown` and :meth:`to_html`."""
        ci = self._ci_label()
        s = self.summary
        summary = pd.DataFrame({
            "model": s["model"],
            "nodes": [f"{int(n)}" + (f" ({int(m)} missing)" if m else "")
                      for n, m in zip(s["n"], s["n_missing"])],
            f"{self.auc_label} ({ci})": [format_ci(a, lo, hi) for a, lo, hi in
                                  zip(s["macro_auc"], s["macro_auc_ci_low"], s["macro_auc_ci_high"])],
            "accuracy": s["accuracy"].map(format_number),
            "balanced accuracy": s["balanced_accuracy"].map(format_number),
            "macro F1": s["macro_f1"].map(format_number),
            "Brier": s["brier"].map(format_number),
            "ECE": s["ece"].map(format_number),
            "calibration slope": s["calibration_slope"].map(lambda v: format_number(v, 2)),
            "calibration intercept": s["calibration_intercept"].map(lambda v: format_number(v, 2)),
        })
        pc = self.per_class
        per_class = pd.DataFrame({
            "model": pc["model"], "class": pc["class"],
            "nodes in class": pc["n_pos"].map(lambda v: format_number(int(v))),
            f"AUC ({ci})": [format_ci(*r) for r in zip(pc["auc"], pc["auc_ci_low"], pc["auc_ci_high"])],
            f"sensitivity ({ci})": [format_ci(*r) for r in zip(
                pc["sensitivity"], pc["sensitivity_ci_low"], pc["sensitivity_ci_high"])],
            f"specificity ({ci})": [format_ci(*r) for r in zip(
                pc["specificity"], pc["specificity_ci_low"], pc["specificity_ci_high"])],
            "PPV": pc["ppv"].map(format_number), "NPV": pc["npv"].map(format_number),
            "F1": pc["f1"].map(format_number),
        })
        c = self.comparisons
        comparisons = pd.DataFrame({
            "comparison": [f"{a} vs {b}" for a, b in zip(c["model_a"], c["model_b"])],
            "class": c["class"],
            "nodes": c["n"].map(lambda v: format_number(int(v))),
            "AUC a": c["auc_a"].map(format_number), "AUC b": c["auc_b"].map(format_number),
            f"difference ({ci})": [format_ci(*r) for r in zip(c["diff"], c["ci_low"], c["ci_high"])],
            "z": c["z"].map(lambda v: format_number(v, 2)),
            "p": c["pval"].map(format_pvalue),
            "p (Holm, across branches)" if self.positive_class else "p (Holm)":
                c["pval_adj"].map(format_pvalue),
            "test": c["method"],
        }) if len(c) else pd.DataFrame()
        ms = self.missing
        missing = pd.DataFrame({
            "modality": ms["modality"],
            "nodes without it": ms["n_missing"].map(lambda v: format_number(int(v))),
            "of": ms["n_nodes"].map(lambda v: format_number(int(v))),
            "fraction": [format_number(m / n if n else math.nan)
                         for m, n in zip(ms["n_missing"], ms["n_nodes"])],
        }) if len(ms) else pd.DataFrame()
        return {"summary": summary, "per_class": per_class, "comparisons": comparisons,
                "missing": missing}

    def _confusion_display(self, model: str) -> pd.DataFrame:
        mat = self.confusion_matrix(model)
        out = mat.reset_index().rename(columns={"true": "true \\ predicted"})
        out.columns = [str(col) for col in out.columns]
        return out

    def _settings_line(self) -> str:
        st = self.settings
        thr = st.get("threshold", "argmax")
        thr = "most probable class" if thr == "argmax" else f"cut-offs {thr}"
        auc = ("DeLong" if st.get("auc_method", "delong") == "delong"
               else "patient bootstrap")
        if self.positive_class is not None:
            return (f"Classes: {', '.join(self.classes)}; positive class: {self.positive_class} "
                    f"(one ROC curve and one AUC per model). Predicted class: {thr}. "
                    f"Intervals: {self._ci_label()} (AUC: {auc}; sensitivity, specificity: "
                    f"Wilson). Bootstrap: {st.get('n_boot', '?')} resamples of whole patients, "
                    f"stratified by class make-up (seed {st.get('random_state')}), for the ROC "
                    f"bands. Calibration: {st.get('n_bins', '?')} equal-width bins; ECE, slope and "
                    "intercept in the summary are top-label.")
        return (f"Classes: {', '.join(self.classes)}. Predicted class: {thr}. "
                f"Intervals: {self._ci_label()} (per-class AUC: {auc}; macro AUC: patient "
                "bootstrap; sensitivity, specificity: Wilson). "
                f"Bootstrap: {st.get('n_boot', '?')} resamples of whole patients, stratified by "
                f"class make-up (seed {st.get('random_state')}). Calibration: {st.get('n_bins', '?')} "
                "equal-width bins; ECE, slope and intercept in the summary are top-label.")

    def _per_class_heading(self) -> str:
        pos = self.positive_class
        return "Per class (one-vs-rest)" if pos is None else f"Positive class: {pos}"

    def _test_note(self) -> str:
        return MACRO_TEST_NOTE if self.positive_class is None else BINARY_TEST_NOTE

    # ------------------------------------------------------------------ renderers
    def to_markdown(self) -> str:
        """The report as Markdown (tables only; use :meth:`to_html` for figures)."""
        t = self.display_tables()
        parts = [f"# {self.title}", "", self._settings_line(), "", "## Summary", "",
                 markdown_table(t["summary"]), "", f"## {self._per_class_heading()}", "",
                 markdown_table(t["per_class"]), ""]
        if len(t["comparisons"]):
            parts += [f"## {self.reference} vs each branch", "", markdown_table(t["comparisons"]),
                      "", self._test_note(), ""]
        if len(t["missing"]):
            parts += ["## Missing modalities", "",
                      "Each branch is evaluated on the nodes it could see; "
                      "the model on every node.", "", markdown_table(t["missing"]), ""]
        parts += ["## Confusion matrices", ""]
        for m in self.models:
            if (self.confusion["model"] == m).any():
                parts += [f"**{m}** (rows: true class, columns: predicted class)", "",
                          markdown_table(self._confusion_display(m)), ""]
        return "\n".join(parts)

    def html_sections(self, embed_figures: bool = True, id_prefix: str = "") -> list:
        """The report's sections (:class:`lnfusion.report.html.Section`), for embedding in a page.

        Parameters
        ----------
        embed_figures : bool, default True
            Include the ROC, calibration and confusion figures as inline PNG images.
        id_prefix : str, default ""
            Prefix of the section ids (keeps ids unique when several results share a page).
        """
        from lnfusion.report.html import Section, figure_html

        t = self.display_tables()
        p = id_prefix
        sections = [Section(f"{p}summary", "Summary", html_table(t["summary"])),
                    Section(f"{p}per-class", self._per_class_heading(), html_table(t["per_class"]))]
        if len(t["comparisons"]):
            sections.append(Section(
                f"{p}comparisons", f"{self.reference} vs each branch",
                html_table(t["comparisons"]) + f'<p class="note">{_esc(self._test_note())}</p>'))
        if len(t["missing"]):
            sections.append(Section(
                f"{p}missing", "Missing modalities",
                "<p>Each branch is evaluated on the nodes it could see; the model on every "
                "node.</p>" + html_table(t["missing"])))
        if embed_figures:
            for sid, heading, plot in (("roc", "ROC curves", self.plot_roc),
                                       ("calibration", "Calibration", self.plot_calibration),
                                       ("confusion-plot", "Confusion matrices", self.plot_confusion)):
                sections.append(Section(f"{p}{sid}", heading,
                                        figure_html(plot(), alt=f"{heading}: {self.title}",
                                                    close=False)))
        counts = "".join(f"<h3>{_esc(m)}</h3>" + html_table(self._confusion_display(m))
                         for m in self.models if (self.confusion["model"] == m).any())
        sections.append(Section(f"{p}confusion", "Confusion matrices (counts)",
                                '<p class="note">Rows: true class; columns: predicted class.</p>'
                                + counts))
        return sections

    def to_html(self, path: str | os.PathLike | None = None, embed_figures: bool = True) -> str:
        """The report as a self-contained HTML page (no external resource).

        Parameters
        ----------
        path : path-like, optional
            Also write the page there (atomically).
        embed_figures : bool, default True
            Embed the ROC, calibration and confusion figures as base64 PNG images.

        Returns
        -------
        str
            The HTML document.
        """
        from lnfusion.report.html import HtmlDocument

        doc = HtmlDocument(title=self.title, subtitle=[self._settings_line()])
        for section in self.html_sections(embed_figures):
            doc.add(section)
        page = doc.to_html()
        if path is not None:
            atomic_write_text(path, page)
        return page

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dictionary (NaN as ``None``) that :meth:`from_dict` reads back."""
        return {"format": FORMAT, "title": self.title, "classes": list(self.classes),
                "settings": jsonable(self.settings),
                "tables": {name: table_to_json(getattr(self, name)) for name in _TABLES}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationResult:
        """Rebuild a result from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise PersistenceError(f"not an evaluation result: expected format {FORMAT!r}, "
                                   f"got {got!r}")
        tables = data["tables"]
        missing = [name for name in _TABLES if name not in tables]
        if missing:
            raise PersistenceError(f"evaluation result lacks table(s) {missing}")
        return cls(classes=tuple(data["classes"]), settings=dict(data.get("settings", {})),
                   title=str(data.get("title", "Evaluation")),
                   **{name: table_from_json(tables[name]) for name in _TABLES})

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> EvaluationResult:
        """Read a result written by :meth:`save_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise PersistenceError(f"evaluation result not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise PersistenceError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data)

    def __repr__(self) -> str:
        macro = ", ".join(f"{m}={format_number(a)}" for m, a in
                          zip(self.summary["model"], self.summary["macro_auc"]))
        return f"EvaluationResult({self.title!r}, n={self._n()}, {self.auc_label}: {macro})"

    def _n(self) -> int:
        return int(self.summary["n"].iloc[0] + self.summary["n_missing"].iloc[0])


def _empty_metrics_row(model: str, n_missing: int) -> dict[str, Any]:
    row = {c: math.nan for c in _SUMMARY_COLS}
    row.update(model=model, n=0, n_missing=n_missing, n_patients=0)
    return row


def evaluate_predictions(
    y_true: Sequence[Any] | np.ndarray,
    probas: Mapping[str, np.ndarray],
    classes: Sequence[str],
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    modality_mask: pd.DataFrame | None = None,
    alpha: float = 0.05,
    n_bins: int = 10,
    threshold: Threshold = "argmax",
    n_boot: int = 1000,
    random_state: int | None = 0,
    auc_method: str = "delong",
    absent_class: str = "raise",
    title: str = "Evaluation",
    positive_class: str | None = None,
) -> EvaluationResult:
    """Evaluate probability matrices of a model and its branches on the same nodes.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class per node (index into ``classes`` or name).
    probas : mapping of str to array of shape (n, n_classes)
        The reference (fused) model first, then each branch.  A branch's row of
        NaN marks a node it could not see: the branch is evaluated on the other
        nodes, and compared with the reference on those same nodes.
    classes : sequence of str
        Class names, the column order of every matrix.
    groups : array-like of shape (n,), optional
        Patient id per node (patient-level bootstrap and patient counts).
    modality_mask : pandas.DataFrame, optional
        Boolean nodes x modalities (``Cohort.modality_mask()``); its missing
        counts go to ``EvaluationResult.missing``.
    alpha, n_bins, threshold, n_boot, random_state, auc_method
        See :func:`lnfusion.evaluation.classification_metrics`.
    absent_class : {"raise", "warn"}, default "raise"
        A class absent from the evaluation set raises
        :class:`~lnfusion.evaluation.AbsentClassError` (``"raise"``) or gives NaN AUCs
        with a warning.  Classes absent from the nodes a *branch* saw always warn.
    title : str, default "Evaluation"
    positive_class : str, optional
        Two classes only: the positive class, whose single AUC, test and
        one-vs-rest metrics are reported (default the first class; see
        :func:`lnfusion.evaluation.positive_class_index`).

    Returns
    -------
    EvaluationResult
    """
    if not probas:
        raise DataError("probas: expected at least one model's probabilities")
    classes = tuple(str(c) for c in classes)
    pos = positive_class_index(classes, positive_class)
    positive = None if pos is None else classes[pos]
    names = [str(k) for k in probas]
    reference = names[0]
    y = np.asarray(y_true)
    g = None if groups is None else np.asarray(groups)
    n = y.shape[0]
    ref_p = np.asarray(probas[reference], dtype=float)
    common = dict(alpha=alpha, n_bins=n_bins, threshold=threshold, n_boot=n_boot,
                  random_state=random_state, auc_method=auc_method)

    summary_rows, per_class, confusion, calibration, roc, band, comparisons = [], [], [], [], [], [], []
    for name in names:
        p = np.asarray(probas[name], dtype=float)
        if p.ndim != 2 or p.shape[0] != n:
            raise DataError(f"{name}: expected probabilities of shape ({n}, {len(classes)}), "
                            f"got {p.shape}")
        nan_rows = np.isnan(p)
        seen = ~nan_rows.any(axis=1)
        partial = nan_rows.any(axis=1) & ~nan_rows.all(axis=1)
        if partial.any():
            i = int(np.flatnonzero(partial)[0])
            raise DataError(f"{name}: row {i} mixes NaN and numbers ({p[i].tolist()}); expected "
                            "a full row of NaN for a node the branch could not see")
        if name == reference and not seen.all():
            raise DataError(f"{reference}: the reference model returned NaN for "
                            f"{int((~seen).sum())} node(s); it must score every node")
        n_missing = int((~seen).sum())
        if not seen.any():
            warnings.warn(f"branch {name!r} could not see any of the {n} nodes; it is listed "
                          "without metrics", RuntimeWarning, stacklevel=2)
            summary_rows.append(_empty_metrics_row(name, n_missing))
            continue
        gs = None if g is None else g[seen]
        m = classification_metrics(y[seen], p[seen], classes, gs, name=name,
                                   absent_class=absent_class if name == reference else "warn",
                                   positive_class=positive, **common)
        summary_rows.append({"model": name, "n_missing": n_missing, **m.summary})
        per_class.append(m.per_class.assign(model=name))
        ii, jj = np.indices(m.confusion.shape)
        confusion.append(pd.DataFrame({"model": name, "true": np.asarray(classes)[ii.ravel()],
                                       "predicted": np.asarray(classes)[jj.ravel()],
                                       "count": m.confusion.ravel()}))
        calibration.append(m.calibration.assign(model=name))
        roc.append(m.roc.assign(model=name))
        band.append(m.roc_band.assign(model=name))
        if name != reference:
            comparisons.append(compare_models(
                y[seen], ref_p[seen], p[seen], classes, gs, names=(reference, name),
                alpha=alpha, n_boot=n_boot, random_state=random_state,
                positive_class=positive))

    def frame(parts: list[pd.DataFrame], first: list[str]) -> pd.DataFrame:
        parts = [x for x in parts if len(x)]
        if not parts:
            return pd.DataFrame(columns=first)
        df = pd.concat(parts, ignore_index=True)
        return df[first + [c for c in df.columns if c not in first]]

    comp = frame(comparisons, ["model_a", "model_b", "class"])
    if len(comp):
        from lnfusion.stats.adjust import adjust_pvalues

        # the headline test of each comparison (macro bootstrap; two classes: the single
        # DeLong test) is adjusted across the branches compared
        head = comp["class"] == ("macro" if positive is None else positive)
        comp.loc[head, "pval_adj"] = adjust_pvalues(comp.loc[head, "pval"].to_numpy(), "holm")
    if modality_mask is not None and len(modality_mask.columns):
        mask = modality_mask.astype(bool)
        missing = pd.DataFrame({"modality": [str(c) for c in mask.columns],
                                "n_missing": [int((~mask[c]).sum()) for c in mask.columns],
                                "n_nodes": len(mask)})
    else:
        missing = pd.DataFrame(columns=["modality", "n_missing", "n_nodes"])
    settings = {**common, "threshold": threshold if isinstance(threshold, str) else dict(threshold),
                "reference": reference, "models": names, "absent_class": absent_class,
                "positive_class": positive}
    return EvaluationResult(
        classes=classes,
        summary=pd.DataFrame(summary_rows)[_SUMMARY_COLS],
        per_class=frame(per_class, ["model", "class"]),
        comparisons=comp,
        confusion=frame(confusion, ["model", "true", "predicted", "count"]),
        calibration=frame(calibration, ["model", "curve"]),
        roc=frame(roc, ["model", "class"]),
        roc_band=frame(band, ["model", "class"]),
        missing=missing, settings=settings, title=title)


def evaluate(
    model: Any,
    cohort: Any,
    *,
    alpha: float = 0.05,
    n_bins: int = 10,
    threshold: Threshold = "argmax",
    n_boot: int = 1000,
    random_state: int | None = 0,
    auc_method: str = "delong",
    model_name: str = "model",
    title: str = "Evaluation",
    positive_class: str | None = None,
) -> EvaluationResult:
    """Evaluate a fitted model, and each of its branches, on a cohort.

    Parameters
    ----------
    model : estimator
        Fitted; ``predict_proba(cohort)`` in ``classes_`` order.  With
        ``predict_branch_proba(cohort)`` (:class:`lnfusion.fusion.LateFusionClassifier`)
        every branch is evaluated on the nodes it could see and compared with the model.
    cohort : Cohort
        Evaluation set (held-out patients); its ``y``, ``groups``, ``classes``
        and ``modality_mask()`` are used.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    n_bins : int, default 10
        Reliability-diagram bins.
    threshold : "argmax" or mapping of class to cut-off, default "argmax"
        How probabilities become a predicted class (see
        :func:`lnfusion.evaluation.predict_labels`).
    n_boot : int, default 1000
        Patient-bootstrap resamples for the macro-AUC interval, the ROC bands and
        the macro-AUC comparison (0 skips them).
    random_state : int or None, default 0
        Seed of the bootstrap.
    auc_method : {"delong", "bootstrap"}, default "delong"
        Interval of the per-class AUCs: DeLong (nodes independent) or a
        patient-level bootstrap (prefer it when patients have several nodes).
    model_name : str, default "model"
        Name of the model's row.
    title : str, default "Evaluation"
        Report heading.
    positive_class : str, optional
        Two classes only: the positive class (default the cohort's
        ``positive_class``, i.e. the schema's, else its first class).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    AbsentClassError
        A class has no node in ``cohort`` (its AUC is undefined); the message names it.
    NotFittedError
        Raised by the model when it is not fitted.

    Examples
    --------
    >>> result = evaluate(model, test_cohort)            # doctest: +SKIP
    >>> result.summary[["model", "macro_auc", "macro_auc_ci_low", "macro_auc_ci_high"]]  # doctest: +SKIP
    >>> result.to_html("report.html")                     # doctest: +SKIP
    """
    probas = collect_predictions(model, cohort, model_name)
    mask = cohort.modality_mask() if hasattr(cohort, "modality_mask") else None
    if positive_class is None:
        positive_class = getattr(cohort, "positive_class", None)
    return evaluate_predictions(cohort.y, probas, cohort.classes, cohort.groups,
                                modality_mask=mask, alpha=alpha, n_bins=n_bins,
                                threshold=threshold, n_boot=n_boot, random_state=random_state,
                                auc_method=auc_method, title=title, positive_class=positive_class)
