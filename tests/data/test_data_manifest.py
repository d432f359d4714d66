"""Malformed manifests: the exception type and a message naming the row, column or file."""
from __future__ import annotations

import pandas as pd
import pytest

from lnfusion.data import Cohort, validate_manifest
from lnfusion.data.manifest import ParsedManifest, parse_manifest
from lnfusion.exceptions import (
    CategoryLevelError,
    ConflictingLabelError,
    CorruptImageError,
    DuplicateIdError,
    EmptyClassError,
    LnfusionError,
    ManifestError,
    MissingImageError,
    NonNumericError,
    RoiError,
    SchemaError,
    UnknownLabelError,
)


def _set(row, column, value):
    def edit(df, root):
        df.loc[row, column] = value
        return df
    return edit


def _corrupt(df, root):
    (root / "img" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    df.loc[3, "bmode"] = "img/broken.png"
    return df


def _relabel_lymphoma(df, root):
    df.loc[df["label"] == "lymphoma", "label"] = "benign"
    return df


# (case id, edit, exception type, substrings the message must contain)
CASES = [
    ("missing-image", _set(2, "bmode", "img/nowhere.png"), MissingImageError,
     ["row 4 (position 2)", "column 'bmode'", "nowhere.png", "not found"]),
    ("corrupt-image", _corrupt, CorruptImageError,
     ["row 5 (position 3)", "column 'bmode'", "broken.png", "cannot be decoded"]),
    ("unknown-label", _set(2, "label", "lymphom"), UnknownLabelError,
     ["row 4 (position 2)", "column 'label'", "'lymphom'", "did you mean 'lymphoma'"]),
    ("category-level", _set(1, "shape", "square"), CategoryLevelError,
     ["row 3 (position 1)", "column 'shape'", "'square'", "['oval', 'round', 'irregular']"]),
    ("ordinal-level", _set(0, "elasto_score", "7"), CategoryLevelError,
     ["row 2 (position 0)", "column 'elasto_score'", "'7'", "[1, 2, 3, 4, 5]"]),
    ("non-numeric", _set(5, "age", "fifty"), NonNumericError,
     ["row 7 (position 5)", "column 'age'", "'fifty'", "expected a number"]),
    ("decimal-comma", _set(5, "age", "30,5"), NonNumericError,
     ["row 7 (position 5)", "column 'age'", "decimal separator"]),
    ("duplicate-id", _set(1, "node_id", "n1"), DuplicateIdError,
     ["rows 2, 3", "column 'node_id'", "'P1'", "appears 2 times"]),
    ("conflicting-label", _set(1, "label", "benign"), ConflictingLabelError,
     ["column 'label'", "patient 'P1'", "'metastatic' on row 2 (position 0)", "'benign' on row 3"]),
    ("roi-outside", _set(1, "bmode_roi", "0,0,100,10"), RoiError,
     ["row 3 (position 1)", "column 'bmode_roi'", "outside image", "b1.png", "48x32"]),
    ("roi-malformed", _set(1, "bmode_roi", "1,2,3"), RoiError,
     ["row 3 (position 1)", "column 'bmode_roi'", "malformed", "x0,y0,x1,y1"]),
    ("roi-inverted", _set(1, "bmode_roi", "30,2,10,20"), RoiError,
     ["row 3 (position 1)", "column 'bmode_roi'", "x0 < x1"]),
    ("roi-count", _set(1, "bmode_roi", "0,0,5,5;0,0,6,6"), RoiError,
     ["row 3 (position 1)", "column 'bmode_roi'", "2 ROI boxes for 1 image"]),
    ("empty-class", _relabel_lymphoma, EmptyClassError,
     ["manifest.csv", "class 'lymphoma' has no patients"]),
    ("schema-column-missing", lambda df, root: df.drop(columns=["age", "cdfi"]), SchemaError,
     ["manifest.csv", "'age', 'cdfi'", "missing", "columns present"]),
    ("empty-patient", _set(4, "patient_id", ""), ManifestError,
     ["row 6 (position 4)", "column 'patient_id'", "empty patient id"]),
]


@pytest.mark.parametrize("edit, exc_type, needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_manifest_raises_named_error(cohort_dir, manifest_df, schema, edit, exc_type, needles):
    df = edit(manifest_df, cohort_dir)
    df.to_csv(cohort_dir / "manifest.csv", index=False)
    with pytest.raises(exc_type) as info:
        Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert isinstance(info.value, LnfusionError)
    if isinstance(info.value, ManifestError) and "row " in needles[0]:
        assert info.value.row == int(needles[0].split("position ")[1].rstrip(")"))


def test_report_collects_every_error(cohort_dir, manifest_df, schema):
    df = manifest_df
    df.loc[0, "label"] = "metastasis"
    df.loc[2, "age"] = "n/a"
    df.loc[3, "shape"] = "square"
    df.loc[4, "cdfi"] = "img/missing.jpg"
    report = validate_manifest(df, schema, root=cohort_dir)
    assert not report.ok and report.cohort is None
    kinds = [type(e) for e in report.errors]
    assert kinds == [UnknownLabelError, NonNumericError, CategoryLevelError, MissingImageError]
    assert [e.row for e in report.errors] == [0, 2, 3, 4]
    text = report.to_text()
    assert "manifest DataFrame: 4 errors" in text
    with pytest.raises(UnknownLabelError, match=r"and 3 more problems"):
        Cohort.from_manifest(df, schema, root=cohort_dir)


def test_parsing_returns_its_errors_and_builds_no_cohort(cohort_dir, manifest_df, schema):
    manifest_df.loc[0, "label"] = "metastasis"
    manifest_df.loc[2, "age"] = "n/a"
    found = parse_manifest(manifest_df, schema, root=cohort_dir)
    assert found.parsed is None and found.labelled is True
    assert [(type(e), e.row) for e in found.errors] == [(UnknownLabelError, 0), (NonNumericError, 2)]
    found = parse_manifest(manifest_df.drop(columns=["age"]), schema, root=cohort_dir)
    assert found.parsed is None and [type(e) for e in found.errors] == [SchemaError]


def test_parsed_manifest_is_what_the_cohort_holds(cohort_dir, schema):
    found = parse_manifest(cohort_dir / "manifest.csv", schema)
    assert found.errors == [] and isinstance(found.parsed, ParsedManifest)
    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    assert found.parsed.y.tolist() == cohort.y.tolist()
    assert found.parsed.groups.tolist() == cohort.groups.tolist()
    assert found.parsed.images["bmode"] == cohort.images("bmode")
    assert found.parsed.source == cohort.source == str(cohort_dir / "manifest.csv")


def test_missing_modality_is_recorded_not_an_error(cohort_dir, schema):
    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    mask = cohort.modality_mask()
    assert mask.loc[1, "cdfi"] is False or not mask.loc[1, "cdfi"]
    assert not mask.loc[4, "elasto"]
    assert int(mask.values.sum()) == 6 * 3 - 2
    assert cohort.summary().nodes_missing_modality == {"bmode": 0, "cdfi": 1, "elasto": 1}


def test_check_images_false_skips_files(cohort_dir, manifest_df, schema):
    manifest_df.loc[0, "bmode"] = "img/not-there.png"
    manifest_df.loc[0, "bmode_roi"] = ""
    cohort = Cohort.from_manifest(manifest_df, schema, root=cohort_dir, check_images=False)
    assert cohort.images("bmode")[0][0].endswith("not-there.png")


def test_allow_empty_classes(cohort_dir, manifest_df, schema):
    manifest_df.loc[manifest_df["label"] == "lymphoma", "label"] = "benign"
    cohort = Cohort.from_manifest(manifest_df, schema, root=cohort_dir, allow_empty_classes=True)
    assert cohort.summary().patients_per_class["lymphoma"] == 0


def test_node_column_optional_but_then_one_row_per_patient(cohort_dir, manifest_df, schema):
    df = manifest_df.drop(columns=["node_id"])
    with pytest.raises(DuplicateIdError, match="one row per patient"):
        Cohort.from_manifest(df, schema, root=cohort_dir)
    cohort = Cohort.from_manifest(df.drop(index=1), schema, root=cohort_dir)
    assert len(cohort) == 5


def test_missing_manifest_and_schema_files(tmp_path):
    with pytest.raises(ManifestError, match="manifest file not found"):
        Cohort.from_manifest(tmp_path / "nope.csv")
    (tmp_path / "m.csv").write_text("patient_id,label,bmode\nP1,benign,\n")
    with pytest.raises(SchemaError, match="schema file not found"):
        Cohort.from_manifest(tmp_path / "m.csv", tmp_path / "schema.json")


def test_no_schema_uses_defaults_for_present_modalities(cohort_dir, manifest_df):
    (cohort_dir / "schema.json").unlink()
    df = manifest_df[["patient_id", "node_id", "label", "site", "bmode"]]
    df.to_csv(cohort_dir / "manifest.csv", index=False)
    report = validate_manifest(cohort_dir / "manifest.csv")
    assert report.ok
    assert report.cohort.modalities == ("bmode",)
    assert any("default schema" in n for n in report.notes)
    df[["patient_id", "label"]].to_csv(cohort_dir / "manifest.csv", index=False)
    with pytest.raises(SchemaError, match="none of the default modality columns"):
        Cohort.from_manifest(cohort_dir / "manifest.csv")


def test_dataframe_with_numbers_and_nans(cohort_dir, manifest_df, schema):
    df = manifest_df.copy()
    df["age"] = pd.to_numeric(df["age"].replace("", None))
    df["elasto_score"] = pd.to_numeric(df["elasto_score"].replace("", None))  # floats 4.0, NaN
    cohort = Cohort.from_manifest(df, schema, root=cohort_dir)
    desc = cohort.descriptors
    assert list(desc["elasto_score"].astype(object).iloc[:5]) == [4, 5, 3, 1, 2]
    assert pd.isna(desc["elasto_score"].iloc[5]) and pd.isna(desc["age"].iloc[3])
