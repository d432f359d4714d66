"""A small SIMULATED two-class, one-modality lesion cohort with lesion masks.

:func:`make_lesion_cohort` writes what a user's own cohort typically looks like
when it is not the lymph-node study: B-mode images of one lesion each (a
breast-lesion-like benign / malignant task), one lesion mask per image, a few
clinical and sonographic descriptors, a hospital column and a published
train / test split column.  It writes no schema: declaring one is the user's
first step (``docs/your_own_cohort.md`` walks through it).

The images come from the same B-mode physics as the demo cohort
(:func:`lnfusion.datasets.bmode.simulate_bmode`, :func:`lnfusion.datasets.phantom.smooth_noise`):
a lesion in homogeneous tissue, benign lesions oval, wider than tall, smooth and
often with posterior enhancement; malignant ones irregular, more often taller
than wide, darker and often shadowing.  The class signal is deliberately strong
enough that a tiny network learns something in one epoch, and the data are
simulated: they say nothing about real lesions.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from lnfusion.datasets.bmode import simulate_bmode
from lnfusion.datasets.phantom import ATTEN_TISSUE, smooth_noise
from lnfusion.datasets.sites import SITES
from lnfusion.exceptions import ConfigError
from lnfusion.io import atomic_dir

__all__ = ["LESION_CLASSES", "make_lesion_cohort"]

#: Classes of the practice cohort, benign first (the negative class).
LESION_CLASSES: tuple[str, ...] = ("benign", "malignant")

#: Field of view of every image, in mm.
FIELD_MM = 30.0


def _lesion_mask(n: int, malignant: bool, rng: np.random.Generator) -> tuple[np.ndarray, str, str]:
    """Boolean lesion mask on an ``n`` x ``n`` grid, its shape and its orientation reading."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    cy, cx = n * rng.uniform(0.42, 0.55), n * rng.uniform(0.4, 0.6)
    size = n * rng.uniform(0.14, 0.22)
    taller = malignant and rng.random() < 0.6
    ratio = rng.uniform(1.1, 1.5) if taller else rng.uniform(0.55, 0.85)  # height / width
    ry, rx = size * np.sqrt(ratio), size / np.sqrt(ratio)
    angle = np.arctan2((yy - cy) / ry, (xx - cx) / rx)
    wobble = smooth_noise((n, n), n / (14.0 if malignant else 4.0), rng)
    bumps = 0.22 * np.cos(rng.integers(5, 9) * angle + rng.uniform(0, 6.3)) if malignant else 0.0
    radius = 1.0 + (0.18 if malignant else 0.04) * wobble + bumps
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= radius ** 2
    shape = "irregular" if malignant and rng.random() < 0.75 else ("oval" if rng.random() < 0.7
                                                                    else "round")
    orientation = "not parallel" if taller else "parallel"
    return mask, shape, orientation


def _bmode(mask: np.ndarray, malignant: bool, site_index: int, rng: np.random.Generator) -> np.ndarray:
    n = mask.shape[0]
    echo = 1.0 + 0.15 * smooth_noise((n, n), 3.0, rng)
    echo[mask] = rng.uniform(0.03, 0.07) if malignant else rng.uniform(0.08, 0.15)
    atten = np.full((n, n), ATTEN_TISSUE, dtype=np.float32)
    posterior = rng.random()
    if malignant and posterior < 0.6:
        atten[mask] = 1.6                     # shadowing behind the lesion
    elif not malignant and posterior < 0.5:
        atten[mask] = 0.1                     # enhancement behind a fluid-rich lesion
    image = simulate_bmode(np.clip(echo, 0.01, None).astype(np.float32), atten, FIELD_MM / n,
                           SITES[site_index], rng)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_lesion_cohort(root: str | os.PathLike, n_patients: int = 40, image_size: int = 64,
                       seed: int = 0, test_fraction: float = 0.25, overwrite: bool = False) -> Path:
    """Write the SIMULATED two-class, one-modality practice cohort under ``root``.

    Writes ``images/<lesion>.png`` (B-mode, greyscale), ``masks/<lesion>.png``
    (the lesion, 255 on 0, same size), and ``manifest.csv`` with the columns
    ``patient_id``, ``lesion_id``, ``label`` (``benign`` / ``malignant``),
    ``hospital`` (two sites), ``age``, ``shape`` (oval / round / irregular),
    ``orientation`` (parallel / not parallel), ``size_mm``, ``bmode``,
    ``bmode_mask`` and ``split`` (``train`` / ``test``: a fixed, class-stratified
    split of the patients, as published folds come).  Some patients have two
    lesions of the same class.  No schema is written.

    Parameters
    ----------
    root : path-like
        A new folder (built under a temporary name, renamed when complete).
    n_patients : int, default 40
        Number of patients (at least 8); half benign, half malignant.
    image_size : int, default 64
        Side of the square images in pixels (at least 32).
    seed : int, default 0
        The same seed gives the same files.
    test_fraction : float, default 0.25
        Share of each class's patients marked ``test`` in ``split``.
    overwrite : bool
        Replace an existing ``root``.

    Returns
    -------
    pathlib.Path
        ``root / "manifest.csv"``.

    Raises
    ------
    ConfigError
        A parameter out of range, or ``root`` exists and ``overwrite`` is False.
    """
    root = Path(root)
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) or n_patients < 8:
        raise ConfigError(f"n_patients: expected an integer >= 8, got {n_patients!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 32:
        raise ConfigError(f"image_size: expected an integer >= 32, got {image_size!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError(f"test_fraction: expected a fraction in (0, 1), got {test_fraction!r}")
    if root.exists() and not overwrite:
        raise ConfigError(f"{root} already exists; pass overwrite=True or choose another folder")
    from PIL import Image

    rng = np.random.default_rng(seed)
    labels = np.array([LESION_CLASSES[p % 2] for p in range(n_patients)])
    test = np.zeros(n_patients, dtype=bool)
    for cls in LESION_CLASSES:
        members = rng.permutation(np.flatnonzero(labels == cls))
        test[members[:max(1, int(round(test_fraction * len(members))))]] = True
    rows = []
    with atomic_dir(root, overwrite=overwrite) as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        for p in range(n_patients):
            malignant = labels[p] == "malignant"
            patient = f"PT{p + 1:03d}"
            site = int(rng.random() < (0.6 if malignant else 0.4))
            age = rng.normal(58 if malignant else 46, 11)
            for k in range(1 + int(rng.random() < 0.2)):
                lesion = f"{patient}-L{k + 1}"
                mask, shape, orientation = _lesion_mask(image_size, malignant, rng)
                Image.fromarray(_bmode(mask, malignant, site, rng)).save(tmp / "images" / f"{lesion}.png")
                Image.fromarray((mask * 255).astype(np.uint8)).save(tmp / "masks" / f"{lesion}.png")
                width = np.ptp(np.flatnonzero(mask.any(axis=0))) + 1
                rows.append({
                    "patient_id": patient, "lesion_id": f"L{k + 1}", "label": labels[p],
                    "hospital": ("north", "south")[site], "age": round(float(age)),
                    "shape": shape, "orientation": orientation,
                    "size_mm": round(float(width) * FIELD_MM / image_size, 1),
                    "bmode": f"images/{lesion}.png", "bmode_mask": f"masks/{lesion}.png",
                    "split": "test" if test[p] else "train"})
        pd.DataFrame(rows).to_csv(tmp / "manifest.csv", index=False, lineterminator="\n")
    return root / "manifest.csv"
