"""Figure layout shared by the plotting functions: panels and a colour per model."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lnfusion.exceptions import DataError

__all__ = ["panel_figure", "model_colors", "select_models", "class_panels"]


def panel_figure(n_panels: int, panel_size: float = 3.6, figsize: tuple[float, float] | None = None,
                 max_cols: int = 4) -> tuple[Any, list[Any]]:
    """A pyplot-free figure with ``n_panels`` axes on a grid (at most ``max_cols`` per row).

    Returns
    -------
    (matplotlib.figure.Figure, list of Axes)
        Exactly ``n_panels`` axes (unused grid cells are not created).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_panels = max(int(n_panels), 1)
    ncols = min(n_panels, max_cols)
    nrows = -(-n_panels // ncols)
    if figsize is None:
        figsize = (panel_size * ncols + 0.4, panel_size * nrows + 0.6)
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(n_panels)]
    return fig, axes


def model_colors(models: Sequence[str], reference: str | None = None) -> dict[str, Any]:
    """A stable colour per model: black for the reference model, tab10 for the others."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    out, j = {}, 0
    for m in models:
        if m == reference:
            out[m] = "black"
        else:
            out[m] = cmap(j % 10)
            j += 1
    return out


def select_models(result: Any, models: Sequence[str] | str | None) -> list[str]:
    """Validate a user's choice of models against ``result.models`` (default: all)."""
    available = list(result.models)
    if models is None:
        return available
    if isinstance(models, str):
        models = [models]
    unknown = [m for m in models if m not in available]
    if unknown:
        raise DataError(f"models {unknown} are not in this result; available: {available}")
    return list(models)


def class_panels(result: Any) -> list[tuple[str, str]]:
    """The classes that get a one-vs-rest panel, with the panel title.

    Two classes: the positive class alone (``"<class> (positive class)"``), the
    other class's curve being its mirror image; else every class (``"<class> vs rest"``).
    """
    positive = getattr(result, "positive_class", None)
    if positive is not None:
        return [(str(positive), f"{positive} (positive class)")]
    return [(str(c), f"{c} vs rest") for c in result.classes]
