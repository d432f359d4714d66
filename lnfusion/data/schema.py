"""The declared shape of a cohort manifest: classes, id columns, descriptors, modalities.

A :class:`CohortSchema` says which manifest column holds what.  It is a frozen
dataclass that round-trips through JSON (``schema.save("schema.json")`` and
``CohortSchema.from_json("schema.json")``), so it can live beside the manifest
it describes.  ``docs/manifest.md`` documents the format for users.
"""
from __future__ import annotations

import dataclasses
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lnfusion.config import JsonConfig
from lnfusion.exceptions import ConfigError, OutcomeDerivedError, SchemaError

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_MODALITIES",
    "DESCRIPTOR_KINDS",
    "Descriptor",
    "Modality",
    "CohortSchema",
    "check_model_inputs",
]

#: Default class names; the class index of a node is the position of its label here.
DEFAULT_CLASSES: tuple[str, ...] = ("metastatic", "lymphoma", "benign")

#: Kinds a descriptor column may have.
DESCRIPTOR_KINDS: tuple[str, ...] = ("categorical", "ordinal", "continuous")

#: Separator between several images (or ROI boxes) in one manifest cell.
PATH_SEPARATOR = ";"

#: Suffix of the optional ROI column of a modality (``bmode_roi`` for ``bmode``).
ROI_SUFFIX = "_roi"

#: Suffix of the optional lesion-mask column of a modality (``bmode_mask`` for ``bmode``).
MASK_SUFFIX = "_mask"

#: Named frame policies of a modality (besides a frame index): see :class:`Modality`.
FRAME_POLICIES: tuple[str, ...] = ("middle", "first", "all")

#: Default cap on the frames one multi-frame file gives with ``frame="all"``.
DEFAULT_MAX_FRAMES = 16

#: Default margin around a mask's lesion box, as a fraction of the box's width / height.
DEFAULT_ROI_MARGIN = 0.1


def _freeze(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _level(value: Any, where: str) -> str | int | float | bool:
    """Return a level as a JSON-compatible scalar, or raise ``SchemaError``."""
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, (str, bool)) or isinstance(value, numbers.Real):
        if isinstance(value, float) and value != value:
            raise SchemaError(f"{where}: a level is NaN; expected a string or number")
        return value
    raise SchemaError(f"{where}: level {value!r} is a {type(value).__name__}; "
                      "expected a string or a number")


@dataclass(frozen=True)
class Descriptor(JsonConfig):
    """One clinical or sonographic descriptor column of the manifest.

    Parameters
    ----------
    kind : {"categorical", "ordinal", "continuous"}
        ``categorical``: unordered levels; ``ordinal``: ordered levels (listed
        lowest first); ``continuous``: a number.
    levels : sequence of str or number, optional
        Allowed values, required for ``categorical`` and ``ordinal``, absent for
        ``continuous``.  Numbers and their text form match (``2`` matches ``"2"``).
    description : str, optional
        Free text shown in summaries (units, how it was measured).

    Examples
    --------
    >>> Descriptor("continuous", description="short-axis diameter, mm")
    >>> Descriptor("ordinal", levels=(1, 2, 3, 4, 5))
    """

    kind: str
    levels: tuple | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in DESCRIPTOR_KINDS:
            raise SchemaError(f"Descriptor kind {self.kind!r} is not one of {list(DESCRIPTOR_KINDS)}")
        if self.kind == "continuous":
            if self.levels is not None:
                raise SchemaError("a continuous Descriptor takes no levels; "
                                  f"got levels={self.levels!r}")
            return
        if self.levels is None or isinstance(self.levels, (str, bytes)):
            raise SchemaError(f"a {self.kind} Descriptor needs levels=(...), a sequence of "
                              f"allowed values; got {self.levels!r}")
        levels = tuple(_level(v, f"{self.kind} Descriptor") for v in self.levels)
        if not levels:
            raise SchemaError(f"a {self.kind} Descriptor needs at least one level")
        keys = [str(v) for v in levels]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise SchemaError(f"{self.kind} Descriptor levels repeat {dup}; expected distinct levels")
        _freeze(self, "levels", levels)

    @property
    def is_categorical(self) -> bool:
        """True for ``categorical`` and ``ordinal`` descriptors."""
        return self.kind != "continuous"


