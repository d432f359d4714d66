"""Lesion masks: reading, the ROI box around a lesion, and shape measurements.

A manifest may give a binary lesion mask per image in a ``<modality>_mask``
column (see ``docs/manifest.md``).  From a mask lnfusion derives

* the **ROI box** (:func:`roi_from_mask`): the lesion's bounding box widened by
  a margin, so that a crop keeps the tissue around the border a radiologist
  reads;
* **shape measurements** (:func:`shape_measurements`, and
  :func:`add_mask_measurements` to add them to a cohort as continuous
  descriptors in one call), in mm where the pixel spacing is known.

Definitions (all on the mask's foreground pixels, each pixel a unit square):

``area``
    Number of foreground pixels times the pixel area.
``long_axis``, ``short_axis``
    Sides of the minimum-area rectangle enclosing the lesion (any orientation;
    found by rotating calipers over the convex hull of the pixel corners).  For
    an ellipse they are its two diameters; for a rotated rectangle its sides.
    This is close to how a radiologist measures a lesion's longest diameter and
    the diameter perpendicular to it.
``axis_ratio``
    ``long_axis / short_axis`` (>= 1).
``taller_than_wide``
    1 when the lesion's vertical extent (depth, image rows) exceeds its
    horizontal extent (image columns), else 0: the BI-RADS "not parallel"
    orientation.  Assumes the transducer at the top of the image.
``circularity``
    ``4 * pi * area / perimeter**2``: 1 for a disc, smaller for elongated or
    irregular outlines.  The perimeter is the Cauchy-Crofton estimate over four
    directions (0, 45, 90, 135 degrees), which is nearly unbiased for smooth
    outlines whatever their orientation (a pixel-edge count overestimates a
    disc's perimeter by about 27 %); it underestimates straight borders by up to
    about 5 %.  Clipped to 1 (tiny masks of a few pixels would exceed it).
``solidity``
    ``area / convex hull area``, both as pixel counts, the hull being the pixels
    whose centres lie in the convex hull of the lesion's pixel centres (1 for a
    convex lesion, smaller for lobulated or spiculated ones).
``margin_roughness``
    ``perimeter / convex hull perimeter - 1`` (same Crofton estimator for both,
    clipped at 0): 0 for a convex outline, growing with the length a lobulated,
    angular or spiculated margin adds to the outline.

Only numpy, scipy and PIL are used.
"""
from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.data.geometry import clamp_roi
from lnfusion.data.imageio import read_image
from lnfusion.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    from lnfusion.data.cohort import Cohort

__all__ = [
    "MEASUREMENTS",
    "read_mask",
    "mask_box",
    "roi_from_mask",
    "shape_measurements",
    "measurement_names",
    "add_mask_measurements",
    "dicom_spacing_mm",
    "DICOM_SPACING",
]

#: Measurement -> (unit kind, description); unit kind "length", "area" or "" (no unit).
MEASUREMENTS: dict[str, tuple[str, str]] = {
    "area": ("area", "lesion area from the mask"),
    "long_axis": ("length", "long side of the minimum-area rectangle enclosing the lesion mask"),
    "short_axis": ("length", "short side of the minimum-area rectangle enclosing the lesion mask"),
    "axis_ratio": ("", "long axis / short axis of the lesion mask (>= 1)"),
    "taller_than_wide": ("", "1 if the mask's vertical extent exceeds its horizontal extent "
                             "(not parallel), else 0"),
    "circularity": ("", "4*pi*area/perimeter^2 of the lesion mask (1 = disc; Crofton perimeter)"),
    "solidity": ("", "mask area / convex hull area (1 = convex)"),
    "margin_roughness": ("", "perimeter / convex hull perimeter - 1 of the mask (0 = convex outline)"),
}

Roi = tuple[int, int, int, int]


