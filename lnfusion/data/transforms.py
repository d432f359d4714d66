"""Modality-aware preprocessing, and the per-image form of the training augmentation (needs torch).

:func:`build_transform` returns an :class:`ImageTransform` mapping a uint8
image (as :func:`~lnfusion.data.read_image` returns it) to a normalised float
tensor (C, H, W):

1. crop to the ROI box, if any (:func:`lnfusion.data.geometry.crop_roi`);
2. resize so the longer side is ``image_size`` (aspect ratio kept) and pad
   with black to a square (:func:`lnfusion.data.geometry.resize_pad`);
3. training only: the training augmentation,
   :func:`lnfusion.data.augment.augment_batch` on a batch of one, the very
   function the training loop runs on its batches (geometry for every
   modality; speckle, gain and contrast for greyscale; only a hue-preserving
   global gain for colour-coded modalities, which never get a hue, saturation
   or per-channel change);
4. greyscale images are replicated to ``in_chans`` channels (colour images
   need ``in_chans=3``);
5. normalisation with the encoder's mean and std (take them from
   ``timm.data.resolve_model_data_config(model)``).

Randomness comes only from a :class:`numpy.random.Generator` (``random_state``
at build time, or ``rng`` per call), which seeds the augmentation's
:class:`torch.Generator`, so training is reproducible.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lnfusion.data.augment import AugmentConfig, augment_batch
from lnfusion.data.geometry import crop_roi, resize_pad
from lnfusion.exceptions import ConfigError, DataError

__all__ = ["AugmentConfig", "ImageTransform", "build_transform"]


def _stats(values: Sequence[float], n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float32).ravel()
    if arr.size == n:
        out = arr
    elif arr.size == 1:
        out = np.repeat(arr, n)
    elif arr.size == 3 and n == 1:
        out = arr.mean(keepdims=True)
    else:
        raise ConfigError(f"{name} has {arr.size} values for {n} channels; expected {n}, 1 (or 3 for "
                          "a 1-channel encoder, averaged)")
    if name == "std" and np.any(out <= 0):
        raise ConfigError(f"std must be positive, got {values!r}")
    return out


class ImageTransform:
    """Callable ``image -> torch.FloatTensor (C, image_size, image_size)``.

    Build it with :func:`build_transform` (see there for the parameters).
    """

    def __init__(self, colour: bool, image_size: int, mean: Sequence[float], std: Sequence[float],
                 in_chans: int = 3, train: bool = False, roi: Sequence[int] | None = None,
                 augment: AugmentConfig | None = None, random_state: Any = None):
        if not isinstance(image_size, (int, np.integer)) or image_size < 1:
            raise ConfigError(f"image_size must be a positive integer, got {image_size!r}")
        if not isinstance(in_chans, (int, np.integer)) or in_chans < 1:
            raise ConfigError(f"in_chans must be a positive integer, got {in_chans!r}")
        if colour and in_chans != 3:
            raise ConfigError(f"a colour modality needs in_chans=3 (its colours are the measurement); "
                              f"got in_chans={in_chans}")
        self.colour = bool(colour)
        self.image_size = int(image_size)
        self.in_chans = int(in_chans)
        self.mean = _stats(mean, self.in_chans, "mean")
        self.std = _stats(std, self.in_chans, "std")
        self.train = bool(train)
        self.roi = tuple(roi) if roi is not None else None
        self.augment = augment if augment is not None else AugmentConfig()
        if not isinstance(self.augment, AugmentConfig):
            raise ConfigError(f"augment must be an AugmentConfig, got {type(augment).__name__}")
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)

    def __repr__(self) -> str:
        return (f"ImageTransform(colour={self.colour}, image_size={self.image_size}, "
                f"in_chans={self.in_chans}, train={self.train})")

    # -- steps ----------------------------------------------------------------------------
    def _as_float(self, image: np.ndarray) -> np.ndarray:
        arr = np.asarray(image)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
            raise DataError(f"expected an image of shape (H, W) or (H, W, 3), got {arr.shape}")
        if arr.ndim == 3:
            arr = arr[..., :3]
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif np.issubdtype(arr.dtype, np.floating):
            arr = np.clip(arr.astype(np.float32), 0.0, 1.0)
        else:
            raise DataError(f"expected a uint8 image (or float in [0, 1]), got dtype {arr.dtype}")
        if self.colour and arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        elif not self.colour and arr.ndim == 3:
            arr = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return arr

    def _augment(self, x, rng: np.random.Generator):
        import torch

        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        return augment_batch(x[None], self.augment, colour=self.colour, generator=generator)[0]

    def __call__(self, image: np.ndarray, roi: Sequence[int] | None = None,
                 rng: np.random.Generator | None = None):
        """Transform one image.

        Parameters
        ----------
        image : ndarray
            uint8 (H, W) or (H, W, 3) (float in [0, 1] also accepted).  Colour
            input to a greyscale transform is converted to luma; greyscale
            input to a colour transform is replicated.
        roi : (x0, y0, x1, y1), optional
            Crop box in pixels; overrides the one given at build time.
        rng : numpy.random.Generator, optional
            Source of the augmentation randomness for this call (default: the
            transform's own generator, seeded by ``random_state``).

        Returns
        -------
        torch.Tensor
            float32 (C, image_size, image_size), C = ``in_chans``.
        """
        import torch

        arr = self._as_float(image)
        roi = roi if roi is not None else self.roi
        arr = crop_roi(arr, roi)
        x = torch.from_numpy(np.ascontiguousarray(arr))
        x = x.permute(2, 0, 1) if x.ndim == 3 else x[None]
        x = resize_pad(x, self.image_size)
        if self.train:
            x = self._augment(x, rng if rng is not None else self._rng).clamp(0.0, 1.0)
        if not self.colour and self.in_chans != 1:
            x = x.expand(self.in_chans, -1, -1)
        mean = torch.from_numpy(self.mean)[:, None, None]
        std = torch.from_numpy(self.std)[:, None, None]
        return ((x - mean) / std).contiguous()


def build_transform(colour: bool, image_size: int, mean: Sequence[float], std: Sequence[float],
                    in_chans: int = 3, train: bool = False, roi: Sequence[int] | None = None,
                    augment: AugmentConfig | None = None, random_state: Any = None) -> ImageTransform:
    """Build the preprocessing (and, when training, augmentation) of one modality.

    Parameters
    ----------
    colour : bool
        True for colour-coded modalities (kept RGB; never hue/saturation-changed),
        False for greyscale (B-mode).  Use ``cohort.schema.modalities[m].colour``.
    image_size : int
        Output side in pixels (square).
    mean, std : sequence of float
        Encoder normalisation, e.g. from ``timm.data.resolve_model_data_config``.
        One value per channel (a single value is broadcast; three values for a
        1-channel encoder are averaged).
    in_chans : int
        Encoder input channels; greyscale images are replicated to this many.
    train : bool
        Apply the training augmentation (:func:`lnfusion.data.augment.augment_batch`).
    roi : (x0, y0, x1, y1), optional
        Default crop box (usually given per image when calling).
    augment : AugmentConfig, optional
        Augmentation settings (default :class:`AugmentConfig`).
    random_state : int, numpy Generator or None
        Seed of the transform's generator.

    Returns
    -------
    ImageTransform
        ``transform(image, roi=None, rng=None) -> torch.Tensor (in_chans, image_size, image_size)``.
    """
    return ImageTransform(colour=colour, image_size=image_size, mean=mean, std=std, in_chans=in_chans,
                          train=train, roi=roi, augment=augment, random_state=random_state)
