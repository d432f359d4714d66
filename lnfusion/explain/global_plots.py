"""Global explanation plots: free functions on a :class:`~lnfusion.explain.ShapExplanation`.

:func:`plot_importance` draws mean ``|SHAP|`` per feature as horizontal bars
stacked by output (class; two classes: the positive class alone), most important on top, from
:meth:`ShapExplanation.mean_abs <lnfusion.explain.ShapExplanation.mean_abs>`;
:func:`plot_descriptor_importance` (clinical branch) and
:func:`plot_modality_importance` (fusion head) are it with their titles, and
also take an :class:`~lnfusion.explain.ExplanationBundle`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lnfusion.explain.explanation import ShapExplanation

__all__ = ["plot_importance", "plot_descriptor_importance", "plot_modality_importance",
           "plot_importance_table", "CLASS_COLOURS"]

#: Colour per class position (metastatic, lymphoma, benign, then matplotlib's cycle).
CLASS_COLOURS = ("#c0392b", "#8e44ad", "#27ae60", "#2980b9", "#f39c12", "#7f8c8d")


def _class_colour(i: int) -> str:
    return CLASS_COLOURS[i % len(CLASS_COLOURS)]


def plot_importance_table(table: pd.DataFrame, *, title: str, xlabel: str, top: int | None = None,
                          ax: Axes | None = None) -> Figure:
    """Horizontal bars of a mean-``|SHAP|`` table (rows x classes, plus ``"all"``), stacked by class.

    Parameters
    ----------
    table : DataFrame
        Rows = features or branches, one column per class and a column ``"all"``
        (as returned by ``mean_abs()``), sorted most important first.
    title, xlabel : str
    top : int, optional
        Keep the ``top`` most important rows.
    ax : matplotlib Axes, optional
        Draw into it; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot when ``ax`` is None (nothing to close).
    """
    from matplotlib.figure import Figure

    classes = [c for c in table.columns if c != "all"]
    shown = table.head(top) if top else table
    if ax is None:
        fig = Figure(figsize=(6.4, 0.9 + 0.38 * max(len(shown), 1)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    y = np.arange(len(shown))[::-1]
    left = np.zeros(len(shown))
    for i, c in enumerate(classes):
        width = shown[c].to_numpy(dtype=float)
        ax.barh(y, width, left=left, color=_class_colour(i), label=str(c), height=0.7)
        left += width
    ax.set_yticks(y, [str(v) for v in shown.index])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_importance(explanation: ShapExplanation, *, title: str | None = None, top: int | None = None,
                    ax: Axes | None = None) -> Figure:
    """Global importance of the features of a SHAP explanation (mean ``|SHAP|``, stacked by output).

    Parameters
    ----------
    explanation : ShapExplanation
    title : str, optional
        Default ``"<Feature> importance"`` after ``explanation.axes``.
    top : int, optional
        Keep the ``top`` most important features.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    feature, output = explanation.axes[1], explanation.axes[2]
    reported = explanation.reported_outputs
    xlabel = (f"mean |SHAP| ({explanation.unit}), stacked by {output}" if len(reported) > 1
              else f"mean |SHAP| ({explanation.reported_unit}) for {output} {reported[0]}")
    return plot_importance_table(explanation.mean_abs(), title=title or f"{feature.capitalize()} importance",
                                 xlabel=xlabel, top=top, ax=ax)


def plot_descriptor_importance(explanation: Any, *, top: int = 15, ax: Axes | None = None) -> Figure:
    """Global descriptor importance of the clinical branch.

    Parameters
    ----------
    explanation : ExplanationBundle or ShapExplanation
        A bundle, or the clinical branch's :func:`~lnfusion.explain.tabular_shap`.
    top : int, default 15
        Number of descriptors shown.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    tab = getattr(explanation, "tabular", explanation)
    if tab is None:
        from lnfusion.exceptions import NotAvailableError

        raise NotAvailableError("no tabular SHAP values: the model has no XGBoost clinical branch")
    return plot_importance(tab, title="Descriptor importance (clinical branch)", top=top, ax=ax)


def plot_modality_importance(explanation: Any, *, ax: Axes | None = None) -> Figure:
    """Global modality importance in the fusion head (one bar per branch).

    Parameters
    ----------
    explanation : ExplanationBundle or ShapExplanation
        A bundle, or the fusion head's :func:`~lnfusion.explain.fusion_shap`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    mod = getattr(explanation, "modality", explanation)
    return plot_importance(mod, title="Modality importance (fusion head)", ax=ax)
