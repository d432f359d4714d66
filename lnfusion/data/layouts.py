"""Loaders for folder layouts users already hold, each returning a :class:`Cohort`.

* :func:`load_study_layout`: the study's released dataset, one folder per
  modality (``2d``, ``cdfi``, ``elastic``) with class folders ``0``, ``1``,
  ``2`` and files ``<patient>-<k>.jpg``.
* :func:`load_busi`: BUSI (``benign/``, ``malignant/``, ``normal/``).
* :func:`load_medmnist_npz`: a MedMNIST ``.npz`` file (written out as PNGs).

Each builds a manifest; with ``out_dir`` it writes ``manifest.csv`` and
``schema.json`` there (atomically), so the cohort can later be reloaded with
``Cohort.from_manifest(out_dir / "manifest.csv")``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.data.cohort import Cohort
from lnfusion.data.imageio import IMAGE_SUFFIXES
from lnfusion.data.schema import CohortSchema, Modality
from lnfusion.exceptions import ConflictingLabelError, DataError, SchemaError
from lnfusion.io import atomic_dir, atomic_write_text

__all__ = [
    "LayoutError",
    "STUDY_MODALITY_DIRS",
    "UnpairedReport",
    "parse_class_map",
    "load_study_layout",
    "load_busi",
    "read_medmnist_npz",
    "load_medmnist_npz",
]


class LayoutError(DataError):
    """A folder does not have the layout a loader expects (the message names the path)."""


#: Study layout: modality name -> folder name.
STUDY_MODALITY_DIRS: dict[str, str] = {"bmode": "2d", "cdfi": "cdfi", "elasto": "elastic"}

_STUDY_FILE = re.compile(r"^(?P<patient>.+)-(?P<k>\d+)$")


def parse_class_map(text: str | Mapping[Any, str] | None) -> dict[str, str]:
    """Parse a folder-to-class mapping.

    Parameters
    ----------
    text : str or mapping
        ``"0=metastatic,1=lymphoma,2=benign"`` or ``{0: "metastatic", ...}``.

    Returns
    -------
    dict of str to str
        Folder name -> class name (in the order given; that order is the class order).

    Raises
    ------
    SchemaError
        Missing, malformed or repeated entries.
    """
    if text is None:
        raise SchemaError("a class map is required: the folder numbers carry no class names. "
                          "Pass e.g. class_map='0=metastatic,1=lymphoma,2=benign'")
    if isinstance(text, Mapping):
        items = [(str(k).strip(), str(v).strip()) for k, v in text.items()]
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise SchemaError(f"class map entry {part.strip()!r} is malformed; expected "
                                  "FOLDER=CLASS, e.g. '0=metastatic,1=lymphoma,2=benign'")
            k, v = part.split("=", 1)
            items.append((k.strip(), v.strip()))
    if not items or any(not k or not v for k, v in items):
        raise SchemaError(f"class map {text!r} is empty or has an empty folder or class name")
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise SchemaError(f"class map {text!r} names a folder twice")
    return dict(items)


def _classes_from_map(class_map: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(class_map.values()))


def _is_image(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def _finish(df: pd.DataFrame, schema: CohortSchema, root: Path, out_dir: str | os.PathLike | None,
            check_images: bool, layout: str) -> Cohort:
    """Write manifest.csv + schema.json to ``out_dir`` (paths relative to it) or build in memory."""
    if out_dir is None:
        return Cohort.from_manifest(df, schema, root=root, check_images=check_images,
                                    source=f"{root} ({layout})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = df.copy()
    for col in [c for m in schema.modalities for c in (m, schema.mask_column(m)) if c in df.columns]:
        df[col] = [";".join(os.path.relpath(root / p, out_dir) if p else "" for p in cell.split(";"))
                   if cell else "" for cell in df[col]]
    manifest = out_dir / "manifest.csv"
    atomic_write_text(manifest, df.to_csv(index=False))
    schema.save(out_dir / "schema.json")
    return Cohort.from_manifest(manifest, schema, check_images=check_images)


# -- the study's released layout ------------------------------------------------------------
@dataclass(frozen=True)
class UnpairedReport:
    """Patients that lack one or more modalities in a study-layout folder.

    Attributes
    ----------
    missing : dict
        Patient id -> tuple of the modalities it lacks.
    n_patients : int
        Number of patients found.
    modalities : tuple of str
        Modalities looked for.
    """

    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    n_patients: int = 0
    modalities: tuple[str, ...] = ()

    @property
    def n_unpaired(self) -> int:
        """Number of patients lacking at least one modality."""
        return len(self.missing)

    def per_modality(self) -> dict[str, int]:
        """Modality -> number of patients lacking it."""
        return {m: sum(m in v for v in self.missing.values()) for m in self.modalities}

    def to_text(self) -> str:
        """Plain-text report."""
        lines = [f"{self.n_unpaired} of {self.n_patients} patients lack at least one modality"]
        for m, n in self.per_modality().items():
            lines.append(f"  missing {m}: {n}")
        for p, ms in sorted(self.missing.items())[:50]:
            lines.append(f"  {p}: no {', '.join(ms)}")
        if self.n_unpaired > 50:
            lines.append(f"  ... and {self.n_unpaired - 50} more")
        return "\n".join(lines)


def load_study_layout(root: str | os.PathLike, class_map: str | Mapping[Any, str] | None,
                      out_dir: str | os.PathLike | None = None,
                      modality_dirs: Mapping[str, str] | None = None,
                      check_images: bool = True) -> tuple[Cohort, UnpairedReport]:
    """Load the study's released dataset layout.

    ``root/<modality folder>/<class folder>/<patient>-<k>.<ext>``: one folder per
    modality (``2d``, ``cdfi``, ``elastic``), class folders named by number, and
    image files named by patient id and image number.  Images are paired across
    modalities by patient id; each patient is one node.

    Parameters
    ----------
    root : path-like
        The dataset folder.
    class_map : str or mapping
        Required mapping from class folder to class name, e.g.
        ``"0=metastatic,1=lymphoma,2=benign"``; its order is the class order.
        The study's folder numbers are not self-describing, so there is no default.
    out_dir : path-like, optional
        Write ``manifest.csv`` and ``schema.json`` here (image paths relative to
        it); otherwise the cohort is built in memory.
    modality_dirs : mapping, optional
        Modality name -> folder name; default :data:`STUDY_MODALITY_DIRS`.
        Modality folders that do not exist are skipped (at least one must exist).
    check_images : bool
        Check every image header (see :meth:`Cohort.from_manifest`).

    Returns
    -------
    (Cohort, UnpairedReport)
        The cohort (a node missing a modality has an empty cell) and the
        patients lacking modalities.

    Raises
    ------
    SchemaError
        ``class_map`` missing or malformed.
    LayoutError
        No modality folder, a class folder absent from ``class_map``, or a file
        not named ``<patient>-<k>``.
    ConflictingLabelError
        A patient in different class folders of different modalities.
    """
    class_map = parse_class_map(class_map)
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"{root}: study layout folder not found")
    dirs = dict(modality_dirs or STUDY_MODALITY_DIRS)
    present = {m: root / d for m, d in dirs.items() if (root / d).is_dir()}
    if not present:
        raise LayoutError(f"{root}: none of the modality folders {list(dirs.values())} exists")
    classes = _classes_from_map(class_map)
    found: dict[str, dict[str, list[tuple[int, str]]]] = {m: {} for m in present}
    label_of: dict[str, tuple[str, Path]] = {}
    for m, mdir in present.items():
        for cdir in sorted(p for p in mdir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if cdir.name not in class_map:
                raise LayoutError(f"{cdir}: class folder {cdir.name!r} is not in the class map "
                                  f"{class_map}; expected one of {list(class_map)}")
            label = class_map[cdir.name]
            for f in sorted(cdir.iterdir()):
                if not _is_image(f):
                    continue
                match = _STUDY_FILE.match(f.stem)
                if match is None:
                    raise LayoutError(f"{f}: file name is not '<patient>-<k>{f.suffix}'; expected "
                                      "the patient id, a dash and the image number")
                patient = match["patient"]
                if patient in label_of and label_of[patient][0] != label:
                    other = label_of[patient][1]
                    raise ConflictingLabelError(
                        f"patient {patient!r} is in class {label_of[patient][0]!r} ({other}) and in "
                        f"class {label!r} ({f}); expected one class folder per patient")
                label_of.setdefault(patient, (label, f))
                found[m].setdefault(patient, []).append((int(match["k"]), f.relative_to(root).as_posix()))
    patients = sorted(label_of, key=_natural_key)
    rows = []
    missing: dict[str, tuple[str, ...]] = {}
    for p in patients:
        row = {"patient_id": p, "label": label_of[p][0]}
        lacks = []
        for m in dirs:
            files = [rel for _, rel in sorted(found.get(m, {}).get(p, []))]
            if m in present:
                row[m] = ";".join(files)
            if not files:
                lacks.append(m)
        if lacks:
            missing[p] = tuple(lacks)
        rows.append(row)
    schema = CohortSchema(classes=classes, node=None, site=None,
                          modalities={m: Modality(colour=m != "bmode") for m in present})
    df = pd.DataFrame(rows, columns=["patient_id", "label", *present])
    cohort = _finish(df, schema, root, out_dir, check_images, "study layout")
    return cohort, UnpairedReport(missing=missing, n_patients=len(patients), modalities=tuple(dirs))


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


# -- BUSI -----------------------------------------------------------------------------------
BUSI_FOLDERS = ("benign", "malignant", "normal")


def load_busi(root: str | os.PathLike, label_map: Mapping[str, str] | None = None,
              out_dir: str | os.PathLike | None = None, classes: Sequence[str] | None = None,
              check_images: bool = True) -> Cohort:
    """Load the BUSI breast-ultrasound layout (``benign/``, ``malignant/``, ``normal/``).

    BUSI has no patient ids, so **each image is treated as its own patient**
    (``patient_id`` = ``<folder>/<file stem>``).  Patient-grouped splits
    therefore cannot keep one woman's images together; near-duplicate images
    exist in BUSI, so splits on it are optimistic.  Mask files (``*_mask*.png``)
    are ignored.

    Parameters
    ----------
    root : path-like
        Folder holding the class folders.
    label_map : mapping, optional
        Folder -> class name, e.g. ``{"malignant": "malignant", "benign":
        "non-malignant", "normal": "non-malignant"}``.  Folders not in the map
        are skipped.  Default: each folder is its own class.
    out_dir : path-like, optional
        Write ``manifest.csv`` + ``schema.json`` there.
    classes : sequence of str, optional
        Class order; default: order of first appearance in ``label_map``.
    check_images : bool
        Check every image header.

    Returns
    -------
    Cohort
        One modality, ``bmode`` (greyscale).
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"{root}: BUSI folder not found")
    label_map = dict(label_map) if label_map is not None else {f: f for f in BUSI_FOLDERS}
    rows = []
    for folder, label in label_map.items():
        fdir = root / folder
        if not fdir.is_dir():
            raise LayoutError(f"{fdir}: BUSI class folder not found; expected folders {list(label_map)}")
        for f in sorted(fdir.iterdir(), key=lambda p: _natural_key(p.name)):
            if _is_image(f) and "_mask" not in f.stem:
                rows.append({"patient_id": f"{folder}/{f.stem}", "label": label,
                             "bmode": f.relative_to(root).as_posix()})
    if not rows:
        raise LayoutError(f"{root}: no images found in {list(label_map)}")
    schema = CohortSchema(classes=tuple(classes) if classes is not None else _classes_from_map(label_map),
                          node=None, site=None, modalities={"bmode": Modality(colour=False)})
    return _finish(pd.DataFrame(rows), schema, root, out_dir, check_images, "BUSI layout")


