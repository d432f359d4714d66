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

import numpy as np

__all__ = ["write_scanner_dicom", "scanner_frame"]


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


def write_scanner_dicom(path: str | os.PathLike, image: np.ndarray, text: str) -> Path:
    """Write ``image`` (uint8 (H, W) grey or (H, W, 3) RGB) as a scanner's RLE DICOM frame.

    Parameters
    ----------
    path : path-like
        Output file.
    image : ndarray
        The image; :func:`lnfusion.data.read_image` of the file returns it exactly.
    text : str
        Burned into the header band (simulated, e.g. the demo node's ids).

    Returns
    -------
    pathlib.Path
    """
    from pydicom import uid
    from pydicom.dataset import Dataset, FileMetaDataset

    frame, (x0, y0, x1, y1) = scanner_frame(np.asarray(image, dtype=np.uint8), text)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = uid.UltrasoundImageStorage
    meta.MediaStorageSOPInstanceUID = uid.generate_uid(entropy_srcs=[Path(path).name, text])
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.PatientName = "SIMULATED"
    ds.set_pixel_data(frame, photometric_interpretation="MONOCHROME2" if frame.ndim == 2 else "RGB",
                      bits_stored=8)
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2-D
    region.RegionDataType = 1  # tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = x0, y0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = x1 - 1, y1 - 1  # inclusive in DICOM
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 0  # the demo has no fixed scale
    ds.SequenceOfUltrasoundRegions = [region]
    ds.compress(uid.RLELossless)
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path
