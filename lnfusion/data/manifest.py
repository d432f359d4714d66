"""Manifest parsing: read a manifest and check every cell, collecting every problem.

:func:`parse_manifest` reads a manifest (CSV/TSV/Parquet or DataFrame), checks
it against a :class:`~lnfusion.data.CohortSchema` and returns a
:class:`ManifestParse`: the :class:`ParsedManifest` a
:class:`~lnfusion.data.Cohort` is built from (None when anything is wrong),
*all* problems found, and notes.  :func:`lnfusion.data.validate_manifest`
(``lnfusion validate``) wraps it into a report with the cohort;
:meth:`lnfusion.data.Cohort.from_manifest` raises the first problem.  Row
numbers in messages are spreadsheet rows (header = row 1, first data row =
row 2) followed by the 0-based position, which is also the ``row`` attribute of
the exception.

A node missing a modality (empty cell) is not an error: it is recorded in
:meth:`~lnfusion.data.Cohort.modality_mask`.  Empty descriptor cells become NaN.

A manifest of new patients may have no label column (or an empty one): with
``labelled=None`` (the default) such a manifest is read as an *unlabelled*
cohort, and the checks that need labels (unknown label, conflicting labels,
empty class) are skipped.
"""
from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.data.frames import file_images
from lnfusion.data.imageio import image_geometry
from lnfusion.data.masks import mask_box, read_mask, roi_from_mask
from lnfusion.data.schema import PATH_SEPARATOR, CohortSchema, Descriptor
from lnfusion.exceptions import (
    CategoryLevelError,
    ConfigError,
    ConflictingLabelError,
    DuplicateIdError,
    EmptyClassError,
    ImageError,
    LnfusionError,
    ManifestError,
    MaskError,
    MissingImageError,
    NonNumericError,
    RoiError,
    SchemaError,
    UnknownLabelError,
)

__all__ = ["ManifestParse", "ParsedManifest", "Roi", "parse_manifest", "read_manifest"]

#: An ROI box ``(x0, y0, x1, y1)`` in pixels, x to the right, y down, x1/y1 exclusive.
Roi = tuple[int, int, int, int]

_DATAFRAME_SOURCE = "manifest DataFrame"


