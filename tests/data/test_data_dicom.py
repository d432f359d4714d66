"""DICOM as ultrasound machines export it: every transfer syntax, colour, LUTs, frames, regions.

Files are generated in the tests (tests/dicom_files.py).  Lossless syntaxes must
decode to the very pixels written.  Lossy ones are compared with a reference
decode of the same file by another decoder (libjpeg through pylibjpeg for JPEG,
which lnfusion decodes with Pillow's libjpeg-turbo; Pillow's OpenJPEG for JPEG
2000): at most 3 grey levels apart for JPEG (the two differ in IDCT and chroma
upsampling), 1 for JPEG 2000; JPEG-LS near-lossless stays
within its NEAR bound (2) of the pixels written.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import (
    Cohort,
    CohortSchema,
    Modality,
    add_mask_measurements,
    frame_ref,
    image_geometry,
    image_size,
    read_image,
    validate_manifest,
)
from lnfusion.data.decode import modality_images
from lnfusion.exceptions import ImageError, MissingDecoderError, RoiError

pydicom = pytest.importorskip("pydicom")

from dicom_files import IDENTIFIERS, LOSSY, SYNTAXES, burn_text, us_region, write_dicom  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _grey(h=48, w=64):
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx * 2 + yy * 2).astype(np.uint8)


def _rgb(h=48, w=64):
    g = _grey(h, w)
    return np.stack([g, 255 - g, (np.mgrid[0:h, 0:w][1] * 3).astype(np.uint8)], axis=-1)


def _reference(path):
    """An independent decode of the same file: a decoder read_image does not use for its syntax
    (pylibjpeg's libjpeg for JPEG, which lnfusion decodes with Pillow; Pillow for JPEG 2000)."""
    from pydicom import dcmread, pixels

    ds = dcmread(path)
    jpeg = str(ds.file_meta.TransferSyntaxUID) in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")
    return pixels.pixel_array(ds, decoding_plugin="pylibjpeg" if jpeg else "pillow")


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "rgb"])
@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_every_transfer_syntax_decodes(tmp_path, syntax, colour):
    arr = _rgb() if colour else _grey()
    path = write_dicom(tmp_path / f"{syntax}.dcm", arr, photometric="RGB" if colour else "MONOCHROME2",
                       syntax=syntax)
    out = read_image(path)
    assert out.shape == arr.shape and out.dtype == np.uint8
    geometry = image_geometry(path)
    assert geometry.dicom and geometry.compressed == (syntax not in ("explicit", "implicit"))
    if syntax not in LOSSY:
        np.testing.assert_array_equal(out, arr)
    elif syntax == "jpegls-near":
        assert np.abs(out.astype(int) - arr).max() <= 2
    else:
        tolerance = 1 if syntax == "j2k" else 3
        assert np.abs(out.astype(int) - _reference(path)).max() <= tolerance
        assert np.abs(out.astype(int) - arr).mean() < 2.0  # and close to what was written


