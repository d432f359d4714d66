"""Pre-training datasets: a folder of class folders, a MedMNIST ``.npz`` or a Cohort, decoded once.

:func:`load_pretrain_data` reads the images that
:func:`lnfusion.models.pretrain` trains an encoder on, at the network's input
size (crop to the ROI, letterbox resize and pad, as
:func:`~lnfusion.data.build_transform` does), with each image's SHA-256 so the
pre-training record can prove which images the encoder saw
(:func:`file_sha256` for files; ``exclude`` leaves out e.g. a test set's).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lnfusion.data.decode import decode_uint8, modality_images
from lnfusion.exceptions import ConfigError, DataError

__all__ = ["PretrainData", "load_pretrain_data", "file_sha256"]


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class PretrainData:
    """Images (decoded at the training size) with their labels and provenance.

    Attributes
    ----------
    images : np.ndarray
        uint8 ``(N, C, S, S)``.
    labels : np.ndarray
        int64 ``(N,)``.
    classes : list of str
        Label names.
    sha256 : list of str
        Digest of each image: of the file's bytes for files, of the array's bytes
        (``uint8``, C order) for ``.npz`` images.
    sources : list of str
        File path, or ``"<npz>:<split>[<index>]"``.
    description : dict
        ``kind``, ``path``, ``split`` and counts (JSON-serialisable).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    sha256: list[str]
    sources: list[str]
    description: dict[str, Any]


def load_pretrain_data(dataset: Any, *, image_size: int, colour: bool = False, split: str = "train",
                       modality: str | None = None, exclude: Iterable[str] | None = None,
                       progress: bool = False) -> PretrainData:
    """Read a pre-training dataset: a folder of class folders, a MedMNIST ``.npz`` or a Cohort.

    Parameters
    ----------
    dataset : path-like or Cohort
        ``.npz`` file (MedMNIST), a folder whose sub-folders are classes (files
        containing ``_mask`` in their name are skipped, as BUSI's masks), or a
        :class:`~lnfusion.data.Cohort` (with ``modality``).
    image_size : int
        Side of the decoded images.
    colour : bool
        Keep RGB (3 channels) instead of greyscale (1 channel).
    split : str
        ``.npz`` split to use (``"train"``; ``"train+val"`` joins two).
    modality : str, optional
        Modality of a Cohort (default: its first).
    exclude : iterable of str, optional
        SHA-256 digests of images to leave out.
    progress : bool
        Show a progress bar while decoding.

    Returns
    -------
    PretrainData
    """
    from lnfusion.data.cohort import Cohort
    from lnfusion.data.imageio import IMAGE_SUFFIXES
    from lnfusion.data.layouts import read_medmnist_npz

    decode = {"image_size": image_size, "colour": colour, "in_chans": 3 if colour else 1,
              "progress": progress}
    excluded = set(exclude or ())
    if isinstance(dataset, Cohort):
        modality = modality or dataset.modalities[0]
        paths, rois, nodes = modality_images(dataset, modality)
        classes = [str(c) for c in dataset.classes]
        desc = {"kind": "cohort", "path": str(getattr(dataset, "source", "")), "modality": modality,
                "split": None}
        files = [(Path(p), int(y), roi) for p, roi, y in zip(paths, rois, dataset.y[nodes])]
    else:
        path = Path(dataset)
        if path.suffix == ".npz":
            data = read_medmnist_npz(path)
            parts = split.split("+")
            unknown = [s for s in parts if s not in data]
            if unknown:
                raise ConfigError(f"{path}: split(s) {unknown} not in the file; it has {sorted(data)}")
            arrays, labels, sources, digests = [], [], [], []
            for s in parts:
                imgs, ys = data[s]
                for i, (img, y) in enumerate(zip(imgs, ys)):
                    digest = hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()
                    if digest in excluded:
                        continue
                    arrays.append(img)
                    labels.append(int(y))
                    sources.append(f"{path.name}:{s}[{i}]")
                    digests.append(digest)
            n_all = sum(len(data[s][1]) for s in parts)
            classes = [str(k) for k in range(int(max(max(labels, default=0), 0)) + 1)]
            images = decode_uint8(arrays, **decode)
            return PretrainData(images, np.asarray(labels, np.int64), classes, digests, sources,
                                {"kind": "medmnist-npz", "path": str(path), "split": split,
                                 "n_images": len(arrays), "n_excluded": n_all - len(arrays)})
        if not path.is_dir():
            raise DataError(f"{path}: pre-training dataset not found; expected a folder of class "
                            "folders, a MedMNIST .npz file or a Cohort")
        class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not class_dirs:
            raise DataError(f"{path}: no class sub-folders; expected ImageFolder layout "
                            "(one folder per class holding images)")
        classes = [d.name for d in class_dirs]
        files = [(f, k, None) for k, d in enumerate(class_dirs) for f in sorted(d.iterdir())
                 if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and "_mask" not in f.stem
                 and not f.name.startswith(".")]
        desc = {"kind": "folder", "path": str(path), "split": None}
    keep, digests = [], []
    for f, y, roi in files:
        digest = file_sha256(f)
        if digest not in excluded:
            keep.append((f, y, roi))
            digests.append(digest)
    if not keep:
        raise DataError(f"{desc['path']}: no image left to pre-train on "
                        f"({len(files)} found, {len(files) - len(keep)} excluded)")

    images = decode_uint8([f for f, _, _ in keep], [roi for _, _, roi in keep], **decode)
    desc.update(n_images=len(keep), n_excluded=len(files) - len(keep))
    return PretrainData(images, np.asarray([y for _, y, _ in keep], np.int64), classes, digests,
                        [str(f) for f, _, _ in keep], desc)
