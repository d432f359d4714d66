"""A contact sheet of a cohort: a few nodes per class, every modality side by side."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lnfusion.exceptions import ConfigError, DataError
from lnfusion.io import atomic_open

__all__ = ["select_sheet_nodes", "write_contact_sheet"]

_TITLES = {"bmode": "B-mode", "cdfi": "Colour Doppler (CDFI)", "elasto": "Strain elastography"}


def select_sheet_nodes(cohort, n_per_class: int = 3) -> list[int]:
    """Positions of up to ``n_per_class`` nodes per class that have every modality.

    Nodes are spread over sites and patients (evenly spaced in site, patient order),
    so the choice is deterministic for a given cohort.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) \
            or n_per_class < 1:
        raise ConfigError(f"n_per_class: expected an integer >= 1, got {n_per_class!r}")
    complete = cohort.modality_mask().all(axis=1).to_numpy()
    sites = cohort.sites if cohort.sites is not None else np.full(len(cohort), "")
    order = np.lexsort((cohort.groups, sites))
    chosen: list[int] = []
    for k in range(len(cohort.classes)):
        pool = [i for i in order if cohort.y[i] == k and complete[i]]
        if not pool:
            continue
        # one node per patient first, spread evenly
        seen, unique = set(), []
        for i in pool:
            if cohort.groups[i] not in seen:
                seen.add(cohort.groups[i])
                unique.append(i)
        take = np.linspace(0, len(unique) - 1, min(n_per_class, len(unique))).round().astype(int)
        chosen.extend(int(unique[t]) for t in take)
    return chosen


def write_contact_sheet(cohort, path: str | os.PathLike, n_per_class: int = 3,
                        title: str | None = None, tile_inches: float = 2.2,
                        dpi: int = 110) -> Path:
    """Write a PNG with ``n_per_class`` nodes per class, one row per node, one column per
    modality (first image of each), labelled with class, patient, node and site.

    Parameters
    ----------
    cohort : lnfusion.data.Cohort
    path : path-like
        Output PNG (written atomically).
    n_per_class : int
        Nodes per class (fewer when a class has fewer complete nodes).
    title : str, optional
        Figure title (default says the demo data are simulated when the cohort
        came from :func:`~lnfusion.datasets.make_demo_cohort`).
    tile_inches, dpi : float, int
        Size of one image tile and resolution.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend is ever touched

    from lnfusion.data import read_image

    rows = select_sheet_nodes(cohort, n_per_class)
    if not rows:
        raise DataError("write_contact_sheet: no node has every modality "
                        f"({', '.join(cohort.modalities)}); nothing to show")
    modalities = cohort.modalities
    if title is None:
        simulated = (Path(cohort.root) / "demo_config.json").exists()
        title = ("lnfusion demo cohort: SIMULATED data" if simulated
                 else f"Cohort {Path(str(cohort.source)).name}")
    head = 0.75  # inches above the tiles: figure title and column titles
    fig = Figure(figsize=(tile_inches * len(modalities) + 1.4, tile_inches * len(rows) + head),
                 dpi=dpi)
    axes = fig.subplots(len(rows), len(modalities), squeeze=False)
    images = {m: cohort.images(m) for m in modalities}
    labels = cohort.labels
    sites = cohort.sites
    node_ids = (cohort.table[cohort.schema.node].to_numpy()
                if cohort.schema.node in cohort.table.columns else np.full(len(cohort), ""))
    for r, i in enumerate(rows):
        for c, m in enumerate(modalities):
            ax = axes[r, c]
            arr = read_image(images[m][i][0])
            ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(_TITLES.get(m, m), fontsize=10)
        where = f"\n{sites[i]}" if sites is not None else ""
        axes[r, 0].set_ylabel(f"{labels[i]}\n{cohort.groups[i]} {node_ids[i]}{where}",
                              fontsize=8.5, rotation=0, ha="right", va="center", labelpad=6)
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / fig.get_figheight(), va="top")
    fig.subplots_adjust(left=0.16, right=0.99, top=1 - head / fig.get_figheight(),
                        bottom=0.01, wspace=0.03, hspace=0.05)
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi)
    return path
