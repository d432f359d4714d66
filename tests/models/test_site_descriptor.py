"""The site column may also be a model input when the schema declares it a categorical descriptor."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fusion"))
from fusion_standins import make_manifest  # noqa: E402

from lnfusion.data import Cohort, CohortSchema, Descriptor, leave_one_site_out  # noqa: E402
from lnfusion.exceptions import SchemaError  # noqa: E402
from lnfusion.models import TabularClassifier  # noqa: E402

SITE = Descriptor("categorical", levels=("A", "B"), description="hospital")


def _cohort(site_descriptor: Descriptor = SITE) -> Cohort:
    df, schema = make_manifest(40, seed=2)
    schema = CohortSchema.from_dict({**schema.to_dict(), "descriptors": {
        **{k: v.to_dict() for k, v in schema.descriptors.items()}, "site": site_descriptor.to_dict()}})
    return Cohort.from_manifest(df, schema, check_images=False)


def test_site_declared_as_descriptor_is_both_a_site_and_a_model_input():
    cohort = _cohort()
    assert cohort.schema.site == "site" and "site" in cohort.schema.descriptors
    assert list(cohort.descriptors.columns) == ["age", "shape", "elasto_score", "site"]
    assert isinstance(cohort.descriptors["site"].dtype, pd.CategoricalDtype)
    assert list(cohort.descriptors["site"].cat.categories) == ["A", "B"]
    assert set(cohort.sites) == {"A", "B"}  # still the site role (text)
    np.testing.assert_array_equal(cohort.descriptors["site"].astype(str).to_numpy(),
                                  cohort.sites.astype(str))
    again = CohortSchema.from_json(cohort.schema.save(Path(__import__("tempfile").mkdtemp()) / "s.json"))
    assert again == cohort.schema


def test_site_descriptor_must_be_categorical():
    with pytest.raises(SchemaError, match="site column and is declared as a continuous descriptor"):
        CohortSchema(descriptors={"site": Descriptor("continuous")})
    with pytest.raises(SchemaError, match="used both as patient and as descriptor"):
        CohortSchema(site="patient_id", descriptors={"patient_id": Descriptor("categorical",
                                                                              levels=("x",))})


def test_a_site_without_the_declaration_is_no_model_input():
    df, schema = make_manifest(40, seed=2)
    cohort = Cohort.from_manifest(df, schema, check_images=False)
    assert "site" not in cohort.descriptors.columns


@pytest.mark.parametrize("estimator", ["logistic", "xgboost"])
def test_site_held_out_validation_meets_an_unseen_level_without_error(estimator):
    """Leave-one-site-out: the test site is a declared level never seen in training."""
    if estimator == "xgboost":
        pytest.importorskip("xgboost")
    cohort = _cohort()
    for _site, train, test in leave_one_site_out(cohort):
        clf = TabularClassifier(estimator, xgb_params={"n_estimators": 20}, n_threads=1)
        clf.fit(cohort.subset(train))
        proba = clf.predict_proba(cohort.subset(test))
        assert proba.shape == (len(test), 3) and np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert "site" in clf.feature_names_in_
