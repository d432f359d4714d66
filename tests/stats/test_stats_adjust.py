"""Properties of p-value adjustment (R equality is in test_stats_golden.py)."""
from __future__ import annotations

import numpy as np
import pytest

from lnfusion.exceptions import StatsError
from lnfusion.stats import ADJUST_METHODS, adjust_pvalues, p_adjust

RNG = np.random.default_rng(7)
P = np.concatenate([RNG.uniform(0, 0.05, 8), RNG.uniform(0, 1, 17)])


@pytest.mark.parametrize("method", ADJUST_METHODS)
def test_adjusted_at_least_raw_and_at_most_one(method):
    adj = adjust_pvalues(P, method)
    assert adj.shape == P.shape
    assert np.all(adj >= P - 1e-15)
    assert np.all(adj <= 1)


@pytest.mark.parametrize("method", ["holm", "hochberg", "hommel", "bh", "by", "bonferroni"])
def test_order_preserved(method):
    adj = adjust_pvalues(P, method)
    order = np.argsort(P)
    assert np.all(np.diff(adj[order]) >= -1e-15)


def test_ordering_between_methods():
    # Bonferroni >= Holm >= Hochberg >= Hommel and BY >= BH (known dominance relations)
    b, h, hb, hm = (adjust_pvalues(P, m) for m in ("bonferroni", "holm", "hochberg", "hommel"))
    assert np.all(b >= h - 1e-15) and np.all(h >= hb - 1e-15) and np.all(hb >= hm - 1e-15)
    assert np.all(adjust_pvalues(P, "by") >= adjust_pvalues(P, "bh") - 1e-15)


def test_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    for ours, theirs in [("holm", "holm"), ("bh", "fdr_bh"), ("by", "fdr_by"),
                         ("bonferroni", "bonferroni"), ("hochberg", "simes-hochberg"),
                         ("hommel", "hommel")]:
        np.testing.assert_allclose(adjust_pvalues(P, ours), multipletests(P, method=theirs)[1],
                                   rtol=1e-12)


def test_nan_kept_in_place_and_not_counted():
    p = np.array([0.01, np.nan, 0.04])
    adj = adjust_pvalues(p, "bonferroni")
    assert np.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2]], [0.02, 0.08])


def test_aliases_and_single_value():
    np.testing.assert_array_equal(adjust_pvalues(P, "fdr_bh"), adjust_pvalues(P, "BH"))
    np.testing.assert_array_equal(p_adjust(P, "fdr"), adjust_pvalues(P, "bh"))
    assert adjust_pvalues([0.03], "holm").tolist() == [0.03]
    np.testing.assert_array_equal(adjust_pvalues(P, None), P)


def test_input_not_modified_and_shape_kept():
    p = P.reshape(5, 5).copy()
    before = p.copy()
    out = adjust_pvalues(p, "holm")
    assert out.shape == (5, 5)
    np.testing.assert_array_equal(p, before)


def test_errors():
    with pytest.raises(StatsError, match="unknown p-value adjustment"):
        adjust_pvalues(P, "sidak-ish")
    with pytest.raises(StatsError, match=r"\[0, 1\]"):
        adjust_pvalues([0.2, 1.5], "holm")