@dataclass
class ParsedManifest:
    """A checked manifest: everything a :class:`~lnfusion.data.Cohort` is built from.

    Attributes
    ----------
    table : DataFrame
        One row per node: ids, labels, sites as text, descriptors parsed
        (float or categorical), modality cells as given.
    schema : CohortSchema
        The schema the manifest was checked against.
    root : Path
        Absolute folder the image paths were resolved against.
    source : str
        The manifest file (or the DataFrame's name).
    y : ndarray of int or None
        Class index per node; None for an unlabelled manifest.
    groups : ndarray of object
        Patient id per node.
    sites : ndarray of object or None
        Site per node; None without a site column.
    images, rois, masks : dict
        Modality -> per node, the absolute image paths, their ROI boxes (None:
        whole image) and lesion-mask paths (None: no mask).
    notes : tuple of str
        What a loader wants a reader to know (shown in the cohort summary).
    """

    table: pd.DataFrame
    schema: CohortSchema
    root: Path
    source: str
    y: np.ndarray | None  # None: unlabelled cohort
    groups: np.ndarray
    sites: np.ndarray | None
    images: dict[str, list[list[str]]]
    rois: dict[str, list[list[Roi | None]]]
    masks: dict[str, list[list[str | None]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass
class ManifestParse:
    """What :func:`parse_manifest` found.

    Attributes
    ----------
    source : str
        The manifest file (or ``"manifest DataFrame"``).
    parsed : ParsedManifest or None
        The checked manifest; None when any error was found.
    errors : list of LnfusionError
        Every problem found, in row order (problems not tied to one row, such
        as an empty class, last).  Empty when the manifest is valid.
    notes : list of str
        Information that is not an error (schema inferred, columns not in the
        schema, manifest read without labels).
    labelled : bool or None
        Whether the manifest was read with labels (None when it could not be
        read far enough to tell).
    warnings : list of LnfusionError
        Problems that do not stop the manifest from being read but will stop
        some analyses later (a patient whose nodes sit at two sites breaks
        leave-one-site-out validation); errors under ``strict=True``.
    """

    source: str
    parsed: ParsedManifest | None = None
    errors: list[LnfusionError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labelled: bool | None = None
    warnings: list[LnfusionError] = field(default_factory=list)


# -- reading ---------------------------------------------------------------------------
def read_manifest(manifest: str | os.PathLike | pd.DataFrame,
                  source: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a manifest as text cells.

    Parameters
    ----------
    manifest : path-like or DataFrame
        ``.csv`` / ``.tsv`` (all cells read as text, empty = missing),
        ``.parquet``, or a DataFrame (copied, never modified).
    source : str, optional
        Name of a DataFrame manifest in messages (default ``"manifest DataFrame"``).

    Returns
    -------
    (DataFrame, str)
        The table with a fresh RangeIndex and its source name for messages.

    Raises
    ------
    ManifestError
        The file is missing or cannot be parsed.
    """
    if isinstance(manifest, pd.DataFrame):
        return manifest.reset_index(drop=True).copy(), source or _DATAFRAME_SOURCE
    path = Path(manifest)
    source = str(path)
    if not path.is_file():
        raise ManifestError(f"{source}: manifest file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str,
                             keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001 -- parser errors come in many types
        raise ManifestError(f"{source}: cannot be read as a {suffix or 'CSV'} table ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df.reset_index(drop=True), source


def _text(value: Any) -> str | None:
    """A cell as stripped text; None when empty or missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) or isinstance(value, np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, (np.integer, np.bool_)):
        value = value.item()
    text = str(value).strip()
    return text or None


def _where(source: str, pos: int, column: str) -> str:
    return f"{source}, row {pos + 2} (position {pos}), column {column!r}"


def _rows_text(positions: Sequence[int]) -> str:
    if len(positions) == 1:
        return f"row {positions[0] + 2} (position {positions[0]})"
    shown = ", ".join(f"{p + 2}" for p in positions[:10])
    more = f" and {len(positions) - 10} more" if len(positions) > 10 else ""
    pos = ", ".join(str(p) for p in positions[:10])
    return f"rows {shown}{more} (positions {pos}{'...' if more else ''})"


def _suggest(value: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, [str(o) for o in options], n=1, cutoff=0.6)
    if not close:
        lower = {str(o).lower(): str(o) for o in options}
        if value.lower() in lower:
            close = [lower[value.lower()]]
    return f"; did you mean {close[0]!r}?" if close else ""


# -- cell parsers ----------------------------------------------------------------------
class _Levels:
    """Match manifest cells to declared levels; numbers match their text form."""

    def __init__(self, levels: tuple):
        self.levels = levels
        self.by_text = {str(v): v for v in levels}
        self.by_number = {float(v): v for v in levels
                          if isinstance(v, numbers.Real) and not isinstance(v, bool)}

    def match(self, text: str) -> Any:
        if text in self.by_text:
            return self.by_text[text]
        if self.by_number:
            try:
                return self.by_number.get(float(text), _NO_MATCH)
            except ValueError:
                pass
        return _NO_MATCH


_NO_MATCH = object()


def _parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_roi(part: str) -> Roi | str:
    """An ROI box, or a message saying what is wrong with it."""
    pieces = [p.strip() for p in part.split(",")]
    numbers_ = [_parse_number(p) for p in pieces]
    if len(pieces) != 4 or any(n is None for n in numbers_):
        return f"ROI {part!r} is malformed; expected four numbers 'x0,y0,x1,y1' in pixels"
    x0, y0, x1, y1 = numbers_
    if x0 < 0 or y0 < 0:
        return f"ROI {part!r} has a negative corner; expected x0, y0 >= 0"
    if x1 <= x0 or y1 <= y0:
        return f"ROI {part!r} is empty or inverted; expected x0 < x1 and y0 < y1"
    return (int(math.floor(x0)), int(math.floor(y0)), int(math.ceil(x1)), int(math.ceil(y1)))


# -- the checks ------------------------------------------------------------------------
def _resolve_schema(manifest: Any, df: pd.DataFrame, schema: CohortSchema | str | os.PathLike | None,
                    notes: list[str]) -> CohortSchema:
    if isinstance(schema, CohortSchema):
        return schema
    if schema is not None:
        return CohortSchema.from_json(schema)
    if not isinstance(manifest, pd.DataFrame):
        beside = Path(manifest).parent / "schema.json"
        if beside.is_file():
            notes.append(f"schema read from {beside}")
            return CohortSchema.from_json(beside)
    default = CohortSchema()
    present = [m for m in default.modalities if m in df.columns]
    if not present:
        raise SchemaError(
            "no schema given, no schema.json beside the manifest, and none of the default modality "
            f"columns {list(default.modalities)} is present; columns present: {list(df.columns)}. "
            "Pass a CohortSchema (or --schema schema.json) naming your columns")
    notes.append(f"no schema given: default schema used (classes {list(default.classes)}, "
                 f"modalities {present}, no descriptors)")
    return default.with_modalities(present)


def _resolve_labelled(df: pd.DataFrame, schema: CohortSchema, labelled: bool | None,
                      notes: list[str]) -> bool:
    """Whether to read labels: ``labelled``, or (None) whether the label column has a value."""
    present = schema.label in df.columns
    if labelled is None:
        labelled = present and any(_text(v) is not None for v in df[schema.label].tolist())
        if not labelled:
            why = "is empty on every row" if present else "is absent"
            notes.append(f"label column {schema.label!r} {why}: read as an unlabelled cohort "
                         "(prediction only; pass labelled=True or --labelled to require labels)")
    elif not labelled:
        notes.append("read as an unlabelled cohort (labelled=False or --unlabelled)"
                     + (f"; label column {schema.label!r} not checked, kept as it is" if present else ""))
    return bool(labelled)


def _check_columns(df: pd.DataFrame, schema: CohortSchema, source: str, notes: list[str],
                   labelled: bool = True) -> None:
    required = [schema.patient, *([schema.label] if labelled else []), *schema.descriptors,
                *schema.modalities]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{source}: column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)} "
            f"declared in the schema {'are' if len(missing) > 1 else 'is'} missing; "
            f"columns present: {list(df.columns)}")
    if len(df) == 0:
        raise ManifestError(f"{source}: the manifest has no data rows; expected one row per node")
    known = (set(required) | {schema.node, schema.site, schema.label}
             | {schema.roi_column(m) for m in schema.modalities}
             | {schema.mask_column(m) for m in schema.modalities})
    derived = [c for c in df.columns if c in schema.outcome_derived]
    if derived:
        notes.append(f"outcome-derived columns, kept for display but never model inputs: {derived}")
    extra = [c for c in df.columns if c not in known and c not in schema.outcome_derived]
    if extra:
        notes.append(f"columns not in the schema, kept as they are: {extra}")


