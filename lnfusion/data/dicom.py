"""DICOM as ultrasound machines export it: compressed, colour, multi-frame, with ultrasound regions.

:func:`~lnfusion.data.read_image` and :func:`~lnfusion.data.image_geometry`
call this module for DICOM files; nothing else needs it directly.

* **Transfer syntaxes.**  Uncompressed (implicit/explicit VR, deflated) and
  every encapsulated syntax a pydicom pixel-data plugin decodes: JPEG baseline
  and extended, JPEG lossless, JPEG-LS, JPEG 2000 and RLE, through Pillow,
  pylibjpeg (``pylibjpeg-libjpeg``, ``pylibjpeg-openjpeg``, ``pylibjpeg-rle``)
  and pyjpegls, which ``pip install lnfusion`` installs (the fastest installed
  plugin of each syntax is tried first), or gdcm where present.
  A syntax no installed plugin decodes raises
  :class:`~lnfusion.exceptions.MissingDecoderError` naming the file and the
  transfer syntax.
* **Colour.**  ``YBR_FULL`` / ``YBR_FULL_422`` (the usual colour of JPEG
  baseline) become RGB; ``PALETTE COLOR`` goes through its lookup table.
* **Grey levels.**  Modality LUT (rescale or LUT sequence), then the first VOI
  LUT of the VOI LUT Sequence, else the first window (``LINEAR``,
  ``LINEAR_EXACT`` or ``SIGMOID``), else the frame's own range, mapped to
  0-255; ``MONOCHROME1`` is inverted.
* **Frames.**  One frame is decoded: the one a frame reference names
  (``path#frame=k``, see :func:`~lnfusion.data.frame_ref`), else the middle
  frame of a multi-frame file.  The schema's per-modality policy
  (:class:`~lnfusion.data.Modality` ``frame``) turns into such references.
* **Ultrasound regions.**  When the Sequence of Ultrasound Regions (0018,6011)
  has a 2-D region (Region Spatial Format 1), the frame is cropped to the
  largest one: annotations, patient name and settings burned into the pixels
  around it never leave this module.  Its Physical Delta X/Y (in cm, Physical
  Units 3) give the pixel spacing in mm.

Privacy: only the tags that describe the pixels and their geometry are parsed
(:data:`PIXEL_TAGS`); patient, study and device tags are never read, and error
messages name the file and, where it matters, the transfer syntax, never a tag
value or a pydicom message (which can quote tag values).
"""
from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lnfusion.data.greylevels import to_uint8
from lnfusion.exceptions import CorruptImageError, ImageError, MissingDecoderError

__all__ = ["PIXEL_TAGS", "REGION_TAGS", "read_dicom_geometry", "decode_dicom"]

DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")

#: The tags that describe where the image data lies in the frame and its physical size.
REGION_TAGS: list[str] = ["SequenceOfUltrasoundRegions"]

_SIZE_TAGS: list[str] = ["SamplesPerPixel", "PhotometricInterpretation", "NumberOfFrames", "Rows",
                         "Columns", "BitsAllocated", "PixelData", *REGION_TAGS]

#: The only DICOM tags lnfusion ever parses (pixel geometry, grey-level and colour encoding, regions).
PIXEL_TAGS: list[str] = [
    "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames",
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence",
    "WindowCenter", "WindowWidth", "VOILUTFunction", "VOILUTSequence",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", *REGION_TAGS, "PixelData",
]

#: The fastest decoder of a transfer syntax where several are installed (measured in
#: bench/bench_dicom_decode.py: Pillow's libjpeg-turbo decodes JPEG about 3x faster than
#: libjpeg, pyjpegls JPEG-LS about 4x, pylibjpeg-rle RLE 2-6x faster than pydicom's own).
#: Tried first; any failure falls back to every installed plugin.
_PREFERRED_PLUGIN = {
    "1.2.840.10008.1.2.4.50": "pillow",  # JPEG baseline
    "1.2.840.10008.1.2.4.51": "pillow",  # JPEG extended (8-bit streams; 12-bit falls back)
    "1.2.840.10008.1.2.4.80": "pyjpegls",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": "pyjpegls",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.5": "pylibjpeg",  # RLE
}

#: Physical Units X/Y Direction code for centimetres (DICOM PS3.3 C.8.5.5.1.15).
_UNIT_CM = 3


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
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


def read_dataset(path: Path, tags: list[str]) -> Any:
    """The dataset of ``path`` with only ``tags`` parsed (file meta always)."""
    import pydicom

    force = path.suffix.lower() in DICOM_SUFFIXES
    try:
        with quiet_pydicom():
            return pydicom.dcmread(path, specific_tags=tags, force=force, defer_size="64 KB")
    except Exception as exc:  # noqa: BLE001 -- pydicom messages may quote tag values
        raise CorruptImageError(f"{path}: not a readable DICOM file ({type(exc).__name__})",
                                path=str(path)) from None


