"""Reading ultrasound images: PNG, JPEG, BMP, TIFF and DICOM, as uint8 arrays.

:func:`read_image` decodes pixels; :func:`image_size` reads only what is needed
to know an image's size (and, for PNG, checks its chunk checksums), so that a
manifest of thousands of images validates quickly.

Safety: only regular files are opened (a named pipe, socket or device is
refused before anything reads from it, so validation cannot hang), and an
image larger than :func:`max_image_pixels` (``LNFUSION_MAX_IMAGE_PIXELS``,
default 89,478,485 pixels, about 9459 x 9459) is refused from its header,
before any pixel is decoded (a decompression bomb).  The EXIF orientation of a
JPEG or TIFF (or a PNG ``eXIf`` chunk before the pixel data) is applied, in
:func:`image_size` and :func:`read_image` alike: sizes and pixels are those of
the image as a viewer displays it, which is where ROIs are drawn.

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
import stat
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from lnfusion.exceptions import ConfigError, CorruptImageError, ImageError, MissingImageError

__all__ = ["IMAGE_SUFFIXES", "ImageSize", "image_size", "read_image", "is_dicom", "max_image_pixels",
           "MAX_IMAGE_PIXELS_ENV", "DEFAULT_MAX_IMAGE_PIXELS"]

#: Environment variable that sets the largest image (width x height, in pixels) lnfusion decodes.
MAX_IMAGE_PIXELS_ENV = "LNFUSION_MAX_IMAGE_PIXELS"
#: The default of that limit (PIL's own default, about 9459 x 9459 pixels).
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485

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
_DICOM_SIZE_TAGS: list[str] = ["SamplesPerPixel", "PhotometricInterpretation", "NumberOfFrames", "Rows",
                                "Columns", "BitsAllocated", "PixelData"]

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
    if not path.is_file():  # never open a named pipe or device to look (it could block)
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def max_image_pixels(max_pixels: int | None = None) -> int:
    """The largest image, in pixels (width x height), that lnfusion opens.

    Parameters
    ----------
    max_pixels : int, optional
        An explicit limit; default: the environment variable
        ``LNFUSION_MAX_IMAGE_PIXELS`` when set, else
        :data:`DEFAULT_MAX_IMAGE_PIXELS` (89,478,485).

    Raises
    ------
    ConfigError
        The limit (given or from the environment) is not a positive integer.
    """
    if max_pixels is None:
        raw = os.environ.get(MAX_IMAGE_PIXELS_ENV, "").strip()
        if not raw:
            return DEFAULT_MAX_IMAGE_PIXELS
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = 0
        if value <= 0:
            raise ConfigError(f"environment variable {MAX_IMAGE_PIXELS_ENV}={raw!r}: expected a positive "
                              "integer (the largest image, width x height, in pixels)")
        return value
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels <= 0:
        raise ConfigError(f"max_pixels={max_pixels!r}: expected a positive integer (pixels)")
    return int(max_pixels)


def _check_pixels(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise CorruptImageError(
            f"{path}: image is {width}x{height} = {width * height:,} pixels, more than the limit of "
            f"{limit:,} (a decompression bomb or a file that is not an ultrasound image); raise the "
            f"limit with the environment variable {MAX_IMAGE_PIXELS_ENV} if the image is genuine",
            path=str(path))


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _check_file(path: Path) -> None:
    """Refuse what is not a readable regular file, before anything opens it (a FIFO would block)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MissingImageError(f"{path}: image file not found", path=str(path)) from None
    except OSError as exc:
        raise CorruptImageError(f"{path}: image file cannot be read ({exc.strerror or exc})",
                                path=str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        raise MissingImageError(f"{path}: is a folder; expected an image file", path=str(path))
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
        raise CorruptImageError(f"{path}: is {kind}, not a regular file; expected an image file",
                                path=str(path))
    if not os.access(path, os.R_OK):
        raise CorruptImageError(f"{path}: image file cannot be read (permission denied)",
                                path=str(path))


_PIL_LOCK = threading.Lock()
_PIL_USERS = 0
_PIL_SAVED_LIMIT: int | None = None


@contextlib.contextmanager
def _own_pixel_limit() -> Iterator[None]:
    """PIL's global decompression-bomb check off while lnfusion opens images (it checks itself).

    Reference-counted under a lock, so concurrent readers in threads restore
    PIL's setting exactly once, when the last of them is done.
    """
    global _PIL_USERS, _PIL_SAVED_LIMIT
    from PIL import Image

    with _PIL_LOCK:
        if _PIL_USERS == 0:
            _PIL_SAVED_LIMIT = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _PIL_USERS += 1
    try:
        yield
    finally:
        with _PIL_LOCK:
            _PIL_USERS -= 1
            if _PIL_USERS == 0:
                Image.MAX_IMAGE_PIXELS = _PIL_SAVED_LIMIT


#: EXIF orientation -> the array operation that shows the image as a viewer does
#: (the same transposition as PIL.ImageOps.exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1),
}


