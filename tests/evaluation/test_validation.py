"""Cross-validation and leave-one-site-out runners: no patient leaks, clones per split."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_standins import FusionStandIn, SpyModel, make_cohort

from lnfusion.evaluation import (
    CrossValidationResult,
    SiteValidationResult,
    cross_validate,
    validate_by_site,
)
from lnfusion.exceptions import ConfigError, DataError


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(n_patients=60, seed=2)


@pytest.fixture()
def spy_log():
    SpyModel.log.clear()
    yield SpyModel.log
    SpyModel.log.clear()


def test_cross_validation_never_puts_a_patient_in_train_and_test(cohort, spy_log):
    spy = SpyModel()
    res = cross_validate(spy, cohort, cv=4, random_state=3, n_boot=0)
    assert len(spy_log) == 4
    assert len({id(entry["model"]) for entry in spy_log}) == 4  # a fresh clone per fold
    assert all(entry["model"] is not spy for entry in spy_log)
    assert not hasattr(spy, "classes_")  # the estimator passed in stays unfitted
    tested = set()
    for entry in spy_log:
        assert not (entry["train"] & entry["test"])
        assert entry["train"] | entry["test"] == set(cohort.groups)
        assert not (tested & entry["test"])
        tested |= entry["test"]
    assert tested == set(cohort.groups)
    assert sum(e["n_test"] for e in spy_log) == len(cohort)
    assert isinstance(res, CrossValidationResult) and list(res.folds) == ["1", "2", "3", "4"]


def test_cross_validation_folds_are_class_stratified_by_patient(cohort):
    res = cross_validate(FusionStandIn(), cohort, cv=3, n_boot=0)
    pred = res.predictions[res.predictions["model"] == "model"]
    assert sorted(pred["position"]) == list(range(len(cohort)))  # every node once
    per_fold = pred.groupby("fold")["true"].value_counts().unstack()
    assert (per_fold >= 6).all().all()  # 20 patients per class over 3 folds
    assert pred.groupby("patient")["fold"].nunique().max() == 1


def test_cross_validation_pooled_and_per_fold_metrics(cohort):
    res = cross_validate(FusionStandIn(), cohort, cv=3, n_boot=30)
    s = res.summary
    assert set(s["fold"]) == {"1", "2", "3", "pooled"}
    assert set(s["model"]) == {"model", "bmode", "cdfi", "tabular"}
    pooled = res.pooled.summary.set_index("model")
    assert pooled.loc["model", "n"] == len(cohort)
    assert len(res.pooled.roc_band) > 0  # bootstrap on the pooled predictions
    assert all(len(r.roc_band) == 0 for r in res.folds.values())  # none per fold
    agg = res.aggregate.set_index(["model", "metric"])
    folds = s[s["fold"] != "pooled"].set_index(["model", "fold"])
    assert agg.loc[("model", "accuracy"), "mean"] == pytest.approx(
        folds.loc["model"]["accuracy"].mean())
    # pooled accuracy is the node-weighted mean of the fold accuracies
    weights = folds.loc["model"]["n"]
    assert pooled.loc["model", "accuracy"] == pytest.approx(
        np.average(folds.loc["model"]["accuracy"], weights=weights))


def test_cross_validation_renders_and_round_trips(cohort, tmp_path):
    res = cross_validate(FusionStandIn(), cohort, cv=3, n_boot=20)
    md = res.to_markdown()
    assert md.startswith("# Cross-validation (3 folds)")
    for name in ("bmode", "cdfi", "tabular", "pooled"):
        assert name in md
    page = res.to_html(tmp_path / "cv.html", embed_figures=False)
    assert (tmp_path / "cv.html").read_text(encoding="utf-8") == page
    assert "Across folds" in page and "Pooled: Summary" in page and "data:image" not in page
    path = res.save_json(tmp_path / "cv.json")
    back = CrossValidationResult.load_json(path)
    pd.testing.assert_frame_equal(back.summary, res.summary, check_dtype=False)
    pd.testing.assert_frame_equal(back.predictions, res.predictions, check_dtype=False)


def test_user_splitter_that_leaks_is_refused(cohort):
    class LeakySplit:
        def split(self, X, y, groups):
            n = len(y)
            yield np.arange(0, n - 10), np.arange(n - 12, n)
            yield np.arange(10, n), np.arange(0, 10)

    with pytest.raises(DataError, match="both the training and the test part"):
        cross_validate(SpyModel(), cohort, cv=LeakySplit(), n_boot=0)
    with pytest.raises(ConfigError, match="cv"):
        cross_validate(SpyModel(), cohort, cv="five")


def test_by_site_tests_each_site_once_and_trains_on_the_others(cohort, spy_log):
    res = validate_by_site(SpyModel(), cohort, n_boot=0)
    sites = set(cohort.sites)
    assert len(spy_log) == len(sites) == 3
    held_out = [entry["test_sites"] for entry in spy_log]
    assert all(len(s) == 1 for s in held_out)
    assert set().union(*held_out) == sites
    for entry in spy_log:
        assert entry["train_sites"] == sites - entry["test_sites"]
        assert not (entry["train"] & entry["test"])
    assert isinstance(res, SiteValidationResult) and sorted(res.sites) == sorted(sites)
    for site, r in res.sites.items():
        assert r.summary["n"].iloc[0] == (cohort.sites == site).sum()


def test_by_site_full_report_per_site(cohort):
    res = validate_by_site(FusionStandIn(), cohort, n_boot=20)
    for r in res.sites.values():
        assert r.models == ["model", "bmode", "cdfi", "tabular"]
        assert len(r.roc_band) > 0
    md = res.to_markdown()
    assert "External validation by site (3 sites)" in md
    for site in res.sites:
        assert f"| {site} |" in md


def test_by_site_needs_sites():
    no_site = make_cohort(n_patients=30, sites=())
    with pytest.raises(DataError, match="site"):
        validate_by_site(SpyModel(), no_site, n_boot=0)
