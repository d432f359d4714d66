"""Mapping grey levels of any range to uint8 (images of more than 8 bits, DICOM windows and LUTs)."""
from __future__ import annotations

import numpy as np

__all__ = ["to_uint8"]


def to_uint8(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map ``arr`` linearly from ``[lo, hi]`` (default: its own range) to uint8."""
    if arr.dtype == np.uint8 and lo is None:
        return arr
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if lo is None or hi is None:
        if not finite.any():
            return np.zeros(arr.shape, dtype=np.uint8)
        lo, hi = float(arr[finite].min()), float(arr[finite].max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    out = (np.where(finite, arr, lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
