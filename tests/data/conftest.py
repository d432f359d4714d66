"""Fixtures for the cohort data layer: tiny images and manifests written to tmp_path."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lnfusion.data import CohortSchema, Descriptor, Modality


def write_image(path: Path, size: tuple[int, int] = (48, 32), colour: bool = False, seed: int = 0) -> Path:
    """Write a small random image (width x height) to ``path`` in the format its suffix names."""
    rng = np.random.default_rng(seed)
    width, height = size
    shape = (height, width, 3) if colour else (height, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


SCHEMA = CohortSchema(
    descriptors={
        "age": Descriptor("continuous", description="years"),
        "shape": Descriptor("categorical", levels=("oval", "round", "irregular")),
        "elasto_score": Descriptor("ordinal", levels=(1, 2, 3, 4, 5)),
    },
    modalities={"bmode": Modality(colour=False), "cdfi": Modality(colour=True),
                "elasto": Modality(colour=True)},
)


def base_manifest() -> pd.DataFrame:
    """Six nodes of five patients, three classes, two sites; node 1 lacks cdfi, node 4 lacks elasto."""
    return pd.DataFrame({
        "patient_id": ["P1", "P1", "P2", "P3", "P4", "P5"],
        "node_id": ["n1", "n2", "n1", "n1", "n1", "n1"],
        "label": ["metastatic", "metastatic", "lymphoma", "benign", "benign", "lymphoma"],
        "site": ["A", "A", "B", "B", "A", "B"],
        "age": ["61", "61", "45", "", "30.5", "52"],
        "shape": ["round", "irregular", "oval", "oval", "", "round"],
        "elasto_score": ["4", "5", "3", "1", "2", ""],
        "bmode": ["img/b0.png;img/b0b.png", "img/b1.png", "img/b2.png", "img/b3.png", "img/b4.png",
                  "img/b5.png"],
        "bmode_roi": ["2,2,40,30;", "", "0,0,48,32", "", "", ""],
        "cdfi": ["img/c0.jpg", "", "img/c2.jpg", "img/c3.jpg", "img/c4.jpg", "img/c5.jpg"],
        "elasto": ["img/e0.png", "img/e1.png", "img/e2.png", "img/e3.png", "", "img/e5.png"],
    })


@pytest.fixture
def cohort_dir(tmp_path: Path) -> Path:
    """A folder with img/*, manifest.csv and schema.json describing :func:`base_manifest`."""
    df = base_manifest()
    for col, colour in (("bmode", False), ("cdfi", True), ("elasto", True)):
        for k, cell in enumerate(df[col]):
            for rel in filter(None, cell.split(";")):
                write_image(tmp_path / rel, colour=colour, seed=k)
    df.to_csv(tmp_path / "manifest.csv", index=False)
    SCHEMA.save(tmp_path / "schema.json")
    return tmp_path


def make_study_layout(root: Path) -> Path:
    """The study's released layout: 2d/, cdfi/, elastic/ with class folders 0, 1, 2.

    Patients 10 (class 0, two B-mode images), 11 (class 1) and 12 (class 2) have
    every modality; 13 (class 0) lacks cdfi and elastic; 14 (class 2) lacks elastic.
    """
    files = {
        "2d": {"0": ["10-1", "10-2", "13-1"], "1": ["11-1"], "2": ["12-1", "14-1"]},
        "cdfi": {"0": ["10-1"], "1": ["11-1"], "2": ["12-1", "14-1"]},
        "elastic": {"0": ["10-1"], "1": ["11-1"], "2": ["12-1"]},
    }
    for mdir, classes in files.items():
        for cls, stems in classes.items():
            for k, stem in enumerate(stems):
                write_image(root / mdir / cls / f"{stem}.jpg", colour=mdir != "2d", seed=k)
    return root


@pytest.fixture
def image_writer():
    """The :func:`write_image` helper, for tests that build their own files."""
    return write_image


@pytest.fixture
def schema() -> CohortSchema:
    """The schema of :func:`base_manifest`."""
    return SCHEMA


@pytest.fixture
def manifest_df() -> pd.DataFrame:
    """A fresh copy of :func:`base_manifest`."""
    return base_manifest()


@pytest.fixture
def study_root(tmp_path: Path) -> Path:
    """A study-layout folder (see :func:`make_study_layout`)."""
    return make_study_layout(tmp_path / "study")
