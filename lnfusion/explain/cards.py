"""Per-node explanation cards: a PNG figure and a self-contained HTML page.

A card shows, for one node (lesion):

* its images, one per modality, with the attribution heat map (Grad-CAM and/or
  SHAP) blended in; a modality the node lacks is marked as missing;
* the modality contributions: how much each branch moved the fused output
  towards the predicted class (modality-level SHAP of the fusion head);
* the top descriptor contributions of the clinical branch (TreeSHAP);
* the fused class probabilities, with the true label marked when known.

The HTML page embeds its images as base64 PNG: it is a single file that opens
offline and can be mailed or archived with a report.
"""
from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lnfusion.explain.bundle import ExplanationBundle
    from lnfusion.explain.explanation import ShapExplanation

__all__ = ["plot_card", "card_html", "write_cards", "plot_contributions", "figure_png", "card_filename"]

_POS, _NEG = "#c0392b", "#2471a3"


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def card_filename(node: str) -> str:
    """A safe file stem for a node label (``P001/2`` -> ``P001_2``)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(node))
    return safe.strip(".") or "node"


def _signed_barh(ax, labels: Sequence[str], values: np.ndarray, title: str, xlabel: str) -> None:
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=[_POS if v >= 0 else _NEG for v in values], height=0.6)
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(xlabel, fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)


def plot_contributions(explanation: ShapExplanation, instance: int, output: int | str, *,
                       top: int | None = None, sort: bool = True,
                       label: Callable[[str, Any], str] | None = None, title: str | None = None,
                       ax: Axes | None = None) -> Figure:
    """One instance's SHAP contributions to one output as signed horizontal bars.

    Parameters
    ----------
    explanation : ShapExplanation
    instance : int
        Position of the instance (node).
    output : int or str
        Output (class) explained.
    top : int, optional
        Keep the ``top`` largest ``|SHAP|`` (with ``sort``).
    sort : bool, default True
        Largest ``|SHAP|`` first; otherwise in feature order.
    label : callable, optional
        ``label(feature, value) -> str``; default ``"feature = value"`` when the
        explanation holds feature values, else the feature name.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(5.0, 3.4), layout="constrained").add_subplot()
    table = explanation.contributions(instance, output, sort=sort)
    if top is not None:
        table = table.head(top)
    if label is None:
        has_values = explanation.data is not None or explanation.display_data is not None
        label = (lambda f, v: f"{f} = {_fmt(v)}") if has_values else (lambda f, _: f)
    name = explanation.output_names[explanation.output_index(output)]
    _signed_barh(ax, [label(f, v) for f, v in zip(table["feature"], table["value"])],
                 table["shap"].to_numpy(dtype=float),
                 title or f"{explanation.axes[1].capitalize()} contributions to {name}",
                 f"SHAP ({explanation.reported_unit})")
    return ax.figure


def _image_panel(ax, bundle: ExplanationBundle, row: int, modality: str, method: str | None) -> None:
    """One image of the node: raw (``method=None``) or with its attribution map."""
    ax.set_xticks([])
    ax.set_yticks([])
    paths = bundle.image_paths.get(modality, [[]] * len(bundle.node_ids))[row]
    if not paths:
        ax.text(0.5, 0.5, f"no {modality}\nimage", ha="center", va="center", color="0.4")
        ax.set_title(modality, fontsize="small")
        ax.set_facecolor("0.95")
        return
    if method is None:
        from lnfusion.data.imageio import read_image

        img = read_image(paths[0])
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        more = f" (1 of {len(paths)})" if len(paths) > 1 else ""
        ax.set_title(f"{modality}{more}", fontsize="small")
        return
    label = {"gradcam": "Grad-CAM", "shap": "SHAP"}[method]
    found = [a for a in bundle.images_for(row) if a.modality == modality and a.method == method
             and a.image_index == 0]
    if not found:
        ax.text(0.5, 0.5, f"no {label}", ha="center", va="center", color="0.4")
        ax.set_facecolor("0.95")
        return
    ax.imshow(found[0].overlay())
    empty = " (empty map)" if not np.any(found[0].display_map()) else ""
    ax.set_title(f"{modality} {label} towards {found[0].target}{empty}", fontsize="small")