def _orientation(im) -> int:
    """EXIF orientation (1-8) read from the header; 1 when absent or unreadable.

    A PNG's ``eXIf`` chunk counts only before the pixel data (as the PNG
    specification asks): PIL would otherwise decode the whole image to look.
    """
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 -- a damaged EXIF block is ignored, as viewers do
        return 1
    return value if value in _ORIENT else 1


@contextlib.contextmanager
def _open_pil(path: Path, max_pixels: int | None) -> Iterator[tuple]:
    """``(image, orientation)`` of a PNG/JPEG/BMP/TIFF, its size checked before any decoding.

    Every PIL failure (and PIL's own bomb error) becomes a CorruptImageError naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    limit = max_image_pixels(max_pixels)
    try:
        with _own_pixel_limit(), Image.open(path) as im:
            _check_pixels(path, im.size[0], im.size[1], limit)
            yield im, _orientation(im)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise CorruptImageError(f"{path}: image cannot be decoded ({exc})", path=str(path)) from exc


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


def _decode_dicom(path: Path, max_pixels: int | None = None) -> np.ndarray:
    from pydicom import pixels

    ds = _read_dicom_dataset(path, _DICOM_PIXEL_TAGS)
    if "PixelData" not in ds:
        raise CorruptImageError(f"{path}: DICOM file has no pixel data", path=str(path))
    if "Rows" in ds and "Columns" in ds:
        _check_pixels(path, int(ds.Columns), int(ds.Rows), max_image_pixels(max_pixels))
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


def _decode_pil(path: Path, max_pixels: int | None = None) -> np.ndarray:
    with _open_pil(path, max_pixels) as (im, orientation):
        im.seek(0)  # first page of a multi-page TIFF
        im.load()
        mode = im.mode
        if mode in ("L", "RGB"):
            arr = np.array(im)
        elif mode == "1":
            arr = np.array(im.convert("L"))
        elif mode == "LA":
            arr = np.array(im.getchannel("L"))
        elif mode.startswith("I") or mode == "F":
            arr = _to_uint8(np.array(im))
        else:
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            arr = np.array(im.convert("RGB"))
    return np.ascontiguousarray(_ORIENT[orientation](arr)) if orientation != 1 else arr


def _grey_from_rgb(arr: np.ndarray) -> np.ndarray:
    # ITU-R 601-2 luma, as PIL's "L" conversion.
    grey = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def read_image(path: str | os.PathLike, mode: ReadMode = "native",
               max_pixels: int | None = None) -> np.ndarray:
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
    max_pixels : int, optional
        Refuse an image of more pixels (width x height) than this, from its
        header; default :func:`max_image_pixels` (the environment variable
        ``LNFUSION_MAX_IMAGE_PIXELS``, else 89,478,485).

    Returns
    -------
    numpy.ndarray
        uint8 array, (H, W) or (H, W, 3), in displayed orientation (EXIF
        orientation applied).

    Raises
    ------
    MissingImageError
        No file at ``path``.
    CorruptImageError
        The file cannot be read or decoded, is not a regular file (a named
        pipe, a socket, a device), or has more than ``max_pixels`` pixels.

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
    arr = _decode_dicom(path, max_pixels) if is_dicom(path) else _decode_pil(path, max_pixels)
    if arr.ndim == 2:
        if mode == "rgb":
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        return np.ascontiguousarray(arr)
    if mode == "grey" or (mode == "auto" and _is_grey_rgb(arr)):
        return arr[..., 0].copy() if _is_grey_rgb(arr) else _grey_from_rgb(arr)
    return np.ascontiguousarray(arr)


def _is_grey_rgb(arr: np.ndarray) -> bool:
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]))


def _dicom_pixel_bytes(ds) -> int | None:
    """Bytes of native (uncompressed) pixel data that Rows x Columns x ... call for; None if unknown."""
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.get("BitsAllocated", 0) or 0)
    except (TypeError, ValueError):
        return None
    if bits <= 0:
        return None
    if bits == 1:
        return (rows * cols * samples * frames + 7) // 8
    n = rows * cols * samples * frames * (bits // 8)
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() == "YBR_FULL_422":
        n = n // 3 * 2  # two luma samples share one pair of chroma samples
    return n


def _dicom_size(path: Path, max_pixels: int | None) -> ImageSize:
    ds = _read_dicom_dataset(path, _DICOM_SIZE_TAGS)
    if "PixelData" not in ds or "Rows" not in ds or "Columns" not in ds:
        raise CorruptImageError(f"{path}: DICOM file has no pixel data or no rows/columns",
                                path=str(path))
    width, height = int(ds.Columns), int(ds.Rows)
    _check_pixels(path, width, height, max_image_pixels(max_pixels))
    elem = ds.get_item("PixelData", keep_deferred=True)
    length, start = getattr(elem, "length", None), getattr(elem, "value_tell", None)
    encapsulated = length == 0xFFFFFFFF or bool(
        getattr(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None), "is_encapsulated",
                False))
    if length is not None and start is not None and length != 0xFFFFFFFF \
            and start + length > path.stat().st_size:
        raise CorruptImageError(f"{path}: DICOM pixel data is truncated", path=str(path))
    if encapsulated:
        _decode_dicom(path, max_pixels)  # compressed frames: only decoding tells they are whole
    elif length is not None:
        needed = _dicom_pixel_bytes(ds)
        if needed is not None and length < needed:
            raise CorruptImageError(
                f"{path}: DICOM pixel data holds {length} bytes but its Rows x Columns x samples x "
                f"frames x bits call for {needed}; the file is damaged", path=str(path))
    return ImageSize(width, height)


def image_size(path: str | os.PathLike, max_pixels: int | None = None) -> ImageSize:
    """Size of an image as displayed, read cheaply from its header.

    Decodes no pixels (PNG chunk checksums are verified; for uncompressed
    DICOM the pixel data's length is checked against rows x columns, and
    compressed DICOM frames are decoded).  A truncated JPEG may pass here and
    fail later in :func:`read_image`.

    Parameters
    ----------
    path : path-like
        Image file (any format :func:`read_image` reads).
    max_pixels : int, optional
        As in :func:`read_image`.

    Returns
    -------
    ImageSize
        ``(width, height)`` in pixels, after the EXIF orientation (a JPEG
        stored 64x32 with orientation 6 is 32 wide and 64 high), as
        :func:`read_image` returns it.

    Raises
    ------
    MissingImageError, CorruptImageError
        As :func:`read_image`.
    """
    path = Path(path)
    _check_file(path)
    if is_dicom(path):
        return _dicom_size(path, max_pixels)
    with _open_pil(path, max_pixels) as (im, orientation):
        width, height = im.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        im.verify()
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"{path}: image has size {width}x{height}; expected a positive size",
                                path=str(path))
    return ImageSize(int(width), int(height))
