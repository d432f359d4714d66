"""Reading ultrasound images: PNG, JPEG, BMP, TIFF and DICOM, as uint8 arrays.

:func:`read_image` decodes pixels; :func:`image_size` reads only what is needed
to know an image's size (and, for PNG, checks its chunk checksums), so that a
manifest of thousands of images validates quickly.

DICOM privacy: only the pixel data and the tags that describe its geometry and
grey-level encoding (rows, columns, bits, photometric interpretation, rescale,
window, palette) are ever parsed.  Patient, study and device tags are not read
at all, and errors on a DICOM file name only its path, never a tag value or a
pydicom message (which can quote tag values).
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from lnfusion.exceptions import CorruptImageError, MissingImageError

__all__ = ["IMAGE_SUFFIXES", "ImageSize", "image_size", "read_image", "is_dicom"]

#: File suffixes recognised as images when scanning folders (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")

_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")

#: The only DICOM tags lnfusion ever parses (pixel geometry and grey-level encoding).
_DICOM_PIXEL_TAGS: list[str] = [
    "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames",
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth", "VOILUTFunction",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", "PixelData",
]
_DICOM_SIZE_TAGS: list[str] = ["Rows", "Columns", "PixelData"]

ReadMode = Literal["native", "auto", "grey", "rgb"]


class ImageSize(NamedTuple):
    """Size of an image in pixels."""

    width: int
    height: int


def is_dicom(path: str | os.PathLike) -> bool:
    """True when ``path`` has a DICOM suffix or the ``DICM`` marker at byte 128."""
    path = Path(path)
    if path.suffix.lower() in _DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MissingImageError(f"{path}: image file not found", path=str(path))
    if path.is_dir():
        raise MissingImageError(f"{path}: is a folder; expected an image file", path=str(path))
    if not os.access(path, os.R_OK):
        raise CorruptImageError(f"{path}: image file cannot be read (permission denied)",
                                path=str(path))


@contextlib.contextmanager
def _quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's warnings and log records, which may quote tag values."""
    logger = logging.getLogger("pydicom")
    disabled = logger.disabled
    logger.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.disabled = disabled


def _read_dicom_dataset(path: Path, tags: list[str]):
    import pydicom

    force = path.suffix.lower() in _DICOM_SUFFIXES
    try:
        with _quiet_pydicom():
            return pydicom.dcmread(path, specific_tags=tags, force=force, defer_size="64 KB")
    except Exception as exc:  # noqa: BLE001 -- pydicom messages may quote tag values
        raise CorruptImageError(f"{path}: not a readable DICOM file ({type(exc).__name__})",
                                path=str(path)) from None


