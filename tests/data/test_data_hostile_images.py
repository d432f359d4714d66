"""Hostile image files: a named pipe, a decompression bomb, EXIF orientation, short DICOM pixel data.

Each is refused (or read as a viewer shows it) with a typed error naming the
manifest row, column and file, never a hang or a raw PIL/pydicom traceback.
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps
from test_data_imageio import write_dicom

import lnfusion
from lnfusion.data import CohortSchema, Modality, image_size, read_image, validate_manifest
from lnfusion.data.imageio import MAX_IMAGE_PIXELS_ENV, max_image_pixels
from lnfusion.exceptions import ConfigError, CorruptImageError

SCHEMA = CohortSchema(modalities={"bmode": Modality()}, descriptors={})
#: the subprocesses import the lnfusion under test, whatever their working folder
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(lnfusion.__file__).resolve().parents[1]),
                                                   os.environ.get("PYTHONPATH", "")]))


def _manifest(folder, cells, rois=None):
    """A two-row manifest whose second row's bmode cell is ``cells``; the first row is a fine PNG."""
    Image.fromarray(np.full((16, 24), 90, np.uint8)).save(folder / "ok.png")
    rows = pd.DataFrame({"patient_id": ["P1", "P2"], "label": ["benign", "metastatic"],
                         "bmode": ["ok.png", cells]})
    if rois is not None:
        rows["bmode_roi"] = ["", rois]
    rows.to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def _errors(manifest):
    report = validate_manifest(manifest, schema=SCHEMA, allow_empty_classes=True)
    return report.errors


def _cli(*args, timeout=120):
    """``lnfusion ARGS`` in a fresh interpreter (so a hang is a timeout, not a stuck test run)."""
    code = "import sys; from lnfusion.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


# -- non-regular files ------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    manifest = _manifest(tmp_path, "pipe.png")
    # a FIFO with no writer blocks open() forever: run in a subprocess with a timeout
    done = _cli("validate", manifest, "--allow-empty-classes", "--schema", _schema_file(tmp_path), timeout=60)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    assert "row 3 (position 1), column 'bmode'" in out and "named pipe (FIFO)" in out
    assert str(tmp_path / "pipe.png") in out
    probe = ("import sys\nfrom lnfusion.data.imageio import image_size, read_image, is_dicom\n"
             "from lnfusion.exceptions import CorruptImageError\n"
             "assert not is_dicom(sys.argv[1])\n"
             "for f in (image_size, read_image):\n"
             "    try:\n        f(sys.argv[1])\n    except CorruptImageError as e:\n"
             "        assert 'not a regular file' in str(e), e\n"
             "    else:\n        raise SystemExit('no error')\n")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "pipe.png")],
                          capture_output=True, text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr


def _schema_file(folder):
    SCHEMA.save(folder / "schema.json")
    return folder / "schema.json"