def _transfer_syntax(ds: Any) -> Any:
    return getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)


def _syntax_text(ts: Any) -> str:
    if ts is None:
        return "unknown transfer syntax"
    name = getattr(ts, "name", "") or ""
    return f"transfer syntax {ts}" + (f" ({name})" if name and name != str(ts) else "")


def _region(ds: Any, width: int, height: int) -> tuple[tuple[int, int, int, int] | None,
                                                        tuple[float, float] | None]:
    """Box (x0, y0, x1, y1; x1/y1 exclusive) of the largest 2-D ultrasound region, and its spacing in mm."""
    best: tuple[int, tuple[int, int, int, int], Any] | None = None
    for item in ds.get("SequenceOfUltrasoundRegions", None) or ():
        try:
            if int(item.get("RegionSpatialFormat", 0) or 0) != 1:  # 1 = 2-D tissue or flow image
                continue
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1) + 1, int(item.RegionLocationMaxY1) + 1
        except (AttributeError, TypeError, ValueError):
            continue
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        area = (x1 - x0) * (y1 - y0)
        if best is None or area > best[0]:
            best = (area, (x0, y0, x1, y1), item)
    if best is None:
        return None, None
    item = best[2]
    spacing = None
    try:
        units = (int(item.get("PhysicalUnitsXDirection", 0) or 0), int(item.get("PhysicalUnitsYDirection", 0) or 0))
        dx, dy = abs(float(item.PhysicalDeltaX)), abs(float(item.PhysicalDeltaY))
        if units == (_UNIT_CM, _UNIT_CM) and dx > 0 and dy > 0 and math.isfinite(dx) and math.isfinite(dy):
            spacing = (dx * 10.0, dy * 10.0)
    except (AttributeError, TypeError, ValueError):
        pass
    return best[1], spacing


def _pixel_bytes(ds: Any) -> int | None:
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


def _frames(ds: Any) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def read_dicom_geometry(path: Path, check_pixels: Any, verify: bool, frame: int | None) -> dict[str, Any]:
    """Geometry of a DICOM file from its header: the fields of :class:`~lnfusion.data.ImageGeometry`.

    ``check_pixels(width, height)`` refuses a too-large frame.  With ``verify``
    the pixel data's length is checked against its geometry (uncompressed) or
    the frame is decoded (compressed: only decoding tells a frame is whole).
    """
    ds = read_dataset(path, _SIZE_TAGS)
    if "PixelData" not in ds or "Rows" not in ds or "Columns" not in ds:
        raise CorruptImageError(f"{path}: DICOM file has no pixel data or no rows/columns",
                                path=str(path))
    width, height = int(ds.Columns), int(ds.Rows)
    check_pixels(width, height)
    ts = _transfer_syntax(ds)
    elem = ds.get_item("PixelData", keep_deferred=True)
    length, start = getattr(elem, "length", None), getattr(elem, "value_tell", None)
    encapsulated = length == 0xFFFFFFFF or bool(getattr(ts, "is_encapsulated", False))
    frames = _frames(ds)
    if verify:
        if length is not None and start is not None and length != 0xFFFFFFFF \
                and start + length > path.stat().st_size:
            raise CorruptImageError(f"{path}: DICOM pixel data is truncated", path=str(path))
        if encapsulated:
            decode_dicom(path, frame, check_pixels)
        elif length is not None:
            needed = _pixel_bytes(ds)
            if needed is not None and length < needed:
                raise CorruptImageError(
                    f"{path}: DICOM pixel data holds {length} bytes but its Rows x Columns x samples x "
                    f"frames x bits call for {needed}; the file is damaged", path=str(path))
        frame_index(path, frame, frames)
    region, spacing = _region(ds, width, height)
    return {"width": width, "height": height, "frames": frames, "region": region,
            "spacing_mm": spacing, "dicom": True,
            "transfer_syntax": None if ts is None else str(ts),
            "compressed": bool(encapsulated or getattr(ts, "is_compressed", False))}


def frame_index(path: Path, frame: int | None, frames: int) -> int:
    """The frame decoded: ``frame`` when given (checked against ``frames``), else the middle one."""
    if frame is None:
        return frames // 2
    if not 0 <= frame < frames:
        raise ImageError(f"{path}: frame {frame} asked for, but the file has {frames} frame"
                         f"{'s' if frames != 1 else ''} (0 to {frames - 1})", path=str(path))
    return frame


