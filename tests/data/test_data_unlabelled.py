"""Unlabelled cohorts: manifests of new patients read without a label column."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lnfusion.data import (
    Cohort,
    PatientStratifiedKFold,
    UnlabelledError,
    leave_one_site_out,
    split_patients,
    validate_manifest,
)
from lnfusion.exceptions import (
    ConfigError,
    DataError,
    DuplicateIdError,
    LnfusionError,
    MissingImageError,
    SchemaError,
)


@pytest.fixture
def new_patients(cohort_dir, manifest_df):
    """The fixture manifest without its label column, written beside schema.json."""
    path = cohort_dir / "new_patients.csv"
    manifest_df.drop(columns=["label"]).to_csv(path, index=False)
    return path


@pytest.fixture
def unlabelled(new_patients):
    return Cohort.from_manifest(new_patients)


def test_auto_detects_a_missing_label_column(unlabelled, new_patients):
    assert not unlabelled.is_labelled
    assert len(unlabelled) == 6 and unlabelled.shape == (6,) and unlabelled.n_patients == 5
    assert list(unlabelled.groups) == ["P1", "P1", "P2", "P3", "P4", "P5"]
    assert list(unlabelled.sites) == ["A", "A", "B", "B", "A", "B"]
    assert unlabelled.classes == ("metastatic", "lymphoma", "benign")  # from the schema
    assert unlabelled.labels is None
    assert "label" not in unlabelled.table.columns
    assert unlabelled.descriptors["age"].iloc[4] == 30.5
    assert "labelled=False" in repr(unlabelled)
    report = validate_manifest(new_patients)
    assert report.ok and report.labelled is False and not report.cohort.is_labelled
    assert any("'label' is absent" in n and "unlabelled" in n for n in report.notes)


def test_auto_keeps_labelled_manifests_labelled(cohort_dir):
    report = validate_manifest(cohort_dir / "manifest.csv")
    assert report.ok and report.labelled is True
    cohort = report.cohort
    assert cohort.is_labelled and "labelled" not in repr(cohort)
    np.testing.assert_array_equal(cohort.y, [0, 0, 1, 2, 2, 1])
    assert not any("unlabelled" in n for n in report.notes)


def test_auto_treats_an_all_empty_label_column_as_unlabelled(cohort_dir, manifest_df, schema):
    manifest_df["label"] = ""
    report = validate_manifest(manifest_df, schema, root=cohort_dir)
    assert report.ok and report.labelled is False
    assert any("'label' is empty on every row" in n for n in report.notes)
    # ... but a partly empty one is still an error to fix
    manifest_df.loc[0, "label"] = "metastatic"
    partly = validate_manifest(manifest_df, schema, root=cohort_dir)
    assert not partly.ok and partly.labelled is True
    assert "empty label" in str(partly.errors[0])


def test_y_raises_a_clear_error_naming_the_manifest(unlabelled, new_patients):
    with pytest.raises(UnlabelledError) as info:
        _ = unlabelled.y
    msg = str(info.value)
    assert str(new_patients) in msg and "no labels" in msg and "cohort.y" in msg
    assert "'label'" in msg and "labelled=False" in msg
    assert isinstance(info.value, DataError) and isinstance(info.value, LnfusionError)


def test_forced_unlabelled_ignores_the_label_column_and_its_checks(cohort_dir, manifest_df, schema):
    # an unknown label, conflicting labels for P1 and empty classes would all be errors with labels
    manifest_df["label"] = ["metastatic", "benign", "lymphom", "", "metastatic", "metastatic"]
    assert len(validate_manifest(manifest_df, schema, root=cohort_dir).errors) >= 3
    cohort = Cohort.from_manifest(manifest_df, schema, root=cohort_dir, labelled=False,
                                  source="new.csv")
    assert not cohort.is_labelled
    assert cohort.table["label"].tolist() == manifest_df["label"].tolist()  # kept as it is
    with pytest.raises(UnlabelledError, match="new.csv"):
        _ = cohort.y
    report = validate_manifest(manifest_df, schema, root=cohort_dir, labelled=False)
    assert report.ok and any("labelled=False" in n and "not checked" in n for n in report.notes)


def test_forced_labelled_requires_the_label_column(new_patients):
    with pytest.raises(SchemaError, match=r"column 'label' declared in the schema is missing"):
        Cohort.from_manifest(new_patients, labelled=True)
    with pytest.raises(ConfigError, match="labelled must be True, False or None"):
        validate_manifest(new_patients, labelled="no")


def test_other_checks_still_run_without_labels(cohort_dir, manifest_df, schema):
    df = manifest_df.drop(columns=["label"])
    df.loc[1, "node_id"] = "n1"             # duplicate (P1, n1)
    df.loc[3, "bmode"] = "img/nowhere.png"  # missing image
    report = validate_manifest(df, schema, root=cohort_dir)
    assert [type(e) for e in report.errors] == [DuplicateIdError, MissingImageError]
    assert report.cohort is None and report.labelled is False


def test_subset_and_modality_mask(unlabelled):
    mask = unlabelled.modality_mask()
    assert mask.sum().to_dict() == {"bmode": 6, "cdfi": 5, "elasto": 5}
    assert not mask.loc[1, "cdfi"] and not mask.loc[4, "elasto"]
    sub = unlabelled.subset([5, 0])
    assert not sub.is_labelled and list(sub.groups) == ["P5", "P1"] and sub.labels is None
    assert [len(p) for p in sub.images("bmode")] == [1, 2]
    assert sub.rois("bmode")[1] == [(2, 2, 40, 30), None]
    assert len(unlabelled[np.array([True, False, True, False, False, False])]) == 2
    with pytest.raises(UnlabelledError):
        _ = sub.y


def test_summary_counts_without_classes(unlabelled):
    summary = unlabelled.summary()
    d = summary.to_dict()
    assert d["labelled"] is False
    assert d["n_patients"] == 5 and d["n_nodes"] == 6
    assert d["nodes_per_class"] is None and d["patients_per_class"] is None
    assert d["nodes_per_site_class"] is None and d["nodes_per_site"] == {"A": 3, "B": 3}
    assert d["images_per_modality"] == {"bmode": 7, "cdfi": 5, "elasto": 5}
    assert d["nodes_missing_modality"] == {"bmode": 0, "cdfi": 1, "elasto": 1}
    assert d["missing_descriptors"] == {"age": 1, "shape": 1, "elasto_score": 1}
    json.dumps(d)  # JSON-compatible
    text = summary.to_text()
    assert "(unlabelled)" in text.splitlines()[0]
    for needle in ("patients: 5", "nodes: 6", "sites: 2", "Classes: unlabelled", "Nodes per site",
                   "nodes missing"):
        assert needle in text
    assert "Class balance per site" not in text


def test_labelled_summary_gains_site_totals(cohort_dir):
    d = Cohort.from_manifest(cohort_dir / "manifest.csv").summary().to_dict()
    assert d["labelled"] is True and d["nodes_per_site"] == {"A": 3, "B": 3}
    assert d["nodes_per_class"] == {"metastatic": 2, "lymphoma": 2, "benign": 2}


def test_label_only_helpers_refuse_an_unlabelled_cohort(unlabelled):
    with pytest.raises(UnlabelledError, match="splits need a labelled manifest"):
        split_patients(unlabelled.y, unlabelled.groups)
    with pytest.raises(UnlabelledError, match="no labels"):
        next(PatientStratifiedKFold(n_splits=2).split(unlabelled))
    # a site split needs no label
    folds = list(leave_one_site_out(unlabelled))
    assert [site for site, _, _ in folds] == ["A", "B"]


def test_image_dataset_yields_minus_one_labels(unlabelled):
    torch = pytest.importorskip("torch")
    from lnfusion.data.dataset import ImageDataset

    ds = ImageDataset(unlabelled, "cdfi",
                      lambda img, roi=None, rng=None: torch.zeros(1, 2, 2))
    assert len(ds) == 5
    _, label, node = ds[0]
    assert label == -1 and node == 0
    with pytest.raises(UnlabelledError):
        _ = ds.labels


def test_cli_validate_unlabelled(cohort_dir, new_patients, manifest_df):
    from lnfusion.cli import main

    runner = CliRunner()
    auto = runner.invoke(main, ["validate", str(new_patients)])
    assert auto.exit_code == 0, auto.output
    assert "(unlabelled)" in auto.output and "patients: 5" in auto.output
    assert "nodes: 6" in auto.output and "Nodes per site" in auto.output
    as_json = runner.invoke(main, ["validate", str(new_patients), "--json", "--no-check-images"])
    summary = json.loads(as_json.output)["summary"]
    assert as_json.exit_code == 0 and summary["labelled"] is False
    assert summary["nodes_missing_modality"]["cdfi"] == 1

    required = runner.invoke(main, ["validate", str(new_patients), "--labelled"])
    assert required.exit_code == 1 and "'label' declared in the schema is missing" in required.output

    bad = cohort_dir / "bad_labels.csv"
    manifest_df.assign(label=["metastatic", "benign", "?", "", "x", "benign"]).to_csv(bad, index=False)
    assert runner.invoke(main, ["validate", str(bad)]).exit_code == 1
    forced = runner.invoke(main, ["validate", str(bad), "--unlabelled"])
    assert forced.exit_code == 0, forced.output
    assert "(unlabelled)" in forced.output

    study = runner.invoke(main, ["validate", "--study-layout", str(cohort_dir), "--class-map",
                                 "0=metastatic,1=lymphoma,2=benign", "--unlabelled"])
    assert study.exit_code == 2 and "--unlabelled" in study.output


def test_parquet_without_labels(cohort_dir, manifest_df):
    path = cohort_dir / "new.parquet"
    manifest_df.drop(columns=["label", "site"]).to_parquet(path)
    cohort = Cohort.from_manifest(path, check_images=False)
    assert not cohort.is_labelled and cohort.sites is None
    summary = cohort.summary()
    assert summary.nodes_per_site is None and "sites:" not in summary.to_text()
    assert isinstance(cohort.table, pd.DataFrame) and len(cohort.table) == 6