@dataclass(frozen=True)
class Modality(JsonConfig):
    """One imaging modality: a manifest column of image paths.

    Parameters
    ----------
    colour : bool
        True when the colours carry the measurement (colour Doppler,
        elastography): images are kept RGB and never hue/saturation-jittered.
        False for greyscale modalities such as B-mode.
    description : str, optional
        Free text shown in summaries.
    frame : {"middle", "first", "all"} or int
        Which frame of a multi-frame (cine) DICOM file is an image of the node:
        ``"middle"`` (default) the middle frame, ``"first"`` the first, an int
        ``k`` frame ``k`` (0-based; a file with fewer frames is an error), and
        ``"all"`` every frame, each an image of the node (at most
        ``max_frames``, evenly spaced).  Single-frame files are unaffected.
        Validation, training, prediction and explanations all apply it, through
        :func:`lnfusion.data.decode.modality_images`.
    max_frames : int
        With ``frame="all"``, the most frames taken from one file.
    """

    colour: bool = False
    description: str = ""
    frame: str | int = "middle"
    max_frames: int = DEFAULT_MAX_FRAMES

    def __post_init__(self) -> None:
        if not isinstance(self.colour, bool):
            raise SchemaError(f"Modality colour must be True or False, got {self.colour!r}")
        frame = self.frame
        if isinstance(frame, bool) or not (frame in FRAME_POLICIES or
                                           (isinstance(frame, numbers.Integral) and frame >= 0)):
            raise SchemaError(f"Modality frame must be one of {list(FRAME_POLICIES)} or a frame index "
                              f">= 0, got {frame!r}")
        if isinstance(frame, numbers.Integral):
            _freeze(self, "frame", int(frame))
        if isinstance(self.max_frames, bool) or not isinstance(self.max_frames, numbers.Integral) \
                or self.max_frames < 1:
            raise SchemaError(f"Modality max_frames must be an integer >= 1, got {self.max_frames!r}")


#: Default modalities: B-mode (greyscale), colour Doppler and elastography (colour).
DEFAULT_MODALITIES: dict[str, Modality] = {
    "bmode": Modality(colour=False, description="B-mode (greyscale)"),
    "cdfi": Modality(colour=True, description="colour Doppler flow imaging"),
    "elasto": Modality(colour=True, description="strain/shear-wave elastography (colour map)"),
}


def check_model_inputs(columns: Any, outcome_derived: Any, where: str = "model inputs") -> None:
    """Raise :class:`OutcomeDerivedError` when a requested input column is outcome-derived.

    Parameters
    ----------
    columns : iterable of str
        Column names asked for as model inputs.
    outcome_derived : iterable of str
        Columns the schema declares outcome-derived.
    where : str
        Who asked (named in the message).
    """
    derived = set(outcome_derived or ())
    bad = [c for c in columns if c in derived]
    if bad:
        names = ", ".join(repr(c) for c in bad)
        raise OutcomeDerivedError(
            f"{where}: column{'s' if len(bad) > 1 else ''} {names} "
            f"{'are' if len(bad) > 1 else 'is'} outcome-derived (declared in the schema's "
            "outcome_derived: a reading of, or a consequence of, the diagnosis) and never a model "
            "input; using it would leak the label. Drop it from the requested descriptors")


def _check_site_descriptor(column: str, descriptor: Descriptor) -> None:
    """The site column declared as a descriptor too: allowed when it is categorical."""
    if descriptor.kind != "categorical":
        raise SchemaError(f"column {column!r} is the site column and is declared as a "
                          f"{descriptor.kind} descriptor; a site used as a model input must be a "
                          "categorical descriptor whose levels are the site names")


