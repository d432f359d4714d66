"""Image geometry of the network input: ROI clamp, letterbox resize and the way back.

The network sees an image cropped to its ROI, resized so that its longer side
is ``image_size`` (aspect ratio kept) and padded with black to a centred square
(:func:`resize_pad`).  :func:`padded_geometry` says where the image lies in that
square, and :func:`input_to_image` maps a map over the square (a Grad-CAM or a
SHAP heat map) back onto the original image grid.  Preprocessing
(:func:`lnfusion.data.build_transform`), pre-training's readers, Grad-CAM and
image SHAP all use these functions, so the forward and backward geometry cannot
drift apart.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lnfusion.exceptions import RoiError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["clamp_roi", "crop_roi", "padded_geometry", "resize_pad", "input_to_image"]


def clamp_roi(roi: Sequence[int] | None, height: int, width: int) -> tuple[int, int, int, int]:
    """The ROI box clipped to a ``height x width`` image (the whole image for ``None``).

    Parameters
    ----------
    roi : (x0, y0, x1, y1) or None
        Box in pixels, ``x1`` and ``y1`` exclusive.
    height, width : int
        Image size.

    Returns
    -------
    (x0, y0, x1, y1)

    Raises
    ------
    RoiError
        The box does not overlap the image.
    """
    if roi is None:
        return 0, 0, int(width), int(height)
    x0, y0, x1, y1 = (int(v) for v in roi)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, int(width)), min(y1, int(height))
    if x1 <= x0 or y1 <= y0:
        raise RoiError(f"ROI {tuple(roi)} does not overlap the {width}x{height} image; expected "
                       "0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height")
    return x0, y0, x1, y1


def crop_roi(image: np.ndarray, roi: Sequence[int] | None) -> np.ndarray:
    """``image[y0:y1, x0:x1]`` for the ROI clamped to the image (the image itself for ``None``)."""
    if roi is None:
        return image
    x0, y0, x1, y1 = clamp_roi(roi, image.shape[0], image.shape[1])
    return image[y0:y1, x0:x1]


def padded_geometry(height: int, width: int, image_size: int) -> tuple[int, int, int, int]:
    """Where a ``height x width`` image lies in the padded square network input.

    Returns
    -------
    (top, left, new_height, new_width)
        The resized image occupies ``[top:top + new_height, left:left + new_width]``.
    """
    s = image_size / max(height, width)
    nh, nw = max(1, round(height * s)), max(1, round(width * s))
    return (image_size - nh) // 2, (image_size - nw) // 2, nh, nw


def resize_pad(x: torch.Tensor, image_size: int) -> torch.Tensor:
    """Resize a ``(C, H, W)`` float tensor so its longer side is ``image_size``; pad to a square.

    Bilinear (antialiased when shrinking), aspect ratio kept, centred, black
    (zero) padding: the layout :func:`padded_geometry` describes.
    """
    import torch
    import torch.nn.functional as F

    _, h, w = x.shape
    top, left, nh, nw = padded_geometry(h, w, image_size)
    if (nh, nw) != (h, w):
        x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False,
                          antialias=nh < h or nw < w)[0]
    out = torch.zeros((x.shape[0], image_size, image_size), dtype=x.dtype)
    out[:, top:top + nh, left:left + nw] = x
    return out


def input_to_image(values: np.ndarray, shape: tuple[int, int], roi: Sequence[int] | None,
                   image_size: int, *, preserve_sum: bool = False) -> np.ndarray:
    """Map an ``(image_size, image_size)`` map over the network input onto the original image.

    Removes the padding, resizes the rest to the (clamped) ROI with bilinear
    interpolation and places it in a zero ``(H, W)`` array: the inverse of the
    crop, resize and pad of the preprocessing.

    Parameters
    ----------
    values : ndarray (image_size, image_size)
        A map over the network input (Grad-CAM, SHAP, ...).
    shape : (H, W)
        Original image size.
    roi : (x0, y0, x1, y1) or None
        The crop the network saw.
    image_size : int
        Side of the network input.
    preserve_sum : bool, default False
        Rescale so that the sum over the image equals the sum over the image
        part of the input (for additive attributions such as SHAP values).

    Returns
    -------
    ndarray, float32 (H, W)
        Zero outside the ROI.
    """
    import torch
    import torch.nn.functional as F

    h, w = shape
    x0, y0, x1, y1 = clamp_roi(roi, h, w)
    top, left, nh, nw = padded_geometry(y1 - y0, x1 - x0, image_size)
    inner = np.ascontiguousarray(np.asarray(values)[top:top + nh, left:left + nw], dtype=np.float32)
    resized = F.interpolate(torch.from_numpy(inner)[None, None], size=(y1 - y0, x1 - x0),
                            mode="bilinear", align_corners=False)[0, 0].numpy()
    if preserve_sum:
        total, now = float(inner.sum()), float(resized.sum())
        if now != 0.0 and np.isfinite(total / now):
            resized = resized * np.float32(total / now)
    out = np.zeros((h, w), dtype=np.float32)
    out[y0:y1, x0:x1] = resized
    return out
