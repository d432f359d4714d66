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

DICOM (see :mod:`lnfusion.data.dicom`): compressed transfer syntaxes, YBR and
palette colour, VOI LUTs, one frame of a multi-frame file, cropped to the
ultrasound region when the file declares one.  Only the pixel data and the tags
that describe its geometry and encoding are ever parsed.  Patient, study and
device tags are not read at all, and errors on a DICOM file name only its path
(and transfer syntax), never a tag value or a pydicom message.

**Frame references.**  ``"<path>#frame=<k>"`` (see :func:`frame_ref`) names
frame ``k`` (0-based) of a multi-frame file; every function here accepts one
wherever it accepts a path.  A plain path to a multi-frame file means its
middle frame.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from lnfusion.data.dicom import DICOM_SUFFIXES, decode_dicom, read_dicom_geometry
from lnfusion.data.greylevels import to_uint8
from lnfusion.exceptions import ConfigError, CorruptImageError, ImageError, MissingImageError

__all__ = ["IMAGE_SUFFIXES", "ImageSize", "ImageGeometry", "image_size", "image_geometry", "read_image",
           "is_dicom", "max_image_pixels", "frame_ref", "split_frame_ref", "MAX_IMAGE_PIXELS_ENV",
           "DEFAULT_MAX_IMAGE_PIXELS"]

#: Environment variable that sets the largest image (width x height, in pixels) lnfusion decodes.
MAX_IMAGE_PIXELS_ENV = "LNFUSION_MAX_IMAGE_PIXELS"
#: The default of that limit (PIL's own default, about 9459 x 9459 pixels).
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485

#: File suffixes recognised as images when scanning folders (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")

#: Marks a frame reference: ``"<path>#frame=<k>"``.
FRAME_MARK = "#frame="
_FRAME_RE = re.compile(r"^(?P<path>.+)#frame=(?P<k>\d+)$", re.S)

ReadMode = Literal["native", "auto", "grey", "rgb"]


class ImageSize(NamedTuple):
    """Size of an image in pixels."""

    width: int
    height: int


Box = tuple[int, int, int, int]


class ImageGeometry(NamedTuple):
    """Where an image file's pixels lie and how large they are (from its header).

    Attributes
    ----------
    width, height : int
        The full frame, in pixels, as a viewer displays it (EXIF orientation
        applied): the coordinates ROI boxes and masks are drawn in.
    frames : int
        Number of frames (1 for everything but multi-frame DICOM).
    region : (x0, y0, x1, y1) or None
        Full-frame box (x1/y1 exclusive) of the ultrasound image data, from the
        DICOM Sequence of Ultrasound Regions; :func:`read_image` returns this
        box only.  None: the whole frame.
    spacing_mm : (x, y) or None
        Physical size of a pixel of the region in mm (columns, rows); None when
        the file does not say.
    dicom : bool
        A DICOM file.
    transfer_syntax : str or None
        The DICOM transfer syntax UID.
    compressed : bool
        The DICOM pixel data is compressed (encapsulated).
    """

    width: int
    height: int
    frames: int = 1
    region: Box | None = None
    spacing_mm: tuple[float, float] | None = None
    dicom: bool = False
    transfer_syntax: str | None = None
    compressed: bool = False

    @property
    def size(self) -> ImageSize:
        """Size of what :func:`read_image` returns: the region, else the full frame."""
        if self.region is None:
            return ImageSize(self.width, self.height)
        x0, y0, x1, y1 = self.region
        return ImageSize(x1 - x0, y1 - y0)

    def to_image(self, box: Box | None) -> Box | None:
        """A full-frame box in the coordinates of :func:`read_image`'s array (cut to the region).

        Returns the box unchanged without a region, None for None, and raises
        ``ValueError`` when the box lies wholly outside the region.
        """
        if box is None or self.region is None:
            return box
        rx0, ry0, rx1, ry1 = self.region
        x0, y0 = max(box[0], rx0) - rx0, max(box[1], ry0) - ry0
        x1, y1 = min(box[2], rx1) - rx0, min(box[3], ry1) - ry0
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"box {tuple(box)} lies outside the ultrasound region {self.region}")
        return (int(x0), int(y0), int(x1), int(y1))


def frame_ref(path: str | os.PathLike, index: int) -> str:
    """Reference to frame ``index`` (0-based) of a multi-frame file: ``"<path>#frame=<index>"``.

    Accepted wherever :func:`read_image`, :func:`image_size` and
    :func:`image_geometry` accept a path, and in manifest image cells.
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"frame index must be an integer >= 0, got {index!r}")
    return f"{os.fspath(split_frame_ref(path)[0])}{FRAME_MARK}{int(index)}"


def split_frame_ref(ref: str | os.PathLike) -> tuple[str, int | None]:
    """``(file path, frame index or None)`` of a path or a :func:`frame_ref` reference.

    A path that exists as a file is a path, even if it ends in ``#frame=<k>``.
    """
    text = os.fspath(ref)
    match = _FRAME_RE.match(text)
    if match is None or os.path.isfile(text):
        return text, None
    return match["path"], int(match["k"])


def is_dicom(path: str | os.PathLike) -> bool:
    """True when ``path`` has a DICOM suffix or the ``DICM`` marker at byte 128."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
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
            arr = to_uint8(np.array(im))
        else:
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            arr = np.array(im.convert("RGB"))
    return np.ascontiguousarray(_ORIENT[orientation](arr)) if orientation != 1 else arr


def _grey_from_rgb(arr: np.ndarray) -> np.ndarray:
    # ITU-R 601-2 luma, as PIL's "L" conversion.
    grey = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def _limit(path: Path, max_pixels: int | None):
    limit = max_image_pixels(max_pixels)
    return lambda width, height: _check_pixels(path, width, height, limit)


