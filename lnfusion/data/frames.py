"""From a manifest image to the images the network sees: frame policy and ultrasound region.

A manifest cell names image *files*, with ROI boxes in the coordinates of the
full frame as a viewer shows it (where the user drew them).  :func:`file_images`
turns one file and its ROI into the images of the node, in the coordinates of
the arrays :func:`~lnfusion.data.read_image` returns:

* a multi-frame DICOM file gives the frames the modality's ``frame`` policy
  selects (:class:`~lnfusion.data.Modality`), each as a frame reference
  (:func:`~lnfusion.data.frame_ref`); a plain path means the middle frame;
* a DICOM file with an ultrasound region is read cropped to the region, so its
  ROI box is shifted into the region and cut to it.

Validation (the manifest parser), training and prediction
(:func:`lnfusion.data.decode.modality_images`) and explanations all go through
this function, so they see the same images.
"""
from __future__ import annotations

import os

import numpy as np

from lnfusion.data.imageio import (
    ImageGeometry,
    frame_ref,
    image_geometry,
    is_dicom,
    split_frame_ref,
)
from lnfusion.data.schema import Modality
from lnfusion.exceptions import ImageError, RoiError

__all__ = ["file_images", "frame_indices"]

Roi = tuple[int, int, int, int]


def frame_indices(policy: str | int, frames: int, max_frames: int) -> list[int]:
    """The frames of a file of ``frames`` frames that ``policy`` selects (see :class:`Modality`).

    Raises
    ------
    ValueError
        A frame index beyond the file's last frame.
    """
    if policy == "middle":
        return [frames // 2]
    if policy == "first":
        return [0]
    if policy == "all":
        if frames <= max_frames:
            return list(range(frames))
        return sorted({int(round(v)) for v in np.linspace(0, frames - 1, max_frames)})
    if not 0 <= int(policy) < frames:
        raise ValueError(f"frame {policy} asked for, but the file has {frames} frame"
                         f"{'s' if frames != 1 else ''} (0 to {frames - 1})")
    return [int(policy)]


def file_images(path: str, roi: Roi | None, modality: Modality,
                geometry: ImageGeometry | None = None) -> list[tuple[str, Roi | None]]:
    """The images of the node that one manifest image gives, with their ROI in image coordinates.

    Parameters
    ----------
    path : str
        Image file (or an explicit frame reference, kept as it is).
    roi : (x0, y0, x1, y1) or None
        ROI box in full-frame coordinates; None: the whole image.
    modality : Modality
        Its ``frame`` and ``max_frames`` select the frames of a multi-frame file.
    geometry : ImageGeometry, optional
        The file's geometry when already read (default: read from its header).

    Returns
    -------
    list of (image, roi)
        ``image`` a path or frame reference for :func:`~lnfusion.data.read_image`;
        ``roi`` in the coordinates of the array it returns (None: whole image).

    Raises
    ------
    ImageError
        The file cannot be read, or the frame policy asks for a frame it lacks.
    RoiError
        The ROI lies wholly outside the file's ultrasound region.
    """
    if geometry is None:
        if not is_dicom(split_frame_ref(path)[0]):
            return [(path, roi)]  # one frame, no region: nothing to read
        geometry = image_geometry(path, verify=False)
    try:
        box = geometry.to_image(roi)
    except ValueError as exc:
        raise RoiError(f"{path}: ROI {tuple(roi)} (full-frame coordinates) lies wholly outside the "  # type: ignore[arg-type]
                       f"ultrasound image region {geometry.region}; expected a box on the image data "
                       f"({exc})") from None
    if geometry.frames == 1 or split_frame_ref(path)[1] is not None:
        return [(path, box)]
    try:
        ks = frame_indices(modality.frame, geometry.frames, modality.max_frames)
    except ValueError as exc:
        raise ImageError(f"{path}: {exc} (the modality's frame policy is frame={modality.frame!r})",
                         path=os.fspath(path)) from None
    if modality.frame == "middle":
        return [(path, box)]  # a plain path reads the middle frame
    return [(frame_ref(path, k), box) for k in ks]
