"""A tiny multimodal cohort with real images and a fitted late-fusion model, built once.

``explain_toy`` writes 30 patients (36 nodes) of 32 x 40 PNGs: ``bmode`` is
noise (no class information), ``elasto`` shows a colour block whose channel is
the class (strong information, missing for every 6th node), and the
descriptors hold a weakly informative ``shape`` plus noise.  The model uses
test-size timm backbones at 32 px and one training epoch: it exists to exercise
the explanation code paths, not to be accurate.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CLASSES = ("metastatic", "lymphoma", "benign")


def write_explain_cohort(root: Path, n_patients: int = 30, seed: int = 0):
    """Write the toy cohort (manifest.csv + schema.json + img/) under ``root`` and load it."""
    from PIL import Image

    from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality

    rng = np.random.default_rng(seed)
    h, w = 32, 40
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for p in range(n_patients):
        k = p % 3
        for node in range(2 if p % 5 == 0 else 1):
            pid, nid = f"P{p:03d}", f"N{node + 1}"
            grey = rng.normal(60, 20, size=(h, w)).clip(0, 255).astype(np.uint8)
            Image.fromarray(grey).save(root / "img" / f"{pid}_{nid}_b.png")
            elasto = ""
            if len(rows) % 6 != 5:
                rgb = rng.integers(0, 40, size=(h, w, 3)).astype(np.uint8)
                rgb[8:24, 10:30, k] = 230
                elasto = f"img/{pid}_{nid}_e.png"
                Image.fromarray(rgb).save(root / elasto)
            rows.append({
                "patient_id": pid, "node_id": nid, "label": CLASSES[k],
                "age": float(np.round(rng.normal(55, 10), 1)),
                "shape": (["irregular", "round", "oval"][k] if rng.random() < 0.6
                          else ["oval", "round", "irregular"][rng.integers(3)]),
                "elasto_score": int(rng.integers(1, 6)),
                "bmode": f"img/{pid}_{nid}_b.png", "elasto": elasto,
                "bmode_roi": "2,2,38,30" if p == 1 else "",
            })
    schema = CohortSchema(
        classes=CLASSES, site=None,
        descriptors={"age": Descriptor("continuous"),
                     "shape": Descriptor("categorical", levels=("oval", "round", "irregular")),
                     "elasto_score": Descriptor("ordinal", levels=(1, 2, 3, 4, 5))},
        modalities={"bmode": Modality(colour=False), "elasto": Modality(colour=True)})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    (root / "schema.json").write_text(schema.to_json(), encoding="utf-8")
    return Cohort.from_manifest(root / "manifest.csv")


@pytest.fixture(scope="session")
def explain_toy(tmp_path_factory):
    """(cohort, fitted LateFusionClassifier) on the toy cohort."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("timm")
    pytest.importorskip("xgboost")
    torch.set_num_threads(1)  # tiny networks: one thread is faster than two contended ones
    from lnfusion.fusion import LateFusionClassifier

    cohort = write_explain_cohort(tmp_path_factory.mktemp("explain_toy"))
    model = LateFusionClassifier(
        modalities=("bmode", "elasto"), backbone="test_resnet",
        image_params={"image_size": 32, "epochs": 1, "batch_size": 16, "val_size": 0.0,
                      "augment": False, "progress": False, "device": "cpu", "precision": "fp32",
                      "channels_last": False},
        tabular="xgboost", cv="holdout", progress=False, random_state=0, n_threads=1)
    model.fit(cohort)
    return cohort, model
