"""read_image / image_size: every format, DICOM decoding and DICOM privacy."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lnfusion.data import (
    Cohort,
    CohortSchema,
    Modality,
    frame_ref,
    image_size,
    read_image,
    validate_manifest,
)
from lnfusion.exceptions import CorruptImageError, MissingImageError

pydicom = pytest.importorskip("pydicom")

from dicom_files import IDENTIFIERS, PATIENT_NAME, write_dicom  # noqa: E402


def _gradient(h=20, w=30, dtype=np.uint8, high=255):
    return (np.linspace(0, high, h * w).reshape(h, w)).astype(dtype)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif"])
def test_read_each_format_grey_and_colour(tmp_path, suffix):
    grey = _gradient()
    Image.fromarray(grey).save(tmp_path / f"g{suffix}")
    colour = np.stack([grey, 255 - grey, np.full_like(grey, 90)], axis=2)
    Image.fromarray(colour).save(tmp_path / f"c{suffix}")
    g = read_image(tmp_path / f"g{suffix}")
    c = read_image(tmp_path / f"c{suffix}")
    assert g.dtype == np.uint8 and g.shape == (20, 30)
    assert c.dtype == np.uint8 and c.shape == (20, 30, 3)
    if suffix == ".jpg":  # lossy: compare on average
        assert np.abs(g.astype(int) - grey).mean() < 4 and np.abs(c.astype(int) - colour).mean() < 8
    else:
        np.testing.assert_array_equal(g, grey)
        np.testing.assert_array_equal(c, colour)
    assert image_size(tmp_path / f"c{suffix}") == (30, 20)


def test_read_modes(tmp_path):
    grey = _gradient()
    rgb_grey = np.repeat(grey[..., None], 3, axis=2)
    Image.fromarray(rgb_grey).save(tmp_path / "rgbgrey.png")
    assert read_image(tmp_path / "rgbgrey.png").shape == (20, 30, 3)  # native: as stored
    np.testing.assert_array_equal(read_image(tmp_path / "rgbgrey.png", mode="auto"), grey)
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_image(tmp_path / "g.png", mode="rgb"), rgb_grey)
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png", mode="auto").shape == (4, 4, 3)  # real colour stays
    assert int(read_image(tmp_path / "red.png", mode="grey")[0, 0]) == round(200 * 0.299)
    with pytest.raises(ValueError, match="mode"):
        read_image(tmp_path / "red.png", mode="hsv")


def test_other_pil_modes(tmp_path):
    Image.fromarray(_gradient(dtype=np.uint16, high=60000)).save(tmp_path / "16bit.png")
    out = read_image(tmp_path / "16bit.png")
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[..., 1] = 128
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert read_image(tmp_path / "rgba.png").shape == (5, 5, 3)
    Image.fromarray(_gradient()).convert("P").save(tmp_path / "pal.png")
    assert read_image(tmp_path / "pal.png").shape == (20, 30, 3)
    pages = [Image.fromarray(np.full((6, 8), v, np.uint8)) for v in (10, 200)]
    pages[0].save(tmp_path / "multi.tif", save_all=True, append_images=pages[1:])
    assert read_image(tmp_path / "multi.tif")[0, 0] == 10  # first page


def test_missing_and_corrupt(tmp_path):
    with pytest.raises(MissingImageError, match="nope.png: image file not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(MissingImageError, match="is a folder"):
        image_size(tmp_path)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(CorruptImageError, match="bad.jpg"):
        image_size(tmp_path / "bad.jpg")
    Image.fromarray(_gradient(64, 64)).save(tmp_path / "t.jpg")
    data = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptImageError, match="trunc.jpg"):
        read_image(tmp_path / "trunc.jpg")
    Image.fromarray(_gradient()).save(tmp_path / "t.png")
    data = bytearray((tmp_path / "t.png").read_bytes())
    data[60] ^= 0xFF  # inside the IDAT chunk: CRC no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(data))
    with pytest.raises(CorruptImageError, match="crc.png"):
        image_size(tmp_path / "crc.png")


# -- DICOM ----------------------------------------------------------------------------
def test_dicom_monochrome2_with_rescale_and_window(tmp_path):
    arr = _gradient(dtype=np.uint16, high=4000)
    write_dicom(tmp_path / "a.dcm", arr, bits=12, RescaleSlope=2, RescaleIntercept=-1000)
    out = read_image(tmp_path / "a.dcm")
    assert out.dtype == np.uint8 and out.shape == (20, 30)
    assert out[0, 0] == 0 and out[-1, -1] == 255 and np.all(np.diff(out.ravel().astype(int)) >= 0)
    # window centre/width apply after rescale: values -1000..7000, window [0, 2000]
    write_dicom(tmp_path / "w.dcm", arr, bits=12, RescaleSlope=2, RescaleIntercept=-1000,
                WindowCenter=1000, WindowWidth=2000)
    out = read_image(tmp_path / "w.dcm")
    rescaled = arr.astype(float) * 2 - 1000
    expected = np.clip(np.rint(rescaled / 2000 * 255), 0, 255)
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert image_size(tmp_path / "w.dcm") == (30, 20)


def test_dicom_monochrome1_is_inverted(tmp_path):
    arr = _gradient()
    write_dicom(tmp_path / "m1.dcm", arr, photometric="MONOCHROME1")
    out = read_image(tmp_path / "m1.dcm")
    np.testing.assert_array_equal(out, 255 - arr)


def test_dicom_rgb_and_multiframe(tmp_path):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 220, 40
    write_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB")
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.dcm"), rgb)
    frames = np.stack([np.full((8, 9), v, np.uint8) for v in (5, 100, 200)])
    frames[0, 0, 0] = 250
    write_dicom(tmp_path / "cine", frames)  # no suffix: detected by the DICM marker
    out = read_image(tmp_path / "cine")  # a plain path: the middle frame
    assert out.shape == (8, 9) and (out == 100).all()
    first = read_image(frame_ref(tmp_path / "cine", 0))
    assert first[0, 0] == 250 and first[1, 1] == 5
    assert image_size(tmp_path / "cine") == (9, 8)


def test_dicom_identifiers_never_leave(tmp_path, caplog):
    good = write_dicom(tmp_path / "img" / "good.dcm", _gradient())
    nopix = write_dicom(tmp_path / "img" / "nopix.dcm", None)
    # the pixel data is cut short: decoding fails
    write_dicom(tmp_path / "img" / "short.dcm", _gradient())
    raw = (tmp_path / "img" / "short.dcm").read_bytes()
    (tmp_path / "img" / "short.dcm").write_bytes(raw[:-300])
    (tmp_path / "img" / "garbage.dcm").write_bytes(b"\0" * 128 + b"DICM" + PATIENT_NAME.encode() * 3)
    texts = []
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arr = read_image(good)
        texts += [repr(arr), str(image_size(good))]
        for bad in (nopix, tmp_path / "img" / "short.dcm", tmp_path / "img" / "garbage.dcm"):
            for fn in (read_image, image_size):
                try:
                    fn(bad)
                except CorruptImageError as exc:
                    texts.append(str(exc))
                    texts.append(repr(exc.__cause__) if exc.__cause__ else "")
        df = pd.DataFrame({"patient_id": ["P1", "P2"], "label": ["a", "b"],
                           "bmode": ["img/good.dcm", "img/nopix.dcm;img/short.dcm"]})
        schema = CohortSchema(classes=("a", "b"), modalities={"bmode": Modality()})
        report = validate_manifest(df, schema, root=tmp_path)
        texts.append(report.to_text())
        texts += [repr(e) for e in report.errors]
        cohort = Cohort.from_manifest(df.iloc[[0, 0]].assign(patient_id=["P1", "P2"], label=["a", "b"]),
                                      schema, root=tmp_path)
        texts += [cohort.summary().to_text(), str(cohort.summary().to_dict()), repr(cohort),
                  cohort.table.to_string()]
    texts += [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert len(report.errors) == 2 and sum("nopix.dcm" in t or "short.dcm" in t for t in texts) >= 4
    blob = "\n".join(texts)
    for ident in IDENTIFIERS:
        assert ident not in blob
