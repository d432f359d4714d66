"""DICOM test files as scanners export them, with identifying tags, for the image-reading and privacy tests.

:func:`write_dicom` writes uncompressed or compressed pixel data (RLE, JPEG-LS
and JPEG 2000 through pydicom's encoders; JPEG baseline through Pillow,
encapsulated here), one or several frames, and an optional Sequence of
Ultrasound Regions.
"""
from __future__ import annotations

import io

import numpy as np

PATIENT_NAME = "Doe^Janet"
PATIENT_ID = "SECRET-4711"
IDENTIFIERS = (PATIENT_NAME, "Janet", PATIENT_ID, "4711", "1977", "Stadtklinik")

#: Short names of the transfer syntaxes :func:`write_dicom` can write -> pydicom UID names.
SYNTAXES = {
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
LOSSY = ("jpeg", "jpeg-extended", "jpegls-near", "j2k")


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


def jpeg_bytes(frame, subsampling=1, quality=95):
    """A baseline JPEG of a uint8 (H, W) or (H, W, 3) frame, as Pillow writes it (YCbCr for colour)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def write_dicom(path, arr, photometric="MONOCHROME2", bits=8, frames=False, syntax="explicit",
                regions=None, **tags):
    """A DICOM file with pixel data and identifying tags (name, id, birth date, institution).

    ``arr`` is (H, W), (H, W, 3) or, with several frames, (F, H, W[, 3]).
    ``syntax`` is a key of :data:`SYNTAXES`; for ``"jpeg"``/``"jpeg-extended"``
    colour frames are written as ``YBR_FULL_422`` (or ``YBR_FULL`` when
    ``photometric="YBR_FULL"``).  ``regions`` is a list of :func:`us_region`
    items.  ``tags`` set further elements or replace the identifying ones.
    """
    from pydicom import uid
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = uid.UltrasoundImageStorage
    meta.MediaStorageSOPInstanceUID = uid.generate_uid()
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19770101"
    ds.InstitutionName = "Stadtklinik"
    ds.Modality = "US"
    ts = getattr(uid, SYNTAXES[syntax])
    if arr is not None:
        if syntax in ("jpeg", "jpeg-extended"):
            arr = np.asarray(arr)
            colour = arr.shape[-1] == 3 and arr.ndim in (3, 4) and photometric != "MONOCHROME2"
            multi = arr.ndim == (4 if colour else 3)
            ds.set_pixel_data(arr, photometric_interpretation="RGB" if colour else "MONOCHROME2",
                              bits_stored=8)
            full = photometric == "YBR_FULL"
            ds.PixelData = encapsulate([jpeg_bytes(f, subsampling=0 if full else 1)
                                        for f in (arr if multi else [arr])])
            ds["PixelData"].VR = "OB"
            if colour:
                ds.PhotometricInterpretation = "YBR_FULL" if full else "YBR_FULL_422"
            ds.LossyImageCompression = "01"
            meta.TransferSyntaxUID = ts
        else:
            ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=bits)
            if syntax == "implicit":
                meta.TransferSyntaxUID = ts
            elif syntax != "explicit":
                kwargs = {"jls_error": 2} if syntax == "jpegls-near" else \
                    {"j2k_cr": [10]} if syntax == "j2k" else {}
                ds.compress(ts, **kwargs)
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
