"""make_demo_cohort: files, manifest, schema, loader, missing modalities, determinism."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lnfusion.data import Cohort, CohortSchema, validate_manifest
from lnfusion.datasets import DemoCohortExistsError, load_latent, make_demo_cohort
from lnfusion.exceptions import ConfigError
from lnfusion.io import OUTPUT_MARKER

MANIFEST_COLUMNS = [
    "patient_id", "node_id", "label", "site", "age", "sex", "side", "location",
    "long_axis_mm", "short_axis_mm", "ls_ratio", "shape", "margin", "hilum", "echogenicity",
    "internal_pattern", "calcification", "necrosis", "cdfi_pattern", "adler_grade",
    "elasto_score", "bmode", "cdfi", "elasto",
]


def _digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file of the cohort; the output marker (who wrote the folder, when,
    with which process id) is provenance, not cohort content, and is left out."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != OUTPUT_MARKER}


def test_layout_and_manifest_columns(demo_root):
    for name in ("manifest.csv", "schema.json", "latent.csv", "demo_config.json", "README.txt"):
        assert (demo_root / name).is_file()
    assert "SIMULATED" in (demo_root / "README.txt").read_text()
    umask = os.umask(0)
    os.umask(umask)
    assert demo_root.stat().st_mode & 0o777 == 0o777 & ~umask      # not a private temp dir
    assert (demo_root / "schema.json").stat().st_mode & 0o777 == 0o666 & ~umask
    manifest = pd.read_csv(demo_root / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert set(manifest["site"]) == {"site_A", "site_B", "site_C"}
    assert set(manifest["label"]) == {"metastatic", "lymphoma", "benign"}
    per_patient = manifest.groupby("patient_id").size()
    assert per_patient.between(1, 3).all() and per_patient.max() >= 2
    for m in ("bmode", "cdfi", "elasto"):
        counts = manifest[m].map(lambda s: len(s.split(";")) if s else 0)
        assert counts.max() == 2 and (counts[counts > 0] >= 1).all()
        for cell in manifest[m]:
            for rel in filter(None, cell.split(";")):
                assert rel.startswith(f"images/{m}/") and (demo_root / rel).is_file()


def test_schema_declares_every_column(demo_root):
    schema = CohortSchema.from_json(demo_root / "schema.json")
    assert schema.classes == ("metastatic", "lymphoma", "benign")
    assert set(schema.modalities) == {"bmode", "cdfi", "elasto"}
    assert schema.modalities["bmode"].colour is False and schema.modalities["elasto"].colour
    kinds = {k: d.kind for k, d in schema.descriptors.items()}
    assert set(kinds) == set(MANIFEST_COLUMNS[4:-3])
    assert kinds["age"] == "continuous" and kinds["ls_ratio"] == "continuous"
    assert kinds["adler_grade"] == "ordinal"
    assert schema.descriptors["adler_grade"].levels == (0, 1, 2, 3)
    assert schema.descriptors["elasto_score"].levels == (1, 2, 3, 4, 5)
    assert schema.descriptors["location"].levels == ("I", "II", "III", "IV", "V", "VI")
    assert schema.descriptors["cdfi_pattern"].levels == ("hilar", "peripheral", "mixed", "absent")


def test_manifest_validates_through_public_loader(demo_small, demo_root):
    report = validate_manifest(demo_root / "manifest.csv", check_images=True)
    assert report.ok, report.to_text()
    again = Cohort.from_manifest(demo_root / "manifest.csv")
    assert len(again) == len(demo_small) > 80
    assert np.array_equal(again.y, demo_small.y)
    desc = demo_small.descriptors
    assert str(desc["elasto_score"].dtype) == "category" and desc["elasto_score"].cat.ordered
    assert desc["age"].dtype == float


def test_images_have_the_right_size_and_mode(demo_small):
    for m, mode in (("bmode", "L"), ("cdfi", "RGB"), ("elasto", "RGB")):
        path = demo_small.images(m)[0][0]
        with Image.open(path) as im:
            assert im.size == (64, 64) and im.mode == mode


def test_missing_modality_share(demo_small):
    mask = demo_small.modality_mask()
    assert mask["bmode"].all()
    share = (~mask[["cdfi", "elasto"]]).any(axis=1).mean()
    assert 0.05 <= share <= 0.15
    desc = demo_small.descriptors
    # the readings of a missing acquisition are missing too
    assert desc.loc[~mask["elasto"].to_numpy(), "elasto_score"].isna().all()
    assert desc.loc[~mask["cdfi"].to_numpy(), "cdfi_pattern"].isna().all()
    assert desc.loc[mask["elasto"].to_numpy(), "elasto_score"].notna().all()


def test_latent_table_is_ground_truth_not_manifest(demo_small, demo_root):
    latent = load_latent(demo_root)
    assert len(latent) == len(demo_small)
    assert list(latent["patient_id"]) == list(demo_small.groups)
    assert {"subtype", "elasto_hardness", "hilum", "elasto_score"} <= set(latent.columns)
    manifest = pd.read_csv(demo_root / "manifest.csv", dtype=str)
    assert "subtype" not in manifest.columns and "elasto_hardness" not in manifest.columns
    # descriptors are readings, not a copy of the truth
    read = demo_small.descriptors["hilum"].astype(str).to_numpy()
    agree = np.mean(read == latent["hilum"].astype(str).to_numpy())
    assert 0.6 < agree < 0.98


def test_config_records_settings(demo_root):
    cfg = json.loads((demo_root / "demo_config.json").read_text())
    assert cfg["n_patients"] == 60 and cfg["image_size"] == 64 and cfg["seed"] == 0
    assert cfg["simulated"] is True and len(cfg["sites"]) == 3
    assert max(cfg["modality_signal"], key=cfg["modality_signal"].get) == "elasto"


def test_determinism_and_seed(tmp_path):
    a = make_demo_cohort(tmp_path / "a", n_patients=6, image_size=32, seed=4)
    b = make_demo_cohort(tmp_path / "b", n_patients=6, image_size=32, seed=4, n_jobs=2)
    c = make_demo_cohort(tmp_path / "c", n_patients=6, image_size=32, seed=5)
    da, db, dc = _digest(a.root), _digest(b.root), _digest(c.root)
    assert da == db          # same seed: byte-identical, whatever the number of workers
    assert da["manifest.csv"] != dc["manifest.csv"]
    shared = set(da) & set(dc) - {"README.txt", "schema.json"}
    assert any(da[k] != dc[k] for k in shared if k.endswith(".png"))


def test_existing_folder_and_bad_parameters(tmp_path, demo_root):
    with pytest.raises(DemoCohortExistsError, match="overwrite"):
        make_demo_cohort(demo_root, preset="small")
    with pytest.raises(ConfigError, match="preset"):
        make_demo_cohort(tmp_path / "x", preset="huge")
    with pytest.raises(ConfigError, match="image_size"):
        make_demo_cohort(tmp_path / "x", image_size=8)
    with pytest.raises(ConfigError, match="modality_signal"):
        make_demo_cohort(tmp_path / "x", preset="small", modality_signal={"bmode": "strong"})
    assert not (tmp_path / "x").exists()


def test_overwrite_replaces_atomically(tmp_path):
    root = tmp_path / "cohort"
    make_demo_cohort(root, n_patients=4, image_size=32, seed=1)
    (root / "stale.txt").write_text("old")
    cohort = make_demo_cohort(root, n_patients=5, image_size=32, seed=1, overwrite=True)
    assert not (root / "stale.txt").exists() and cohort.n_patients == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_import_does_not_load_torch():
    code = ("import sys, lnfusion.datasets; "
            "assert not {'torch', 'timm', 'xgboost', 'shap'} & set(sys.modules), 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)
