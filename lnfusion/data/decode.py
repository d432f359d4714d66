"""Decode images once at the network's input size, kept as ``uint8`` (needs torch when decoding).

:func:`decode_uint8` runs the evaluation preprocessing of
:func:`lnfusion.data.build_transform` (ROI crop, aspect-preserving resize, black
padding, channel replication; no normalisation) over image files or arrays and
rounds the result back to ``uint8``, so a whole cohort or pre-training set stays
small in memory.  The image branch (:func:`lnfusion.models.image_branch.decode_images`)
and pre-training (:func:`lnfusion.data.pretrain_data.load_pretrain_data`) both
decode with it.  :func:`modality_images` lists a cohort's images of one modality,
one entry per image, as :class:`~lnfusion.data.ImageDataset` samples them.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from lnfusion.data.cohort import Cohort
from lnfusion.data.frames import file_images
from lnfusion.data.imageio import read_image
from lnfusion.data.manifest import Roi
from lnfusion.exceptions import DataError
from lnfusion.progress import progress_mode

__all__ = ["decode_uint8", "modality_images"]


def modality_images(cohort: Cohort, modality: str, positions: Sequence[int] | None = None,
                    ) -> tuple[list[str], list[Roi | None], np.ndarray]:
    """Every image of ``modality`` of the nodes at ``positions``, in node order.

    The one place manifest files become network images
    (:func:`lnfusion.data.frames.file_images`): a multi-frame DICOM file gives
    the frames of the modality's ``frame`` policy, and ROI boxes (full-frame,
    as in the manifest) are moved into the ultrasound region
    :func:`~lnfusion.data.read_image` crops to.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    modality : str
        One of ``cohort.modalities``.
    positions : sequence of int, optional
        Node positions (default: all).  Nodes lacking the modality give no image.

    Returns
    -------
    (paths, rois, node_positions)
        Image path or frame reference, ROI box in the coordinates of the array
        :func:`~lnfusion.data.read_image` returns (None: whole image) and
        cohort position of the node of each image.

    Raises
    ------
    DataError
        A position lies outside ``[0, len(cohort))``.
    """
    images, rois = cohort.images(modality), cohort.rois(modality)
    policy = cohort.schema.modalities[modality]
    nodes = np.arange(len(cohort)) if positions is None else np.asarray(positions, dtype=np.int64)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= len(cohort)):
        raise DataError(f"indices must lie in [0, {len(cohort)}); got min {nodes.min()}, "
                        f"max {nodes.max()}")
    paths: list[str] = []
    boxes: list[Roi | None] = []
    owner: list[int] = []
    for pos in nodes:
        for file, file_roi in zip(images[pos], rois[pos]):
            for path, roi in file_images(file, file_roi, policy):
                paths.append(path)
                boxes.append(roi)
                owner.append(int(pos))
    return paths, boxes, np.asarray(owner, dtype=np.int64)


class _Decoding:
    """Map-style dataset: image ``i`` (file or array) through the evaluation transform."""

    def __init__(self, images: Sequence[Any], rois: Sequence[Roi | None], transform: Any, mode: str):
        self.images, self.rois, self.transform, self.mode = images, rois, transform, mode

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Any:
        image = self.images[i]
        if not isinstance(image, np.ndarray):
            image = read_image(image, mode=self.mode)
        return self.transform(image, roi=self.rois[i])


def decode_uint8(images: Sequence[str | os.PathLike | np.ndarray],
                 rois: Sequence[Roi | None] | None = None, *, image_size: int, colour: bool,
                 in_chans: int, num_workers: int = 0, progress: bool = False,
                 desc: str = "decode") -> np.ndarray:
    """Decode images at the network's input size, as ``uint8``.

    Parameters
    ----------
    images : sequence of path-like or ndarray
        Image files (read with :func:`~lnfusion.data.read_image`, RGB when
        ``colour`` else greyscale) or decoded ``uint8`` arrays.
    rois : sequence of (x0, y0, x1, y1) or None, optional
        Crop box per image (None: whole image); default no crop.
    image_size : int
        Output side in pixels.
    colour : bool
        Colour-coded modality (kept RGB) rather than greyscale.
    in_chans : int
        Channels of the output (1 for greyscale, 3 for colour; greyscale is
        replicated to ``in_chans``).
    num_workers : int
        DataLoader worker processes for decoding.
    progress : bool
        Show a progress bar.
    desc : str
        Label of the progress bar.

    Returns
    -------
    np.ndarray
        ``uint8`` of shape ``(len(images), in_chans, image_size, image_size)``.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    from lnfusion.data.transforms import build_transform

    rois = [None] * len(images) if rois is None else rois
    if len(rois) != len(images):
        raise DataError(f"{len(rois)} ROI boxes for {len(images)} images; expected one per image")
    transform = build_transform(colour, image_size, mean=[0.0] * in_chans, std=[1.0] * in_chans,
                                in_chans=in_chans, train=False)
    ds = _Decoding(images, rois, transform, "rgb" if colour else "grey")
    out = np.empty((len(ds), in_chans, image_size, image_size), dtype=np.uint8)
    loader = DataLoader(ds, batch_size=32, shuffle=False, num_workers=num_workers)
    start = 0
    for x in tqdm(loader, desc=desc, disable=progress_mode(progress) != "bar", leave=False,
                  unit="batch"):
        out[start:start + len(x)] = (x * 255.0).round_().clamp_(0, 255).to(torch.uint8).numpy()
        start += len(x)
    return out