@functools.lru_cache(maxsize=1024)
def _read_mask_packed(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, tuple[int, int]]:
    grey = read_image(path, mode="grey")
    top = int(grey.max())
    mask = grey >= max(1.0, top / 2.0) if top else np.zeros(grey.shape, dtype=bool)
    return np.packbits(mask), mask.shape


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask image as a boolean array (H, W).

    Foreground = pixels at least half as bright as the brightest pixel (so 0/1,
    0/255 and anti-aliased masks all work); colour masks are read as grey.  An
    all-black mask is all False.  Masks are cached (packed bits, keyed by path,
    modification time and size), so validating a manifest and measuring its
    masks decode each file once.

    Raises
    ------
    MissingImageError, CorruptImageError
        The file is missing or cannot be decoded.
    """
    path = os.fspath(path)
    try:
        stat = os.stat(path)
    except OSError:
        return read_image(path, mode="grey").astype(bool)  # raises the MissingImageError
    packed, shape = _read_mask_packed(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    return np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape).astype(bool)


def mask_box(mask: np.ndarray) -> Roi | None:
    """The tight bounding box ``(x0, y0, x1, y1)`` (x1/y1 exclusive) of a mask; None when empty."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def roi_from_mask(mask_or_box: np.ndarray | Sequence[int], margin: float,
                  image_size: tuple[int, int]) -> Roi:
    """ROI box around a lesion: its bounding box widened by ``margin``, clamped to the image.

    Parameters
    ----------
    mask_or_box : array or (x0, y0, x1, y1)
        A boolean mask or its tight box (:func:`mask_box`).
    margin : float
        Added on each side, as a fraction of the box's width (left and right)
        and height (top and bottom), rounded up to whole pixels: 0.1 widens a
        100 x 50 pixel box to 120 x 60 when the image leaves room.
    image_size : (width, height)
        The image's size; the box is clamped to it.

    Returns
    -------
    (x0, y0, x1, y1)

    Raises
    ------
    DataError
        Empty mask or negative margin.
    """
    if margin < 0:
        raise DataError(f"roi margin must be >= 0 (a fraction of the lesion box size), got {margin!r}")
    box = mask_box(mask_or_box) if isinstance(mask_or_box, np.ndarray) else tuple(mask_or_box)
    if box is None:
        raise DataError("the mask is empty: no lesion box to derive an ROI from")
    x0, y0, x1, y1 = (int(v) for v in box)
    dx, dy = math.ceil(margin * (x1 - x0) - 1e-9), math.ceil(margin * (y1 - y0) - 1e-9)
    width, height = image_size
    return clamp_roi((x0 - dx, y0 - dy, x1 + dx, y1 + dy), int(height), int(width))


# -- geometry ----------------------------------------------------------------------------------
def _crofton_perimeter(mask: np.ndarray) -> float:
    """Cauchy-Crofton perimeter estimate (pixels) from transitions along four directions."""
    m = np.pad(mask, 1)
    n0 = np.count_nonzero(m[:, 1:] != m[:, :-1])
    n90 = np.count_nonzero(m[1:, :] != m[:-1, :])
    n45 = np.count_nonzero(m[1:, 1:] != m[:-1, :-1])
    n135 = np.count_nonzero(m[1:, :-1] != m[:-1, 1:])
    return float(np.pi / 8.0 * (n0 + n90 + (n45 + n135) / np.sqrt(2.0)))