def _parse(manifest: Any, schema: Any, root: Any, check_images: bool, allow_empty_classes: bool,
           source: str | None, labelled: bool | None, found: ManifestParse) -> ParsedManifest | None:
    errors, notes = found.errors, found.notes
    df, source = read_manifest(manifest, source)
    schema = _resolve_schema(manifest, df, schema, notes)
    labelled = found.labelled = _resolve_labelled(df, schema, labelled, notes)
    _check_columns(df, schema, source, notes, labelled)
    if root is None:
        root = Path(manifest).parent if not isinstance(manifest, pd.DataFrame) else Path.cwd()
    root = Path(os.path.abspath(root))
    n = len(df)
    table = df.copy()

    def fail(exc_type: type[ManifestError], pos: int, column: str, what: str) -> None:
        errors.append(exc_type(f"{_where(source, pos, column)}: {what}", row=pos, column=column))

    # ids, labels, sites -------------------------------------------------------------
    patients = [_text(v) for v in df[schema.patient].tolist()]
    for pos, p in enumerate(patients):
        if p is None:
            fail(ManifestError, pos, schema.patient, "empty patient id; expected a non-empty id")
    has_node = schema.node is not None and schema.node in df.columns
    nodes = [_text(v) for v in df[schema.node].tolist()] if has_node else [None] * n
    has_site = schema.site is not None and schema.site in df.columns
    sites = [_text(v) for v in df[schema.site].tolist()] if has_site else None
    if sites is not None:
        for pos, s in enumerate(sites):
            if s is None:
                fail(ManifestError, pos, schema.site,
                     "empty site; expected a site name on every row when the column is present")

    classes = schema.classes
    labels = y = None
    if labelled:
        labels = [_text(v) for v in df[schema.label].tolist()]
        y = np.full(n, -1, dtype=np.int64)
        index = {c: i for i, c in enumerate(classes)}
        for pos, lab in enumerate(labels):
            if lab in index:
                y[pos] = index[lab]
            else:
                got = "empty label" if lab is None else f"label {lab!r} is not a declared class"
                fail(UnknownLabelError, pos, schema.label,
                     f"{got}; expected one of {list(classes)}{_suggest(lab, classes) if lab else ''}")

    # descriptors --------------------------------------------------------------------
    for name, desc in schema.descriptors.items():
        table[name] = _parse_descriptor(df[name].tolist(), name, desc, fail)

    # images and ROIs ----------------------------------------------------------------
    images: dict[str, list[list[str]]] = {}
    rois: dict[str, list[list[Roi | None]]] = {}
    masks: dict[str, list[list[str | None]]] = {}
    for m in schema.modalities:
        images[m], rois[m], masks[m] = _parse_modality(df, m, schema, root, source, check_images,
                                                       errors, fail)
        table[m] = [_text(v) or "" for v in df[m].tolist()]

    # cohort-level checks ------------------------------------------------------------
    _check_duplicates(patients, nodes, has_node, schema, source, errors)
    if sites is not None:
        _check_patient_sites(patients, sites, schema, source, found.warnings)
    if labelled:
        _check_conflicts(patients, y, classes, schema, source, errors)
    if labelled and not allow_empty_classes:
        for k, c in enumerate(classes):
            if not np.any(y == k):
                counts = {cc: int(np.sum(y == i)) for i, cc in enumerate(classes)}
                errors.append(EmptyClassError(
                    f"{source}: class {c!r} has no patients; expected at least one patient in every "
                    f"declared class (rows per class: {counts}). Remove the class from the schema's "
                    "classes or add its patients"))

    if errors:
        return None
    table[schema.patient] = patients
    if has_node:
        table[schema.node] = [v or "" for v in nodes]
    if labelled:
        table[schema.label] = labels
    if has_site and schema.site not in schema.descriptors:  # a site descriptor stays categorical
        table[schema.site] = sites
    return ParsedManifest(
        table=table, schema=schema, root=root, source=source, y=y,
        groups=np.asarray(patients, dtype=object),
        sites=np.asarray(sites, dtype=object) if sites is not None else None,
        images=images, rois=rois, masks=masks,
    )