def card_image_grid(modalities: Sequence[str], methods: Sequence[str | None]
                    ) -> tuple[list[tuple[int, int, str, str | None]], int, int]:
    """Where a card puts its images: ``(cells, n_rows, n_cols)``.

    ``cells`` holds ``(row, column, modality, method)`` for every modality and
    method (``None`` = the raw image).  Three or more modalities: one column
    per modality, one row per method.  Fewer: up to four images side by side
    in one row, else one row per modality and one column per method; so no
    grid cell is left empty (:func:`plot_card` puts one or two images on the
    row of its three panels).

    Parameters
    ----------
    modalities : sequence of str
        Image modalities of the card.
    methods : sequence of str or None
        ``None`` (raw image), then ``"gradcam"`` and/or ``"shap"``.
    """
    modalities, methods = list(modalities), list(methods)
    if not modalities:
        return [], 0, 0
    if len(modalities) >= 3:
        cells = [(r, c, m, k) for r, k in enumerate(methods) for c, m in enumerate(modalities)]
        return cells, len(methods), len(modalities)
    if len(modalities) * len(methods) <= 4:
        pairs = [(m, k) for m in modalities for k in methods]
        return [(0, c, m, k) for c, (m, k) in enumerate(pairs)], 1, len(pairs)
    cells = [(r, c, m, k) for r, m in enumerate(modalities) for c, k in enumerate(methods)]
    return cells, len(modalities), len(methods)


def plot_card(bundle: ExplanationBundle, node: int | str, *, top_descriptors: int = 8) -> Figure:
    """Draw one node's explanation card.

    Parameters
    ----------
    bundle : ExplanationBundle
    node : int or str
        Position in the bundle, node label (``patient`` or ``patient/node``) or
        patient id (its first node).
    top_descriptors : int, default 8
        Descriptor contributions shown.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot (nothing to close; works under any backend).
    """
    from matplotlib.figure import Figure

    row = bundle.row(node)
    classes = list(bundle.classes)
    proba = bundle.proba.iloc[row].to_numpy(dtype=float)
    pred = int(np.argmax(proba))
    true = None if bundle.y_true is None else bundle.y_true[row]
    modalities = list(bundle.image_modalities)
    methods = [None] + sorted({a.method for a in bundle.images}, key=["gradcam", "shap"].index)
    images, n_rows, n_cols = card_image_grid(modalities, methods)
    if n_rows <= 1 and n_cols <= 2:
        # at most two images (one modality, or none): one row, images then the three panels
        fig = Figure(figsize=(3.4 * (n_cols + 3), 3.4), layout="constrained")
        grid = fig.add_gridspec(1, n_cols + 3)
        image_cells = [grid[0, c] for _, c, _, _ in images]
        panels = [grid[0, n_cols + j] for j in range(3)]
    else:
        # an image grid over the full width, then the three panels over the full width
        width = max(n_cols, 3)
        fig = Figure(figsize=(3.4 * width, 2.9 * n_rows + 3.4), layout="constrained")
        outer = fig.add_gridspec(2, 1, height_ratios=[2.9 * n_rows, 3.4])
        top = outer[0].subgridspec(n_rows, n_cols)
        image_cells = [top[r, c] for r, c, _, _ in images]
        bottom = outer[1].subgridspec(1, 3)
        panels = [bottom[0, j] for j in range(3)]
    for cell, (_, _, m, method) in zip(image_cells, images):
        _image_panel(fig.add_subplot(cell), bundle, row, m, method)

    # modality contributions
    missing = set(_missing_branches(bundle, row))
    plot_contributions(bundle.modality, row, pred, sort=False,
                       label=lambda b, _: f"{b} (missing)" if b in missing else b,
                       title=f"Modality contributions to {classes[pred]}",
                       ax=fig.add_subplot(panels[0]))

    # descriptor contributions
    ax = fig.add_subplot(panels[1])
    if bundle.tabular is not None:
        plot_contributions(bundle.tabular, row, pred, top=top_descriptors,
                           title=f"Top descriptors (clinical branch) for {classes[pred]}", ax=ax)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no XGBoost clinical branch", ha="center", va="center", color="0.4")

    # probabilities
    ax = fig.add_subplot(panels[2])
    colours = ["0.65"] * len(classes)
    colours[pred] = _POS
    y = np.arange(len(classes))[::-1]
    ax.barh(y, proba, color=colours, height=0.6)
    ticks = [f"{c} (true)" if true is not None and c == true else c for c in classes]
    ax.set_yticks(y, ticks, fontsize="small")
    ax.set_xlim(0, 1)
    for yi, p in zip(y, proba):
        ax.text(min(p + 0.02, 0.86), yi, f"{p:.2f}", va="center", fontsize="small")
    ax.set_title("Fused probabilities", fontsize="medium")
    ax.spines[["top", "right"]].set_visible(False)

    truth = f"; true: {true}" if true is not None else ""
    fig.suptitle(f"{bundle.node_ids[row]}: predicted {classes[pred]} (p = {proba[pred]:.2f}){truth}")
    return fig


