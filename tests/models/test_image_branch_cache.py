"""The image branch trained from the on-disk cache fits and predicts as from memory."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("timm")

from lnfusion.data import CachedImages  # noqa: E402
from lnfusion.models import ImageBranchClassifier  # noqa: E402
from lnfusion.models.image_branch import decode_images  # noqa: E402

PARAMS = dict(backbone="test_resnet", image_size=32, epochs=2, batch_size=16, progress=False,
              device="cpu", random_state=0)


def test_fit_from_the_cache_equals_fit_from_memory(demo_small, tmp_path, one_torch_thread):
    cache = tmp_path / "cache"
    memory = ImageBranchClassifier("cdfi", **PARAMS).fit(demo_small)
    cached = ImageBranchClassifier("cdfi", cache_dir=cache, **PARAMS).fit(demo_small)
    for name, value in memory.model_.state_dict().items():
        assert np.array_equal(value.numpy(), cached.model_.state_dict()[name].numpy()), name
    np.testing.assert_array_equal(memory.predict_proba(demo_small), cached.predict_proba(demo_small))
    entries = len(list(cache.rglob("*.npy")))
    assert entries == sum(len(v) for v in demo_small.images("cdfi"))
    images = decode_images(demo_small, "cdfi", 32, in_chans=3, cache_dir=cache)
    assert isinstance(images.images, CachedImages) and len(list(cache.rglob("*.npy"))) == entries


def test_cache_dir_auto_uses_the_environment_folder(demo_small, tmp_path, monkeypatch):
    monkeypatch.setenv("LNFUSION_CACHE_DIR", str(tmp_path / "env"))
    images = decode_images(demo_small, "bmode", 16, in_chans=1, positions=[0, 1, 2], cache_dir="auto")
    assert all(f.startswith(str(tmp_path / "env")) for f in images.images.files)


def test_bad_cache_dir_is_a_parameter_error():
    from lnfusion.exceptions import ParameterError

    with pytest.raises(ParameterError, match="cache_dir"):
        ImageBranchClassifier("bmode", cache_dir=3)._validate_params()
