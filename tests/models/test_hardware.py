"""Device and precision selection, and the CUDA path where a GPU is present.

This machine has no GPU: the CUDA tests skip here and run wherever
``torch.cuda.is_available()`` (e.g. ``pytest tests/models/test_hardware.py`` on a
GPU machine).
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lnfusion.exceptions import ConfigError, LnfusionError  # noqa: E402
from lnfusion.models.hardware import resolve_device, resolve_precision  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_auto_device_is_cuda_exactly_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu:0", "", "cuda:x"])
def test_unknown_device_is_a_clear_config_error(bad):
    with pytest.raises(ConfigError, match="is not a torch device"):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda_names_the_problem():
    with pytest.raises(ConfigError, match="CUDA is not available") as info:
        resolve_device("cuda")
    assert isinstance(info.value, LnfusionError)


def test_precision_choices():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) is None
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    assert resolve_precision("auto", cpu) in (None, torch.bfloat16)
    with pytest.raises(ConfigError, match="precision must be"):
        resolve_precision("fp16x", cpu)


def test_unknown_device_refused_at_fit_not_silently_cpu(toy_cohort, fast):
    from lnfusion.models import ImageBranchClassifier

    with pytest.raises(ConfigError, match="not a torch device"):
        ImageBranchClassifier("bmode", device="gpu", **fast).fit(toy_cohort)


@needs_cuda
def test_cuda_fit_predict_save_load_round_trip(toy_cohort, fast, tmp_path):
    """On a GPU: the branch trains there, predicts valid probabilities, and a model
    saved on the GPU loads on the CPU with the same predictions (up to fp noise)."""
    from lnfusion.models import ImageBranchClassifier

    branch = ImageBranchClassifier("bmode", device="cuda", **fast).fit(toy_cohort)
    assert next(branch.model_.parameters()).device.type == "cuda"
    proba = branch.predict_proba(toy_cohort)
    assert proba.shape == (len(toy_cohort), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    branch.save(tmp_path / "m")
    on_cpu = ImageBranchClassifier.load(tmp_path / "m", device="cpu")
    assert next(on_cpu.model_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(on_cpu.predict_proba(toy_cohort), proba, atol=2e-2)


@needs_cuda
def test_cuda_same_seed_same_probabilities(toy_cohort, fast):
    from lnfusion.models import ImageBranchClassifier

    a = ImageBranchClassifier("bmode", device="cuda", precision="fp32", **fast).fit(toy_cohort)
    b = ImageBranchClassifier("bmode", device="cuda", precision="fp32", **fast).fit(toy_cohort)
    np.testing.assert_allclose(a.predict_proba(toy_cohort), b.predict_proba(toy_cohort), atol=1e-4)