def _missing_branches(bundle: ExplanationBundle, row: int) -> list[str]:
    """Branches that could not see the node (no image of their modality)."""
    return [b for b, p in bundle.branch_proba.items() if np.isnan(p[row]).all()]


def _fmt(value: Any) -> str:
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def _table_html(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    return frame.to_html(float_format=lambda v: floatfmt.format(v), border=0, classes="tbl",
                         na_rep="missing", escape=True)


def card_html(bundle: ExplanationBundle, node: int | str, *, png: bytes | None = None,
              top_descriptors: int = 8) -> str:
    """One node's card as a self-contained HTML page (images embedded as base64 PNG).

    Parameters
    ----------
    bundle : ExplanationBundle
    node : int or str
        Position, node label or patient id.
    png : bytes, optional
        The card figure as PNG if already drawn (default: drawn with :func:`plot_card`).
    top_descriptors : int, default 8

    Returns
    -------
    str
    """
    row = bundle.row(node)
    if png is None:
        png = figure_png(plot_card(bundle, row, top_descriptors=top_descriptors))
    encoded = base64.b64encode(png).decode("ascii")
    classes = list(bundle.classes)
    proba = bundle.proba.iloc[[row]].T
    proba.columns = ["probability"]
    pred = int(np.argmax(proba["probability"].to_numpy()))
    true = None if bundle.y_true is None else bundle.y_true[row]
    mod = bundle.modality.instance_frame(row)
    missing = _missing_branches(bundle, row)
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>Explanation card: {html.escape(bundle.node_ids[row])}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}"
        ".tbl{border-collapse:collapse;margin:0.5em 0 1.5em}.tbl td,.tbl th{padding:0.2em 0.8em;"
        "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}"
        ".note{color:#555;font-size:0.9em}</style></head><body>",
        f"<h1>{html.escape(bundle.node_ids[row])}</h1>",
        f"<p>Patient <b>{html.escape(bundle.patients[row])}</b>. Predicted "
        f"<b>{html.escape(classes[pred])}</b> (p = {proba['probability'].iloc[pred]:.3f})"
        + (f"; true label <b>{html.escape(str(true))}</b>" if true is not None else "") + ".</p>",
        f"<img alt='explanation card' src='data:image/png;base64,{encoded}'>",
        "<h2>Fused probabilities</h2>", _table_html(proba),
        f"<h2>Modality contributions (SHAP, {html.escape(bundle.modality.output)} scale)</h2>",
        "<p class='note'>Base value per class: "
        + ", ".join(f"{html.escape(c)} {v:.3f}" for c, v in zip(classes, bundle.modality.base_values))
        + ". Base plus the contributions of a class gives the head's output for it."
        + (" Missing for this node: " + ", ".join(html.escape(b) for b in missing)
           + (" (the stacking head credits a missing modality with the effect of its absence)."
              if bundle.modality.method == "linear" else " (contributes nothing).")
           if missing else "") + "</p>",
        _table_html(mod),
    ]
    if bundle.tabular is not None:
        tab = bundle.tabular.contributions(row, pred).head(top_descriptors)
        tab["value"] = [_fmt(v) for v in tab["value"]]
        parts += [f"<h2>Top descriptor contributions to {html.escape(classes[pred])} "
                  "(clinical branch, log-odds)</h2>", _table_html(tab.set_index("feature"))]
    parts += ["<p class='note'>Generated by lnfusion. Explanations describe the model, "
              "not the disease: check them against the images.</p>", "</body></html>"]
    return "\n".join(parts) + "\n"


def write_cards(bundle: ExplanationBundle, out_dir: str | os.PathLike,
                nodes: Sequence[int | str] | None = None, *, html_pages: bool = True,
                png: bool = True, dpi: int = 110) -> list[Path]:
    """Write a PNG and/or HTML card per node.

    Parameters
    ----------
    bundle : ExplanationBundle
    out_dir : path-like
        Created if absent; files are ``<node>.png`` and ``<node>.html``.
    nodes : sequence of int or str, optional
        Default: the nodes with image attributions (``bundle.selected``), or
        all nodes when no image was explained.
    html_pages, png : bool
        Which formats to write.
    dpi : int

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    rows = [bundle.row(n) for n in nodes] if nodes is not None else list(bundle.selected)
    written: list[Path] = []
    for row in rows:
        stem = card_filename(bundle.node_ids[row])
        image = figure_png(plot_card(bundle, row), dpi=dpi)
        if png:
            written.append(atomic_write_bytes(out / f"{stem}.png", image))
        if html_pages:
            written.append(atomic_write_text(out / f"{stem}.html", card_html(bundle, row, png=image)))
    return written