def _hull(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convex hull of the lesion: (hull of the pixel corners (k, 2) as x, y; filled hull mask).

    The filled hull mask holds the pixels whose centres lie in the convex hull of
    the foreground pixels' centres (the digital convex hull; it contains the mask).
    """
    from scipy import ndimage
    from scipy.spatial import ConvexHull, QhullError

    edge = mask & ~ndimage.binary_erosion(mask)
    ys, xs = np.nonzero(edge)
    centres = np.stack([xs, ys], axis=1).astype(np.float64)
    try:
        hull = ConvexHull(centres)
    except QhullError:  # centres on one line (or one pixel): the mask is its own hull
        hull = None
    # hull of the pixel squares = hull of the squares of the centre hull's vertices
    vertices = centres[hull.vertices] if hull is not None else centres
    corners = np.concatenate([vertices + (dx, dy) for dx in (0, 1) for dy in (0, 1)])
    points = corners[ConvexHull(corners).vertices]  # pixel squares never make a flat set
    if hull is None:
        return points, mask.copy()
    eq = hull.equations
    # pixel (x, y) is in the hull when a*x + b*y + c <= 0 for every facet: per row an x interval
    a, b, c = eq[:, 0:1], eq[:, 1:2], eq[:, 2:3]
    rows = np.arange(mask.shape[0], dtype=np.float64)[None, :]
    bound = -(b * rows + c)  # a*x <= bound
    tol = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(a > tol, bound / a, np.inf).min(axis=0)
        lower = np.where(a < -tol, bound / a, -np.inf).max(axis=0)
    flat_ok = np.all(np.where(np.abs(a) <= tol, bound >= -tol, True), axis=0)
    lo = np.ceil(lower - tol).clip(0, mask.shape[1])
    hi = np.floor(upper + tol).clip(-1, mask.shape[1] - 1)
    cols = np.arange(mask.shape[1])[None, :]
    filled = flat_ok[:, None] & (cols >= lo[:, None]) & (cols <= hi[:, None])
    return points, filled | mask


def _min_area_rectangle(points: np.ndarray) -> tuple[float, float]:
    """Sides (long, short) of the minimum-area rectangle enclosing convex-hull ``points``."""
    if len(points) < 3:
        span = points.max(axis=0) - points.min(axis=0)
        return float(span.max()), float(span.min())
    edges = np.roll(points, -1, axis=0) - points
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    best = (math.inf, 0.0, 0.0)
    for a in angles:
        c, s = math.cos(a), math.sin(a)
        u = points[:, 0] * c + points[:, 1] * s
        v = -points[:, 0] * s + points[:, 1] * c
        w, h = float(u.max() - u.min()), float(v.max() - v.min())
        if w * h < best[0]:
            best = (w * h, max(w, h), min(w, h))
    return best[1], best[2]


def measurement_names(prefix: str = "lesion_", unit: str = "mm") -> dict[str, str]:
    """Measurement -> column name: lengths end in ``_<unit>``, areas in ``_<unit>2``."""
    out = {}
    for key, (kind, _) in MEASUREMENTS.items():
        suffix = {"length": f"_{unit}", "area": f"_{unit}2", "": ""}[kind]
        out[key] = f"{prefix}{key}{suffix}"
    return out


def shape_measurements(mask: np.ndarray, pixel_spacing_mm: float | None = None) -> dict[str, float]:
    """Shape measurements of one lesion mask (see the module docstring for the definitions).

    Parameters
    ----------
    mask : array (H, W)
        Lesion mask (non-zero = lesion).  Several blobs are measured as one lesion.
    pixel_spacing_mm : float, optional
        Size of a (square) pixel in mm; lengths are then in mm and the area in
        mm^2, otherwise in pixels.

    Returns
    -------
    dict
        Keys of :data:`MEASUREMENTS`.

    Raises
    ------
    DataError
        Empty mask, or a pixel spacing that is not a positive number.
    """
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise DataError(f"a mask must be 2-D (H, W), got shape {mask.shape}")
    if not mask.any():
        raise DataError("the mask is empty: nothing to measure")
    x0, y0, x1, y1 = mask_box(mask)
    mask = mask[y0:y1, x0:x1]  # every measurement is translation-invariant
    s = 1.0 if pixel_spacing_mm is None else float(pixel_spacing_mm)
    if not (s > 0 and math.isfinite(s)):
        raise DataError(f"pixel spacing must be a positive number of mm, got {pixel_spacing_mm!r}")
    area_px = float(mask.sum())
    perimeter = _crofton_perimeter(mask)
    points, hull_mask = _hull(mask)
    long_px, short_px = _min_area_rectangle(points)
    return {
        "area": area_px * s * s,
        "long_axis": long_px * s,
        "short_axis": short_px * s,
        "axis_ratio": long_px / short_px if short_px > 0 else math.nan,
        "taller_than_wide": float((y1 - y0) > (x1 - x0)),
        "circularity": min(1.0, 4.0 * math.pi * area_px / perimeter ** 2),
        "solidity": area_px / float(hull_mask.sum()),
        "margin_roughness": max(0.0, perimeter / _crofton_perimeter(hull_mask) - 1.0),
    }


#: ``pixel_spacing`` value of :func:`add_mask_measurements` that reads each image's DICOM region spacing.
DICOM_SPACING = "dicom"


def dicom_spacing_mm(path: str, tolerance: float = 0.01) -> float | None:
    """Square pixel size in mm of an image's DICOM ultrasound region; None when the file gives none.

    Raises
    ------
    DataError
        The pixels are not square (X and Y spacing differ by more than
        ``tolerance``, relative): lengths would depend on the direction.
    """
    from lnfusion.data.imageio import image_geometry

    spacing = image_geometry(path, verify=False).spacing_mm
    if spacing is None:
        return None
    dx, dy = spacing
    if abs(dx - dy) > tolerance * max(dx, dy):
        raise DataError(f"{path}: the ultrasound region's pixels are {dx:g} x {dy:g} mm, not square; "
                        "measurements in mm need square pixels")
    return (dx + dy) / 2.0


def add_mask_measurements(cohort: Cohort, modality: str = "bmode",
                          pixel_spacing: float | str | None = None,
                          prefix: str = "lesion_", source: str = "mask") -> Cohort:
    """Return a copy of ``cohort`` with the mask shape measurements as continuous descriptors.

    Parameters
    ----------
    cohort : Cohort
        A cohort whose manifest has a ``<modality>_mask`` column (or, with
        ``source="roi"``, ROI boxes).
    modality : str
        Whose masks to measure.  A node with several images is measured on its
        first image that has a mask; a node without a mask gets NaN.
    pixel_spacing : float, str or None
        Pixel size in mm: one number for every image, ``"dicom"`` for the
        physical spacing of each measured image's DICOM ultrasound region
        (:attr:`~lnfusion.data.ImageGeometry.spacing_mm`; pixels must be
        square), or the name of a numeric column of ``cohort.table`` (mm per
        pixel, per node).  Columns are then named ``<prefix>long_axis_mm``,
        ``<prefix>area_mm2``...; with None, in pixels (``<prefix>long_axis_px``,
        ``<prefix>area_px2``).
    prefix : str
        Prefix of the new descriptor names.
    source : {"mask", "roi"}
        Measure the lesion masks, or the ROI boxes (``<modality>_roi``, read
        as a rectangular lesion outline: its long and short axis, area, axis
        ratio and orientation; the outline measures are those of a rectangle).

    Returns
    -------
    Cohort
        The same nodes; the schema gains the continuous descriptors of
        :func:`measurement_names` (descriptions say the definition and unit).

    Raises
    ------
    SchemaError
        No mask column, an unknown spacing column, or a new name that is already a column.
    DataError
        A node with a mask has no usable pixel spacing (the message names it).
    """
    from lnfusion.data.schema import Descriptor

    schema = cohort.schema
    if source not in ("mask", "roi"):
        raise DataError(f"source must be 'mask' or 'roi', got {source!r}")
    outlines = cohort.masks(modality) if source == "mask" else cohort.rois(modality)
    if not any(p is not None for paths in outlines for p in paths):
        column = schema.mask_column(modality) if source == "mask" else schema.roi_column(modality)
        raise SchemaError(f"{cohort.source}: modality {modality!r} has no {source}s; expected a "
                          f"{column!r} column giving a {source} per image")
    images = cohort.images(modality)
    table = cohort.table
    unit = "px" if pixel_spacing is None else "mm"
    if pixel_spacing == DICOM_SPACING:
        spacing = np.full(len(table), np.nan)
    elif isinstance(pixel_spacing, str):
        if pixel_spacing not in table.columns:
            raise SchemaError(f"{cohort.source}: pixel spacing column {pixel_spacing!r} not found; "
                              f"columns: {list(table.columns)}")
        spacing = pd.to_numeric(table[pixel_spacing], errors="coerce").to_numpy(dtype=float)
    else:
        spacing = np.full(len(table), np.nan if pixel_spacing is None else float(pixel_spacing))
    names = measurement_names(prefix, unit)
    taken = [n for n in names.values() if n in table.columns or n in schema.descriptors]
    if taken:
        raise SchemaError(f"{cohort.source}: measurement column(s) {taken} already exist; "
                          "pass another prefix")
    values = {key: np.full(len(table), np.nan) for key in names}
    for pos, items in enumerate(outlines):
        k = next((k for k, p in enumerate(items) if p is not None), None)
        if k is None:
            continue
        s: Any = None
        if pixel_spacing == DICOM_SPACING:
            s = dicom_spacing_mm(images[pos][k])
        elif pixel_spacing is not None:
            s = spacing[pos]
        if pixel_spacing is not None and not (s is not None and s > 0 and math.isfinite(s)):
            raise DataError(f"{cohort.source}, node {pos} (patient {cohort.groups[pos]!r}): pixel "
                            f"spacing {pixel_spacing!r} is {s!r}; expected a positive number of mm"
                            + (" (the image declares no ultrasound region with a physical spacing in cm)"
                               if pixel_spacing == DICOM_SPACING else ""))
        if source == "mask":
            outline = read_mask(items[k])
        else:
            x0, y0, x1, y1 = items[k]
            outline = np.ones((y1 - y0, x1 - x0), dtype=bool)
        for key, v in shape_measurements(outline, s).items():
            values[key][pos] = v
    where = "mm" if unit == "mm" else "pixels"
    new_desc = {}
    for key, col in names.items():
        table[col] = values[key]
        kind, text = MEASUREMENTS[key]
        unit_text = {"length": f", {where}", "area": f", {where}^2", "": ""}[kind]
        new_desc[col] = Descriptor("continuous", description=f"{text} ({modality}{unit_text})")
    return cohort._replace(table=table, descriptors={**schema.descriptors, **new_desc})