def _check_name(value: Any, what: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise SchemaError(f"CohortSchema {what} must be a non-empty column name, got {value!r}")


@dataclass(frozen=True)
class CohortSchema(JsonConfig):
    """Which manifest column holds what, and what values are allowed.

    Parameters
    ----------
    classes : sequence of str
        Class names; a node's class index is the position of its label.
    patient : str
        Column of patient ids (required).  The patient is the unit of splitting.
    node : str or None
        Column of node (lesion) ids.  Used when the manifest has it; without it
        each patient must have exactly one row.  ``(patient, node)`` is unique.
    label : str
        Column of class names.
    site : str or None
        Column of the hospital / site (or scanner).  Used when the manifest has
        it, for per-site counts and site-held-out validation.  By default the
        site is not a model input; declare the same column among
        ``descriptors`` as a ``categorical`` descriptor (levels: the site names)
        to make it one.  The site is a confounder (case mix, scanners and
        prevalence differ between sites), so a model that uses it may learn the
        site's prevalence rather than the lesion; and in site-held-out
        validation the held-out site is a level the model never saw.  See
        ``docs/manifest.md``.
    descriptors : mapping of str to Descriptor
        Descriptor columns (each must be in the manifest).
    modalities : mapping of str to Modality
        Image-path columns (each must be in the manifest; a cell may be empty
        when the node lacks that modality).  ``<modality>_roi`` columns are
        optional ROI boxes; ``<modality>_mask`` columns are optional lesion
        masks (one mask image per image).
    outcome_derived : sequence of str
        Columns that are readings of, or follow from, the outcome (an overall
        BI-RADS category, the histology, how the diagnosis was verified).  They
        may stay in the manifest and in ``cohort.table`` (for display and Table 1)
        but are never model inputs: they cannot be declared as descriptors, are
        never in ``cohort.descriptors``, and a model asked to use one raises
        :class:`~lnfusion.exceptions.OutcomeDerivedError`.
    roi_margin : float or None
        Where a ``<modality>_mask`` cell gives a mask and the ``<modality>_roi``
        cell gives no box, the ROI is the mask's lesion box widened on each side
        by ``roi_margin`` times the box's width (left/right) and height
        (top/bottom), clamped to the image.  An explicit ROI box wins over the
        mask.  ``None``: masks never set the ROI (whole image unless a box is given).
    positive_class : str or None
        Two classes only: the class whose AUC, sensitivity and specificity the
        evaluation reports (a two-class task has one ROC curve).  ``None``: the
        first class of ``classes``.  See :attr:`positive`.

    Examples
    --------
    >>> schema = CohortSchema(descriptors={"age": Descriptor("continuous")})
    >>> schema.save("schema.json")          # doctest: +SKIP
    >>> CohortSchema.from_json("schema.json") == schema   # doctest: +SKIP
    True
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    patient: str = "patient_id"
    node: str | None = "node_id"
    label: str = "label"
    site: str | None = "site"
    descriptors: Mapping[str, Descriptor] = field(default_factory=dict)
    modalities: Mapping[str, Modality] = field(default_factory=lambda: dict(DEFAULT_MODALITIES))
    outcome_derived: tuple[str, ...] = ()
    roi_margin: float | None = DEFAULT_ROI_MARGIN
    positive_class: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.classes, str) or not all(isinstance(c, str) and c for c in self.classes):
            raise SchemaError(f"CohortSchema classes must be a sequence of non-empty strings, "
                              f"got {self.classes!r}")
        classes = tuple(self.classes)
        if len(classes) < 2:
            raise SchemaError(f"CohortSchema needs at least two classes, got {list(classes)}")
        if len(set(classes)) != len(classes):
            raise SchemaError(f"CohortSchema classes repeat a name: {list(classes)}")
        _freeze(self, "classes", classes)
        _check_name(self.patient, "patient")
        _check_name(self.label, "label")
        _check_name(self.node, "node", optional=True)
        _check_name(self.site, "site", optional=True)

        descriptors = {}
        for name, d in dict(self.descriptors).items():
            _check_name(name, "descriptor name")
            if isinstance(d, Mapping):
                d = Descriptor(**d)
            if not isinstance(d, Descriptor):
                raise SchemaError(f"descriptor {name!r} must be a Descriptor, got {type(d).__name__}")
            descriptors[name] = d
        modalities = {}
        for name, m in dict(self.modalities).items():
            _check_name(name, "modality name")
            if isinstance(m, Mapping):
                m = Modality(**m)
            if not isinstance(m, Modality):
                raise SchemaError(f"modality {name!r} must be a Modality, got {type(m).__name__}")
            modalities[name] = m
        if not modalities:
            raise SchemaError("CohortSchema needs at least one modality")
        _freeze(self, "descriptors", descriptors)
        _freeze(self, "modalities", modalities)

        roles = [self.patient, self.node, self.label, self.site]
        used: dict[str, str] = {}
        for role, col in zip(("patient", "node", "label", "site"), roles):
            if col is not None:
                used.setdefault(col, role)
        for kind, names in (("descriptor", descriptors), ("modality", modalities)):
            for col in names:
                if kind == "descriptor" and col == self.site and col not in (
                        self.patient, self.node, self.label):
                    _check_site_descriptor(col, descriptors[col])
                    used[col] = "site and descriptor"
                    continue
                if col in used:
                    raise SchemaError(f"column {col!r} is used both as {used[col]} and as {kind}; "
                                      "expected each column to have one role")
                used[col] = kind
        for m in modalities:
            for suffix, what in ((ROI_SUFFIX, "ROI"), (MASK_SUFFIX, "mask")):
                col = m + suffix
                if col in used:
                    raise SchemaError(f"column {col!r} is the {what} column of modality {m!r} and "
                                      f"cannot also be a {used[col]}")

        if isinstance(self.outcome_derived, str):
            raise SchemaError(f"CohortSchema outcome_derived must be a sequence of column names, "
                              f"got the string {self.outcome_derived!r}; write ({self.outcome_derived!r},)")
        derived = tuple(self.outcome_derived)
        for col in derived:
            _check_name(col, "outcome_derived column")
            if col in used:
                raise SchemaError(f"column {col!r} is declared outcome-derived and also as {used[col]}; "
                                  "an outcome-derived column is never a model input, so it cannot be a "
                                  "descriptor, modality, id or label column. Remove it from one of them")
        _freeze(self, "outcome_derived", tuple(dict.fromkeys(derived)))
        margin = self.roi_margin
        if margin is not None:
            if isinstance(margin, bool) or not isinstance(margin, numbers.Real) \
                    or not (0 <= float(margin) < float("inf")):
                raise SchemaError(f"CohortSchema roi_margin must be a number >= 0 (a fraction of the "
                                  f"lesion box size) or None, got {margin!r}")
            _freeze(self, "roi_margin", float(margin))
        if self.positive_class is not None:
            if len(classes) != 2:
                raise SchemaError(f"CohortSchema positive_class={self.positive_class!r}: a positive "
                                  f"class applies to two-class tasks only; classes are {list(classes)}")
            if self.positive_class not in classes:
                raise SchemaError(f"CohortSchema positive_class {self.positive_class!r} is not one "
                                  f"of the classes {list(classes)}")

    @property
    def positive(self) -> str | None:
        """The positive class of a two-class task (declared, else the first class); None otherwise."""
        if len(self.classes) != 2:
            return None
        return self.positive_class if self.positive_class is not None else self.classes[0]

    # -- derived ------------------------------------------------------------------------
    def roi_column(self, modality: str) -> str:
        """Name of the optional ROI column of ``modality``."""
        return modality + ROI_SUFFIX

    def mask_column(self, modality: str) -> str:
        """Name of the optional lesion-mask column of ``modality``."""
        return modality + MASK_SUFFIX

    def check_model_inputs(self, columns: Any, where: str = "model inputs") -> None:
        """Raise :class:`OutcomeDerivedError` if any of ``columns`` is outcome-derived.

        Parameters
        ----------
        columns : iterable of str
            Column names asked for as model inputs.
        where : str
            Who asked (named in the message).
        """
        check_model_inputs(columns, self.outcome_derived, where)

    def class_index(self, name: str) -> int:
        """Index of class ``name`` (raises ``SchemaError`` when undeclared)."""
        try:
            return self.classes.index(name)
        except ValueError:
            raise SchemaError(f"class {name!r} is not declared; classes are {list(self.classes)}") from None

    # -- JSON ---------------------------------------------------------------------------
    def to_json(self) -> str:
        """The schema as indented JSON; descriptor and modality order is kept (it is meaningful)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CohortSchema:
        """Build a schema from the mapping :meth:`to_dict` returns.

        Raises
        ------
        SchemaError
            Unknown keys or invalid values (the message names them).
        """
        if not isinstance(data, dict):
            raise SchemaError(f"CohortSchema: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        try:
            if "descriptors" in data:
                data["descriptors"] = {k: Descriptor.from_dict(v) for k, v in dict(data["descriptors"]).items()}
            if "modalities" in data:
                data["modalities"] = {k: Modality.from_dict(v) for k, v in dict(data["modalities"]).items()}
            for key in ("classes", "outcome_derived"):
                if key in data and isinstance(data[key], list):
                    data[key] = tuple(data[key])
            return super().from_dict(data)
        except ConfigError as exc:
            if isinstance(exc.__cause__, SchemaError):
                raise exc.__cause__ from None
            raise SchemaError(str(exc)) from exc

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> CohortSchema:
        """Read a schema written by :meth:`save`.

        Raises
        ------
        SchemaError
            The file is missing, is not JSON, or does not describe a valid schema;
            the message names the file.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError(f"{path}: schema file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path}: not valid JSON ({exc})") from exc
        try:
            return cls.from_dict(data)
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from exc

    def with_modalities(self, names: Any) -> CohortSchema:
        """Return a copy keeping only the modalities in ``names`` (order of ``names``)."""
        missing = [n for n in names if n not in self.modalities]
        if missing:
            raise SchemaError(f"modalities {missing} are not declared; declared: {list(self.modalities)}")
        return dataclasses.replace(self, modalities={n: self.modalities[n] for n in names})
