"""Cohort accessors, copies, subsets and summaries."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import Cohort, CohortSummary
from lnfusion.exceptions import DataError, SchemaError


@pytest.fixture
def cohort(cohort_dir):
    return Cohort.from_manifest(cohort_dir / "manifest.csv")  # schema.json found beside it


def test_accessors_follow_the_contract(cohort, cohort_dir):
    assert len(cohort) == 6 and cohort.n_patients == 5
    assert cohort.classes == ("metastatic", "lymphoma", "benign")
    np.testing.assert_array_equal(cohort.y, [0, 0, 1, 2, 2, 1])
    assert cohort.y.dtype == np.int64
    assert list(cohort.groups) == ["P1", "P1", "P2", "P3", "P4", "P5"]
    assert list(cohort.sites) == ["A", "A", "B", "B", "A", "B"]
    assert list(cohort.labels) == ["metastatic", "metastatic", "lymphoma", "benign", "benign", "lymphoma"]
    assert cohort.modalities == ("bmode", "cdfi", "elasto")
    assert cohort.root == cohort_dir


def test_descriptor_types(cohort):
    desc = cohort.descriptors
    assert list(desc.columns) == ["age", "shape", "elasto_score"]
    assert desc["age"].dtype == np.float64 and np.isnan(desc["age"].iloc[3])
    assert desc["age"].iloc[4] == 30.5
    shape = desc["shape"]
    assert isinstance(shape.dtype, pd.CategoricalDtype) and not shape.cat.ordered
    assert list(shape.cat.categories) == ["oval", "round", "irregular"]
    assert pd.isna(shape.iloc[4])
    score = desc["elasto_score"]
    assert score.cat.ordered and list(score.cat.categories) == [1, 2, 3, 4, 5]
    assert score.iloc[0] > score.iloc[2]  # ordered comparison works


def test_images_and_rois(cohort, cohort_dir):
    images = cohort.images("bmode")
    assert images[0] == [os.path.join(cohort_dir, "img", "b0.png"), os.path.join(cohort_dir, "img", "b0b.png")]
    assert all(os.path.isabs(p) for paths in images for p in paths)
    assert cohort.images("cdfi")[1] == []
    rois = cohort.rois("bmode")
    assert rois[0] == [(2, 2, 40, 30), None] and rois[2] == [(0, 0, 48, 32)] and rois[1] == [None]
    assert cohort.rois("cdfi")[1] == []
    with pytest.raises(SchemaError, match="modality 'pet' is not in this cohort"):
        cohort.images("pet")


def test_accessors_return_copies(cohort):
    cohort.y[0] = 2
    cohort.groups[0] = "X"
    cohort.images("bmode")[0].append("extra.png")
    table, desc = cohort.table, cohort.descriptors
    table.loc[0, "label"] = "benign"
    desc.loc[0, "age"] = -1
    assert cohort.y[0] == 0 and cohort.groups[0] == "P1"
    assert len(cohort.images("bmode")[0]) == 2
    assert cohort.table.loc[0, "label"] == "metastatic" and cohort.descriptors.loc[0, "age"] == 61


def test_dataframe_input_is_never_modified(cohort_dir, manifest_df, schema):
    df = manifest_df.copy()
    df["age"] = pd.to_numeric(df["age"].replace("", np.nan))
    df.loc[2, "shape"] = np.nan
    df.index = [10, 11, 12, 13, 14, 15]
    before = df.copy(deep=True)
    cohort = Cohort.from_manifest(df, schema, root=cohort_dir)
    pd.testing.assert_frame_equal(df, before)
    assert list(cohort.table.index) == list(range(6))
    assert pd.isna(cohort.descriptors["shape"].iloc[2])


def test_subset_keeps_order_and_metadata(cohort):
    sub = cohort.subset([4, 0, 2])
    assert list(sub.groups) == ["P4", "P1", "P2"]
    np.testing.assert_array_equal(sub.y, [2, 0, 1])
    assert sub.images("bmode")[1] == cohort.images("bmode")[0]
    assert sub.rois("bmode")[1] == cohort.rois("bmode")[0]
    assert list(sub.sites) == ["A", "A", "B"]
    assert list(sub.descriptors["age"]) == [30.5, 61.0, 45.0]
    assert list(sub.table.index) == [0, 1, 2]
    mask = np.array([True, False, False, False, False, True])
    assert list(cohort.subset(mask).groups) == ["P1", "P5"]
    assert len(cohort.subset([])) == 0
    with pytest.raises(DataError, match="must lie in"):
        cohort.subset([6])
    with pytest.raises(DataError, match="mask has shape"):
        cohort.subset(np.array([True, False]))


def test_summary(cohort):
    summary = cohort.summary()
    assert isinstance(summary, CohortSummary)
    d = summary.to_dict()
    assert d["n_patients"] == 5 and d["n_nodes"] == 6
    assert d["nodes_per_class"] == {"metastatic": 2, "lymphoma": 2, "benign": 2}
    assert d["patients_per_class"] == {"metastatic": 1, "lymphoma": 2, "benign": 2}
    assert d["images_per_modality"] == {"bmode": 7, "cdfi": 5, "elasto": 5}
    assert d["nodes_per_site_class"] == {"A": {"metastatic": 2, "lymphoma": 0, "benign": 1},
                                         "B": {"metastatic": 0, "lymphoma": 2, "benign": 1}}
    assert d["missing_descriptors"] == {"age": 1, "shape": 1, "elasto_score": 1}
    text = summary.to_text()
    for needle in ("patients: 5", "nodes: 6", "sites: 2", "Images per modality", "nodes missing",
                   "Class balance per site"):
        assert needle in text
    assert "n_patients=5" in repr(cohort)


def test_parquet_and_no_site(cohort_dir, manifest_df, schema):
    path = cohort_dir / "manifest.parquet"
    manifest_df.drop(columns=["site"]).to_parquet(path)
    cohort = Cohort.from_manifest(path, schema)
    assert cohort.sites is None and cohort.summary().nodes_per_site_class is None
    assert "Class balance per site" not in cohort.summary().to_text()


def test_constructor_is_not_public():
    with pytest.raises(TypeError, match="from_manifest"):
        Cohort()


def test_cohort_works_as_sklearn_X(cohort):
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.model_selection import cross_val_predict

    from lnfusion.data import PatientStratifiedKFold

    class NodeCount(ClassifierMixin, BaseEstimator):
        """Predicts from the number of B-mode images (a toy estimator taking a Cohort)."""

        def fit(self, X, y=None):
            self.classes_ = np.arange(len(X.classes))
            self.n_fit_ = len(X)
            return self

        def predict(self, X):
            assert isinstance(X, Cohort)
            return np.array([len(p) % 3 for p in X.images("bmode")])

    doubled = cohort[np.r_[0:6, 0:6]]
    assert len(doubled) == 12 and doubled.shape == (12,)
    assert list(cohort[1:3].groups) == ["P1", "P2"]
    with pytest.raises(DataError, match="scalar"):
        cohort[0]
    groups = np.array([f"Q{i}" for i in range(6)] * 2)
    y = np.tile(cohort.y, 2)
    pred = cross_val_predict(NodeCount(), doubled, y, groups=groups,
                             cv=PatientStratifiedKFold(n_splits=2, random_state=0))
    assert pred.shape == (12,) and set(pred) <= {0, 1, 2}