def _parse_descriptor(values: list, name: str, desc: Descriptor, fail) -> pd.Series:
    if desc.kind == "continuous":
        out = np.full(len(values), np.nan)
        for pos, v in enumerate(values):
            if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_)):
                if math.isnan(float(v)):
                    continue
                num = float(v) if math.isfinite(float(v)) else None
                text = str(v)
            else:
                text = _text(v)
                if text is None:
                    continue
                num = _parse_number(text)
            if num is None:
                hint = " (use '.' as the decimal separator)" if _parse_number(text.replace(",", ".")) \
                    is not None else ""
                fail(NonNumericError, pos, name, f"{text!r} is not a finite number; expected a "
                     f"number for continuous descriptor {name!r}{hint}")
            else:
                out[pos] = num
        return pd.Series(out, dtype="float64")
    matcher = _Levels(desc.levels)
    matched: list[Any] = []
    for pos, v in enumerate(values):
        text = _text(v)
        if text is None:
            matched.append(np.nan)
            continue
        level = matcher.match(text)
        if level is _NO_MATCH:
            fail(CategoryLevelError, pos, name,
                 f"{text!r} is not an allowed level of {desc.kind} descriptor {name!r}; expected one of "
                 f"{list(desc.levels)}{_suggest(text, [str(lv) for lv in desc.levels])}")
            matched.append(np.nan)
        else:
            matched.append(level)
    cat = pd.Categorical(matched, categories=list(desc.levels), ordered=desc.kind == "ordinal")
    return pd.Series(cat)


