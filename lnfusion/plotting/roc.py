"""One-vs-rest ROC curves with pointwise bootstrap confidence bands."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lnfusion.plotting.panels import class_panels, model_colors, panel_figure, select_models

__all__ = ["plot_roc"]


def plot_roc(result: Any, models: Sequence[str] | str | None = None, *, band: bool = True,
             figsize: tuple[float, float] | None = None) -> Any:
    """One panel per class: the one-vs-rest ROC curve of each model.

    Parameters
    ----------
    result : EvaluationResult
        Provides ``classes``, ``models``, ``roc``, ``roc_band``, ``per_class`` and ``settings``.
    models : str or sequence of str, optional
        Models/branches to draw (default: all).
    band : bool, default True
        Shade the pointwise bootstrap confidence band (when the result has one).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        ``len(result.classes)`` axes, titled ``"<class> vs rest"`` (two classes:
        one axes, ``"<positive class> (positive class)"``); legend entries give
        each model's AUC with its CI.
    """
    from lnfusion.formatting import format_ci

    names = select_models(result, models)
    colors = model_colors(result.models, getattr(result, "reference", None))
    panels = class_panels(result)
    fig, axes = panel_figure(len(panels), figsize=figsize)
    level = f"{100 * (1 - float(result.settings.get('alpha', 0.05))):g}%"
    for ax, (cls, title) in zip(axes, panels):
        ax.plot([0, 1], [0, 1], ls=":", lw=1, color="0.6")
        for m in names:
            pts = result.roc[(result.roc["model"] == m) & (result.roc["class"] == cls)]
            if not len(pts):
                continue
            row = result.per_class[(result.per_class["model"] == m) & (result.per_class["class"] == cls)]
            label = m
            if len(row):
                r = row.iloc[0]
                label = f"{m}: {format_ci(r['auc'], r['auc_ci_low'], r['auc_ci_high'])}"
            ax.plot(pts["fpr"], pts["tpr"], color=colors[m], lw=1.6, label=label)
            if band and len(result.roc_band):
                b = result.roc_band[(result.roc_band["model"] == m) & (result.roc_band["class"] == cls)]
                if len(b):
                    ax.fill_between(b["fpr"], b["tpr_low"], b["tpr_high"], color=colors[m],
                                    alpha=0.15, lw=0)
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 − specificity", ylabel="sensitivity",
               title=title, aspect="equal")
        ax.legend(loc="lower right", fontsize=7, title=f"AUC ({level} CI)", title_fontsize=7)
    return fig
