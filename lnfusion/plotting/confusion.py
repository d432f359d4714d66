"""Confusion matrices as annotated heat maps."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lnfusion.plotting.panels import panel_figure, select_models

__all__ = ["plot_confusion"]


def plot_confusion(result: Any, models: Sequence[str] | str | None = None, *,
                   figsize: tuple[float, float] | None = None, cmap: str = "Blues") -> Any:
    """One confusion matrix per model: cells show counts and the row percentage.

    Parameters
    ----------
    result : EvaluationResult
        Provides ``classes``, ``models`` and ``confusion_matrix(model)``.
    models : str or sequence of str, optional
        Models/branches to draw (default: all that scored at least one node).
    figsize : (float, float), optional
    cmap : str, default "Blues"
        Colour map of the row-normalised values (the fraction of each true
        class predicted as each class; the diagonal is the sensitivity).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per model, titled with its name; rows are true classes.
    """
    names = select_models(result, models)
    names = [m for m in names if (result.confusion["model"] == m).any()]
    fig, axes = panel_figure(len(names), panel_size=3.3, figsize=figsize)
    k = len(result.classes)
    for ax, m in zip(axes, names):
        counts = result.confusion_matrix(m).to_numpy()
        rows = counts.sum(axis=1, keepdims=True)
        frac = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
        ax.imshow(frac, cmap=cmap, vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{counts[i, j]}\n{100 * frac[i, j]:.0f}%", ha="center", va="center",
                        fontsize=8, color="white" if frac[i, j] > 0.6 else "black")
        ax.set_xticks(range(k), result.classes, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(k), result.classes, fontsize=8)
        ax.set(xlabel="predicted", ylabel="true", title=m)
    return fig
