"""Image SHAP helpers that need no trained network."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from lnfusion.data.geometry import input_to_image  # noqa: E402
from lnfusion.exceptions import DataError  # noqa: E402
from lnfusion.explain.attribution import ImageAttribution, overlay_heatmap  # noqa: E402
from lnfusion.explain.images import _stack_outputs  # noqa: E402


def to_original_grid(values, shape, roi, image_size):
    """What image SHAP applies to its maps."""
    return input_to_image(values, shape, roi, image_size, preserve_sum=True)


def test_to_original_grid_inverts_the_padding_and_keeps_the_sum():
    # a 20 x 40 image at network size 16: resized to 8 x 16, padded 4 rows above and below
    values = np.zeros((16, 16), dtype=np.float32)
    values[4:12, :] = 1.0
    values[0:4, :] = 5.0  # padding: dropped
    out = to_original_grid(values, (20, 40), None, 16)
    assert out.shape == (20, 40)
    np.testing.assert_allclose(out, out.sum() / out.size, rtol=1e-5)
    assert out.sum() == pytest.approx(values[4:12].sum(), rel=1e-5)  # the padding is dropped


def test_to_original_grid_places_the_roi():
    values = np.full((8, 8), -1.0, dtype=np.float32)
    out = to_original_grid(values, (30, 30), (10, 5, 18, 13), 8)
    assert np.all(out[5:13, 10:18] < 0)
    assert np.count_nonzero(out) == 64
    assert out.sum() == pytest.approx(-64.0, rel=1e-5)


@pytest.mark.parametrize("layout", ["list", "array"])
def test_stack_outputs_accepts_both_shap_layouts(layout):
    rng = np.random.default_rng(0)
    arr = rng.normal(size=(2, 3, 4, 4, 3))
    raw = [arr[..., c] for c in range(3)] if layout == "list" else arr
    np.testing.assert_array_equal(_stack_outputs(raw, 2, 3), arr)
    with pytest.raises(DataError, match="GradientExplainer returned shape"):
        _stack_outputs(arr[:, 0], 2, 3)


def test_overlay_heatmap_blends_only_where_attributed():
    img = np.full((6, 8), 100, dtype=np.uint8)
    heat = np.zeros((6, 8))
    heat[2, 3] = 1.0
    out = overlay_heatmap(img, heat, cmap="bwr", signed=True, alpha=0.5)
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    assert np.all(out[0, 0] == 100)          # no attribution: image unchanged
    assert out[2, 3, 0] > out[2, 3, 2]       # positive: red side of bwr
    with pytest.raises(ValueError, match="does not match"):
        overlay_heatmap(img, np.zeros((3, 3)))


def test_attribution_overlay_reads_the_image(tmp_path):
    from PIL import Image

    rgb = np.zeros((10, 12, 3), dtype=np.uint8)
    rgb[..., 1] = 200  # green: the colour coding must not show through the grey overlay
    Image.fromarray(rgb).save(tmp_path / "e.png")
    heat = np.zeros((10, 12), dtype=np.float32)
    a = ImageAttribution(node="P1", row=0, image_index=0, modality="elasto", method="shap",
                         target="benign", image_path=str(tmp_path / "e.png"), heatmap=heat)
    out = a.overlay()
    assert out.shape == (10, 12, 3)
    assert np.all(out[..., 0] == out[..., 1])  # grey where nothing is attributed
    assert a.display_map().max() == 0.0


def test_image_shap_is_exact_for_a_linear_network(explain_toy):
    """With one background image, expected gradients of a linear network are exact:
    the map sums to f(x) - f(background) for the target class, and is zero where the
    weights are zero."""
    import copy

    import torch

    from lnfusion.explain.images import image_shap

    cohort, model = explain_toy
    branch = copy.copy(model.branches_["elasto"])
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 3))
    with torch.no_grad():
        w = linear[1].weight.view(3, 3, 32, 32)
        w.zero_()
        w[:, :, 8:16, 8:24] = torch.randn(3, 3, 8, 16)  # only a patch of the input matters
    branch.model_ = linear.eval()
    logits = branch.decision_function(cohort)
    have = np.flatnonzero(cohort.modality_mask()["elasto"].to_numpy())
    maps = image_shap(branch, cohort, [0, 2], "lymphoma", n_background=1, nsamples=3)
    assert [(a.row, a.target) for a in maps] == [(0, "lymphoma"), (2, "lymphoma")]
    for a in maps:
        total = float(a.heatmap.sum())
        candidates = logits[a.row, 1] - logits[have, 1]
        assert np.min(np.abs(candidates - total)) < 1e-3 * max(1.0, abs(total))
        # the 32 x 40 image sits in rows 4..27 of the 32 x 32 input, scaled by 0.8:
        # input rows 8..15 / cols 8..23 map back to rows 5..15 and cols 10..30
        assert np.all(a.heatmap[:4] == 0) and np.all(a.heatmap[17:] == 0)
        assert np.all(a.heatmap[:, :9] == 0) and np.all(a.heatmap[:, 31:] == 0)
