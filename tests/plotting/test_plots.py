"""Plots from an EvaluationResult: one panel per class/model, bands, Agg-safe, no pyplot state."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from lnfusion.evaluation import evaluate_predictions
from lnfusion.exceptions import DataError
from lnfusion.plotting import plot_calibration, plot_confusion, plot_roc

CLASSES = ("metastatic", "lymphoma", "benign")


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1, 2], 30)
    groups = np.repeat(np.arange(45), 2).astype(str)
    logits = 1.5 * np.eye(3)[y] + rng.normal(0, 1, (90, 3))
    fused = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    branch = rng.dirichlet(np.ones(3), 90)
    branch[:10] = np.nan  # a branch that missed ten nodes
    return evaluate_predictions(y, {"fused": fused, "bmode": branch}, CLASSES, groups, n_boot=40)


def test_roc_one_panel_per_class_with_bands(result):
    fig = plot_roc(result)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == [f"{c} vs rest" for c in CLASSES]
    for ax in fig.axes:
        assert len(ax.get_lines()) == 1 + 2  # chance line + one curve per model
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2  # CI bands
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[0].startswith("fused: ") and "(" in labels[0]
        assert ax.get_xlabel() == "1 − specificity" and ax.get_ylabel() == "sensitivity"
    no_band = plot_roc(result, models="fused", band=False)
    assert all(len(ax.collections) == 0 and len(ax.get_lines()) == 2 for ax in no_band.axes)


def test_calibration_top_label_then_each_class(result):
    fig = plot_calibration(result)
    assert [ax.get_title() for ax in fig.axes] == ["top label"] + [f"{c} vs rest" for c in CLASSES]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(text.startswith("fused (ECE ") for text in legend)
    for ax in fig.axes:
        x, y = ax.get_lines()[1].get_data()
        assert np.all((np.asarray(x) >= 0) & (np.asarray(x) <= 1))
        assert np.all((np.asarray(y) >= 0) & (np.asarray(y) <= 1))


def test_confusion_one_panel_per_model_with_counts(result):
    fig = plot_confusion(result)
    assert [ax.get_title() for ax in fig.axes] == ["fused", "bmode"]
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    counts = result.confusion_matrix("fused").to_numpy()
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 9 and texts[0].split("\n")[0] == str(counts[0, 0])
    bmode_total = sum(int(t.get_text().split("\n")[0]) for t in fig.axes[1].texts)
    assert bmode_total == 80  # ten nodes unseen by the branch


def test_figures_render_to_png_without_pyplot(result, tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for i, fig in enumerate((result.plot_roc(), result.plot_calibration(), result.plot_confusion())):
        path = tmp_path / f"fig{i}.png"
        fig.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before  # nothing registered with pyplot
    assert matplotlib.get_backend().lower() == "agg"


def test_unknown_model_is_named(result):
    with pytest.raises(DataError, match="'cdfi'"):
        plot_roc(result, models=["cdfi"])