def _parse_modality(df: pd.DataFrame, m: str, schema: CohortSchema, root: Path, source: str,
                    check_images: bool, errors: list[LnfusionError], fail):
    roi_col, mask_col = schema.roi_column(m), schema.mask_column(m)
    cells = [_text(v) for v in df[m].tolist()]
    roi_cells = [_text(v) for v in df[roi_col].tolist()] if roi_col in df.columns else [None] * len(df)
    mask_cells = [_text(v) for v in df[mask_col].tolist()] if mask_col in df.columns else [None] * len(df)
    images: list[list[str]] = []
    rois: list[list[Roi | None]] = []
    masks: list[list[str | None]] = []
    for pos, (cell, roi_cell, mask_cell) in enumerate(zip(cells, roi_cells, mask_cells)):
        parts = [p.strip() for p in cell.split(PATH_SEPARATOR) if p.strip()] if cell else []
        paths = [os.path.normpath(os.path.join(root, p)) for p in parts]
        sizes: list[Any] = [None] * len(paths)
        if check_images:
            for k, path in enumerate(paths):
                try:
                    sizes[k] = image_geometry(path)  # full frame: the coordinates ROIs are drawn in
                except ImageError as exc:
                    errors.append(type(exc)(f"{_where(source, pos, m)}: {exc}", path=path,
                                            row=pos, column=m))
        boxes: list[Roi | None] = [None] * len(paths)
        if roi_cell is not None:
            roi_parts = [p.strip() for p in roi_cell.split(PATH_SEPARATOR)]
            if len(roi_parts) != len(paths):
                fail(RoiError, pos, roi_col,
                     f"{len(roi_parts)} ROI box{'es' if len(roi_parts) != 1 else ''} for "
                     f"{len(paths)} image{'s' if len(paths) != 1 else ''} in column {m!r}; expected one "
                     f"'x0,y0,x1,y1' per image, separated by '{PATH_SEPARATOR}' (empty = whole image)")
            else:
                for k, part in enumerate(roi_parts):
                    if not part:
                        continue
                    box = _parse_roi(part)
                    if isinstance(box, str):
                        fail(RoiError, pos, roi_col, box)
                    elif sizes[k] is not None and (box[2] > sizes[k].width or box[3] > sizes[k].height):
                        w, h = sizes[k].width, sizes[k].height
                        fail(RoiError, pos, roi_col,
                             f"ROI {part!r} lies outside image {paths[k]} of size {w}x{h} "
                             f"(width x height); expected x1 <= {w} and y1 <= {h}")
                    else:
                        boxes[k] = box
        mask_paths: list[str | None] = [None] * len(paths)
        if mask_cell is not None:
            mask_paths = _parse_masks(mask_cell, paths, sizes, boxes, schema.roi_margin, pos, m,
                                      mask_col, root, source, errors, fail)
        for k, path in enumerate(paths):  # the frame policy and the ultrasound region, as training sees them
            if sizes[k] is not None:
                try:
                    file_images(path, boxes[k], schema.modalities[m], sizes[k])
                except RoiError as exc:
                    fail(RoiError, pos, roi_col if roi_cell is not None else m, str(exc))
                except ImageError as exc:
                    errors.append(type(exc)(f"{_where(source, pos, m)}: {exc}", path=path,
                                            row=pos, column=m))
        images.append(paths)
        rois.append(boxes)
        masks.append(mask_paths)
    return images, rois, masks


