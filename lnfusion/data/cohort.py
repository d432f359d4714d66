"""A validated cohort: one row per node, its labels, patients, sites, descriptors and images.

Build it with :meth:`Cohort.from_manifest`; every estimator in lnfusion takes a
:class:`Cohort` as ``X``.  Accessors return copies, so callers cannot change a
cohort by accident.  :func:`validate_manifest` lists every problem of a
manifest (parsed by :mod:`lnfusion.data.manifest`) instead of raising the first.

A cohort of new patients may be *unlabelled* (``cohort.is_labelled`` is False):
everything works except what needs a diagnosis, and :attr:`Cohort.y` raises
:class:`UnlabelledError`.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.data.manifest import ParsedManifest, Roi, parse_manifest
from lnfusion.data.schema import CohortSchema
from lnfusion.exceptions import DataError, LnfusionError, SchemaError

__all__ = ["Cohort", "CohortSummary", "UnlabelledError", "ValidationReport", "validate_manifest",
           "OUTCOME_DERIVED_ATTR"]

#: Key of ``DataFrame.attrs`` naming the outcome-derived columns of ``cohort.table`` / ``descriptors``.
OUTCOME_DERIVED_ATTR = "outcome_derived"


class UnlabelledError(DataError):
    """Labels were asked of a cohort read without them (``cohort.is_labelled`` is False)."""


@dataclass(frozen=True)
class CohortSummary:
    """Counts describing a cohort (what ``lnfusion validate`` prints).

    Attributes
    ----------
    source : str
        Manifest the cohort came from.
    n_patients, n_nodes : int
        Number of patients and of nodes (rows).
    classes : tuple of str
        Class names in index order (the schema's, also for an unlabelled cohort).
    nodes_per_class, patients_per_class : dict or None
        Class name -> count; None for an unlabelled cohort.
    images_per_modality : dict
        Modality -> number of images.
    nodes_with_modality, nodes_missing_modality : dict
        Modality -> number of nodes that have / lack at least one image of it.
    nodes_per_site_class : dict or None
        Site -> {class name -> number of nodes}; None without a site column or
        for an unlabelled cohort.
    missing_descriptors : dict
        Descriptor -> number of empty values.
    labelled : bool
        False for a cohort read without labels.
    nodes_per_site : dict or None
        Site -> number of nodes; None without a site column.
    masks_per_modality : dict or None
        Modality -> number of lesion masks; None when the manifest has no mask column.
    outcome_derived : tuple of str
        Columns kept for display that are never model inputs.
    notes : tuple of str
        What the loader that built the cohort wants a reader to know (e.g.
        patients it excluded).
    dicom_per_modality : dict or None
        Modality -> ``{"dicom", "compressed", "multi_frame", "with_region"}``:
        how many of its image files are DICOM, have compressed pixel data, hold
        several frames, and declare an ultrasound region (read from the
        headers); None when no image is DICOM.
    """

    source: str
    n_patients: int
    n_nodes: int
    classes: tuple[str, ...]
    nodes_per_class: dict[str, int] | None
    patients_per_class: dict[str, int] | None
    images_per_modality: dict[str, int]
    nodes_with_modality: dict[str, int]
    nodes_missing_modality: dict[str, int]
    nodes_per_site_class: dict[str, dict[str, int]] | None
    missing_descriptors: dict[str, int]
    labelled: bool = True
    nodes_per_site: dict[str, int] | None = None
    masks_per_modality: dict[str, int] | None = None
    outcome_derived: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dicom_per_modality: dict[str, dict[str, int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-compatible objects."""
        out = asdict(self)
        out["classes"] = list(self.classes)
        out["outcome_derived"] = list(self.outcome_derived)
        out["notes"] = list(self.notes)
        return out

    def to_text(self) -> str:
        """The summary as an aligned plain-text report."""
        per_site = self.nodes_per_site
        if per_site is None and self.nodes_per_site_class is not None:
            per_site = {s: sum(c.values()) for s, c in self.nodes_per_site_class.items()}
        n_sites = len(per_site) if per_site is not None else 0
        lines = [f"Cohort from {self.source}" + ("" if self.labelled else " (unlabelled)"),
                 f"  patients: {self.n_patients}   nodes: {self.n_nodes}"
                 + (f"   sites: {n_sites}" if n_sites else "")]
        if self.labelled:
            classes = pd.DataFrame({"nodes": self.nodes_per_class, "patients": self.patients_per_class})
            lines += ["", "Classes:", _indent(classes.to_string())]
        else:
            lines += ["", f"Classes: unlabelled (no labels read); declared classes {list(self.classes)}"]
        mods = pd.DataFrame({"images": self.images_per_modality,
                             "nodes with": self.nodes_with_modality,
                             "nodes missing": self.nodes_missing_modality})
        if self.masks_per_modality is not None:
            mods["masks"] = pd.Series(self.masks_per_modality)
        lines += ["", "Images per modality:", _indent(mods.to_string())]
        if self.dicom_per_modality is not None:
            dicom = pd.DataFrame.from_dict(self.dicom_per_modality, orient="index")
            dicom.columns = [c.replace("_", "-") for c in dicom.columns]
            lines += ["", "DICOM images per modality:", _indent(dicom.to_string())]
        if self.nodes_per_site_class is not None:
            sites = pd.DataFrame.from_dict(self.nodes_per_site_class, orient="index",
                                           columns=list(self.classes))
            sites["total"] = sites.sum(axis=1)
            sites.index.name = "site"
            lines += ["", "Class balance per site (nodes):", _indent(sites.to_string())]
        elif per_site is not None:
            sites = pd.Series(per_site, name="nodes").to_frame()
            sites.index.name = "site"
            lines += ["", "Nodes per site:", _indent(sites.to_string())]
        if self.missing_descriptors:
            desc = pd.Series(self.missing_descriptors, name="missing").to_frame()
            lines += ["", "Descriptors (empty values):", _indent(desc.to_string())]
        if self.outcome_derived:
            lines += ["", "Outcome-derived columns (display only, never model inputs): "
                      + ", ".join(self.outcome_derived)]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


class Cohort:
    """A validated cohort, one row per node (lesion).

    Build with :meth:`from_manifest`; see ``docs/manifest.md`` for the
    manifest format.  Class indices follow ``classes``; the patient (``groups``)
    is the unit of splitting.

    Examples
    --------
    >>> cohort = Cohort.from_manifest("manifest.csv")     # doctest: +SKIP
    >>> cohort.y, cohort.groups, cohort.images("bmode")    # doctest: +SKIP
    >>> new = Cohort.from_manifest("new_patients.csv")     # no label column  # doctest: +SKIP
    >>> new.is_labelled                                    # doctest: +SKIP
    False
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("build a Cohort with Cohort.from_manifest(manifest, schema=None, root=None)")

    @classmethod
    def _from_parsed(cls, parsed: ParsedManifest) -> Cohort:
        self = object.__new__(cls)
        self._schema = parsed.schema
        self._table = parsed.table.reset_index(drop=True)
        self._root = parsed.root
        self._source = parsed.source
        self._y = parsed.y
        self._groups = parsed.groups
        self._sites = parsed.sites
        self._images = parsed.images
        self._rois = parsed.rois
        self._masks = parsed.masks
        self._notes = tuple(parsed.notes)
        return self

    def _parsed(self) -> ParsedManifest:
        return ParsedManifest(table=self._table, schema=self._schema, root=self._root,
                              source=self._source, y=self._y, groups=self._groups, sites=self._sites,
                              images=self._images, rois=self._rois, masks=self._masks,
                              notes=self._notes)

    def _replace(self, **changes: Any) -> Cohort:
        """A cohort with some internals replaced: ``table``, ``notes`` or ``descriptors`` (schema's)."""
        parsed = self._parsed()
        if "descriptors" in changes:
            parsed.schema = dataclasses.replace(self._schema, descriptors=changes.pop("descriptors"))
        for key, value in changes.items():
            setattr(parsed, key, value)
        if "table" in changes:
            parsed.table = parsed.table.reset_index(drop=True)
        return Cohort._from_parsed(parsed)

    def with_notes(self, *notes: str) -> Cohort:
        """A copy whose :meth:`summary` also shows ``notes`` (e.g. what a loader excluded)."""
        return self._replace(notes=(*self._notes, *notes))

    @classmethod
    def from_manifest(cls, manifest: str | os.PathLike | pd.DataFrame,
                      schema: CohortSchema | str | os.PathLike | None = None,
                      root: str | os.PathLike | None = None,
                      check_images: bool = True,
                      allow_empty_classes: bool = False,
                      source: str | None = None,
                      labelled: bool | None = None) -> Cohort:
        """Read and validate a manifest.

        Parameters
        ----------
        manifest : path-like or DataFrame
            CSV/TSV/Parquet file or DataFrame, one row per node (never modified).
        schema : CohortSchema or path-like, optional
            The schema or its JSON file.  Default: ``schema.json`` beside the
            manifest, else the default schema restricted to the modality
            columns present.
        root : path-like, optional
            Folder relative image paths resolve against.  Default: the
            manifest's folder (the current folder for a DataFrame).
        check_images : bool
            Check that every image exists and its header decodes (cheap, no
            pixel decoding) and that ROIs lie inside their image.
        allow_empty_classes : bool
            Accept a declared class with no patient (e.g. an external test set).
        source : str, optional
            Name of a DataFrame manifest in messages and summaries (default
            ``"manifest DataFrame"``).
        labelled : bool or None
            ``None`` (default): labelled iff the manifest has the schema's label
            column with at least one non-empty cell.  ``True``: labels required
            (``SchemaError`` without the column).  ``False``: ignore any label
            column (new patients to predict).  An unlabelled cohort skips the
            label checks (unknown label, conflicting labels, empty class); its
            :attr:`y` raises :class:`UnlabelledError` and :attr:`labels` is None.

        Returns
        -------
        Cohort

        Raises
        ------
        SchemaError
            A column the schema declares is missing, or the schema is invalid.
        ManifestError
            A cell is invalid (subclasses name the problem: UnknownLabelError,
            CategoryLevelError, NonNumericError, DuplicateIdError,
            ConflictingLabelError, RoiError).
        MissingImageError, CorruptImageError
            An image is missing or cannot be decoded.
        EmptyClassError
            A declared class has no patient.

        Warns
        -----
        UserWarning
            A patient's nodes sit at two sites (leave-one-site-out validation
            would fail on this cohort; ``lnfusion validate --strict`` makes it
            an error).

        Notes
        -----
        The first problem is raised and its message counts the others; use
        :func:`lnfusion.data.validate_manifest` (or ``lnfusion validate``) to
        list them all.
        """
        report = validate_manifest(manifest, schema=schema, root=root, check_images=check_images,
                                   allow_empty_classes=allow_empty_classes, source=source,
                                   labelled=labelled)
        report.raise_first()
        for problem in report.warnings:
            warnings.warn(str(problem), UserWarning, stacklevel=2)
        return report.cohort

    # -- accessors ---------------------------------------------------------------------
    @property
    def schema(self) -> CohortSchema:
        """The schema the cohort was validated against."""
        return self._schema

    @property
    def source(self) -> str:
        """The manifest file (or ``"manifest DataFrame"``)."""
        return self._source

    @property
    def root(self) -> Path:
        """Folder relative image paths were resolved against."""
        return self._root

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; a class index is a position in this tuple."""
        return self._schema.classes

    @property
    def positive_class(self) -> str | None:
        """The positive class of a two-class cohort (the schema's, else the first class); None otherwise."""
        return self._schema.positive

    @property
    def is_labelled(self) -> bool:
        """True when the cohort was read with labels (see ``labelled`` in :meth:`from_manifest`)."""
        return self._y is not None

    def _require_labels(self, what: str) -> np.ndarray:
        """The class indices, or raise :class:`UnlabelledError` saying ``what`` needs them."""
        if self._y is None:
            raise UnlabelledError(
                f"{self._source}: the cohort has no labels (read without a non-empty "
                f"{self._schema.label!r} column, or with labelled=False), so {what} is not available. "
                f"Training, evaluation and splits need a labelled manifest whose {self._schema.label!r} "
                f"column holds one of {list(self.classes)} on every row; prediction does not")
        return self._y

    @property
    def y(self) -> np.ndarray:
        """Class index per node (int64).

        Raises
        ------
        UnlabelledError
            The cohort is unlabelled (``is_labelled`` is False).
        """
        return self._require_labels("cohort.y").copy()

    @property
    def labels(self) -> np.ndarray | None:
        """Class name per node; None for an unlabelled cohort."""
        if self._y is None:
            return None
        return np.asarray(self.classes, dtype=object)[self._y]

    @property
    def groups(self) -> np.ndarray:
        """Patient id per node (object array of str); use as ``groups`` in splitters."""
        return self._groups.copy()

    @property
    def sites(self) -> np.ndarray | None:
        """Site per node (object array of str), or None when the manifest has no site column."""
        return None if self._sites is None else self._sites.copy()

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modality names, in schema order."""
        return tuple(self._schema.modalities)

    @property
    def descriptors(self) -> pd.DataFrame:
        """Descriptor values (n_nodes x descriptors).

        Categorical and ordinal descriptors are pandas Categoricals whose
        categories are the declared levels (ordered for ordinal); continuous
        descriptors are float.  Empty cells are NaN.  Outcome-derived columns
        (``schema.outcome_derived``) are never here; the frame's
        ``attrs["outcome_derived"]`` names them so that a model asked for one
        can refuse it.
        """
        derived = set(self._schema.outcome_derived)
        out = self._table[[d for d in self._schema.descriptors if d not in derived]].copy()
        out.attrs[OUTCOME_DERIVED_ATTR] = list(self._schema.outcome_derived)
        return out

    @property
    def table(self) -> pd.DataFrame:
        """The validated manifest, one row per node (a copy).

        It keeps outcome-derived columns (for display and Table 1); its
        ``attrs["outcome_derived"]`` names them, and
        :class:`~lnfusion.models.TabularClassifier` refuses to use them.
        """
        out = self._table.copy()
        out.attrs[OUTCOME_DERIVED_ATTR] = list(self._schema.outcome_derived)
        return out

    @property
    def n_patients(self) -> int:
        """Number of distinct patients."""
        return int(len(pd.unique(self._groups)))

    def _check_modality(self, modality: str) -> None:
        if modality not in self._images:
            raise SchemaError(f"modality {modality!r} is not in this cohort; "
                              f"modalities: {list(self.modalities)}")

    def images(self, modality: str) -> list[list[str]]:
        """Absolute image paths per node for ``modality`` (``[]`` when the node lacks it)."""
        self._check_modality(modality)
        return [list(paths) for paths in self._images[modality]]

    def rois(self, modality: str) -> list[list[Roi | None]]:
        """ROI boxes ``(x0, y0, x1, y1)`` per node, aligned with :meth:`images` (None = whole image)."""
        self._check_modality(modality)
        return [list(boxes) for boxes in self._rois[modality]]

    def masks(self, modality: str) -> list[list[str | None]]:
        """Absolute lesion-mask paths per node, aligned with :meth:`images` (None = no mask)."""
        self._check_modality(modality)
        masks = self._masks.get(modality)
        if masks is None:
            return [[None] * len(paths) for paths in self._images[modality]]
        return [list(paths) for paths in masks]

    def modality_mask(self) -> pd.DataFrame:
        """Boolean DataFrame (n_nodes x modalities): True where the node has at least one image."""
        return pd.DataFrame({m: [bool(p) for p in self._images[m]] for m in self.modalities},
                            index=pd.RangeIndex(len(self)))

    def __len__(self) -> int:
        return len(self._groups)

    @property
    def shape(self) -> tuple[int]:
        """``(n_nodes,)``: lets scikit-learn count and index a Cohort used as ``X``."""
        return (len(self._groups),)

    def __getitem__(self, idx: Sequence[int] | np.ndarray | slice) -> Cohort:
        """``cohort[idx]`` is :meth:`subset` (positions, boolean mask or slice).

        This is what scikit-learn's ``cross_val_predict`` and friends call to
        split a Cohort passed as ``X``.
        """
        if isinstance(idx, tuple) and len(idx) == 2 and idx[1] is Ellipsis:
            idx = idx[0]  # numpy-style X[key, ...], as scikit-learn writes it
        if isinstance(idx, slice):
            idx = np.arange(len(self))[idx]
        elif np.ndim(idx) == 0:
            raise DataError("index a Cohort with a sequence of positions, a boolean mask or a slice "
                            f"(it returns a Cohort); got the scalar {idx!r}")
        return self.subset(idx)

    def __repr__(self) -> str:
        return (f"Cohort(n_nodes={len(self)}, n_patients={self.n_patients}, "
                f"classes={self.classes}, modalities={self.modalities}"
                + (")" if self.is_labelled else ", labelled=False)"))

    # -- derived cohorts and reports -------------------------------------------------
    def subset(self, idx: Sequence[int] | np.ndarray) -> Cohort:
        """A cohort with the nodes at integer positions ``idx`` (order kept).

        Parameters
        ----------
        idx : sequence of int or boolean mask
            Positions (repeats allowed) or a boolean mask of length ``len(self)``.

        Returns
        -------
        Cohort
        """
        arr = np.asarray(idx)
        if arr.dtype == bool:
            if arr.shape != (len(self),):
                raise DataError(f"subset mask has shape {arr.shape}; expected ({len(self)},)")
            arr = np.flatnonzero(arr)
        elif arr.size == 0:
            arr = arr.astype(np.int64)
        elif not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"subset expects integer positions or a boolean mask, got dtype {arr.dtype}")
        arr = arr.ravel()
        if arr.size and (arr.min() < -len(self) or arr.max() >= len(self)):
            raise DataError(f"subset positions must lie in [0, {len(self)}); got min {arr.min()}, "
                            f"max {arr.max()}")
        parsed = ParsedManifest(
            table=self._table.iloc[arr].reset_index(drop=True), schema=self._schema, root=self._root,
            source=self._source, y=None if self._y is None else self._y[arr],
            groups=self._groups[arr],
            sites=None if self._sites is None else self._sites[arr],
            images={m: [list(v[i]) for i in arr] for m, v in self._images.items()},
            rois={m: [list(v[i]) for i in arr] for m, v in self._rois.items()},
            masks={m: [list(v[i]) for i in arr] for m, v in self._masks.items()},
            notes=self._notes,
        )
        return Cohort._from_parsed(parsed)

    def summary(self) -> CohortSummary:
        """Counts of patients, nodes, images per modality, class balance per site.

        For an unlabelled cohort the per-class counts are None and the per-site
        counts are node totals.
        """
        classes, y = self.classes, self._y
        nodes_per_class = patients_per_class = per_site = site_totals = None
        if y is not None:
            nodes_per_class = {c: int(np.sum(y == k)) for k, c in enumerate(classes)}
            patients_per_class = {c: int(len(pd.unique(self._groups[y == k])))
                                  for k, c in enumerate(classes)}
        images = {m: int(sum(len(p) for p in self._images[m])) for m in self.modalities}
        with_m = {m: int(sum(bool(p) for p in self._images[m])) for m in self.modalities}
        if self._sites is not None:
            names = sorted(pd.unique(self._sites))
            site_totals = {str(s): int(np.sum(self._sites == s)) for s in names}
            if y is not None:
                per_site = {str(s): {c: int(np.sum((self._sites == s) & (y == k)))
                                     for k, c in enumerate(classes)}
                            for s in names}
        missing = {d: int(self._table[d].isna().sum()) for d in self._schema.descriptors}
        mask_cols = [self._schema.mask_column(m) for m in self.modalities]
        masks = None
        if any(c in self._table.columns for c in mask_cols):
            masks = {m: int(sum(p is not None for paths in self._masks.get(m, []) for p in paths))
                     for m in self.modalities}
        return CohortSummary(
            source=self._source, n_patients=self.n_patients, n_nodes=len(self), classes=classes,
            nodes_per_class=nodes_per_class, patients_per_class=patients_per_class,
            images_per_modality=images, nodes_with_modality=with_m,
            nodes_missing_modality={m: len(self) - with_m[m] for m in self.modalities},
            nodes_per_site_class=per_site, missing_descriptors=missing,
            labelled=y is not None, nodes_per_site=site_totals,
            masks_per_modality=masks, outcome_derived=tuple(self._schema.outcome_derived),
            notes=self._notes, dicom_per_modality=_dicom_counts(self._images),
        )


def _dicom_counts(images: dict[str, list[list[str]]]) -> dict[str, dict[str, int]] | None:
    """Per modality: DICOM files, compressed, multi-frame, with an ultrasound region (None: no DICOM)."""
    from lnfusion.data.imageio import image_geometry, is_dicom, split_frame_ref

    out: dict[str, dict[str, int]] = {}
    for m, per_node in images.items():
        counts = dict.fromkeys(("dicom", "compressed", "multi_frame", "with_region"), 0)
        for path in dict.fromkeys(split_frame_ref(p)[0] for paths in per_node for p in paths):
            if not is_dicom(path):
                continue
            counts["dicom"] += 1
            try:
                geometry = image_geometry(path, verify=False)
            except LnfusionError:
                continue  # reported by validation when images are checked
            counts["compressed"] += geometry.compressed
            counts["multi_frame"] += geometry.frames > 1
            counts["with_region"] += geometry.region is not None
        out[m] = counts
    return out if any(c["dicom"] for c in out.values()) else None


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_manifest`.

    Attributes
    ----------
    source : str
        The manifest file (or ``"manifest DataFrame"``).
    errors : list of LnfusionError
        Every problem found, in row order (problems not tied to one row, such
        as an empty class, last).  Empty when the manifest is valid.
    notes : list of str
        Information that is not an error (schema inferred, columns not in the
        schema, manifest read without labels).
    cohort : Cohort or None
        The validated cohort when there are no errors.
    labelled : bool or None
        Whether the manifest was read with labels (None when it could not be
        read far enough to tell).
    warnings : list of LnfusionError
        Problems that let the manifest be read but will stop some analyses
        later (a patient at two sites); errors with ``strict=True``.
    """

    source: str
    errors: list[LnfusionError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cohort: Cohort | None = None
    labelled: bool | None = None
    warnings: list[LnfusionError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors

    def raise_first(self) -> None:
        """Raise the first error (its message counts the others); no-op when valid."""
        if not self.errors:
            return
        err = self.errors[0]
        if len(self.errors) > 1 and "more problem" not in str(err):
            more = len(self.errors) - 1
            err.args = (f"{err} (and {more} more problem{'s' if more > 1 else ''}; "
                        "`lnfusion validate MANIFEST` lists them all)",)
        raise err

    def to_text(self) -> str:
        """Errors (or the cohort summary) as plain text, as ``lnfusion validate`` prints."""
        lines = [f"note: {n}" for n in self.notes]
        lines += [f"warning: {type(w).__name__}: {w}" for w in self.warnings]
        if self.errors:
            n = len(self.errors)
            lines.append(f"{self.source}: {n} error{'s' if n > 1 else ''}")
            lines += [f"  {type(e).__name__}: {e}" for e in self.errors]
        elif self.cohort is not None:
            lines.append(self.cohort.summary().to_text())
        return "\n".join(lines)


def validate_manifest(manifest: str | os.PathLike | pd.DataFrame,
                      schema: CohortSchema | str | os.PathLike | None = None,
                      root: str | os.PathLike | None = None,
                      check_images: bool = True,
                      allow_empty_classes: bool = False,
                      source: str | None = None,
                      labelled: bool | None = None,
                      strict: bool = False) -> ValidationReport:
    """Check a manifest and collect every problem.

    Parameters
    ----------
    manifest, schema, root, check_images, allow_empty_classes, source, labelled
        As for :func:`lnfusion.data.manifest.parse_manifest`, which runs the
        checks (and :meth:`Cohort.from_manifest`, which raises the first
        problem instead).
    strict : bool
        Report warnings (a patient whose nodes sit at two sites) as errors.

    Returns
    -------
    ValidationReport
        ``errors`` lists every problem; ``cohort`` is set when there is none;
        ``warnings`` lists what will stop some analyses later.  Problems that
        prevent reading further (file not found, a schema column
        missing) are the only error reported.

    Raises
    ------
    ConfigError
        ``labelled`` is not True, False or None.
    """
    found = parse_manifest(manifest, schema=schema, root=root, check_images=check_images,
                           allow_empty_classes=allow_empty_classes, source=source, labelled=labelled,
                           strict=strict)
    return ValidationReport(
        source=found.source, errors=found.errors, notes=found.notes, labelled=found.labelled,
        warnings=found.warnings,
        cohort=None if found.parsed is None else Cohort._from_parsed(found.parsed))
