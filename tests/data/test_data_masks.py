"""Lesion masks (``<modality>_mask``), ROI from masks, shape measurements, outcome-derived columns."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lnfusion.data import (
    Cohort,
    CohortSchema,
    Descriptor,
    Modality,
    add_mask_measurements,
    roi_from_mask,
    shape_measurements,
    validate_manifest,
)
from lnfusion.data.masks import mask_box, measurement_names, read_mask
from lnfusion.exceptions import (
    LnfusionError,
    MaskError,
    MissingImageError,
    OutcomeDerivedError,
    SchemaError,
)
from lnfusion.models import TabularClassifier


def write_image(path: Path, size: tuple[int, int], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8)).save(path)

YY, XX = np.mgrid[0:240, 0:240] + 0.5


def _ellipse(a: float, b: float, angle_deg: float = 0.0, cx: float = 120, cy: float = 120) -> np.ndarray:
    t = np.deg2rad(angle_deg)
    u = (XX - cx) * np.cos(t) + (YY - cy) * np.sin(t)
    v = -(XX - cx) * np.sin(t) + (YY - cy) * np.cos(t)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


# -- geometry on synthetic masks with known answers -------------------------------------------
def test_disc_is_round_convex_and_sized():
    m = shape_measurements(_ellipse(50, 50))
    assert m["circularity"] == pytest.approx(1.0, abs=0.03)
    assert m["solidity"] == pytest.approx(1.0, abs=0.01)
    assert m["axis_ratio"] == pytest.approx(1.0, abs=0.02)
    assert m["long_axis"] == pytest.approx(100, abs=1.5)
    assert m["area"] == pytest.approx(math.pi * 50 ** 2, rel=0.01)
    assert m["margin_roughness"] == pytest.approx(0.0, abs=0.01)
    assert m["taller_than_wide"] == 0.0


def test_ellipse_axes_circularity_and_mm_units():
    # semi-axes 80 and 30 px at 0.2 mm per pixel: diameters 32 and 12 mm
    m = shape_measurements(_ellipse(80, 30, angle_deg=20), pixel_spacing_mm=0.2)
    assert m["long_axis"] == pytest.approx(32.0, abs=0.4)
    assert m["short_axis"] == pytest.approx(12.0, abs=0.4)
    assert m["axis_ratio"] == pytest.approx(80 / 30, rel=0.04)
    assert m["area"] == pytest.approx(math.pi * 80 * 30 * 0.04, rel=0.01)
    ramanujan = math.pi * (3 * 110 - math.sqrt((3 * 80 + 30) * (80 + 3 * 30)))
    assert m["circularity"] == pytest.approx(4 * math.pi * math.pi * 80 * 30 / ramanujan ** 2, abs=0.02)


def test_rotated_rectangle_sides_from_minimum_area_rectangle():
    t = np.deg2rad(30)
    u = (XX - 120) * np.cos(t) + (YY - 120) * np.sin(t)
    v = -(XX - 120) * np.sin(t) + (YY - 120) * np.cos(t)
    m = shape_measurements((abs(u) <= 50) & (abs(v) <= 20))
    assert m["long_axis"] == pytest.approx(100, abs=2)
    assert m["short_axis"] == pytest.approx(40, abs=2)
    assert m["solidity"] == pytest.approx(1.0, abs=0.01)
    assert m["circularity"] == pytest.approx(4 * math.pi * 4000 / 280 ** 2, abs=0.03)


def test_taller_than_wide_and_lobulated_outline():
    assert shape_measurements(_ellipse(20, 50))["taller_than_wide"] == 1.0
    r, th = np.hypot(XX - 120, YY - 120), np.arctan2(YY - 120, XX - 120)
    star = shape_measurements(r <= 60 + 15 * np.cos(8 * th))
    disc = shape_measurements(_ellipse(60, 60))
    assert star["solidity"] < 0.8 < disc["solidity"]
    assert star["margin_roughness"] > 0.25 > disc["margin_roughness"]
    assert star["circularity"] < 0.5


def test_empty_mask_and_bad_spacing_raise():
    with pytest.raises(LnfusionError, match="empty"):
        shape_measurements(np.zeros((10, 10), bool))
    with pytest.raises(LnfusionError, match="pixel spacing"):
        shape_measurements(_ellipse(10, 10), pixel_spacing_mm=0)


def test_roi_from_mask_margin_and_clamp():
    mask = np.zeros((100, 200), bool)
    mask[40:60, 50:150] = True  # box 100 x 20
    assert mask_box(mask) == (50, 40, 150, 60)
    assert roi_from_mask(mask, 0.1, (200, 100)) == (40, 38, 160, 62)
    assert roi_from_mask(mask, 0.0, (200, 100)) == (50, 40, 150, 60)
    assert roi_from_mask(mask, 1.0, (200, 100)) == (0, 20, 200, 80)  # clamped left/right


def test_read_mask_rgba_and_0_1(tmp_path: Path):
    arr = np.zeros((20, 30, 4), np.uint8)
    arr[..., 3] = 255
    arr[5:10, 3:8, :3] = 255
    Image.fromarray(arr, "RGBA").save(tmp_path / "m.png")
    Image.fromarray((arr[..., 0] > 0).astype(np.uint8)).save(tmp_path / "m01.png")
    for name in ("m.png", "m01.png"):
        m = read_mask(tmp_path / name)
        assert m.shape == (20, 30) and m.sum() == 25 and mask_box(m) == (3, 5, 8, 10)


# -- masks in a manifest ----------------------------------------------------------------------
SCHEMA = CohortSchema(classes=("benign", "malignant"), node=None, site=None,
                      descriptors={"age": Descriptor("continuous"),
                                   "pixel_mm": Descriptor("continuous")},
                      modalities={"bmode": Modality(colour=False)},
                      outcome_derived=("birads",))


def _write_mask(path: Path, box: tuple[int, int, int, int] | None, size=(60, 40)) -> Path:
    arr = np.zeros(size[::-1], np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        arr[y0:y1, x0:x1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def masked(tmp_path: Path) -> Path:
    for k in range(4):
        write_image(tmp_path / f"img/b{k}.png", size=(60, 40), seed=k)
    _write_mask(tmp_path / "img/m0.png", (10, 10, 30, 20))
    _write_mask(tmp_path / "img/m1.png", (0, 0, 10, 10))
    _write_mask(tmp_path / "img/m2.png", (20, 5, 40, 35))
    pd.DataFrame({
        "patient_id": ["P0", "P1", "P2", "P3"], "label": ["benign", "malignant", "benign", "malignant"],
        "age": ["50", "60", "", "40"], "pixel_mm": ["0.1", "0.1", "0.2", "0.1"],
        "birads": ["3", "5", "2", "4c"],
        "bmode": ["img/b0.png", "img/b1.png", "img/b2.png", "img/b3.png"],
        "bmode_roi": ["", "", "1,1,50,30", ""],
        "bmode_mask": ["img/m0.png", "img/m1.png", "img/m2.png", ""],
    }).to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path


def test_mask_gives_roi_with_margin_explicit_roi_wins(masked: Path):
    cohort = Cohort.from_manifest(masked / "manifest.csv", SCHEMA)
    rois = [r[0] for r in cohort.rois("bmode")]
    assert rois[0] == (8, 9, 32, 21)       # 20 x 10 box + 10 % per side
    assert rois[1] == (0, 0, 11, 11)       # clamped at the image corner
    assert rois[2] == (1, 1, 50, 30)       # the explicit box wins over the mask
    assert rois[3] is None                 # no mask, no box: whole image
    masks = cohort.masks("bmode")
    assert masks[0][0].endswith("m0.png") and masks[3] == [None]
    assert cohort.summary().masks_per_modality == {"bmode": 3}
    no_margin = Cohort.from_manifest(masked / "manifest.csv",
                                     CohortSchema.from_dict({**SCHEMA.to_dict(), "roi_margin": None}))
    assert [r[0] for r in no_margin.rois("bmode")][:2] == [None, None]
    assert cohort.subset([1, 0]).masks("bmode")[0][0].endswith("m1.png")


@pytest.mark.parametrize("cell, make, error, words", [
    ("img/nope.png", None, MissingImageError, "nope.png"),
    ("img/small.png", ("small", (0, 0, 5, 5), (30, 20)), MaskError, "30x20"),
    ("img/empty.png", ("empty", None, (60, 40)), MaskError, "empty"),
    ("img/m0.png;img/m0.png", None, MaskError, "2 masks for 1 image"),
])
def test_mask_errors_name_row_column_file(masked: Path, cell, make, error, words):
    if make is not None:
        _write_mask(masked / f"img/{make[0]}.png", make[1], make[2])
    df = pd.read_csv(masked / "manifest.csv", dtype=str, keep_default_na=False)
    df.loc[1, "bmode_mask"] = cell
    report = validate_manifest(df, SCHEMA, root=masked)
    assert len(report.errors) == 1
    err = report.errors[0]
    assert isinstance(err, error) and isinstance(err, LnfusionError)
    assert err.row == 1 and err.column == "bmode_mask"
    assert "row 3" in str(err) and "'bmode_mask'" in str(err) and words in str(err)


def test_add_mask_measurements_column_spacing(masked: Path):
    cohort = Cohort.from_manifest(masked / "manifest.csv", SCHEMA)
    out = add_mask_measurements(cohort, "bmode", pixel_spacing="pixel_mm")
    names = measurement_names("lesion_", "mm")
    assert set(names.values()) <= set(out.descriptors.columns)
    assert out.schema.descriptors[names["long_axis"]].kind == "continuous"
    d = out.descriptors
    assert d.loc[0, "lesion_long_axis_mm"] == pytest.approx(2.0)    # 20 px x 0.1 mm
    assert d.loc[0, "lesion_short_axis_mm"] == pytest.approx(1.0)
    assert d.loc[2, "lesion_long_axis_mm"] == pytest.approx(6.0)    # 30 px x 0.2 mm
    assert d.loc[2, "lesion_taller_than_wide"] == 1.0
    assert d.loc[0, "lesion_area_mm2"] == pytest.approx(200 * 0.01)
    assert np.isnan(d.loc[3, "lesion_area_mm2"])                    # no mask
    px = add_mask_measurements(cohort, "bmode")
    assert px.descriptors.loc[0, "lesion_long_axis_px"] == pytest.approx(20.0)
    with pytest.raises(SchemaError, match="already exist"):
        add_mask_measurements(out, "bmode", pixel_spacing=0.1)
    assert len(cohort.schema.descriptors) == 2  # the input cohort is unchanged


# -- outcome-derived columns --------------------------------------------------------------------
def test_outcome_derived_schema_roundtrip_and_conflict(tmp_path: Path):
    SCHEMA.save(tmp_path / "schema.json")
    back = CohortSchema.from_json(tmp_path / "schema.json")
    assert back == SCHEMA and back.outcome_derived == ("birads",)
    with pytest.raises(SchemaError, match="outcome-derived"):
        CohortSchema(descriptors={"birads": Descriptor("continuous")}, outcome_derived=("birads",))
    with pytest.raises(SchemaError, match="roi_margin"):
        CohortSchema(roi_margin=-0.1)


def test_outcome_derived_kept_for_display_refused_as_input(masked: Path):
    cohort = Cohort.from_manifest(masked / "manifest.csv", SCHEMA)
    assert "birads" in cohort.table.columns
    assert "birads" not in cohort.descriptors.columns
    assert "Outcome-derived columns" in cohort.summary().to_text()
    with pytest.raises(OutcomeDerivedError, match="'birads' is outcome-derived"):
        TabularClassifier(estimator="logistic", descriptors=["age", "birads"]).fit(cohort)
    table = cohort.table
    table["birads"] = pd.to_numeric(table["birads"].str[0])
    with pytest.raises(OutcomeDerivedError, match="never a model input"):
        TabularClassifier(estimator="logistic", descriptors=["age", "birads"]).fit(table, cohort.y)
    model = TabularClassifier(estimator="logistic").fit(cohort)
    assert "birads" not in list(model.feature_names_in_)
