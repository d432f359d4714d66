"""Population-level properties of the default-size cohort (tables only, no images)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from lnfusion.datasets import simulate_population


@pytest.fixture(scope="module")
def default_population():
    return simulate_population(586, seed=0)


@pytest.mark.parametrize("column", ["location", "shape", "margin", "cdfi_pattern"])
def test_descriptors_associate_with_class_as_in_the_study(default_population, column):
    d = default_population.descriptors
    table = pd.crosstab(d["label"], d[column])
    stat, pval, dof, _ = chi2_contingency(table)
    assert pval < 0.05


def test_side_is_not_informative_by_design(default_population):
    d = default_population.descriptors
    share_left = pd.crosstab(d["label"], d["side"], normalize="index")["left"]
    assert share_left.between(0.35, 0.65).all()


def test_size_and_elasto_score_order(default_population):
    d = default_population.descriptors
    score = d["elasto_score"].astype(float).groupby(d["label"]).mean()
    assert score["metastatic"] > score["lymphoma"] > score["benign"]
    short = d["short_axis_mm"].groupby(d["label"]).median()
    assert short["lymphoma"] > short["benign"]


def test_sites_have_their_own_class_mix(default_population):
    d = default_population.descriptors.drop_duplicates("patient_id")
    table = pd.crosstab(d["site"], d["label"])
    assert chi2_contingency(table)[1] < 1e-3
    assert len(default_population.nodes) > 586


def test_missing_rate_is_exact(default_population):
    nodes = default_population.nodes
    share = ((nodes["n_cdfi"] == 0) | (nodes["n_elasto"] == 0)).mean()
    assert share == pytest.approx(0.10, abs=0.001)


def test_same_seed_same_tables():
    a = simulate_population(40, seed=9)
    b = simulate_population(40, seed=9)
    pd.testing.assert_frame_equal(a.descriptors, b.descriptors)
    c = simulate_population(40, seed=10)
    assert not a.descriptors.equals(c.descriptors)
    assert np.array_equal(a.nodes["elasto_score"], b.nodes["elasto_score"])
