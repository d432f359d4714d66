"""Patient-grouped splits: no patient on two sides, every node exactly once (property-based)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lnfusion.data import PatientStratifiedKFold, leave_one_site_out, split_patients
from lnfusion.exceptions import DataError


@st.composite
def cohorts(draw, min_patients=3):
    """(y, groups, sites): patients with 1-3 nodes each, one class and one site per patient."""
    n_patients = draw(st.integers(min_patients, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_classes = draw(st.integers(2, 3))
    y_p = rng.integers(0, n_classes, n_patients)
    site_p = rng.integers(0, draw(st.integers(2, 4)), n_patients)
    nodes = rng.integers(1, 4, n_patients)
    ids = np.array([f"P{i}" for i in range(n_patients)], dtype=object)
    order = rng.permutation(int(nodes.sum()))  # nodes of one patient need not be adjacent
    y = np.repeat(y_p, nodes)[order]
    groups = np.repeat(ids, nodes)[order]
    sites = np.repeat(np.array([f"S{s}" for s in site_p], dtype=object), nodes)[order]
    return y, groups, sites


def _patients(groups, idx):
    return set(groups[idx])


def _assert_partition(n, parts):
    together = np.concatenate(parts)
    assert len(together) == n and set(together.tolist()) == set(range(n))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cohorts(), st.sampled_from([0.2, 0.3, 0.5]), st.sampled_from([0.0, 0.2]), st.integers(0, 5))
def test_split_patients_never_shares_a_patient(data, test_size, val_size, seed):
    y, groups, _ = data
    try:
        split = split_patients(y, groups, test_size=test_size, val_size=val_size, random_state=seed)
    except DataError as exc:  # only when a class is too small for the requested parts
        n_parts = 1 + (test_size > 0) + (val_size > 0)
        per_class = {c: len(set(groups[y == c])) for c in np.unique(y)}
        assert min(per_class.values()) < n_parts, str(exc)
        return
    _assert_partition(len(y), list(split))
    train, val, test = (_patients(groups, p) for p in split)
    assert not (train & val) and not (train & test) and not (val & test)
    for part in (split.train, split.test) + ((split.val,) if val_size else ()):
        assert set(y[part]) == set(y)  # every class in every part
    assert len(split.val) == 0 if val_size == 0 else len(split.val) > 0


@SETTINGS
@given(cohorts(min_patients=6), st.integers(2, 4), st.booleans())
def test_kfold_never_shares_a_patient(data, k, shuffle):
    y, groups, _ = data
    cv = PatientStratifiedKFold(n_splits=k, shuffle=shuffle, random_state=0 if shuffle else None)
    try:
        folds = list(cv.split(None, y, groups))
    except DataError:
        assert min(len(set(groups[y == c])) for c in np.unique(y)) < k
        return
    assert len(folds) == cv.get_n_splits() == k
    _assert_partition(len(y), [test for _, test in folds])
    for train, test in folds:
        _assert_partition(len(y), [train, test])
        assert not (_patients(groups, train) & _patients(groups, test))


@SETTINGS
@given(cohorts())
def test_leave_one_site_out_never_shares_a_patient(data):
    y, groups, sites = data
    if len(set(sites)) < 2:
        with pytest.raises(DataError, match="at least two sites"):
            list(leave_one_site_out(sites))
        return
    splits = list(leave_one_site_out(sites, groups))
    assert [s for s, _, _ in splits] == sorted(set(sites))
    _assert_partition(len(y), [test for _, _, test in splits])
    for site, train, test in splits:
        _assert_partition(len(y), [train, test])
        assert set(sites[test]) == {site}
        assert not (_patients(groups, train) & _patients(groups, test))


def test_split_patients_is_reproducible_and_stratified():
    groups = np.repeat([f"P{i}" for i in range(40)], 2)
    y = np.repeat(np.arange(40) % 2, 2)
    a = split_patients(y, groups, test_size=0.25, val_size=0.25, random_state=1)
    b = split_patients(y, groups, test_size=0.25, val_size=0.25, random_state=1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert len(set(groups[a.test])) == 10 and len(set(groups[a.val])) == 10
    assert np.bincount(y[a.test]).tolist() == [10, 10]


def test_split_errors_are_clear():
    y = np.array([0, 0, 1, 1, 1])
    groups = np.array(["a", "a", "b", "c", "d"])
    with pytest.raises(DataError, match=r"class 0 has 1 patient\(s\)"):
        split_patients(y, groups, test_size=0.2)
    with pytest.raises(DataError, match="groups"):
        split_patients(y, None)
    with pytest.raises(DataError, match="test_size"):
        split_patients(y, groups, test_size=1.5)
    with pytest.raises(DataError, match="fewer patients than folds"):
        list(PatientStratifiedKFold(3).split(None, y, groups))
    with pytest.raises(DataError, match="several sites"):
        list(leave_one_site_out(["A", "B", "A", "A", "A"], groups))


def test_kfold_works_as_sklearn_cv_and_with_a_cohort(cohort_dir):
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import cross_val_score

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 2)
    y = np.repeat(np.arange(30) % 3, 2)
    scores = cross_val_score(DummyClassifier(), rng.normal(size=(60, 2)), y, groups=groups,
                             cv=PatientStratifiedKFold(3, random_state=0))
    assert len(scores) == 3

    from lnfusion.data import Cohort

    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv")  # metastatic: one patient
    with pytest.raises(DataError, match=r"\{0: 1\} have fewer patients than folds"):
        list(PatientStratifiedKFold(n_splits=2).split(cohort))
    by_site = list(leave_one_site_out(cohort))
    assert [(s, len(test)) for s, _, test in by_site] == [("A", 3), ("B", 3)]
