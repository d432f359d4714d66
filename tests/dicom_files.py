"""DICOM test files as scanners export them, with identifying tags, for the image-reading and privacy tests.

:func:`write_dicom` writes uncompressed or compressed pixel data (any syntax of
:data:`SYNTAXES`), one or several frames, and an optional Sequence of
Ultrasound Regions.
"""
from __future__ import annotations

import numpy as np

from lnfusion.datasets import scanner_dicom

PATIENT_NAME = "Doe^Janet"
PATIENT_ID = "SECRET-4711"
IDENTIFIERS = (PATIENT_NAME, "Janet", PATIENT_ID, "4711", "1977", "Stadtklinik")

SYNTAXES, LOSSY = scanner_dicom.SYNTAXES, scanner_dicom.LOSSY_SYNTAXES


def us_region(x0, y0, x1, y1, dx_cm=None, dy_cm=None, spatial_format=1):
    """One item of the Sequence of Ultrasound Regions: box (x1/y1 inclusive, as DICOM) and cm per pixel."""
    from pydicom.dataset import Dataset

    item = Dataset()
    item.RegionSpatialFormat = spatial_format
    item.RegionDataType = 1
    item.RegionFlags = 0
    item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
    item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
    if dx_cm is not None:
        item.PhysicalUnitsXDirection = item.PhysicalUnitsYDirection = 3  # cm
        item.PhysicalDeltaX, item.PhysicalDeltaY = float(dx_cm), float(dy_cm)
    return item


def write_dicom(path, arr, photometric="MONOCHROME2", bits=8, frames=False, syntax="explicit",
                regions=None, **tags):
    """A DICOM file with pixel data and identifying tags (name, id, birth date, institution).

    ``arr`` is (H, W), (H, W, 3) or, with several frames, (F, H, W[, 3]).
    ``syntax`` is a key of :data:`SYNTAXES` (written by
    :func:`lnfusion.datasets.scanner_dicom.set_pixels`).  ``regions`` is a list of :func:`us_region`
    items.  ``tags`` set further elements or replace the identifying ones.
    """
    ds = scanner_dicom.ultrasound_dataset()
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19770101"
    ds.InstitutionName = "Stadtklinik"
    ds.Modality = "US"
    if arr is not None:
        scanner_dicom.set_pixels(ds, arr, photometric, bits, syntax)
    if regions:
        ds.SequenceOfUltrasoundRegions = list(regions)
    for k, v in tags.items():
        setattr(ds, k, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def burn_text(frame, text, x, y, value=255):
    """Draw ``text`` into a uint8 frame (in place) with Pillow's default font, as a scanner burns it in."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(frame)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"  # no anti-aliasing: text pixels are exactly ``value``
    draw.text((x, y), text, fill=value if frame.ndim == 2 else (value,) * 3)
    frame[...] = np.asarray(im)
    return frame
