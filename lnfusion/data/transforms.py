"""Modality-aware preprocessing and physics-respecting augmentation (needs torch).

:func:`build_transform` returns an :class:`ImageTransform` mapping a uint8
image (as :func:`~lnfusion.data.read_image` returns it) to a normalised float
tensor (C, H, W):

1. crop to the ROI box, if any;
2. resize so the longer side is ``image_size`` (aspect ratio kept) and pad
   with black to a square;
3. training only: geometric augmentation (small rotation, scale, shift,
   left-right flip; no up-down flip, the transducer stays on top) and
   intensity augmentation that mimics acquisition settings:

   * greyscale (B-mode): speckle (multiplicative gamma-distributed noise,
     the fully developed speckle of an envelope image), gain (multiplicative
     brightness) and contrast (a gamma curve, like changing the dynamic range);
   * colour-coded modalities (colour Doppler, elastography): the colours are
     the measurement, so **no hue, saturation, contrast or per-channel change**
     is ever applied; only a mild global gain that scales the three channels of
     each pixel by the same factor (capped so no channel saturates), which
     keeps hue and saturation exactly;

4. greyscale images are replicated to ``in_chans`` channels (colour images
   need ``in_chans=3``);
5. normalisation with the encoder's mean and std (take them from
   ``timm.data.resolve_model_data_config(model)``).

Randomness comes only from a :class:`numpy.random.Generator` (``random_state``
at build time, or ``rng`` per call), so training is reproducible.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lnfusion.config import JsonConfig
from lnfusion.exceptions import ConfigError, DataError, RoiError

__all__ = ["AugmentConfig", "ImageTransform", "build_transform"]


def _pair(value: Any, name: str, low: float = 0.0) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"AugmentConfig {name} must be a pair (low, high), got {value!r}") from None
    if not (low <= a <= b):
        raise ConfigError(f"AugmentConfig {name} must satisfy {low} <= low <= high, got {value!r}")
    return a, b


@dataclass(frozen=True)
class AugmentConfig(JsonConfig):
    """Training-time augmentation settings (defaults are mild).

    Parameters
    ----------
    rotation : float
        Maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
    translate : float
        Maximum shift as a fraction of the image side.
    scale : (float, float)
        Range of the zoom factor.
    hflip : float
        Probability of a left-right flip.
    gain : (float, float)
        Range of the multiplicative brightness of greyscale images.
    gamma : (float, float)
        Range of the contrast exponent of greyscale images (``x ** gamma``).
    speckle : float
        Probability of adding speckle to a greyscale image.
    speckle_looks : (float, float)
        Range of the number of looks of the speckle (shape of the gamma noise
        with mean 1; more looks = weaker speckle, variance ``1 / looks``).
    colour_gain : (float, float)
        Range of the global gain of colour-coded images (same factor on all
        three channels, capped per pixel so no channel exceeds 1).
    """

    rotation: float = 10.0
    translate: float = 0.05
    scale: tuple[float, float] = (0.9, 1.1)
    hflip: float = 0.5
    gain: tuple[float, float] = (0.8, 1.25)
    gamma: tuple[float, float] = (0.8, 1.25)
    speckle: float = 0.5
    speckle_looks: tuple[float, float] = (8.0, 32.0)
    colour_gain: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        for name in ("scale", "gain", "gamma", "speckle_looks", "colour_gain"):
            lo = 1.0 if name == "speckle_looks" else 1e-6
            object.__setattr__(self, name, _pair(getattr(self, name), name, low=lo))
        for name in ("hflip", "speckle"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ConfigError(f"AugmentConfig {name} is a probability in [0, 1], got {getattr(self, name)!r}")
        if not 0.0 <= float(self.rotation) <= 180.0:
            raise ConfigError(f"AugmentConfig rotation must be in [0, 180] degrees, got {self.rotation!r}")
        if not 0.0 <= float(self.translate) < 0.5:
            raise ConfigError(f"AugmentConfig translate must be in [0, 0.5), got {self.translate!r}")


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

    @staticmethod
    def _crop(arr: np.ndarray, roi: Sequence[int]) -> np.ndarray:
        h, w = arr.shape[:2]
        x0, y0, x1, y1 = (int(v) for v in roi)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            raise RoiError(f"ROI {tuple(roi)} does not overlap the {w}x{h} image; expected "
                           "0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height")
        return arr[y0:y1, x0:x1]

    def _resize_pad(self, x):
        import torch
        import torch.nn.functional as F

        _, h, w = x.shape
        s = self.image_size / max(h, w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        if (nh, nw) != (h, w):
            x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False,
                              antialias=nh < h or nw < w)[0]
        out = torch.zeros((x.shape[0], self.image_size, self.image_size), dtype=x.dtype)
        top, left = (self.image_size - nh) // 2, (self.image_size - nw) // 2
        out[:, top:top + nh, left:left + nw] = x
        return out

    def _geometry(self, x, rng: np.random.Generator):
        import torch
        import torch.nn.functional as F

        a = self.augment
        angle = math.radians(rng.uniform(-a.rotation, a.rotation))
        scale = rng.uniform(*a.scale)
        tx, ty = rng.uniform(-a.translate, a.translate, size=2) * 2.0  # normalised coordinates
        flip = -1.0 if rng.random() < a.hflip else 1.0
        cos, sin = math.cos(angle), math.sin(angle)
        # affine_grid maps output to input coordinates: invert x_out = s * R * F * x_in + t.
        inv = np.array([[flip * cos, flip * sin], [-sin, cos]]) / scale
        offset = -inv @ np.array([tx, ty])
        theta = torch.tensor(np.hstack([inv, offset[:, None]])[None], dtype=x.dtype)
        grid = F.affine_grid(theta, [1, *x.shape], align_corners=False)
        return F.grid_sample(x[None], grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False)[0]

    def _intensity(self, x, rng: np.random.Generator):
        import torch

        a = self.augment
        if self.colour:
            gain = rng.uniform(*a.colour_gain)
            peak = x.amax(dim=0, keepdim=True)
            factor = torch.minimum(torch.full_like(peak, gain), 1.0 / peak.clamp_min(1e-6))
            return x * factor
        if rng.random() < a.speckle:
            looks = rng.uniform(*a.speckle_looks)
            noise = rng.gamma(shape=looks, scale=1.0 / looks, size=tuple(x.shape)).astype(np.float32)
            x = x * torch.from_numpy(noise)
        x = (x * rng.uniform(*a.gain)).clamp(0.0, 1.0)
        return x ** rng.uniform(*a.gamma)

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
        if roi is not None:
            arr = self._crop(arr, roi)
        x = torch.from_numpy(np.ascontiguousarray(arr))
        x = x.permute(2, 0, 1) if x.ndim == 3 else x[None]
        x = self._resize_pad(x)
        if self.train:
            rng = rng if rng is not None else self._rng
            x = self._geometry(x, rng)
            x = self._intensity(x, rng).clamp(0.0, 1.0)
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
        Apply random augmentation.
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
