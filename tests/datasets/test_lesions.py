"""The practice lesion cohort: two classes, one modality, a mask per image, a published split."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality
from lnfusion.datasets import LESION_CLASSES, make_lesion_cohort
from lnfusion.exceptions import ConfigError

SCHEMA = CohortSchema(classes=LESION_CLASSES, node="lesion_id", site="hospital",
                      descriptors={"age": Descriptor("continuous"),
                                   "shape": Descriptor("categorical", levels=("oval", "round", "irregular")),
                                   "orientation": Descriptor("categorical",
                                                             levels=("parallel", "not parallel"))},
                      modalities={"bmode": Modality(colour=False)})


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    return make_lesion_cohort(tmp_path_factory.mktemp("lesions") / "cohort", n_patients=12,
                              image_size=32, seed=3)


def test_files_and_manifest(practice):
    df = pd.read_csv(practice, dtype=str)
    assert list(df.columns) == ["patient_id", "lesion_id", "label", "hospital", "age", "shape",
                                "orientation", "size_mm", "bmode", "bmode_mask", "split"]
    assert set(df["label"]) == set(LESION_CLASSES) and set(df["split"]) == {"train", "test"}
    assert not (practice.parent / "schema.json").exists()  # declaring it is the user's step
    # the published split keeps patients whole and has both classes on each side
    assert df.groupby("patient_id")["split"].nunique().max() == 1
    assert df.groupby("split")["label"].nunique().to_dict() == {"test": 2, "train": 2}
    for image, mask in zip(df["bmode"], df["bmode_mask"]):
        img = np.asarray(Image.open(practice.parent / image))
        msk = np.asarray(Image.open(practice.parent / mask))
        assert img.shape == msk.shape == (32, 32) and img.dtype == np.uint8
        assert set(np.unique(msk)) == {0, 255} and 0.02 < (msk > 0).mean() < 0.5


def test_a_validated_cohort_with_masks(practice):
    cohort = Cohort.from_manifest(practice, schema=SCHEMA)
    assert cohort.n_patients == 12 and all(all(m) for m in cohort.masks("bmode"))
    rois = [r for boxes in cohort.rois("bmode") for r in boxes]
    assert all(r is not None for r in rois)  # the masks set the ROI


def test_same_seed_same_files(practice, tmp_path):
    again = make_lesion_cohort(tmp_path / "again", n_patients=12, image_size=32, seed=3)
    digest = lambda root: {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
                           for p in sorted(root.rglob("*.png"))}
    assert digest(again.parent) == digest(practice.parent)
    assert again.read_bytes() == practice.read_bytes()


@pytest.mark.parametrize("kwargs, match", [(dict(n_patients=4), "n_patients"),
                                           (dict(image_size=16), "image_size"),
                                           (dict(test_fraction=1.0), "test_fraction")])
def test_bad_settings(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_lesion_cohort(tmp_path / "x", **kwargs)


def test_an_existing_folder_is_kept(practice):
    with pytest.raises(ConfigError, match="already exists"):
        make_lesion_cohort(practice.parent)