def _first_value(value) -> float:
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def _to_uint8(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
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


def _decode_dicom(path: Path) -> np.ndarray:
    from pydicom import pixels

    ds = _read_dicom_dataset(path, _DICOM_PIXEL_TAGS)
    if "PixelData" not in ds:
        raise CorruptImageError(f"{path}: DICOM file has no pixel data", path=str(path))
    try:
        with _quiet_pydicom():
            n_frames = int(ds.get("NumberOfFrames", 1) or 1)
            arr = pixels.pixel_array(ds, index=0 if n_frames > 1 else None)
            photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
            if photometric == "PALETTE COLOR":
                arr = pixels.apply_color_lut(arr, ds)
            elif photometric.startswith("MONOCHROME"):
                arr = pixels.apply_modality_lut(arr, ds)
    except Exception as exc:  # noqa: BLE001 -- see module docstring
        raise CorruptImageError(f"{path}: cannot decode DICOM pixel data ({type(exc).__name__}); "
                                "compressed transfer syntaxes need pylibjpeg or gdcm",
                                path=str(path)) from None
    if photometric.startswith("MONOCHROME"):
        if arr.ndim != 2:
            raise CorruptImageError(f"{path}: DICOM {photometric} frame has shape {arr.shape}; "
                                    "expected (rows, columns)", path=str(path))
        if "WindowCenter" in ds and "WindowWidth" in ds:
            centre, width = _first_value(ds.WindowCenter), _first_value(ds.WindowWidth)
            out = _to_uint8(arr, centre - width / 2.0, centre + width / 2.0)
        else:
            out = _to_uint8(arr)
        if photometric == "MONOCHROME1":  # high values are dark
            out = 255 - out
        return out
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise CorruptImageError(f"{path}: DICOM colour frame has shape {arr.shape}; "
                                "expected (rows, columns, 3)", path=str(path))
    if arr.dtype != np.uint8:
        bits = int(ds.get("BitsStored", 8) or 8)
        arr = _to_uint8(arr, 0.0, float(2 ** bits - 1))
    return np.ascontiguousarray(arr)


def _decode_pil(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.seek(0)  # first page of a multi-page TIFF
            im.load()
            mode = im.mode
            if mode in ("L", "RGB"):
                return np.array(im)
            if mode == "1":
                return np.array(im.convert("L"))
            if mode == "LA":
                return np.array(im.getchannel("L"))
            if mode.startswith("I") or mode == "F":
                return _to_uint8(np.array(im))
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            return np.array(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"{path}: image cannot be decoded ({exc})", path=str(path)) from exc


def _grey_from_rgb(arr: np.ndarray) -> np.ndarray:
    # ITU-R 601-2 luma, as PIL's "L" conversion.
    grey = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def read_image(path: str | os.PathLike, mode: ReadMode = "native") -> np.ndarray:
    """Decode an image file into a uint8 array.

    Parameters
    ----------
    path : path-like
        PNG, JPEG, BMP, TIFF (first page) or DICOM (first frame) file.
    mode : {"native", "auto", "grey", "rgb"}
        ``"native"``: (H, W) for greyscale files, (H, W, 3) for colour files
        (alpha dropped).  ``"auto"``: as native, but an RGB image whose three
        channels are equal collapses to (H, W).  ``"grey"``: always (H, W)
        (ITU-R 601 luma of colour images).  ``"rgb"``: always (H, W, 3)
        (greyscale replicated).

    Returns
    -------
    numpy.ndarray
        uint8 array, (H, W) or (H, W, 3).

    Raises
    ------
    MissingImageError
        No file at ``path``.
    CorruptImageError
        The file cannot be read or decoded.

    Notes
    -----
    Images with more than 8 bits are mapped linearly to 0-255 over their own
    range.  For DICOM, the modality LUT (rescale slope/intercept) is applied,
    then the first window (centre/width) if present, else the frame's range;
    MONOCHROME1 is inverted so that bright means high echo; YBR and palette
    colour become RGB.  No DICOM tag other than those needed to decode the
    pixels is read, and errors name only the file path.
    """
    if mode not in ("native", "auto", "grey", "rgb"):
        raise ValueError(f"read_image mode must be 'native', 'auto', 'grey' or 'rgb', got {mode!r}")
    path = Path(path)
    _check_file(path)
    arr = _decode_dicom(path) if is_dicom(path) else _decode_pil(path)
    if arr.ndim == 2:
        if mode == "rgb":
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        return np.ascontiguousarray(arr)
    if mode == "grey" or (mode == "auto" and _is_grey_rgb(arr)):
        return arr[..., 0].copy() if _is_grey_rgb(arr) else _grey_from_rgb(arr)
    return np.ascontiguousarray(arr)


def _is_grey_rgb(arr: np.ndarray) -> bool:
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]))


def image_size(path: str | os.PathLike) -> ImageSize:
    """Size of an image, read cheaply from its header.

    Decodes no pixels (PNG chunk checksums are verified; for DICOM only the
    rows, columns and the presence of pixel data are read).  A truncated JPEG
    may pass here and fail later in :func:`read_image`.

    Parameters
    ----------
    path : path-like
        Image file (any format :func:`read_image` reads).

    Returns
    -------
    ImageSize
        ``(width, height)`` in pixels.

    Raises
    ------
    MissingImageError, CorruptImageError
        As :func:`read_image`.
    """
    path = Path(path)
    _check_file(path)
    if is_dicom(path):
        ds = _read_dicom_dataset(path, _DICOM_SIZE_TAGS)
        if "PixelData" not in ds or "Rows" not in ds or "Columns" not in ds:
            raise CorruptImageError(f"{path}: DICOM file has no pixel data or no rows/columns",
                                    path=str(path))
        elem = ds.get_item("PixelData", keep_deferred=True)
        length, start = getattr(elem, "length", None), getattr(elem, "value_tell", None)
        if length is not None and start is not None and length != 0xFFFFFFFF \
                and start + length > path.stat().st_size:
            raise CorruptImageError(f"{path}: DICOM pixel data is truncated", path=str(path))
        return ImageSize(int(ds.Columns), int(ds.Rows))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"{path}: image cannot be decoded ({exc})", path=str(path)) from exc
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"{path}: image has size {width}x{height}; expected a positive size",
                                path=str(path))
    return ImageSize(int(width), int(height))
