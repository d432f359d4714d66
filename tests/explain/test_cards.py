"""Explanation cards (PNG, self-contained HTML) and the global plots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("torch")
pytest.importorskip("shap")

from lnfusion.exceptions import NotAvailableError  # noqa: E402
from lnfusion.explain import (  # noqa: E402
    explain,
    plot_descriptor_importance,
    plot_modality_importance,
)
from lnfusion.explain.cards import card_filename  # noqa: E402


@pytest.fixture(scope="module")
def bundle(explain_toy):
    cohort, model = explain_toy
    # P004 (row 5) has no elastography image; P005 has two nodes
    return explain(model, cohort, patients=["P004", "P005"], image_method="gradcam")


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_card_panels(bundle):
    row = bundle.row("P004")
    before = plt.get_fignums()
    fig = bundle.card(row)
    assert plt.get_fignums() == before  # built without pyplot: nothing left open
    titles = _titles(fig)
    # images row + Grad-CAM row (2 modalities each), then three summary panels
    assert len(fig.axes) == 2 * 2 + 3
    assert any(t.startswith("bmode Grad-CAM towards") for t in titles)
    assert not any(t.startswith("elasto Grad-CAM") for t in titles)  # the node has no elasto image
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no elasto\nimage" in texts
    assert any(t.startswith("Modality contributions to") for t in titles)
    assert any(t.startswith("Top descriptors") for t in titles)
    assert "Fused probabilities" in titles
    true = bundle.y_true[row]
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert f"{true} (true)" in ticks
    assert fig._suptitle.get_text().startswith("P004/N1: predicted")
    # the modality bars are the node's SHAP values for the predicted class
    pred = list(bundle.classes).index(bundle.predicted[row])
    bars = [p.get_width() for p in fig.axes[4].patches]
    np.testing.assert_allclose(bars, bundle.modality.values[row, :, pred])


def test_card_html_is_self_contained(bundle):
    page = bundle.card_html("P005/N1")
    assert page.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in page
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # no external resource
    assert "Fused probabilities" in page and "Modality contributions" in page
    assert "Top descriptor contributions" in page
    assert f"true label <b>{bundle.y_true[bundle.row('P005/N1')]}</b>" in page


def test_write_cards_default_selection(bundle, tmp_path):
    files = bundle.write_cards(tmp_path / "cards")
    assert sorted(f.name for f in files) == ["P004_N1.html", "P004_N1.png", "P005_N1.html",
                                            "P005_N1.png", "P005_N2.html", "P005_N2.png"]
    for f in files:
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    only_png = bundle.write_cards(tmp_path / "png", nodes=["P000/N1"], html_pages=False)
    assert [f.name for f in only_png] == ["P000_N1.png"]


def test_card_filename_is_safe():
    assert card_filename("P001/2") == "P001_2"
    assert card_filename("../x y") == "_x_y"


def test_global_plots_order_by_importance(bundle):
    def top_to_bottom(ax):
        labels = [(t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()]
        return [text for _, text in sorted(labels, reverse=True)]

    fig = plot_modality_importance(bundle)
    # top of the chart = most important = first row of the table
    assert top_to_bottom(fig.axes[0]) == list(bundle.modality_importance().index)
    fig = plot_descriptor_importance(bundle.tabular, top=2)
    assert top_to_bottom(fig.axes[0]) == list(bundle.descriptor_importance().index[:2])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == list(bundle.classes)


def test_descriptor_plot_without_clinical_branch(bundle):
    from dataclasses import replace

    with pytest.raises(NotAvailableError, match="clinical branch"):
        plot_descriptor_importance(replace(bundle, tabular=None))
    fig = replace(bundle, tabular=None).card(0)
    assert "no XGBoost clinical branch" in [t.get_text() for ax in fig.axes for t in ax.texts]


def test_missing_modality_is_named_on_the_card(bundle):
    row = bundle.row("P004")  # no elastography image
    fig = bundle.card(row)
    ticks = [t.get_text() for t in fig.axes[4].get_yticklabels()]
    assert ticks == ["bmode", "elasto (missing)", "tabular"]
    assert "Missing for this node: elasto" in bundle.card_html(row)
    assert "Missing for this node" not in bundle.card_html("P005/N1")
