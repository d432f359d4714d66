"""load_breast_lesions on the real BrEaST-Lesions_USG files (skipped without ../shared/data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lnfusion.data import load_breast_lesions
from lnfusion.data.breast_lesions import BREAST_LESIONS_OUTCOME_DERIVED
from lnfusion.data.masks import mask_box, read_mask
from lnfusion.exceptions import OutcomeDerivedError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ROOT = SHARED / "breast_lesions_usg"

pytestmark = [
    pytest.mark.needs_shared_data,
    pytest.mark.skipif(not (ROOT / "clinical.csv").is_file(), reason="../shared/data/breast_lesions_usg absent"),
]

LEAKING = set(BREAST_LESIONS_OUTCOME_DERIVED.values())  # interpretation, birads, verification, diagnosis


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The folder load_breast_lesions wrote manifest.csv + schema.json to."""
    return tmp_path_factory.mktemp("breast")


@pytest.fixture(scope="module")
def cohort(written):
    return load_breast_lesions(ROOT, out_dir=written)  # the cohort read back from the written manifest


@pytest.fixture(scope="module")
def clinical():
    return pd.read_csv(ROOT / "clinical.csv", dtype=str, keep_default_na=False)


def test_counts_classes_and_normal_cases(cohort):
    assert cohort.classes == ("benign", "malignant")
    assert cohort.summary().nodes_per_class == {"benign": 154, "malignant": 98}
    assert cohort.groups[0] == "case001" and cohort.n_patients == 252
    assert any("4 normal cases" in n and "excluded" in n for n in cohort.summary().notes)
    assert "4 normal cases" in cohort.summary().to_text()
    full = load_breast_lesions(ROOT, include_normal=True, measurements=False, check_images=False)
    assert full.classes == ("benign", "malignant", "normal")
    assert full.summary().nodes_per_class == {"benign": 154, "malignant": 98, "normal": 4}
    normal = full.labels == "normal"
    assert all(m == [None] for m, n in zip(full.masks("bmode"), normal) if n)     # no tumour mask
    assert all(r == [None] for r, n in zip(full.rois("bmode"), normal) if n)      # whole image
    assert full.descriptors.loc[normal, "shape"].isna().all()


def test_no_leaking_column_is_a_model_input(cohort):
    assert set(cohort.schema.outcome_derived) == LEAKING
    assert LEAKING <= set(cohort.table.columns)                 # kept for display / Table 1
    assert not LEAKING & set(cohort.descriptors.columns)
    from lnfusion.models import TabularClassifier

    model = TabularClassifier(estimator="logistic").fit(cohort)
    assert not LEAKING & set(model.feature_names_in_)
    with pytest.raises(OutcomeDerivedError, match="'birads' is outcome-derived"):
        TabularClassifier(descriptors=["shape", "birads"]).fit(cohort)
    with pytest.raises(OutcomeDerivedError, match="never a model input"):
        TabularClassifier(descriptors=["age", "diagnosis"]).fit(cohort.table, cohort.y)


def test_descriptor_types_and_multi_valued_cells(cohort, clinical):
    d = cohort.descriptors
    kinds = {n: x.kind for n, x in cohort.schema.descriptors.items()}
    assert kinds["age"] == "continuous" and kinds["shape"] == "categorical"
    assert d["age"].notna().sum() == 211 and d["age"].between(18, 87).all() | d["age"].isna().any()
    assert not any(d[c].astype(str).str.contains("&").any() for c in d.columns if kinds[c] != "continuous")
    # a margin with several sub-descriptors sets each indicator
    rec = clinical.set_index("CaseID").loc["8", "Margin"]
    assert rec == "not circumscribed - spiculated&angular&indistinct"
    row = d.iloc[list(cohort.groups).index("case008")]
    assert (row["margin_circumscribed"], row["margin_spiculated"], row["margin_angular"],
            row["margin_indistinct"], row["margin_microlobulated"]) == ("no", "yes", "yes", "yes", "no")
    # every cell: an indicator is 'yes' exactly where its term is in the release's Margin cell
    margins = clinical.set_index("CaseID").loc[[g[4:].lstrip("0") for g in cohort.groups], "Margin"]
    for term in ("indistinct", "angular", "microlobulated", "spiculated"):
        assert ((d[f"margin_{term}"] == "yes").to_numpy() == margins.str.contains(term).to_numpy()).all()
    assert (d["margin_circumscribed"] == "yes").sum() == 115
    # '&' counts of the README: palpable in 58 patients, angular margin in 11 + 31
    assert (d["signs_palpable"] == "yes").sum() == 58
    assert (d["margin_angular"] == "yes").sum() == 42
    lesions = clinical[clinical["Classification"] != "normal"]
    assert (d["lactating"] == "yes").sum() == lesions["Tissue_composition"].str.contains("lactating").sum()
    assert d["signs_palpable"].isna().sum() == 45               # 'not available' = missing