# -- decompression bombs ----------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb_png(path, side=30000):
    """A valid 1-bit greyscale PNG of side x side black pixels (a few hundred kB on disk)."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = write_bomb_png(tmp_path_factory.mktemp("bomb") / "bomb.png")
    assert path.stat().st_size < 1_000_000
    return path


def test_decompression_bomb_is_a_corrupt_image_naming_row_column_and_file(tmp_path, bomb):
    before = Image.MAX_IMAGE_PIXELS
    (tmp_path / "bomb.png").write_bytes(bomb.read_bytes())
    errors = _errors(_manifest(tmp_path, "bomb.png"))
    assert len(errors) == 1 and isinstance(errors[0], CorruptImageError)
    err = errors[0]
    assert (err.row, err.column, err.path) == (1, "bmode", str(tmp_path / "bomb.png"))
    assert "row 3 (position 1), column 'bmode'" in str(err) and "30000x30000" in str(err)
    assert MAX_IMAGE_PIXELS_ENV in str(err)
    for reader in (image_size, read_image):
        with pytest.raises(CorruptImageError, match="more than the limit"):
            reader(bomb)
    assert Image.MAX_IMAGE_PIXELS == before  # PIL's global setting is left as it was


def test_decompression_bomb_through_validate_and_predict_cli(tmp_path, bomb):
    (tmp_path / "bomb.png").write_bytes(bomb.read_bytes())
    manifest = _manifest(tmp_path, "bomb.png")
    done = _cli("validate", manifest, "--allow-empty-classes", "--schema", _schema_file(tmp_path))
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    assert "CorruptImageError" in out and "column 'bmode'" in out and "bomb.png" in out
    # lnfusion predict reads its manifest with read_unlabelled (and reports LnfusionErrors cleanly)
    from lnfusion.cli.predict_cmd import read_unlabelled

    with pytest.raises(CorruptImageError, match="row 3 \\(position 1\\), column 'bmode'.*30000x30000"):
        read_unlabelled(manifest, SCHEMA)


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((16, 24), np.uint8)).save(tmp_path / "a.png")
    assert image_size(tmp_path / "a.png") == (24, 16)
    with pytest.raises(CorruptImageError, match="24x16 = 384 pixels, more than the limit of 383"):
        read_image(tmp_path / "a.png", max_pixels=383)
    assert read_image(tmp_path / "a.png", max_pixels=384).shape == (16, 24)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "100")
    assert max_image_pixels() == 100
    with pytest.raises(CorruptImageError, match="limit of 100"):
        image_size(tmp_path / "a.png")
    errors = _errors(_manifest(tmp_path, "a.png"))
    assert [type(e) for e in errors] == [CorruptImageError, CorruptImageError]  # both rows too big
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "many")
    with pytest.raises(ConfigError, match=MAX_IMAGE_PIXELS_ENV):
        max_image_pixels()


# -- EXIF orientation -------------------------------------------------------------------
def _rotated_jpeg(path, orientation=6):
    """A JPEG stored 64 wide x 32 high whose EXIF says: rotate to display (orientation 6: 90 deg cw)."""
    stored = np.zeros((32, 64), np.uint8)
    stored[:, :32] = 230  # left half bright as stored: the top half once displayed
    stored[:8, 40:] = 120  # and a stripe that tells top from bottom
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    return path


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_applied_as_a_viewer_shows_it(tmp_path, orientation):
    path = _rotated_jpeg(tmp_path / "r.jpg", orientation)
    with Image.open(path) as im:
        shown = np.array(ImageOps.exif_transpose(im))
    arr = read_image(path)
    assert arr.shape == shown.shape
    assert np.array_equal(arr, shown)
    assert image_size(path) == (shown.shape[1], shown.shape[0])


def test_roi_drawn_on_the_displayed_image_is_accepted(tmp_path):
    _rotated_jpeg(tmp_path / "r.jpg")
    assert image_size(tmp_path / "r.jpg") == (32, 64)
    arr = read_image(tmp_path / "r.jpg")
    assert arr.shape == (64, 32) and arr[:32].mean() > 200 and arr[32:].mean() < 60
    # x1 = 30 <= 32 wide, y1 = 60 <= 64 high as displayed (stored it is 64 x 32)
    assert _errors(_manifest(tmp_path, "r.jpg", rois="2,4,30,60")) == []
    errors = _errors(_manifest(tmp_path, "r.jpg", rois="2,4,40,20"))
    assert len(errors) == 1 and "of size 32x64" in str(errors[0])


# -- DICOM pixel data shorter than Rows x Columns ---------------------------------------
def test_dicom_with_short_pixel_data_fails_validation(tmp_path):
    import pydicom

    path = write_dicom(tmp_path / "short.dcm", np.full((20, 30), 7, np.uint8))
    ds = pydicom.dcmread(path)
    ds.PixelData = bytes(200)  # 20 x 30 x 1 byte would be 600
    ds.save_as(path)
    with pytest.raises(CorruptImageError):
        read_image(path)  # what predict would hit
    errors = _errors(_manifest(tmp_path, "short.dcm"))
    assert len(errors) == 1 and isinstance(errors[0], CorruptImageError)
    assert (errors[0].row, errors[0].column) == (1, "bmode")
    assert "holds 200 bytes" in str(errors[0]) and "600" in str(errors[0])
    # a whole file still validates
    write_dicom(tmp_path / "whole.dcm", np.full((20, 30), 7, np.uint8))
    assert _errors(_manifest(tmp_path, "whole.dcm")) == []