def _resolve(ref: str | os.PathLike) -> tuple[Path, int | None]:
    """File and frame of a path or frame reference; the file checked as :func:`_check_file` does."""
    text, frame = split_frame_ref(ref)
    path = Path(text)
    _check_file(path)
    return path, frame


def _single_frame(path: Path, frame: int | None) -> None:
    if frame not in (None, 0):
        raise ImageError(f"{path}: frame {frame} asked for, but the file has 1 frame (0)", path=str(path))


def read_image(path: str | os.PathLike, mode: ReadMode = "native",
               max_pixels: int | None = None) -> np.ndarray:
    """Decode an image file into a uint8 array.

    Parameters
    ----------
    path : path-like
        PNG, JPEG, BMP, TIFF (first page) or DICOM file, or a frame
        reference ``"<path>#frame=<k>"`` (:func:`frame_ref`) to frame ``k`` of
        a multi-frame DICOM (a plain path: its middle frame).
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
        orientation applied); for a DICOM file with an ultrasound region, the
        region only (:attr:`ImageGeometry.region`).

    Raises
    ------
    MissingImageError
        No file at ``path``.
    CorruptImageError
        The file cannot be read or decoded, is not a regular file (a named
        pipe, a socket, a device), or has more than ``max_pixels`` pixels.
    MissingDecoderError
        A DICOM file's transfer syntax needs a decoder that is not installed.
    ImageError
        The frame referenced does not exist.

    Notes
    -----
    Images with more than 8 bits are mapped linearly to 0-255 over their own
    range.  For DICOM (:mod:`lnfusion.data.dicom`), the modality LUT is
    applied, then the first VOI LUT, else the first window (linear or
    sigmoid), else the frame's range; MONOCHROME1 is inverted so that bright
    means high echo; YBR and palette colour become RGB.  No DICOM tag other
    than those needed to decode the pixels is read, and errors name only the
    file path and transfer syntax.
    """
    if mode not in ("native", "auto", "grey", "rgb"):
        raise ValueError(f"read_image mode must be 'native', 'auto', 'grey' or 'rgb', got {mode!r}")
    path, frame = _resolve(path)
    if is_dicom(path):
        arr = decode_dicom(path, frame, _limit(path, max_pixels))
    else:
        _single_frame(path, frame)
        arr = _decode_pil(path, max_pixels)
    if arr.ndim == 2:
        if mode == "rgb":
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        return np.ascontiguousarray(arr)
    if mode == "grey" or (mode == "auto" and _is_grey_rgb(arr)):
        return arr[..., 0].copy() if _is_grey_rgb(arr) else _grey_from_rgb(arr)
    return np.ascontiguousarray(arr)


def _is_grey_rgb(arr: np.ndarray) -> bool:
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]))


def image_geometry(path: str | os.PathLike, max_pixels: int | None = None,
                   verify: bool = True) -> ImageGeometry:
    """Frame size, frames, ultrasound region and pixel spacing of an image, from its header.

    Parameters
    ----------
    path : path-like
        Image file or frame reference (any that :func:`read_image` reads).
    max_pixels : int, optional
        As in :func:`read_image`.
    verify : bool
        Check that the pixel data is whole without decoding it where the
        format allows (PNG chunk checksums, uncompressed DICOM length against
        its geometry); compressed DICOM frames are decoded.  False: the header
        only (results are then cached per file, modification time and size).

    Returns
    -------
    ImageGeometry
        PNG, JPEG, BMP and TIFF: one frame, no region, no spacing.

    Raises
    ------
    MissingImageError, CorruptImageError, MissingDecoderError, ImageError
        As :func:`read_image`.
    """
    file, frame = _resolve(path)
    if not verify:
        info = os.stat(file)
        return _cached_geometry(os.path.abspath(file), frame, max_pixels, info.st_mtime_ns, info.st_size)
    return _geometry(file, frame, max_pixels, True)


@functools.lru_cache(maxsize=4096)
def _cached_geometry(file: str, frame: int | None, max_pixels: int | None, mtime_ns: int,
                     size: int) -> ImageGeometry:
    return _geometry(Path(file), frame, max_pixels, False)


def _geometry(path: Path, frame: int | None, max_pixels: int | None, verify: bool) -> ImageGeometry:
    if is_dicom(path):
        return ImageGeometry(**read_dicom_geometry(path, _limit(path, max_pixels), verify, frame))
    _single_frame(path, frame)
    with _open_pil(path, max_pixels) as (im, orientation):
        width, height = im.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if verify:
            im.verify()
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"{path}: image has size {width}x{height}; expected a positive size",
                                path=str(path))
    return ImageGeometry(int(width), int(height))


def image_size(path: str | os.PathLike, max_pixels: int | None = None) -> ImageSize:
    """Size of an image as :func:`read_image` returns it, read cheaply from its header.

    Decodes no pixels (PNG chunk checksums are verified; for uncompressed
    DICOM the pixel data's length is checked against rows x columns, and
    compressed DICOM frames are decoded).  A truncated JPEG may pass here and
    fail later in :func:`read_image`.

    Parameters
    ----------
    path : path-like
        Image file or frame reference (any that :func:`read_image` reads).
    max_pixels : int, optional
        As in :func:`read_image`.

    Returns
    -------
    ImageSize
        ``(width, height)`` in pixels, after the EXIF orientation (a JPEG
        stored 64x32 with orientation 6 is 32 wide and 64 high), as
        :func:`read_image` returns it: for a DICOM file with an ultrasound
        region, the region's size (:func:`image_geometry` gives the full frame).

    Raises
    ------
    MissingImageError, CorruptImageError, MissingDecoderError, ImageError
        As :func:`read_image`.
    """
    return image_geometry(path, max_pixels).size