def _parse_masks(cell: str, paths: list[str], sizes: list[Any], boxes: list[Roi | None],
                 margin: float | None, pos: int, m: str, mask_col: str, root: Path, source: str,
                 errors: list[LnfusionError], fail) -> list[str | None]:
    """Check the masks of one row; fill ``boxes`` (in place) from the masks where no box was given."""
    parts = [p.strip() for p in cell.split(PATH_SEPARATOR)]
    out: list[str | None] = [None] * len(paths)
    if len(parts) != len(paths):
        fail(MaskError, pos, mask_col,
             f"{len(parts)} mask{'s' if len(parts) != 1 else ''} for {len(paths)} "
             f"image{'s' if len(paths) != 1 else ''} in column {m!r}; expected one mask file per image, "
             f"separated by '{PATH_SEPARATOR}' (empty = no mask for that image)")
        return out
    for k, part in enumerate(parts):
        if not part:
            continue
        path = os.path.normpath(os.path.join(root, part))
        if not os.path.exists(path):
            errors.append(MissingImageError(f"{_where(source, pos, mask_col)}: mask file {path} not found",
                                            path=path, row=pos, column=mask_col))
            continue
        try:
            mask = read_mask(path)
        except ImageError as exc:
            errors.append(type(exc)(f"{_where(source, pos, mask_col)}: {exc}", path=path, row=pos,
                                    column=mask_col))
            continue
        size = sizes[k]
        if size is None:
            try:
                size = image_geometry(paths[k], verify=False)
            except ImageError:
                size = None  # the image itself is reported missing when check_images is on
        if size is not None and mask.shape != (size.height, size.width):
            fail(MaskError, pos, mask_col,
                 f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its image {paths[k]} is "
                 f"{size.width}x{size.height} (width x height); expected a mask of the image's size")
            continue
        box = mask_box(mask)
        if box is None:
            fail(MaskError, pos, mask_col,
                 f"mask {path} is empty (no foreground pixel); expected the lesion drawn in non-zero "
                 "pixels, or an empty cell part for an image without a mask")
            continue
        out[k] = path
        if boxes[k] is None and margin is not None:
            boxes[k] = roi_from_mask(box, margin, (mask.shape[1], mask.shape[0]))
    return out


def _check_duplicates(patients, nodes, has_node, schema, source, errors) -> None:
    seen: dict[tuple, list[int]] = {}
    for pos, key in enumerate(zip(patients, nodes)):
        if key[0] is not None:
            seen.setdefault(key, []).append(pos)
    for (patient, node), positions in seen.items():
        if len(positions) < 2:
            continue
        if has_node:
            what = (f"{schema.patient} {patient!r} with {schema.node} {node!r}" if node is not None
                    else f"{schema.patient} {patient!r} with an empty {schema.node}")
            expected = f"expected each ({schema.patient}, {schema.node}) pair on one row"
            column = schema.node
        else:
            what = f"{schema.patient} {patient!r}"
            expected = (f"expected one row per patient without a {schema.node or 'node id'!r} column; "
                        "add one to give a patient several nodes")
            column = schema.patient
        errors.append(DuplicateIdError(
            f"{source}, {_rows_text(positions)}, column {column!r}: {what} appears "
            f"{len(positions)} times; {expected}", row=positions[1], column=column))


def _check_conflicts(patients, y, classes, schema, source, errors) -> None:
    by_patient: dict[str, dict[int, list[int]]] = {}
    for pos, (p, k) in enumerate(zip(patients, y)):
        if p is not None and k >= 0:
            by_patient.setdefault(p, {}).setdefault(int(k), []).append(pos)
    for patient, per_label in by_patient.items():
        if len(per_label) < 2:
            continue
        detail = "; ".join(f"{classes[k]!r} on {_rows_text(pos)}" for k, pos in sorted(per_label.items()))
        first_other = sorted(per_label.values(), key=lambda v: v[0])[1][0]
        errors.append(ConflictingLabelError(
            f"{source}, column {schema.label!r}: patient {patient!r} has conflicting labels ({detail}); "
            "expected one diagnosis per patient", row=first_other, column=schema.label))