def test_jpeg_ybr_full_and_multiframe_jpeg(tmp_path):
    rgb = _rgb()
    path = write_dicom(tmp_path / "ybr.dcm", rgb, photometric="YBR_FULL", syntax="jpeg")
    assert np.abs(read_image(path).astype(int) - _reference(path)).max() <= 3
    frames = np.stack([_rgb() // 2, _rgb(), _rgb() // 4])
    cine = write_dicom(tmp_path / "cine.dcm", frames, photometric="RGB", syntax="jpeg")
    middle = read_image(cine)
    assert np.abs(middle.astype(int) - rgb).mean() < 2.0
    assert np.abs(read_image(frame_ref(cine, 2)).astype(int) - frames[2]).mean() < 2.0


def test_native_ybr_full_becomes_rgb(tmp_path):
    from pydicom.pixels import convert_color_space

    rgb = _rgb()
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    path = write_dicom(tmp_path / "ybr.dcm", ybr, photometric="YBR_FULL")
    assert np.abs(read_image(path).astype(int) - rgb).max() <= 2


def test_palette_colour_is_looked_up(tmp_path):
    index = (np.arange(40 * 30) % 256).astype(np.uint8).reshape(30, 40)
    lut = np.arange(256, dtype=np.uint16)
    red, green, blue = lut * 257, (255 - lut) * 257, (lut // 2) * 257
    path = write_dicom(tmp_path / "pal.dcm", index, photometric="PALETTE COLOR",
                       RedPaletteColorLookupTableDescriptor=[256, 0, 16],
                       GreenPaletteColorLookupTableDescriptor=[256, 0, 16],
                       BluePaletteColorLookupTableDescriptor=[256, 0, 16],
                       RedPaletteColorLookupTableData=red.tobytes(),
                       GreenPaletteColorLookupTableData=green.tobytes(),
                       BluePaletteColorLookupTableData=blue.tobytes())
    out = read_image(path)
    np.testing.assert_array_equal(out, np.stack([index, 255 - index, index // 2], axis=-1))


def test_voi_lut_sequence_and_sigmoid_window(tmp_path):
    from pydicom.dataset import Dataset

    values = (np.arange(32 * 32, dtype=np.uint16) * 4).reshape(32, 32)  # 12-bit data, 0..4092
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    lut = ((4095 - np.arange(4096)) * 16).astype(np.uint16)  # an inverting 16-bit LUT
    item.add_new("LUTData", "OW", lut.tobytes())
    path = write_dicom(tmp_path / "voi.dcm", values, bits=12, VOILUTSequence=[item],
                       WindowCenter=10, WindowWidth=5)  # the LUT wins over the window
    expected = np.rint(lut[values] * (255.0 / 65535.0)).astype(np.uint8)
    np.testing.assert_array_equal(read_image(path), expected)

    sig = write_dicom(tmp_path / "sig.dcm", values, bits=12, WindowCenter=2048, WindowWidth=1024,
                      VOILUTFunction="SIGMOID")
    expected = 255.0 / (1.0 + np.exp(-4.0 * (values - 2048.0) / 1024.0))
    assert np.abs(read_image(sig).astype(float) - expected).max() <= 0.5 + 1e-9


def test_missing_decoder_names_file_and_syntax(tmp_path):
    from pydicom.encaps import encapsulate

    path = write_dicom(tmp_path / "mpeg.dcm", _grey())
    import pydicom

    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no pixel-data plugin
    ds.save_as(path)
    with pytest.raises(MissingDecoderError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and "1.2.840.10008.1.2.4.100" in message
    assert not any(s in message for s in IDENTIFIERS)


def _cine(tmp_path, n=5, name="cine.dcm", **kwargs):
    frames = np.stack([np.full((20, 30), 10 + 40 * k, np.uint8) for k in range(n)])
    return write_dicom(tmp_path / name, frames, **kwargs)


def _cohort(tmp_path, rows, frame="middle", max_frames=16, roi=None, **cohort_kwargs):
    schema = CohortSchema(classes=("a", "b"), node=None, site=None,
                          modalities={"bmode": Modality(frame=frame, max_frames=max_frames)})
    table = pd.DataFrame({"patient_id": [f"p{i}" for i in range(len(rows))], "label": ["a", "b"][:len(rows)],
                          "bmode": rows})
    if roi is not None:
        table["bmode_roi"] = roi
    return table, schema


@pytest.mark.parametrize("frame, max_frames, expected", [
    ("middle", 16, [2]), ("first", 16, [0]), (3, 16, [3]), ("all", 16, [0, 1, 2, 3, 4]), ("all", 3, [0, 2, 4]),
])
def test_frame_policy_is_one_code_path(tmp_path, frame, max_frames, expected):
    cine = _cine(tmp_path)
    still = write_dicom(tmp_path / "still.dcm", np.full((20, 30), 7, np.uint8))
    table, schema = _cohort(tmp_path, [str(cine), str(still)], frame, max_frames)
    report = validate_manifest(table, schema=schema)
    assert report.ok, report.to_text()
    paths, rois, nodes = modality_images(report.cohort, "bmode")
    assert nodes.tolist() == [0] * len(expected) + [1]
    assert [int(read_image(p)[0, 0]) for p in paths[:-1]] == [10 + 40 * k for k in expected]
    assert int(read_image(paths[-1])[0, 0]) == 7  # a single frame is the image whatever the policy
    assert report.cohort.images("bmode") == [[str(cine)], [str(still)]]  # the manifest's files stay


def test_frame_index_beyond_the_file_is_a_validation_error(tmp_path):
    table, schema = _cohort(tmp_path, [str(_cine(tmp_path, n=3))], frame=7)
    report = validate_manifest(table, schema=schema, allow_empty_classes=True)
    assert not report.ok
    assert isinstance(report.errors[0], ImageError)
    assert "frame 7" in str(report.errors[0]) and "3 frames" in str(report.errors[0])
    with pytest.raises(ImageError, match="3 frames"):
        read_image(frame_ref(tmp_path / "cine.dcm", 7))


def test_modality_frame_policy_checked_and_round_trips():
    from lnfusion.exceptions import SchemaError

    schema = CohortSchema(modalities={"bmode": Modality(frame="all", max_frames=4),
                                      "cdfi": Modality(colour=True, frame=2)})
    assert CohortSchema.from_dict(json.loads(schema.to_json())) == schema
    for bad in ("last", -1, True, 1.5):
        with pytest.raises(SchemaError, match="frame"):
            Modality(frame=bad)
    with pytest.raises(SchemaError, match="max_frames"):
        Modality(max_frames=0)


def _scanner_frame():
    """An 80 x 80 frame: image data in rows 16-55, columns 8-71; burned-in text above and below."""
    frame = np.zeros((80, 80), np.uint8)
    frame[16:56, 8:72] = (np.mgrid[0:40, 0:64][1] * 3 + 20).astype(np.uint8)  # never 255
    burn_text(frame, "Doe^Janet 1977", 2, 2)
    burn_text(frame, "SECRET-4711", 2, 62)  # and in a footer band
    return frame


def test_region_crops_burned_in_text_and_gives_spacing(tmp_path):
    frame = _scanner_frame()
    assert (frame[:16] == 255).any() and (frame[56:] == 255).any()  # the text is in the file
    path = write_dicom(tmp_path / "us.dcm", frame, syntax="rle",
                       regions=[us_region(8, 16, 71, 55, dx_cm=0.01, dy_cm=0.01),
                                us_region(0, 56, 79, 79, spatial_format=3)])  # a spectral strip: ignored
    out = read_image(path)
    np.testing.assert_array_equal(out, frame[16:56, 8:72])
    assert out.max() < 255  # no burned-in pixel reaches the caller
    geometry = image_geometry(path)
    assert (geometry.width, geometry.height, geometry.region) == (80, 80, (8, 16, 72, 56))
    assert geometry.spacing_mm == pytest.approx((0.1, 0.1))
    assert image_size(path) == (64, 40)


def test_region_text_never_reaches_the_network(tmp_path):
    from lnfusion.data.decode import decode_uint8

    frame = _scanner_frame()
    path = write_dicom(tmp_path / "us.dcm", frame, regions=[us_region(8, 16, 71, 55)])
    table, schema = _cohort(tmp_path, [str(path)])
    cohort = validate_manifest(table, schema=schema, allow_empty_classes=True).cohort
    paths, rois, _ = modality_images(cohort, "bmode")
    x = decode_uint8(paths, rois, image_size=64, colour=False, in_chans=1)
    clean = decode_uint8([frame[16:56, 8:72]], [None], image_size=64, colour=False, in_chans=1)
    np.testing.assert_array_equal(x, clean)


def test_roi_in_full_frame_coordinates_moves_into_the_region(tmp_path):
    frame = _scanner_frame()
    path = write_dicom(tmp_path / "us.dcm", frame, regions=[us_region(8, 16, 71, 55, 0.02, 0.02)])
    table, schema = _cohort(tmp_path, [str(path)], roi=["18,26,38,46"])
    report = validate_manifest(table, schema=schema, allow_empty_classes=True)
    assert report.ok, report.to_text()
    assert report.cohort.rois("bmode") == [[(18, 26, 38, 46)]]  # as the user drew it
    _, rois, _ = modality_images(report.cohort, "bmode")
    assert rois == [(10, 10, 30, 30)]  # in the cropped image
    assert (read_image(path)[10:30, 10:30] == frame[26:46, 18:38]).all()
    # a box straddling the region edge is cut to it; one wholly in the header band is an error
    table, _ = _cohort(tmp_path, [str(path)], roi=["0,0,20,20"])
    report = validate_manifest(table, schema=schema, allow_empty_classes=True)
    _, rois, _ = modality_images(report.cohort, "bmode")
    assert rois == [(0, 0, 12, 4)]
    table, _ = _cohort(tmp_path, [str(path)], roi=["0,0,30,10"])
    report = validate_manifest(table, schema=schema, allow_empty_classes=True)
    assert not report.ok and isinstance(report.errors[0], RoiError)
    assert "outside the ultrasound image region" in str(report.errors[0])


def test_measurements_in_mm_from_the_region_spacing(tmp_path):
    from PIL import Image

    frame = _scanner_frame()
    path = write_dicom(tmp_path / "us.dcm", frame, regions=[us_region(8, 16, 71, 55, 0.02, 0.02)])
    mask = np.zeros((80, 80), np.uint8)
    mask[20:30, 10:50] = 255  # 40 x 10 pixels, drawn on the full frame
    Image.fromarray(mask).save(tmp_path / "mask.png")
    table, schema = _cohort(tmp_path, [str(path)], roi=["10,20,50,30"])
    table["bmode_mask"] = [str(tmp_path / "mask.png")]
    cohort = Cohort.from_manifest(table, schema=schema, allow_empty_classes=True)
    by_mask = add_mask_measurements(cohort, pixel_spacing="dicom").table
    assert by_mask["lesion_long_axis_mm"].iloc[0] == pytest.approx(8.0)  # 40 px x 0.2 mm
    assert by_mask["lesion_short_axis_mm"].iloc[0] == pytest.approx(2.0)
    assert by_mask["lesion_area_mm2"].iloc[0] == pytest.approx(16.0)
    by_roi = add_mask_measurements(cohort, pixel_spacing="dicom", source="roi", prefix="roi_").table
    assert by_roi["roi_long_axis_mm"].iloc[0] == pytest.approx(8.0)
    assert by_roi["roi_area_mm2"].iloc[0] == pytest.approx(16.0)


def test_validate_counts_dicom_per_modality(tmp_path):
    from PIL import Image

    Image.fromarray(_grey()).save(tmp_path / "plain.png")
    files = [write_dicom(tmp_path / "a.dcm", _grey(), syntax="jpeg"),
             _cine(tmp_path),
             write_dicom(tmp_path / "r.dcm", _scanner_frame(), regions=[us_region(8, 16, 71, 55)]),
             tmp_path / "plain.png"]
    table = pd.DataFrame({"patient_id": ["p1", "p2"], "label": ["a", "b"],
                          "bmode": [f"{files[0]};{files[1]}", f"{files[2]};{files[3]}"]})
    schema = CohortSchema(classes=("a", "b"), node=None, site=None, modalities={"bmode": Modality()})
    report = validate_manifest(table, schema=schema)
    assert report.ok, report.to_text()
    summary = report.cohort.summary()
    assert summary.dicom_per_modality == {"bmode": {"dicom": 3, "compressed": 1, "multi_frame": 1,
                                                    "with_region": 1}}
    text = summary.to_text()
    assert "DICOM images per modality" in text and "multi-frame" in text
    assert summary.to_dict()["dicom_per_modality"]["bmode"]["dicom"] == 3


def test_explicit_frame_reference_in_a_manifest_cell_wins_over_the_policy(tmp_path):
    frames = np.stack([np.pad(np.full((20, 30), 10 + 40 * k, np.uint8), ((8, 0), (0, 0)))
                       for k in range(4)])  # an 8-row header band above a 20 x 30 region
    path = write_dicom(tmp_path / "loop.dcm", frames, syntax="rle", regions=[us_region(0, 8, 29, 27)])
    table, schema = _cohort(tmp_path, [f"{path}#frame=1", str(path)], frame="all",
                            roi=["0,10,10,20", "0,10,10,20"])
    report = validate_manifest(table, schema=schema)
    assert report.ok, report.to_text()
    paths, rois, nodes = modality_images(report.cohort, "bmode")
    assert paths == [f"{path}#frame=1"] + [frame_ref(path, k) for k in range(4)]
    assert nodes.tolist() == [0, 1, 1, 1, 1]
    assert rois == [(0, 2, 10, 12)] * 5  # every frame's ROI moved into the region
    assert [int(read_image(p)[0, 0]) for p in paths] == [50, 10, 50, 90, 130]
    assert read_image(paths[0]).shape == (20, 30)