def _check_decoder(path: Path, ts: Any) -> str:
    """The preferred installed plugin for ``ts`` ("" = pydicom's choice).

    Raises MissingDecoderError when no installed plugin decodes the (compressed) syntax ``ts``.
    """
    from pydicom import pixels

    if ts is None or not getattr(ts, "is_compressed", False):
        return ""
    try:
        decoder = pixels.get_decoder(ts)
        available = decoder.is_available
    except (NotImplementedError, ValueError):
        available = False
    if available:
        preferred = _PREFERRED_PLUGIN.get(str(ts), "")
        return preferred if preferred in decoder.available_plugins else ""
    raise MissingDecoderError(
        f"{path}: DICOM {_syntax_text(ts)} cannot be decoded: no installed pixel-data decoder "
        "handles it; install pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle and "
        "pyjpegls (installed with lnfusion), or python-gdcm, or convert the file to an uncompressed "
        "transfer syntax", path=str(path))


def _first_value(value: Any) -> float:
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def _grey_uint8(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Modality-LUT output -> uint8 through the VOI LUT, the window, or the frame's range."""
    from pydicom import pixels


    seq = ds.get("VOILUTSequence", None)
    if seq:
        bits = int(seq[0].LUTDescriptor[2])
        out = pixels.apply_voi_lut(arr, ds, index=0, prefer_lut=True)
        return to_uint8(out, 0.0, float(2 ** bits - 1))
    if "WindowCenter" in ds and "WindowWidth" in ds:
        centre, width = _first_value(ds.WindowCenter), _first_value(ds.WindowWidth)
        function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
        if function == "SIGMOID" and width > 0:
            x = arr.astype(np.float64, copy=False)
            with np.errstate(over="ignore"):
                y = 1.0 / (1.0 + np.exp(-4.0 * (x - centre) / width))
            return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
        return to_uint8(arr, centre - width / 2.0, centre + width / 2.0)
    return to_uint8(arr)


def decode_dicom(path: Path, frame: int | None, check_pixels: Any) -> np.ndarray:
    """One frame of a DICOM file as uint8 (H, W) or (H, W, 3), cropped to its ultrasound region."""
    from pydicom import pixels

    ds = read_dataset(path, PIXEL_TAGS)
    if "PixelData" not in ds:
        raise CorruptImageError(f"{path}: DICOM file has no pixel data", path=str(path))
    width = height = None
    if "Rows" in ds and "Columns" in ds:
        width, height = int(ds.Columns), int(ds.Rows)
        check_pixels(width, height)
    frames = _frames(ds)
    k = frame_index(path, frame, frames)
    ts = _transfer_syntax(ds)
    plugin = _check_decoder(path, ts)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    try:
        with quiet_pydicom():
            index = k if frames > 1 else None
            try:
                arr = pixels.pixel_array(ds, index=index, decoding_plugin=plugin)
            except Exception:  # noqa: BLE001 -- the preferred plugin cannot: let pydicom try them all
                if not plugin:
                    raise
                arr = pixels.pixel_array(ds, index=index)
            if photometric == "PALETTE COLOR":
                arr = pixels.apply_color_lut(arr, ds)
            elif photometric.startswith("MONOCHROME"):
                arr = pixels.apply_modality_lut(arr, ds)
                if arr.ndim == 2:
                    arr = _grey_uint8(arr, ds)
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 -- see module docstring
        raise CorruptImageError(f"{path}: cannot decode DICOM pixel data of {_syntax_text(ts)} "
                                f"({type(exc).__name__}); the file is damaged or the syntax unsupported",
                                path=str(path)) from None
    if photometric.startswith("MONOCHROME"):
        if arr.ndim != 2:
            raise CorruptImageError(f"{path}: DICOM {photometric} frame has shape {arr.shape}; "
                                    "expected (rows, columns)", path=str(path))
        if photometric == "MONOCHROME1":  # high values are dark
            arr = 255 - arr
    else:
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise CorruptImageError(f"{path}: DICOM colour frame has shape {arr.shape}; "
                                    "expected (rows, columns, 3)", path=str(path))
        if arr.dtype != np.uint8:
            bits = int(ds.RedPaletteColorLookupTableDescriptor[2]) if photometric == "PALETTE COLOR" \
                else int(ds.get("BitsStored", 8) or 8)
            arr = to_uint8(arr, 0.0, float(2 ** bits - 1))
    region, _ = _region(ds, arr.shape[1], arr.shape[0])
    if region is not None:
        x0, y0, x1, y1 = region
        arr = arr[y0:y1, x0:x1]
    return np.ascontiguousarray(arr)