# -- MedMNIST -------------------------------------------------------------------------------
MEDMNIST_SPLITS = ("train", "val", "test")


def read_medmnist_npz(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a MedMNIST ``.npz`` file as arrays.

    Parameters
    ----------
    path : path-like
        File with ``<split>_images`` and ``<split>_labels`` for split in
        train / val / test (splits absent from the file are skipped).

    Returns
    -------
    dict
        Split -> ``(images, labels)``: images uint8 (N, H, W) or (N, H, W, 3),
        labels int64 (N,) (a trailing axis of size 1 is dropped).

    Raises
    ------
    LayoutError
        Missing file, no split found, or inconsistent array shapes.
    """
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: MedMNIST file not found")
    out = {}
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise LayoutError(f"{path}: not a readable .npz file ({exc})") from exc
    with npz:
        for split in MEDMNIST_SPLITS:
            ik, lk = f"{split}_images", f"{split}_labels"
            if ik not in npz.files and lk not in npz.files:
                continue
            if ik not in npz.files or lk not in npz.files:
                raise LayoutError(f"{path}: has only one of {ik!r} and {lk!r}; expected both")
            images, labels = np.asarray(npz[ik]), np.asarray(npz[lk])
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.ndim != 1:
                raise LayoutError(f"{path}: {lk!r} has shape {labels.shape}; expected (N,) or (N, 1) "
                                  "(multi-label MedMNIST sets are not supported)")
            if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)) \
                    or len(images) != len(labels):
                raise LayoutError(f"{path}: {ik!r} has shape {images.shape} for {len(labels)} labels; "
                                  "expected (N, H, W) or (N, H, W, 3)")
            if images.ndim == 4 and images.shape[-1] == 1:
                images = images[..., 0]
            if images.dtype != np.uint8:
                raise LayoutError(f"{path}: {ik!r} has dtype {images.dtype}; expected uint8")
            out[split] = (images, labels.astype(np.int64))
    if not out:
        raise LayoutError(f"{path}: no '<split>_images' arrays; expected train/val/test images and labels")
    return out


def load_medmnist_npz(path: str | os.PathLike, out_dir: str | os.PathLike,
                      class_names: Sequence[str] | None = None, modality: str = "bmode",
                      overwrite: bool = False) -> Cohort:
    """Write a MedMNIST ``.npz`` as PNG files + manifest and load it as a cohort.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (see :func:`read_medmnist_npz`).
    out_dir : path-like
        New folder receiving ``images/<split>_<index>.png``, ``manifest.csv``
        (with a ``split`` column holding the official split) and ``schema.json``.
        Built under a temporary name and renamed when complete.
    class_names : sequence of str, optional
        Name of each label value (index = label).  Default ``"0"``, ``"1"``, ...
    modality : str
        Modality name of the image column (colour if the images are RGB).
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    Cohort
        One patient per image (MedMNIST has no patient ids); ``cohort.table["split"]``
        holds the official split.
    """
    from PIL import Image

    data = read_medmnist_npz(path)
    n_classes = int(max(int(lab.max()) for _, lab in data.values() if len(lab)) + 1)
    if class_names is None:
        class_names = [str(i) for i in range(max(n_classes, 2))]
    class_names = tuple(class_names)
    if len(class_names) < n_classes:
        raise SchemaError(f"{path}: labels go up to {n_classes - 1} but only {len(class_names)} "
                          f"class names were given: {list(class_names)}")
    colour = any(images.ndim == 4 for images, _ in data.values())
    schema = CohortSchema(classes=class_names, node=None, site=None,
                          modalities={modality: Modality(colour=colour)})
    rows = []
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        (tmp / "images").mkdir()
        for split, (images, labels) in data.items():
            for i, (img, lab) in enumerate(zip(images, labels)):
                rel = f"images/{split}_{i:05d}.png"
                Image.fromarray(img).save(tmp / rel)
                rows.append({"patient_id": f"{split}_{i:05d}", "label": class_names[int(lab)],
                             "split": split, modality: rel})
        atomic_write_text(tmp / "manifest.csv", pd.DataFrame(rows).to_csv(index=False))
        schema.save(tmp / "schema.json")
    return Cohort.from_manifest(Path(out_dir) / "manifest.csv", schema, check_images=False,
                                allow_empty_classes=True)
