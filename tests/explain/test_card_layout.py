"""Card layout for one to four modalities (no empty grid cell) and the SHAP overlay on B-mode."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lnfusion.explain.attribution import (  # noqa: E402
    SHAP_OVERLAY_ALPHA,
    ImageAttribution,
    overlay_heatmap,
    shap_colour_map,
)
from lnfusion.explain.bundle import ExplanationBundle  # noqa: E402
from lnfusion.explain.cards import card_image_grid, plot_card  # noqa: E402
from lnfusion.explain.explanation import ShapExplanation  # noqa: E402

CLASSES = ("benign", "malignant")


def _bundle(tmp_path, modalities, methods):
    """A hand-built bundle of two nodes with images of every modality (no model needed)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    n = 2
    paths = {}
    images = []
    for m in modalities:
        paths[m] = []
        for i in range(n):
            path = tmp_path / f"{m}_{i}.png"
            Image.fromarray(rng.integers(0, 120, (30, 40), dtype=np.uint8)).save(path)
            paths[m].append([str(path)])
            for method in methods:
                heat = rng.random((30, 40)).astype(np.float32)
                images.append(ImageAttribution(f"P{i}", i, 0, m, method, "malignant", str(path),
                                               heat if method == "gradcam" else heat - 0.5))
    branches = [*modalities, "tabular"]
    values = rng.normal(size=(n, len(branches), 1))
    modality = ShapExplanation(np.concatenate([-values, values], axis=2), np.zeros(2), branches,
                               CLASSES, positive_output="malignant")
    proba = np.array([[0.3, 0.7], [0.8, 0.2]])
    return ExplanationBundle(
        classes=CLASSES, node_ids=("P0", "P1"), patients=("P0", "P1"),
        proba=pd.DataFrame(proba, index=["P0", "P1"], columns=list(CLASSES)),
        branch_proba={b: proba for b in branches}, y_true=np.array(["malignant", "benign"]),
        modality=modality, tabular=None, images=tuple(images), selected=np.arange(n),
        image_modalities=tuple(modalities), image_paths=paths)


def _occupied(fig):
    """For every gridspec used by the figure's axes: (its shape, the cells its axes cover)."""
    grids = {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        gs = spec.get_gridspec()
        cells = grids.setdefault(id(gs), (gs.get_geometry(), set()))[1]
        cells.update((r, c) for r in spec.rowspan for c in spec.colspan)
    return list(grids.values())


@pytest.mark.parametrize("modalities", [("bmode",), ("bmode", "cdfi"), ("bmode", "cdfi", "elasto"),
                                        ("bmode", "cdfi", "elasto", "swe")])
@pytest.mark.parametrize("methods", [(), ("gradcam",), ("gradcam", "shap")])
def test_card_leaves_no_grid_cell_empty(tmp_path, modalities, methods):
    bundle = _bundle(tmp_path, modalities, methods)
    fig = plot_card(bundle, 0)
    n_images = len(modalities) * (1 + len(methods))
    assert len(fig.axes) == n_images + 3
    for (rows, cols), cells in _occupied(fig):
        assert cells == {(r, c) for r in range(rows) for c in range(cols)}, (rows, cols, cells)


def test_one_modality_card_is_one_row_not_a_mostly_empty_grid(tmp_path):
    one = plot_card(_bundle(tmp_path, ("bmode",), ("gradcam",)), 0)
    three = plot_card(_bundle(tmp_path, ("bmode", "cdfi", "elasto"), ("gradcam",)), 0)
    w1, h1 = one.get_size_inches()
    w3, h3 = three.get_size_inches()
    assert h1 < h3 / 2                          # one row instead of two image rows + panels
    assert len(one.axes) == 5 and len(three.axes) == 9
    # every image panel of the one-modality card is as tall as the other panels
    heights = {round(ax.get_position().height, 2) for ax in one.axes}
    assert len(heights) <= 2


def test_card_image_grid_shapes():
    assert card_image_grid([], [None]) == ([], 0, 0)
    cells, rows, cols = card_image_grid(["bmode"], [None, "gradcam", "shap"])
    assert (rows, cols) == (1, 3) and [c[3] for c in cells] == [None, "gradcam", "shap"]
    assert card_image_grid(["a", "b"], [None, "gradcam", "shap"])[1:] == (2, 3)
    assert card_image_grid(["a", "b", "c"], [None, "shap"])[1:] == (2, 3)


# ----------------------------------------------------------------------------- SHAP overlay
def _chroma(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return rgb.max(axis=-1) - rgb.min(axis=-1)


def test_shap_colour_map_has_no_grey():
    cmap = shap_colour_map()
    colours = cmap(np.linspace(0, 1, 101))[:, :3]
    assert _chroma(colours).min() > 0.6          # saturated everywhere, unlike grey B-mode
    assert colours.max(axis=1).min() > 0.8       # and bright: visible on a dark background
    neg, pos = cmap(0.25)[:3], cmap(0.75)[:3]
    assert neg[2] > neg[0] and pos[0] > pos[2]    # blue against, red for


def test_shap_overlay_reads_on_greyscale_bmode(tmp_path):
    from PIL import Image

    img = np.full((20, 20), 90, dtype=np.uint8)  # mid-grey tissue
    Image.fromarray(img).save(tmp_path / "b.png")
    heat = np.zeros((20, 20), dtype=np.float32)
    heat[:5] = 1.0           # strongest positive
    heat[5:10] = 0.3         # moderate positive
    heat[10:15] = -0.3       # moderate negative
    heat[15:, :10] = 0.05    # below the floor: untouched
    a = ImageAttribution("P1", 0, 0, "bmode", "shap", "malignant", str(tmp_path / "b.png"), heat)
    out = a.overlay()
    assert np.all(out[15:, :10] == 90) and np.all(out[15:, 10:] == 90)
    assert _chroma(out[7, 7]) > 80 and out[7, 7, 0] > out[7, 7, 2]     # moderate: still a colour
    assert _chroma(out[12, 12]) > 40 and out[12, 12, 2] > out[12, 12, 0]
    # the former diverging map (bwr, linear opacity 0.5) left a moderate value almost grey
    old = overlay_heatmap(img, heat, cmap="bwr", signed=True, alpha=0.5)
    assert _chroma(old[7, 7]) < 20 < _chroma(out[7, 7])
    peak = out[2, 2].astype(float) / 255
    expected = (1 - SHAP_OVERLAY_ALPHA) * 90 / 255 + SHAP_OVERLAY_ALPHA * np.array(shap_colour_map()(1.0)[:3])
    np.testing.assert_allclose(peak, expected, atol=1 / 255)


def test_gradcam_overlay_unchanged(tmp_path):
    from PIL import Image

    img = np.full((8, 8), 100, dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "g.png")
    heat = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    a = ImageAttribution("P1", 0, 0, "bmode", "gradcam", "malignant", str(tmp_path / "g.png"), heat)
    np.testing.assert_array_equal(a.overlay(), overlay_heatmap(img, heat, cmap="jet", alpha=0.5))