def test_axes_in_mm_plausible_and_checked_by_hand(cohort):
    d = cohort.descriptors
    long_, short = d["lesion_long_axis_mm"], d["lesion_short_axis_mm"]
    assert long_.notna().all() and (short <= long_).all()
    assert 8 < long_.median() < 25 and long_.min() > 1 and long_.max() < 80
    assert np.allclose(d["lesion_axis_ratio"], long_ / short)
    # case004: a round 52 x 51 px lesion at 0.0078125 cm/px -> 4.06 x 3.98 mm
    i = list(cohort.groups).index("case004")
    assert cohort.table.loc[i, "pixel_size_mm"] == pytest.approx(0.078125)
    assert long_[i] == pytest.approx(52 * 0.078125, abs=0.1)
    assert short[i] == pytest.approx(51 * 0.078125, abs=0.1)
    assert cohort.schema.descriptors["lesion_long_axis_mm"].kind == "continuous"


def test_roi_contains_mask_box_with_margin(cohort):
    for i in (0, 3, 100, 251):
        mask = read_mask(cohort.masks("bmode")[i][0])
        x0, y0, x1, y1 = mask_box(mask)
        rx0, ry0, rx1, ry1 = cohort.rois("bmode")[i][0]
        assert rx0 <= x0 and ry0 <= y0 and rx1 >= x1 and ry1 >= y1
        assert (rx1 - rx0) > (x1 - x0) or rx0 == 0 or rx1 == mask.shape[1]
    whole = load_breast_lesions(ROOT, roi="image", measurements=False, check_images=False)
    assert all(r == [None] for r in whole.rois("bmode"))
    assert whole.masks("bmode")[0][0].endswith("case001_tumor.png")


def test_bmode_reads_as_grey(cohort):
    from lnfusion.data import read_image

    path = cohort.images("bmode")[0][0]
    assert cohort.schema.modalities["bmode"].colour is False
    img = read_image(path, mode="grey")
    assert img.ndim == 2 and img.dtype == np.uint8 and img.shape == (537, 485)


def test_out_dir_round_trip(cohort, written):
    from lnfusion.data import Cohort

    back = Cohort.from_manifest(written / "manifest.csv", check_images=False)
    assert back.schema == cohort.schema
    assert back.rois("bmode") == cohort.rois("bmode")
    assert back.masks("bmode") == cohort.masks("bmode")
    assert back.descriptors.equals(cohort.descriptors)
    assert Path(back.images("bmode")[0][0]).is_file()


def test_table_one_and_logistic_on_real_descriptors(cohort):
    from lnfusion.stats import logistic_regression, table_one

    df = cohort.descriptors
    df["label"] = cohort.labels
    kinds = {n: d.kind for n, d in cohort.schema.descriptors.items()}
    t1 = table_one(df, by="label", class_order=cohort.classes,
                   categorical=[n for n, k in kinds.items() if k != "continuous"],
                   continuous=[n for n, k in kinds.items() if k == "continuous"])
    tests = t1.tests.set_index("variable")
    assert t1.class_counts == (154, 98)
    assert tests.loc["shape", "test"] == "chi2"                 # every expected count >= 5
    assert tests.loc["echogenicity", "test"] == "fisher_exact"  # sparse levels
    assert tests.loc["age", "test"] in ("welch_t_test", "mann_whitney")
    significant = set(tests.index[tests["pval"] < 0.05])
    assert {"shape", "margin_circumscribed", "halo", "age", "lesion_short_axis_mm"} <= significant
    assert "skin_thickening" not in significant
    assert not LEAKING & set(tests.index)
    assert "| **shape, n (%)** |" in t1.to_markdown()

    data = df[["label", "age", "margin_circumscribed", "lesion_short_axis_mm"]]
    lr = logistic_regression(data, "label", ["age", "margin_circumscribed", "lesion_short_axis_mm"],
                             reference="benign", class_order=cohort.classes,
                             categorical=["margin_circumscribed"])
    ors = lr.odds_ratios().set_index("term")
    assert lr.n_obs == 211
    circ = ors.loc["margin_circumscribed[yes]"]
    assert circ["ci_low"] < circ["odds_ratio"] < circ["ci_high"] < 1   # protective, CI excludes 1
    assert ors.loc["lesion_short_axis_mm", "ci_low"] > 1
