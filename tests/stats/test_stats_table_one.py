"""table_one: test choice, tidy output, adjustment, post-hoc, SMD, renderers."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lnfusion.exceptions import DataError, StatsError
from lnfusion.stats import (
    adjust_pvalues,
    chi_square,
    fisher_exact,
    infer_variable_types,
    kruskal_wallis,
    table_one,
)
from lnfusion.stats.render import RenderError


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 180
    label = np.repeat(["metastatic", "lymphoma", "benign"], n // 3)
    shift = pd.Series(label).map({"metastatic": 0.0, "lymphoma": 0.5, "benign": 1.0}).to_numpy()
    df = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)],
        "label": label,
        "age": np.round(rng.normal(55 - 5 * shift, 8), 0),
        "size_mm": np.round(rng.lognormal(2.6 - 0.4 * shift, 0.5), 1),
        "shape": np.where(rng.random(n) < 0.3 + 0.4 * shift, "oval", "round"),
        "rare": rng.choice(["a", "b", "c"], n, p=[0.9, 0.07, 0.03]),
        "grade": rng.integers(1, 5, n) + (shift > 0.7),
        "image_path": [f"images/{i}.png" for i in range(n)],
    })
    df.loc[[3, 10, 50], "age"] = np.nan
    df.loc[[7, 8], "shape"] = None
    return df


def test_does_not_mutate_input_with_nans(cohort):
    before = cohort.copy(deep=True)
    table_one(cohort, "label", categorical=["shape", "rare"], continuous=["age", "size_mm"],
              ordinal=["grade"])
    pd.testing.assert_frame_equal(cohort, before)


def test_tidy_table_layout(cohort):
    res = table_one(cohort, "label", categorical=["shape"], continuous=["age"], ordinal=["grade"])
    t = res.table
    assert list(t.columns) == ["variable", "type", "level", "benign", "lymphoma", "metastatic",
                               "overall", "missing", "test", "statistic", "pval", "pval_adj"]
    assert t.iloc[0]["variable"] == "n"
    assert t.iloc[0][["benign", "lymphoma", "metastatic", "overall"]].tolist() == \
        ["60", "60", "60", "180"]
    # variables in frame order, one row per level
    assert list(dict.fromkeys(t["variable"])) == ["n", "age", "shape", "grade"]
    assert t[t.variable == "shape"]["level"].tolist() == ["oval", "round"]
    assert t[t.variable == "grade"]["level"].tolist() == ["1", "2", "3", "4", "5"]
    # missing counts
    assert t[t.variable == "age"]["missing"].iloc[0] == 3
    assert t[t.variable == "shape"]["missing"].iloc[0] == 2
    # column percentages among non-missing values
    shape = cohort.dropna(subset=["shape"])
    n_oval_benign = int(((shape.label == "benign") & (shape["shape"] == "oval")).sum())
    n_benign = int((shape.label == "benign").sum())
    cell = t[(t.variable == "shape") & (t.level == "oval")]["benign"].iloc[0]
    assert cell == f"{n_oval_benign} ({100 * n_oval_benign / n_benign:.1f}%)"


def test_categorical_chi2_when_expected_counts_large(cohort):
    res = table_one(cohort, "label", categorical=["shape"])
    row = res.tests.iloc[0]
    assert row["test"] == "chi2"
    tab = pd.crosstab(cohort["shape"], cohort["label"]).to_numpy()
    assert row["pval"] == pytest.approx(chi_square(tab).pval, rel=1e-12)
    assert res.table.loc[1, "test"] == "Chi-square"


def test_categorical_fisher_when_expected_counts_small(cohort):
    res = table_one(cohort, "label", categorical=["rare"])
    row = res.tests.iloc[0]
    assert row["test"] == "fisher_exact"
    assert "exact enumeration" in row["method"]
    tab = pd.crosstab(cohort["rare"], cohort["label"]).to_numpy()
    assert row["pval"] == pytest.approx(fisher_exact(tab, method="exact").pval, rel=1e-10)


def test_yates_parameter_and_override():
    df = pd.DataFrame({"g": ["a"] * 20 + ["b"] * 20,
                       "x": ["y"] * 12 + ["n"] * 8 + ["y"] * 6 + ["n"] * 14})
    plain = table_one(df, "g", categorical=["x"]).tests.iloc[0]
    yates = table_one(df, "g", categorical=["x"], yates=True).tests.iloc[0]
    assert plain["test"] == "chi2" and yates["test"] == "chi2_yates"
    assert yates["pval"] > plain["pval"]
    forced = table_one(df, "g", categorical=["x"], tests={"x": "fisher"}).tests.iloc[0]
    assert forced["test"] == "fisher_exact"


def test_monte_carlo_named_with_draws_and_seed(cohort):
    res = table_one(cohort, "label", categorical=["rare"], exact=False, mc_draws=3000,
                    random_state=5)
    assert res.tests.iloc[0]["test"] == "fisher_mc"
    assert "3000 draws, seed 5" in res.table[res.table.variable == "rare"]["test"].iloc[0]
    again = table_one(cohort, "label", categorical=["rare"], exact=False, mc_draws=3000,
                      random_state=5)
    assert again.tests.iloc[0]["pval"] == res.tests.iloc[0]["pval"]


def test_continuous_normal_uses_welch_and_mean_sd():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 40),
                       "x": np.concatenate([rng.normal(m, s, 40) for m, s in
                                            [(0, 1), (0.5, 2), (1, 1)]])})
    res = table_one(df, "g", continuous=["x"])
    assert res.tests.iloc[0]["test"] == "welch_anova"
    assert res.table.loc[1, "level"] == "mean ± SD"
    student = table_one(df, "g", continuous=["x"], parametric="student")
    assert student.tests.iloc[0]["test"] == "anova"
    two = table_one(df[df.g != "c"], "g", continuous=["x"])
    assert two.tests.iloc[0]["test"] == "welch_t_test"
    assert two.posthoc.empty


def test_continuous_skewed_uses_rank_test_and_median_iqr(cohort):
    df = cohort.assign(skewed=np.exp(np.random.default_rng(3).normal(0, 1.5, len(cohort))))
    res = table_one(df, "label", continuous=["skewed"])
    row = res.tests.iloc[0]
    assert row["test"] == "kruskal"
    assert res.table[res.table.variable == "skewed"]["level"].iloc[0] == "median [Q1, Q3]"
    groups = [df.loc[df.label == c, "skewed"].to_numpy() for c in ["benign", "lymphoma",
                                                                  "metastatic"]]
    assert row["pval"] == pytest.approx(kruskal_wallis(groups).pval, rel=1e-12)
    q1, med, q3 = np.quantile(groups[0], [0.25, 0.5, 0.75])
    assert res.table[res.table.variable == "skewed"]["benign"].iloc[0] == \
        f"{med:.1f} [{q1:.1f}, {q3:.1f}]"
    forced = table_one(df, "label", continuous=["skewed"], tests={"skewed": "parametric"})
    assert forced.tests.iloc[0]["test"] == "welch_anova"


def test_ordinal_kruskal_and_trend(cohort):
    res = table_one(cohort, "label", ordinal=["grade"])
    assert res.tests.iloc[0]["test"] == "kruskal"
    trend = table_one(cohort, "label", ordinal=["grade"], trend=True)
    assert trend.tests.iloc[0]["test"] == "jonckheere"
    two = table_one(cohort[cohort.label != "lymphoma"], "label", ordinal=["grade"], trend=True)
    assert two.tests.iloc[0]["test"] == "cochran_armitage"
    ordered = cohort.assign(grade=pd.Categorical(cohort.grade.map(
        {1: "low", 2: "mid", 3: "mid", 4: "high", 5: "high"}),
        categories=["low", "mid", "high"], ordered=True))
    res2 = table_one(ordered, "label", ordinal=["grade"])
    assert res2.table[res2.table.variable == "grade"]["level"].tolist() == ["low", "mid", "high"]


def test_adjustment_across_variables(cohort):
    res = table_one(cohort, "label", categorical=["shape", "rare"], continuous=["age", "size_mm"],
                    ordinal=["grade"], adjust="holm")
    np.testing.assert_allclose(res.tests["pval_adj"], adjust_pvalues(res.tests["pval"], "holm"))
    none = table_one(cohort, "label", categorical=["shape"], adjust=None)
    assert none.tests.iloc[0]["pval_adj"] == none.tests.iloc[0]["pval"]
    with pytest.raises(StatsError, match="unknown p-value adjustment"):
        table_one(cohort, "label", categorical=["shape"], adjust="magic")


def test_posthoc_pairs_and_correction(cohort):
    res = table_one(cohort, "label", categorical=["shape"], continuous=["size_mm"],
                    posthoc="bonferroni")
    ph = res.posthoc
    assert len(ph) == 2 * 3
    assert set(zip(ph.group_a, ph.group_b)) == {("benign", "lymphoma"), ("benign", "metastatic"),
                                                ("lymphoma", "metastatic")}
    for _, grp in ph.groupby("variable"):
        np.testing.assert_allclose(grp["pval_adj"], np.minimum(1, 3 * grp["pval"]))
    assert table_one(cohort, "label", categorical=["shape"], posthoc=None).posthoc.empty


def test_smd(cohort):
    res = table_one(cohort, "label", categorical=["shape"], continuous=["age"])
    smd = res.smd.set_index(["variable", "group_a", "group_b"])["smd"]
    a = cohort.loc[cohort.label == "benign", "age"].dropna()
    b = cohort.loc[cohort.label == "lymphoma", "age"].dropna()
    expected = (a.mean() - b.mean()) / math.sqrt((a.var() + b.var()) / 2)
    assert smd[("age", "benign", "lymphoma")] == pytest.approx(expected)
    s = cohort.dropna(subset=["shape"])
    pa = (s.loc[s.label == "benign", "shape"] == "oval").mean()
    pb = (s.loc[s.label == "metastatic", "shape"] == "oval").mean()
    expected = abs(pa - pb) / math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 2)
    assert smd[("shape", "benign", "metastatic")] == pytest.approx(expected)


def test_inference_excludes_ids_and_paths(cohort):
    kinds = infer_variable_types(cohort, by="label")
    assert set(kinds["excluded"]) >= {"patient_id", "image_path"}
    assert kinds["categorical"] == ["shape", "rare"]
    assert kinds["continuous"] == ["age", "size_mm"]
    assert kinds["ordinal"] == ["grade"]
    res = table_one(cohort, "label")
    assert list(res.tests["variable"]) == ["age", "size_mm", "shape", "rare", "grade"]


def test_inference_binary_numeric_is_categorical():
    df = pd.DataFrame({"flag": [0, 1] * 10, "count": list(range(5)) * 4, "y": ["a", "b"] * 10,
                       "lipid": np.linspace(0, 1, 20), "PatientID": range(20)})
    kinds = infer_variable_types(df, by="y")
    assert kinds["categorical"] == ["flag"]
    assert kinds["ordinal"] == ["count"]
    assert kinds["continuous"] == ["lipid"]
    assert kinds["excluded"] == ["PatientID"]


def test_rows_without_class_are_left_out(cohort):
    df = cohort.copy()
    df.loc[:4, "label"] = np.nan
    res = table_one(df, "label", categorical=["shape"])
    assert res.n_excluded == 5
    assert sum(res.class_counts) == len(df) - 5
    assert "5 rows without a label class" in res.to_markdown()


def test_class_order_and_categorical_by(cohort):
    res = table_one(cohort, "label", categorical=["shape"],
                    class_order=["metastatic", "lymphoma", "benign"])
    assert res.classes == ("metastatic", "lymphoma", "benign")
    cat = cohort.assign(label=pd.Categorical(cohort.label, ["lymphoma", "benign", "metastatic"]))
    assert table_one(cat, "label", categorical=["shape"]).classes == \
        ("lymphoma", "benign", "metastatic")


def test_not_testable_variable_does_not_crash(cohort):
    df = cohort.assign(const="same")
    res = table_one(df, "label", categorical=["const", "shape"])
    row = res.tests.set_index("variable").loc["const"]
    assert math.isnan(row["pval"]) and row["test"] == "none"
    assert not math.isnan(res.tests.set_index("variable").loc["shape", "pval_adj"])


def test_errors_name_the_column(cohort):
    with pytest.raises(DataError, match="'nope'"):
        table_one(cohort, "label", categorical=["nope"])
    with pytest.raises(DataError, match="grouping column 'klass'"):
        table_one(cohort, "klass", categorical=["shape"])
    with pytest.raises(DataError, match="continuous variable 'shape' must be numeric"):
        table_one(cohort, "label", continuous=["shape"])
    with pytest.raises(DataError, match="listed twice"):
        table_one(cohort, "label", categorical=["shape"], continuous=["shape"])
    with pytest.raises(StatsError, match="does not apply to continuous variable 'age'"):
        table_one(cohort, "label", continuous=["age"], tests={"age": "chi2"})
    with pytest.raises(DataError, match="at least 2"):
        table_one(cohort[cohort.label == "benign"], "label", categorical=["shape"])
    with pytest.raises(StatsError, match="compares 2 classes"):
        table_one(cohort, "label", continuous=["age"], tests={"age": "t_test"})


# ----------------------------------------------------------------------------- renderers
@pytest.fixture(scope="module")
def small_result(cohort):
    df = cohort.assign(**{"shape": cohort["shape"].replace({"oval": "oval & <flat>"})})
    return table_one(df, "label", categorical=["shape"], continuous=["age"], ordinal=["grade"])


def test_markdown(small_result):
    md = small_result.to_markdown()
    lines = md.splitlines()
    header = lines[0]
    assert "benign (n=60)" in header and "Overall (n=180)" in header and "p (BH)" in header
    assert lines[1].startswith("|:---|")
    n_cols = header.count("|")
    table_lines = lines[:lines.index("")]  # the main table (the pairwise table follows)
    assert all(ln.count("|") - ln.count("\\|") == n_cols for ln in table_lines)
    assert "**shape, n (%)**" in md and "Benjamini-Hochberg" in md


def test_latex_booktabs_and_escaping(small_result):
    tex = small_result.to_latex(caption="Table 1 & more", label="tab:one")
    for token in ("\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}", "\\label{tab:one}",
                  "$\\pm$", "oval \\& $<$flat$>$", "Table 1 \\& more"):
        assert token in tex
    assert " & more}" not in tex.replace("\\&", "")
    body = tex[tex.index("\\midrule"):tex.index("\\bottomrule")]
    n_cols = tex.split("\\toprule")[1].split("\\\\")[0].count("&")
    for line in body.splitlines()[1:]:
        assert line.replace("\\&", "").count("&") == n_cols


def test_html_escaping(small_result):
    html = small_result.to_html()
    assert html.startswith('<table class="lnfusion-table-one">')
    assert "oval &amp; &lt;flat&gt;" in html
    assert "<flat>" not in html
    main = html.split("</table>")[0]
    assert main.count("<tr>") == len(small_result.display_frame()) + 1 + 1  # + header + tfoot


@pytest.mark.parametrize("ext,marker", [(".md", "| Variable"), (".tex", "\\toprule"),
                                        (".html", "<table"), (".csv", "variable,type,level")])
def test_save_by_extension(small_result, tmp_path, ext, marker):
    path = small_result.save(tmp_path / "sub" / f"table1{ext}")
    assert path.exists()
    assert marker in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == [f"table1{ext}"]  # no temp file left


def test_csv_round_trip(small_result, tmp_path):
    small_result.to_csv(tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    # the tidy table, then one column of adjusted pairwise p-values per pair of classes
    assert list(back.columns[:small_result.table.shape[1]]) == list(small_result.table.columns)
    assert back.shape == (len(small_result.table), small_result.table.shape[1] + 3)
    np.testing.assert_allclose(back["pval"], small_result.table["pval"], equal_nan=True)
    assert small_result.to_csv().startswith("variable,type,level")


def test_save_is_atomic_on_failure(small_result, tmp_path, monkeypatch):
    target = tmp_path / "t.md"
    target.write_text("old", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        small_result.save(target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]


def test_save_unknown_extension(small_result, tmp_path):
    with pytest.raises(RenderError, match=r"\.docx"):
        small_result.save(tmp_path / "t.docx")
    assert not any(Path(tmp_path).iterdir())
