"""ImageDataset: one sample per image, per-node bookkeeping and aggregation."""
from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lnfusion.data import Cohort  # noqa: E402
from lnfusion.data.dataset import ImageDataset  # noqa: E402
from lnfusion.data.transforms import build_transform  # noqa: E402
from lnfusion.exceptions import MissingImageError  # noqa: E402


@pytest.fixture
def cohort(cohort_dir):
    return Cohort.from_manifest(cohort_dir / "manifest.csv")


def test_one_sample_per_image(cohort):
    t = build_transform(False, 16, (0.5,), (0.25,))
    ds = ImageDataset(cohort, "bmode", t)
    assert len(ds) == 7  # node 0 has two B-mode images
    np.testing.assert_array_equal(ds.node_positions, [0, 0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(ds.images_per_node, [2, 1, 1, 1, 1, 1])
    x, label, node = ds[1]
    assert x.shape == (3, 16, 16) and label == 0 and node == 0
    np.testing.assert_array_equal(ds.labels, cohort.y[ds.node_positions])


def test_missing_modality_and_indices(cohort):
    t = build_transform(True, 16, (0.5,), (0.25,))
    ds = ImageDataset(cohort, "cdfi", t, indices=[1, 2, 5])
    assert list(ds.node_positions) == [2, 5]  # node 1 lacks cdfi
    assert ds.images_per_node.tolist() == [0, 0, 1, 0, 0, 1]
    x, label, node = ds[-1]
    assert node == 5 and label == 1 and x.shape == (3, 16, 16)


def test_mean_per_node(cohort):
    ds = ImageDataset(cohort, "bmode", build_transform(False, 8, (0.5,), (0.25,)), indices=[0, 1, 3])
    logits = np.arange(len(ds) * 3, dtype=float).reshape(-1, 3)  # rows: node 0, node 0, node 1, node 3
    out = ds.mean_per_node(torch.tensor(logits))
    assert out.shape == (6, 3)
    np.testing.assert_allclose(out[0], logits[:2].mean(axis=0))
    np.testing.assert_allclose(out[3], logits[3])
    assert np.isnan(out[[2, 4, 5]]).all()


def test_seeded_per_sample_augmentation_and_cache(cohort):
    t = build_transform(False, 16, (0.5,), (0.25,), train=True)
    ds = ImageDataset(cohort, "bmode", t, random_state=7, cache=True)
    a = ds[2][0]
    assert torch.equal(a, ds[2][0])  # same epoch, same sample: same draw
    ds.set_epoch(1)
    assert not torch.equal(a, ds[2][0])
    os.remove(cohort.images("bmode")[1][0])  # sample 2 is cached: still readable
    assert ds[2][0].shape == (3, 16, 16)
    with pytest.raises(MissingImageError):
        ImageDataset(cohort, "bmode", t, cache=False)[2]
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    x, y, node = next(iter(loader))
    assert x.shape == (4, 3, 16, 16) and y.tolist() == [0, 0, 0, 1]
