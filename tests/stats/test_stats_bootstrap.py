"""The one stratified patient bootstrap (lnfusion.stats.bootstrap): whole patients, strata as documented."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.exceptions import DataError
from lnfusion.stats.bootstrap import bootstrap_weights, cluster_bootstrap_indices, patient_strata


def _cohort():
    """20 benign-only, 8 benign+lymphoma, 2 benign+metastatic, 5 lymphoma-only patients.

    Metastatic nodes exist only in mixed patients: a stratum that pooled every
    mixed patient would lose the class in about one resample in ten.
    """
    groups, y, pid = [], [], 0
    for make_up, count in ((["benign"], 20), (["benign", "lymphoma"], 8),
                           (["benign", "metastatic"], 2), (["lymphoma"], 5)):
        for _ in range(count):
            groups += [f"p{pid:02d}"] * len(make_up)
            y += make_up
            pid += 1
    return np.asarray(y), np.asarray(groups)


def test_patient_strata_are_the_class_make_up():
    y, groups = _cohort()
    strata = patient_strata(y, groups)
    assert strata.value_counts().to_dict() == {"benign": 20, "benign|lymphoma": 8,
                                               "lymphoma": 5, "benign|metastatic": 2}
    assert patient_strata(["m", "b", "b"], ["x", "x", "y"]).to_dict() == {"x": "b|m", "y": "b"}
    # without patient ids every node is its own patient: the strata are the classes
    assert patient_strata(["m", "b", "b"]).tolist() == ["m", "b", "b"]


def test_resamples_keep_patients_whole_and_make_ups_fixed():
    y, groups = _cohort()
    sizes = pd.Series(groups).value_counts()
    strata = patient_strata(y, groups)
    for idx in cluster_bootstrap_indices(y.size, groups, 300, random_state=3, strata=y):
        drawn = pd.Series(groups[idx]).value_counts()
        assert ((drawn % sizes[drawn.index]) == 0).all()   # every draw brings all of its nodes
        n_draws = drawn // sizes[drawn.index]
        per_stratum = n_draws.groupby(strata[n_draws.index]).sum()
        assert per_stratum.to_dict() == {"benign": 20, "benign|lymphoma": 8,
                                         "benign|metastatic": 2, "lymphoma": 5}
        assert set(y[idx]) == {"benign", "lymphoma", "metastatic"}   # no class ever lost


def test_node_bootstrap_keeps_class_counts_and_weights_match_indices():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    counts = np.bincount(y, minlength=3)
    idx_runs = list(cluster_bootstrap_indices(40, None, 20, random_state=5, strata=y))
    for idx in idx_runs:
        np.testing.assert_array_equal(np.bincount(y[idx], minlength=3), counts)
    for idx, w in zip(idx_runs, bootstrap_weights(40, None, 20, random_state=5, strata=y)):
        np.testing.assert_array_equal(w, np.bincount(idx, minlength=40))
    unstratified = list(cluster_bootstrap_indices(40, None, 50, random_state=5))
    assert any(not np.array_equal(np.bincount(y[i], minlength=3), counts) for i in unstratified)


def test_seeded_and_checked():
    y, groups = _cohort()
    a = list(cluster_bootstrap_indices(y.size, groups, 5, random_state=2, strata=y))
    b = list(cluster_bootstrap_indices(y.size, groups, 5, random_state=2, strata=y))
    c = list(cluster_bootstrap_indices(y.size, groups, 5, random_state=3, strata=y))
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert not all(np.array_equal(x, z) for x, z in zip(a, c))
    with pytest.raises(DataError, match="one patient id per node"):
        next(cluster_bootstrap_indices(y.size, groups[:-1], 1))
    with pytest.raises(DataError, match="one class per node"):
        next(cluster_bootstrap_indices(y.size, groups, 1, strata=y[:-1]))
