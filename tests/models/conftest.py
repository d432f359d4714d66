"""Tiny synthetic cohorts for the image-branch tests (written once per session)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every module here trains tiny models: one torch thread (tests/conftest.py)."""


def write_toy_cohort(root: Path, n_per_class: int = 12, size: tuple[int, int] = (40, 48),
                     seed: int = 0, colour_missing_every: int = 5):
    """Three classes told apart by the height of a bright square (B-mode) and its colour (cdfi).

    Height, not left/right, so left-right flips keep the task learnable.  Every
    ``colour_missing_every``-th node lacks ``cdfi``; every 4th node has two
    B-mode images.  Non-square images test the resize/pad geometry.
    """
    from PIL import Image

    from lnfusion.data import Cohort, CohortSchema, Modality

    rng = np.random.default_rng(seed)
    h, w = size
    (root / "img").mkdir(parents=True, exist_ok=True)
    classes = ("metastatic", "lymphoma", "benign")
    rows = []
    for k, label in enumerate(classes):
        for i in range(n_per_class):
            pid = f"{label[:3]}{i:02d}"
            files = []
            for j in range(2 if i % 4 == 0 else 1):
                img = rng.normal(40, 12, size=(h, w)).clip(0, 255)
                top = int(k * (h - 12) / 2 + rng.integers(-2, 3))
                left = int(rng.integers(2, w - 14))
                img[max(top, 0):top + 12, left:left + 12] = 230
                f = f"img/{pid}_b{j}.png"
                Image.fromarray(img.astype(np.uint8)).save(root / f)
                files.append(f)
            cdfi = ""
            if (k * n_per_class + i) % colour_missing_every:
                rgb = np.zeros((h, w, 3), np.uint8) + rng.integers(0, 30, size=(h, w, 1)).astype(np.uint8)
                rgb[h // 3:2 * h // 3, w // 3:2 * w // 3, k] = 220
                cdfi = f"img/{pid}_c.png"
                Image.fromarray(rgb).save(root / cdfi)
            rows.append({"patient_id": pid, "label": label, "bmode": ";".join(files), "cdfi": cdfi})
    schema = CohortSchema(classes=classes, node=None, site=None,
                          modalities={"bmode": Modality(colour=False), "cdfi": Modality(colour=True)})
    return Cohort.from_manifest(pd.DataFrame(rows), schema, root=root)


@pytest.fixture(scope="session")
def toy_cohort(tmp_path_factory):
    return write_toy_cohort(tmp_path_factory.mktemp("toy"))


#: Fast branch settings shared by the tests (use the ``fast`` fixture).
_FAST = dict(backbone="test_resnet", image_size=32, epochs=2, batch_size=16, val_size=0.25, patience=None,
            progress=False, warmup_epochs=0.5, lr=2e-3)


@pytest.fixture(scope="session")
def fast():
    """ImageBranchClassifier settings for a seconds-long fit on ``toy_cohort``."""
    return dict(_FAST)
