"""ShapExplanation: the one SHAP record (layout checks, tables, shap export, free plot functions)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.explain.explanation import ShapExplanation, ShapShapeError


def _record(**kw):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 3, 2))
    args = dict(values=values, base_values=np.array([0.5, -0.5]), feature_names=("a", "b", "c"),
                output_names=("yes", "no"))
    args.update(kw)
    return ShapExplanation(**args)


def test_layout_is_checked():
    with pytest.raises(ShapShapeError, match="base_values"):
        _record(base_values=np.zeros(3))
    with pytest.raises(ShapShapeError, match="feature names"):
        _record(feature_names=("a", "b"))
    with pytest.raises(ShapShapeError, match="data"):
        _record(data=pd.DataFrame(np.zeros((4, 2))))
    with pytest.raises(ShapShapeError, match="values must be"):
        _record(values=np.zeros((4, 3)))


def test_tables_follow_the_axes_and_local_accuracy_holds():
    rec = _record(instance_names=("n1", "n2", "n3", "n4"), axes=("node", "branch", "class"))
    np.testing.assert_allclose(rec.output_values(), rec.base_values + rec.values.sum(axis=1))
    assert list(rec.to_frame().columns) == ["node", "branch", "class", "shap"]
    assert rec.mean_abs().index.name == "branch" and rec.instance_frame(0).index.name == "branch"
    top = rec.contributions(1, "no")
    assert np.all(np.diff(np.abs(top["shap"].to_numpy())) <= 0) and top["value"].isna().all()
    assert rec.ranking()[0] == rec.mean_abs().index[0]


def test_components_follow_subset_and_shap_export():
    fine = _record(values=np.ones((4, 5, 2)), feature_names=tuple("vwxyz"),
                   groups=("a", "a", "b", "c", "c"))
    rec = _record(components=fine, data=pd.DataFrame(np.ones((4, 3)), columns=list("abc")))
    sub = rec.subset([2, 0])
    assert sub.instance_names == (2, 0) and sub.components.values.shape == (2, 5, 2)
    shap = pytest.importorskip("shap")
    e = rec.to_shap("no")
    assert isinstance(e, shap.Explanation) and e.values.shape == (4, 3)
    np.testing.assert_allclose(e.base_values, -0.5)


def test_free_plot_functions():
    pytest.importorskip("matplotlib")
    from lnfusion.explain.cards import plot_contributions
    from lnfusion.explain.global_plots import plot_importance

    rec = _record(output="margin", axes=("node", "feature", "class"))
    fig = plot_importance(rec, top=2)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mean |SHAP| (log-odds), stacked by class" and len(ax.get_yticks()) == 2
    fig = plot_contributions(rec, 0, "yes", top=2)
    assert len(fig.axes[0].patches) == 2


def test_two_class_importance_is_reported_once():
    """Two mirrored outputs (a two-class model): importance of the positive class, not twice it."""
    pytest.importorskip("matplotlib")
    from lnfusion.explain.global_plots import plot_importance

    phi = np.random.default_rng(1).normal(size=(6, 3))
    values = np.stack([-phi, phi], axis=2)
    rec = _record(values=values, base_values=np.array([-0.2, 0.2]))
    table = rec.mean_abs()
    assert list(table.columns) == ["yes", "all"]
    np.testing.assert_allclose(table.loc[["a", "b", "c"], "all"], np.abs(phi).mean(axis=0))
    np.testing.assert_allclose(table["all"], table["yes"])
    pos = _record(values=values, base_values=np.array([-0.2, 0.2]), positive_output="no")
    assert list(pos.mean_abs().columns) == ["no", "all"] and pos.reported_outputs == ("no",)
    assert pos.subset([0, 1]).positive_output == "no"
    fig = plot_importance(pos)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mean |SHAP| (log-odds) for class no"
    assert len(ax.patches) == 3                                  # one bar per feature, not two
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no"]
    # more outputs, or two that do not mirror each other: every output, "all" = sum
    assert list(_record().mean_abs().columns) == ["yes", "no", "all"]
    with pytest.raises(ShapShapeError, match="positive_output"):
        _record(positive_output="maybe")
    with pytest.raises(ShapShapeError, match="positive_output"):
        _record(values=np.zeros((4, 3, 3)), base_values=np.zeros(3), output_names=("x", "y", "z"),
                positive_output="x")
