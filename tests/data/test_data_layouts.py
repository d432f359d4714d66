"""Loaders for the study layout, BUSI and MedMNIST, on fixtures written to tmp_path."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import (
    Cohort,
    CohortSchema,
    load_busi,
    load_medmnist_npz,
    load_study_layout,
    parse_class_map,
    read_image,
    read_medmnist_npz,
)
from lnfusion.data.layouts import LayoutError
from lnfusion.exceptions import ConflictingLabelError, SchemaError

CLASS_MAP = "0=metastatic,1=lymphoma,2=benign"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_parse_class_map():
    assert parse_class_map(CLASS_MAP) == {"0": "metastatic", "1": "lymphoma", "2": "benign"}
    assert parse_class_map({0: "a", 1: "b"}) == {"0": "a", "1": "b"}
    for bad, match in ((None, "class map is required"), ("0:metastatic", "malformed"),
                       ("0=a,0=b", "twice"), ("0=", "empty")):
        with pytest.raises(SchemaError, match=match):
            parse_class_map(bad)


def test_study_layout_pairs_modalities_by_patient(study_root):
    cohort, unpaired = load_study_layout(study_root, CLASS_MAP)
    assert cohort.classes == ("metastatic", "lymphoma", "benign")
    assert list(cohort.groups) == ["10", "11", "12", "13", "14"]
    assert list(cohort.labels) == ["metastatic", "lymphoma", "benign", "metastatic", "benign"]
    bmode = cohort.images("bmode")
    assert [Path(p).name for p in bmode[0]] == ["10-1.jpg", "10-2.jpg"]
    assert Path(cohort.images("elasto")[2][0]).relative_to(study_root).as_posix() == "elastic/2/12-1.jpg"
    mask = cohort.modality_mask()
    assert mask.sum().to_dict() == {"bmode": 5, "cdfi": 4, "elasto": 3}
    assert unpaired.missing == {"13": ("cdfi", "elasto"), "14": ("elasto",)}
    assert unpaired.per_modality() == {"bmode": 0, "cdfi": 1, "elasto": 2}
    assert "2 of 5 patients lack at least one modality" in unpaired.to_text()
    assert cohort.schema.modalities["cdfi"].colour and not cohort.schema.modalities["bmode"].colour


def test_study_layout_written_manifest_reloads(study_root, tmp_path):
    out = tmp_path / "out"
    cohort, _ = load_study_layout(study_root, CLASS_MAP, out_dir=out)
    assert (out / "manifest.csv").is_file() and (out / "schema.json").is_file()
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert manifest.loc[0, "bmode"] == "../study/2d/0/10-1.jpg;../study/2d/0/10-2.jpg"
    again = Cohort.from_manifest(out / "manifest.csv")
    assert again.images("bmode") == cohort.images("bmode")
    assert CohortSchema.from_json(out / "schema.json") == cohort.schema


def test_study_layout_errors(study_root, image_writer):
    with pytest.raises(SchemaError, match="class map is required"):
        load_study_layout(study_root, None)
    with pytest.raises(LayoutError, match=r"class folder '2' is not in the class map"):
        load_study_layout(study_root, "0=metastatic,1=lymphoma")
    image_writer(study_root / "cdfi" / "1" / "10-1.jpg", colour=True)  # patient 10 is class 0 in 2d/
    with pytest.raises(ConflictingLabelError, match=r"patient '10' is in class 'metastatic'"):
        load_study_layout(study_root, CLASS_MAP)
    os.remove(study_root / "cdfi" / "1" / "10-1.jpg")
    image_writer(study_root / "2d" / "1" / "scan.jpg")
    with pytest.raises(LayoutError, match=r"scan.jpg: file name is not '<patient>-<k>.jpg'"):
        load_study_layout(study_root, CLASS_MAP)
    with pytest.raises(LayoutError, match="none of the modality folders"):
        load_study_layout(study_root / "2d", CLASS_MAP)


def _busi(root, image_writer):
    for folder, n in (("benign", 3), ("malignant", 2), ("normal", 1)):
        for i in range(1, n + 1):
            image_writer(root / folder / f"{folder} ({i}).png", seed=i)
            image_writer(root / folder / f"{folder} ({i})_mask.png", seed=i)
    image_writer(root / "benign" / "benign (1)_mask_1.png")
    return root


def test_busi_layout(tmp_path, image_writer):
    root = _busi(tmp_path / "busi", image_writer)
    cohort = load_busi(root)
    assert len(cohort) == 6 and cohort.n_patients == 6
    assert cohort.classes == ("benign", "malignant", "normal")
    assert not any("_mask" in p for paths in cohort.images("bmode") for p in paths)
    merged = load_busi(root, label_map={"malignant": "malignant", "benign": "non-malignant",
                                        "normal": "non-malignant"}, out_dir=tmp_path / "m")
    assert merged.classes == ("malignant", "non-malignant")
    assert np.bincount(merged.y).tolist() == [2, 4]
    assert (tmp_path / "m" / "manifest.csv").is_file()
    with pytest.raises(LayoutError, match="BUSI class folder not found"):
        load_busi(root, label_map={"cyst": "benign"})


def _npz(path, colour=False, flat_labels=False):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        shape = (n, 8, 8, 3) if colour else (n, 8, 8)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        labels = (np.arange(n) % 2)
        arrays[f"{split}_labels"] = labels if flat_labels else labels[:, None]
    np.savez(path, **arrays)
    return arrays


@pytest.mark.parametrize("colour, flat", [(False, False), (True, True)])
def test_medmnist_npz(tmp_path, colour, flat):
    arrays = _npz(tmp_path / "m.npz", colour=colour, flat_labels=flat)
    data = read_medmnist_npz(tmp_path / "m.npz")
    assert set(data) == {"train", "val", "test"} and data["train"][1].shape == (6,)
    cohort = load_medmnist_npz(tmp_path / "m.npz", tmp_path / "out", class_names=["malignant", "benign"])
    table = cohort.table
    assert table["split"].value_counts().to_dict() == {"train": 6, "test": 3, "val": 2}
    assert cohort.classes == ("malignant", "benign")
    assert cohort.schema.modalities["bmode"].colour is colour
    first = read_image(cohort.images("bmode")[0][0])
    np.testing.assert_array_equal(first, arrays["train_images"][0])
    with pytest.raises(FileExistsError):
        load_medmnist_npz(tmp_path / "m.npz", tmp_path / "out")
    with pytest.raises(SchemaError, match="only 1 class names"):
        load_medmnist_npz(tmp_path / "m.npz", tmp_path / "o2", class_names=["x"])


def test_medmnist_bad_file(tmp_path):
    np.savez(tmp_path / "bad.npz", train_images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(LayoutError, match="only one of 'train_images' and 'train_labels'"):
        read_medmnist_npz(tmp_path / "bad.npz")


@pytest.mark.needs_shared_data
@pytest.mark.skipif(not (SHARED / "breastmnist" / "breastmnist.npz").is_file(),
                    reason="../shared/data/breastmnist absent")
def test_real_breastmnist(tmp_path):
    cohort = load_medmnist_npz(SHARED / "breastmnist" / "breastmnist.npz", tmp_path / "bm",
                               class_names=["malignant", "normal+benign"])
    assert cohort.table["split"].value_counts().to_dict() == {"train": 546, "test": 156, "val": 78}


@pytest.mark.needs_shared_data
@pytest.mark.skipif(not (SHARED / "busi" / "benign").is_dir(), reason="../shared/data/busi absent")
def test_real_busi():
    cohort = load_busi(SHARED / "busi")
    assert cohort.summary().nodes_per_class == {"benign": 437, "malignant": 210, "normal": 133}