def _check_patient_sites(patients, sites, schema, source, warnings) -> None:
    """A patient whose nodes sit at two sites: every per-site analysis would split the patient."""
    by_patient: dict[str, dict[str, list[int]]] = {}
    for pos, (p, s) in enumerate(zip(patients, sites)):
        if p is not None and s is not None:
            by_patient.setdefault(p, {}).setdefault(s, []).append(pos)
    for patient, per_site in by_patient.items():
        if len(per_site) < 2:
            continue
        detail = "; ".join(f"{s!r} on {_rows_text(pos)}" for s, pos in per_site.items())
        first_other = sorted(per_site.values(), key=lambda v: v[0])[1][0]
        warnings.append(ManifestError(
            f"{source}, column {schema.site!r}: patient {patient!r} has nodes at {len(per_site)} sites "
            f"({detail}); expected each patient at one site (leave-one-site-out validation and "
            "per-site results cannot keep the patient whole)", row=first_other, column=schema.site))


def parse_manifest(manifest: str | os.PathLike | pd.DataFrame,
                   schema: CohortSchema | str | os.PathLike | None = None,
                   root: str | os.PathLike | None = None,
                   check_images: bool = True,
                   allow_empty_classes: bool = False,
                   source: str | None = None,
                   labelled: bool | None = None,
                   strict: bool = False) -> ManifestParse:
    """Read and check a manifest, collecting every problem instead of raising it.

    Parameters
    ----------
    manifest : path-like or DataFrame
        CSV/TSV/Parquet file or DataFrame, one row per node (never modified).
    schema : CohortSchema or path-like, optional
        The schema or its JSON file.  Default: ``schema.json`` beside the
        manifest, else the default schema restricted to the modality columns
        present (noted in ``notes``).
    root : path-like, optional
        Folder relative image paths resolve against.  Default: the manifest's
        folder (the current folder for a DataFrame).
    check_images : bool
        Check that every image exists and its header decodes, and that ROIs lie
        inside their image.  No pixel is decoded.
    allow_empty_classes : bool
        Accept a declared class with no patient (e.g. an external test set).
    source : str, optional
        Name of a DataFrame manifest in messages (default ``"manifest DataFrame"``).
    labelled : bool or None
        ``None`` (default): read labels iff the manifest has the schema's label
        column with at least one non-empty cell.  ``True``: the label column is
        required (a ``SchemaError`` without it).  ``False``: ignore any label
        column (new patients to predict).  Without labels, the label checks
        (unknown label, conflicting labels, empty class) are skipped and
        ``parsed.y`` is None.
    strict : bool
        Treat warnings (a patient at two sites) as errors.

    Returns
    -------
    ManifestParse
        ``errors`` lists every problem; ``warnings`` what will stop some
        analyses later; ``parsed`` is set when there is no error.
        Problems that prevent reading further (file not found, a schema column
        missing) are the only error reported.

    Raises
    ------
    ConfigError
        ``labelled`` is not True, False or None.
    """
    if labelled is not None and not isinstance(labelled, (bool, np.bool_)):
        raise ConfigError(f"labelled must be True, False or None (auto: labelled iff the manifest has "
                          f"a non-empty label column), got {labelled!r}")
    found = ManifestParse(source=(source or _DATAFRAME_SOURCE) if isinstance(manifest, pd.DataFrame)
                          else str(manifest))
    try:
        found.parsed = _parse(manifest, schema, root, check_images, allow_empty_classes, source,
                              labelled, found)
    except (SchemaError, ManifestError) as exc:
        found.errors.insert(0, exc)
        return found
    if strict and found.warnings:
        found.errors += found.warnings
        found.warnings = []
        found.parsed = None
    # row order; problems not tied to one row (an empty class) last
    found.errors.sort(key=lambda e: (getattr(e, "row", None) is None, getattr(e, "row", None) or 0))
    return found
