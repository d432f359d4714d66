"""The demo report: one self-contained HTML page from the results of a whole run.

:func:`build_demo_report` assembles what ``lnfusion demo`` (or a notebook)
computed: the cohort summary and contact sheet, Table 1, the evaluation of the
fused model and of every branch, the modality contributions, the SHAP plots and
a few explanation cards.  It renders nothing itself: each part is drawn by the
renderer of the result object that holds it (``TableOneResult.to_html``,
``EvaluationResult.html_sections``, the explanation bundle's plots and cards),
so the report always shows exactly what those objects show elsewhere.  A part
that was not computed is replaced by a short note, never by a broken section.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from lnfusion.exceptions import DataError
from lnfusion.io import atomic_write_text
from lnfusion.report.html import (
    HtmlDocument,
    Section,
    embed_html,
    escape,
    figure_html,
    image_html,
)

__all__ = ["build_demo_report", "REPORT_SECTIONS", "REPORT_FILENAME"]

#: File name of the report inside ``out_dir``.
REPORT_FILENAME = "report.html"

#: Top-level sections of the report, in order: (HTML id, heading).
REPORT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("cohort", "Cohort"),
    ("table-one", "Table 1"),
    ("evaluation", "Evaluation"),
    ("modality-contributions", "Modality contributions"),
    ("descriptor-shap", "Descriptor contributions (SHAP)"),
    ("explanation-cards", "Explanation cards"),
)

_TITLES = dict(REPORT_SECTIONS)

_SIMULATED = ("The demo cohort is simulated: images and descriptors come from a physical "
              "model of lymph-node ultrasound, not from patients. The figures below show "
              "what lnfusion computes; they say nothing about clinical performance, and "
              "which modality is most informative is a setting of the simulation.")


def build_demo_report(out_dir: str | os.PathLike, cohort: Any, *, table_one: Any = None,
                      evaluation: Any = None, explanations: Any = None,
                      contact_sheet: str | os.PathLike | Any = None,
                      title: str = "lnfusion demo report", simulated: bool = True,
                      n_cards: int = 3) -> Path:
    """Write the demo report, a single self-contained HTML file.

    Parameters
    ----------
    out_dir : path-like
        Folder to write ``report.html`` into (created if needed).
    cohort : Cohort
        The cohort the run used; its summary opens the report.
    table_one : TableOneResult, optional
        Table 1 from :func:`lnfusion.stats.table_one` (rendered with its ``to_html``).
    evaluation : EvaluationResult, optional
        From :func:`lnfusion.evaluation.evaluate`: metrics, per-branch and fused
        ROC curves with confidence bands, calibration, confusion matrices.
    explanations : ExplanationBundle, optional
        From :func:`lnfusion.explain.explain`: modality contributions, descriptor
        SHAP plots and per-patient explanation cards.
    contact_sheet : path-like or matplotlib Figure, optional
        Picture of a few nodes per class in every modality (the demo cohort's
        contact sheet PNG).
    title : str, default "lnfusion demo report"
        Page title.
    simulated : bool, default True
        Say at the top that the cohort is simulated (the demo cohort is).
    n_cards : int, default 3
        Number of explanation cards shown: the first ``n_cards`` nodes chosen
        for image attributions (``explanations.selected``), else the first nodes.

    Returns
    -------
    Path
        The written ``report.html``.

    Raises
    ------
    DataError
        A part is not the expected kind of result, or an image it refers to
        cannot be embedded.

    Notes
    -----
    Every top-level section listed in :data:`REPORT_SECTIONS` is always present,
    so links into the report are stable; a part passed as ``None`` becomes a
    section holding a note that says what to pass to include it.  Figures are
    embedded as PNG data URIs and nothing is loaded from the network, so the
    file can be mailed or archived on its own.

    Examples
    --------
    >>> path = build_demo_report("out", cohort, evaluation=evaluate(model, test))  # doctest: +SKIP
    """
    _check_parts(table_one, evaluation, explanations, contact_sheet, n_cards)
    summary = cohort.summary()
    subtitle = [f"{summary.n_patients} patients, {summary.n_nodes} nodes, "
                f"classes {', '.join(summary.classes)}; source: {summary.source}"]
    doc = HtmlDocument(title=title, subtitle=subtitle)
    doc.add(_cohort_section(summary, contact_sheet, simulated))
    doc.add(_table_one_section(table_one))
    doc.add(_evaluation_section(evaluation))
    doc.add(_contributions_section(explanations))
    doc.add(_descriptor_shap_section(explanations))
    doc.add(_cards_section(explanations, n_cards))
    path = Path(out_dir) / REPORT_FILENAME
    atomic_write_text(path, doc.to_html())
    return path


#: Part -> (method it must have, what it must be); checked before anything is drawn.
_PART_TYPES = {
    "table_one": ("to_html", "a Table 1 result (from lnfusion.stats.table_one)"),
    "evaluation": ("html_sections", "an EvaluationResult (from lnfusion.evaluation.evaluate)"),
    "explanations": ("card_html", "an ExplanationBundle (from lnfusion.explain.explain)"),
}


def _check_parts(table_one: Any, evaluation: Any, explanations: Any, contact_sheet: Any,
                 n_cards: int) -> None:
    """Refuse a wrong kind of part before spending time drawing the others."""
    parts = {"table_one": table_one, "evaluation": evaluation, "explanations": explanations}
    for name, value in parts.items():
        method, expected = _PART_TYPES[name]
        if value is not None and not hasattr(value, method):
            raise DataError(f"build_demo_report: {name} must be {expected}, "
                            f"got {type(value).__name__}")
    if contact_sheet is not None and not (
            hasattr(contact_sheet, "savefig")
            or isinstance(contact_sheet, (str, os.PathLike, bytes, bytearray))):
        raise DataError("build_demo_report: contact_sheet must be an image file path or a "
                        f"matplotlib Figure, got {type(contact_sheet).__name__}")
    if n_cards < 0:
        raise DataError(f"build_demo_report: n_cards must be >= 0, got {n_cards}")


def _omitted(sid: str, argument: str, what: str) -> Section:
    return Section(sid, _TITLES[sid],
                   note=f"Not included: {what} was not computed for this report "
                        f"(pass {argument}= to build_demo_report to include it).")


def _frame_html(df: pd.DataFrame) -> str:
    """A DataFrame as an HTML table, its index (named) as the first column."""
    return df.reset_index().to_html(border=0, index=False, na_rep="", escape=True)


def _cohort_section(summary: Any, contact_sheet: Any, simulated: bool) -> Section:
    d = summary.to_dict()
    parts = []
    if simulated:
        parts.append(f'<p class="warning">{escape(_SIMULATED)}</p>')
    parts.append(f"<p>{d['n_patients']} patients, {d['n_nodes']} nodes (lesions).</p>")
    classes = pd.DataFrame({"nodes": d["nodes_per_class"], "patients": d["patients_per_class"]})
    parts.append("<h3>Classes</h3>" + _frame_html(classes.rename_axis("class")))
    mods = pd.DataFrame({"images": d["images_per_modality"],
                         "nodes with": d["nodes_with_modality"],
                         "nodes missing": d["nodes_missing_modality"]})
    parts.append("<h3>Images per modality</h3>" + _frame_html(mods.rename_axis("modality")))
    if d.get("nodes_per_site_class"):
        sites = pd.DataFrame.from_dict(d["nodes_per_site_class"], orient="index",
                                       columns=list(d["classes"]))
        sites["total"] = sites.sum(axis=1)
        parts.append("<h3>Nodes per site and class</h3>" + _frame_html(sites.rename_axis("site")))
    if contact_sheet is None:
        parts.append('<p class="note">No contact sheet (pass contact_sheet= to include one).</p>')
    else:
        parts.append("<h3>Contact sheet</h3>" + _picture(
            contact_sheet, alt="Contact sheet: a few nodes per class in every modality",
            caption="A few nodes per class; modalities side by side."))
    return Section("cohort", _TITLES["cohort"], "".join(parts))


def _picture(picture: Any, alt: str, caption: str | None = None) -> str:
    if hasattr(picture, "savefig"):
        return figure_html(picture, alt=alt, caption=caption)
    return image_html(picture, alt=alt, caption=caption)


def _table_one_section(table_one: Any) -> Section:
    if table_one is None:
        return _omitted("table-one", "table_one", "Table 1")
    return Section("table-one", _TITLES["table-one"],
                   embed_html(table_one.to_html(), shift_headings=2))


def _evaluation_section(evaluation: Any) -> Section:
    if evaluation is None:
        return _omitted("evaluation", "evaluation", "the evaluation of the model")
    subsections = evaluation.html_sections(embed_figures=True, id_prefix="evaluation-")
    intro = (f"<p>{escape(evaluation.title)}: the fused model "
             f"(<code>{escape(evaluation.reference)}</code>) and every branch, on held-out "
             "patients. Confidence intervals and bands are described beside each table.</p>")
    return Section("evaluation", _TITLES["evaluation"],
                   intro + "".join(s.to_html(level=3) for s in subsections))


def _contributions_section(explanations: Any) -> Section:
    if explanations is None:
        return _omitted("modality-contributions", "explanations", "the explanation bundle")
    ranking = explanations.modality_importance()
    return Section("modality-contributions", _TITLES["modality-contributions"],
                   "<p>How much each branch (each image modality and the clinical branch) "
                   "moved the fused model's output, per class: mean absolute SHAP value of "
                   f"the fusion head over {len(explanations)} nodes.</p>"
                   + figure_html(explanations.plot_modality_importance(),
                                 alt="Modality importance (fusion-head SHAP)")
                   + _frame_html(ranking.round(4).rename_axis("branch")))


def _descriptor_shap_section(explanations: Any) -> Section:
    if explanations is None:
        return _omitted("descriptor-shap", "explanations", "the explanation bundle")
    tabular = explanations.tabular
    if tabular is None:
        return Section("descriptor-shap", _TITLES["descriptor-shap"],
                       note="The model has no XGBoost clinical branch, so there are no "
                            "descriptor SHAP values.")
    parts = ["<p>TreeSHAP values of the clinical-descriptor branch (log-odds), for every "
             "class: global importance, then shap's beeswarm plot per class (one dot per "
             "node, colour = the descriptor's value).</p>",
             figure_html(explanations.plot_descriptor_importance(),
                         alt="Descriptor importance (tabular SHAP)")]
    for name in tabular.output_names:
        parts.append(figure_html(_beeswarm(tabular.to_shap(name)), alt=f"SHAP beeswarm for class {name}",
                                 caption=f"Class {name}"))
    return Section("descriptor-shap", _TITLES["descriptor-shap"], "".join(parts))


def _beeswarm(explanation: Any) -> Any:
    """shap's own beeswarm plot of one class, on a fresh figure."""
    import matplotlib.pyplot as plt
    import shap

    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    shap.plots.beeswarm(explanation, max_display=10, ax=ax, show=False, plot_size=None)
    ax.set_title(f"SHAP values for {explanation.output_names}", fontsize="medium")
    return fig


def _cards_section(explanations: Any, n_cards: int) -> Section:
    if explanations is None:
        return _omitted("explanation-cards", "explanations", "the explanation bundle")
    rows = list(explanations.selected) or list(range(len(explanations)))
    rows = rows[:n_cards]
    if not rows:
        return Section("explanation-cards", _TITLES["explanation-cards"],
                       note="No card requested (n_cards=0) or no node explained.")
    body = "".join(f"<div>{embed_html(explanations.card_html(int(r)), shift_headings=2)}</div>" for r in rows)
    return Section("explanation-cards", _TITLES["explanation-cards"],
                   f"<p>{len(rows)} of {len(explanations)} explained nodes: images with their "
                   "heat maps, modality and descriptor contributions, predicted probabilities "
                   f'and the true label.</p><div class="cards">{body}</div>')
