"""Write a demo image as an ultrasound scanner exports it: a DICOM frame with burned-in text.

:func:`write_scanner_dicom` embeds the image in a larger frame, draws a
(simulated) header and footer of text around it, as scanners burn patient
name, date and settings into the pixels, declares the image's rectangle in the
Sequence of Ultrasound Regions and writes the frame RLE-compressed (lossless),
with the Ultrasound Image Storage SOP class.  Read back with
:func:`lnfusion.data.read_image`, it gives exactly the image it was written
from: the demo cohort exported this way (``make_demo_cohort(...,
image_format="dicom")``, ``lnfusion demo --image-format dicom``) trains to the
same model as its PNG twin.

The text is simulated (the demo's patient and node ids and the word
SIMULATED), never personal data.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SYNTAXES", "LOSSY_SYNTAXES", "ultrasound_dataset", "set_pixels", "write_scanner_dicom",
           "scanner_frame"]

#: Short names of the transfer syntaxes :func:`set_pixels` writes -> pydicom UID names.
SYNTAXES: dict[str, str] = {
    "explicit": "ExplicitVRLittleEndian",
    "implicit": "ImplicitVRLittleEndian",
    "rle": "RLELossless",
    "jpeg": "JPEGBaseline8Bit",
    "jpeg-extended": "JPEGExtended12Bit",
    "jpegls": "JPEGLSLossless",
    "jpegls-near": "JPEGLSNearLossless",
    "j2k-lossless": "JPEG2000Lossless",
    "j2k": "JPEG2000",
}
#: Syntaxes whose decoded pixels may differ from the pixels written.
LOSSY_SYNTAXES: tuple[str, ...] = ("jpeg", "jpeg-extended", "jpegls-near", "j2k")


def _jpeg_bytes(frame: np.ndarray, subsampling: int, quality: int = 95) -> bytes:
    """A baseline JPEG of a uint8 frame, as Pillow writes it (YCbCr for colour)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def set_pixels(ds: Any, arr: np.ndarray, photometric: str = "MONOCHROME2", bits: int = 8,
               syntax: str = "explicit") -> None:
    """Set a dataset's pixel data to ``arr`` in transfer syntax ``syntax`` (a key of :data:`SYNTAXES`).

    ``arr`` is (H, W), (H, W, 3) or, with several frames, (F, H, W[, 3]).
    RLE, JPEG-LS and JPEG 2000 go through pydicom's encoders (pyjpegls for
    JPEG-LS, pylibjpeg-openjpeg for JPEG 2000); JPEG baseline and extended
    are written by Pillow and encapsulated here, colour as ``YBR_FULL_422``
    (``YBR_FULL`` when ``photometric="YBR_FULL"``).  Lossy settings: JPEG
    quality 95, JPEG-LS NEAR 2, JPEG 2000 compression ratio 10.
    """
    from pydicom import uid
    from pydicom.encaps import encapsulate

    if syntax not in SYNTAXES:
        raise ValueError(f"syntax must be one of {sorted(SYNTAXES)}, got {syntax!r}")
    ts = getattr(uid, SYNTAXES[syntax])
    arr = np.asarray(arr)
    if syntax not in ("jpeg", "jpeg-extended"):
        ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=bits)
        if syntax == "implicit":
            ds.file_meta.TransferSyntaxUID = ts
        elif syntax != "explicit":
            kwargs = {"jpegls-near": {"jls_error": 2}, "j2k": {"j2k_cr": [10]}}.get(syntax, {})
            ds.compress(ts, **kwargs)
        return
    colour = photometric != "MONOCHROME2" and arr.shape[-1] == 3 and arr.ndim in (3, 4)
    multi = arr.ndim == (4 if colour else 3)
    ds.set_pixel_data(arr, photometric_interpretation="RGB" if colour else "MONOCHROME2", bits_stored=8)
    full = photometric == "YBR_FULL"
    ds.PixelData = encapsulate([_jpeg_bytes(f, subsampling=0 if full else 1)
                                for f in (arr if multi else [arr])])
    ds["PixelData"].VR = "OB"
    if colour:
        ds.PhotometricInterpretation = "YBR_FULL" if full else "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    ds.file_meta.TransferSyntaxUID = ts


def scanner_frame(image: np.ndarray, text: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The full scanner frame around ``image`` and the image's box in it (x0, y0, x1, y1; exclusive).

    A header band (text) above, a footer band (text) below and a margin on
    each side; the bands are at least 16 pixels high so that the text fits.
    """
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    band, side = max(16, h // 6), max(4, w // 16)
    frame = np.zeros((h + 2 * band, w + 2 * side) + image.shape[2:], dtype=np.uint8)
    frame[band:band + h, side:side + w] = image
    canvas = Image.fromarray(frame)
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"
    fill = 255 if image.ndim == 2 else (255, 255, 255)
    draw.text((2, 2), text, fill=fill)
    draw.text((2, band + h + 2), "SIMULATED lnfusion demo", fill=fill)
    frame = np.array(canvas)
    frame[band:band + h, side:side + w] = image  # the text never overwrites the image
    return frame, (side, band, side + w, band + h)


def ultrasound_dataset(multiframe: bool = False, uid_from: list[str] | None = None) -> Any:
    """An empty ultrasound DICOM dataset with its file meta (explicit VR little endian) and SOP ids.

    Parameters
    ----------
    multiframe : bool
        SOP class Ultrasound Multi-frame Image Storage instead of Ultrasound Image Storage.
    uid_from : list of str, optional
        Derive the SOP instance UID from these strings (the same file gets the
        same UID every time); default a random UID.

    Returns
    -------
    pydicom.Dataset
        Pixel data still to be set (:func:`set_pixels`).
    """
    from pydicom import uid
    from pydicom.dataset import Dataset, FileMetaDataset

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = (uid.UltrasoundMultiFrameImageStorage if multiframe
                                    else uid.UltrasoundImageStorage)
    meta.MediaStorageSOPInstanceUID = uid.generate_uid(entropy_srcs=uid_from)
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def write_scanner_dicom(path: str | os.PathLike, image: np.ndarray, text: str,
                        syntax: str = "rle") -> Path:
    """Write ``image`` (uint8 (H, W) grey or (H, W, 3) RGB) as a scanner's DICOM frame.

    Parameters
    ----------
    path : path-like
        Output file.
    image : ndarray
        The image; :func:`lnfusion.data.read_image` of the file returns it exactly.
    text : str
        Burned into the header band (simulated, e.g. the demo node's ids).
    syntax : str
        Transfer syntax, a key of :data:`SYNTAXES` (default RLE, lossless).

    Returns
    -------
    pathlib.Path
    """
    from pydicom.dataset import Dataset

    frame, (x0, y0, x1, y1) = scanner_frame(np.asarray(image, dtype=np.uint8), text)
    ds = ultrasound_dataset(uid_from=[Path(path).name, text])
    ds.Modality = "US"
    ds.PatientName = "SIMULATED"
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2-D
    region.RegionDataType = 1  # tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = x0, y0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = x1 - 1, y1 - 1  # inclusive in DICOM
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 0  # the demo has no fixed scale
    ds.SequenceOfUltrasoundRegions = [region]
    set_pixels(ds, frame, "MONOCHROME2" if frame.ndim == 2 else "RGB", syntax=syntax)
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path
