"""Reliability (calibration) diagrams."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lnfusion.plotting.panels import class_panels, model_colors, panel_figure, select_models

__all__ = ["plot_calibration"]


def plot_calibration(result: Any, models: Sequence[str] | str | None = None, *,
                     figsize: tuple[float, float] | None = None) -> Any:
    """Reliability diagrams: top-label confidence, then one-vs-rest for each class.

    Parameters
    ----------
    result : EvaluationResult
        Provides ``classes``, ``models``, ``calibration`` (reliability bins) and ``summary``.
    models : str or sequence of str, optional
        Models/branches to draw (default: all).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        ``1 + len(result.classes)`` axes: ``"top label"`` (probability of the
        predicted class vs the fraction correct; legend gives the ECE), then
        ``"<class> vs rest"`` (mean predicted probability vs observed fraction);
        with two classes, the positive class alone (two axes).
        Marker area grows with the number of nodes in the bin.
    """
    from lnfusion.formatting import format_number

    names = select_models(result, models)
    colors = model_colors(result.models, getattr(result, "reference", None))
    titles = dict(class_panels(result))
    curves = ["top_label"] + list(titles)
    fig, axes = panel_figure(len(curves), figsize=figsize)
    ece = dict(zip(result.summary["model"], result.summary["ece"]))
    cal = result.calibration
    for ax, curve in zip(axes, curves):
        ax.plot([0, 1], [0, 1], ls=":", lw=1, color="0.6")
        for m in names:
            bins = cal[(cal["model"] == m) & (cal["curve"] == curve)]
            if not len(bins):
                continue
            label = f"{m} (ECE {format_number(ece.get(m))})" if curve == "top_label" else m
            ax.plot(bins["mean_predicted"], bins["observed"], color=colors[m], lw=1.4, label=label)
            total = max(float(bins["n"].sum()), 1.0)
            ax.scatter(bins["mean_predicted"], bins["observed"], s=10 + 200 * bins["n"] / total,
                       color=colors[m], alpha=0.7, lw=0)
        if curve == "top_label":
            ax.set(title="top label", xlabel="confidence (probability of predicted class)",
                   ylabel="fraction correct")
        else:
            ax.set(title=titles[curve], xlabel="mean predicted probability",
                   ylabel="observed fraction")
        ax.set(xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
        ax.legend(loc="upper left", fontsize=7)
    return fig
