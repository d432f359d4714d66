"""Table 1 and multivariable logistic regression on a real cohort, BrEaST-Lesions_USG.

Loads the release with :func:`lnfusion.data.load_breast_lesions` (benign vs
malignant; the outcome-derived columns BIRADS, Interpretation, Verification and
Diagnosis are never analysed as predictors), writes ``breast_table1.md`` and
``breast_logistic.md`` under ``--out`` and prints the descriptors that differ at
p < 0.05.  Run: ``python examples/breast_lesions_table_one.py --data
../shared/data/breast_lesions_usg`` (the release folder; see docs/case_study_breast.md).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from _common import parse_args

from lnfusion.data import load_breast_lesions
from lnfusion.stats import logistic_regression, table_one

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "breast_lesions_usg"
args = parse_args(__doc__.splitlines()[0],
                  {"--data": dict(type=Path, default=DEFAULT_DATA,
                                  help="the BrEaST-Lesions_USG release folder (default: %(default)s)")})
cohort = load_breast_lesions(args.data)
print(cohort.summary())

# Table 1: every descriptor by class; the 0/1 taller-than-wide flag is shown as a category
df = cohort.descriptors
df["lesion_taller_than_wide"] = df["lesion_taller_than_wide"].map({0.0: "no", 1.0: "yes"})
df["label"] = cohort.labels
kinds = {name: d.kind for name, d in cohort.schema.descriptors.items()}
continuous = [n for n, k in kinds.items() if k == "continuous" and n != "lesion_taller_than_wide"]
categorical = [n for n in kinds if n not in continuous]
t1 = table_one(df, by="label", categorical=categorical, continuous=continuous,
               class_order=cohort.classes, decimals=1)
t1.save(args.out / "breast_table1.md")
tests = t1.tests.sort_values("pval")
significant = tests[tests["pval"] < 0.05]
print(f"\n{len(significant)} of {len(tests)} descriptors differ at p < 0.05 (unadjusted):")
print(significant[["variable", "test_label", "pval", "pval_adj"]].to_string(index=False))

# multivariable logistic regression (univariable screening first) on a few descriptors a
# radiologist reads, coded so that no level is empty in either class (no separation)
yes_no = {True: "yes", False: "no"}
data = pd.DataFrame({
    "label": cohort.labels,
    "age_per_10y": df["age"] / 10,
    "irregular_shape": (df["shape"] == "irregular").map(yes_no),
    "margin_circumscribed": df["margin_circumscribed"],
    "halo": df["halo"],
    "posterior_shadowing": df["posterior_features"].isin(["shadowing", "combined"]).map(yes_no),
    "short_axis_per_cm": df["lesion_short_axis_mm"] / 10,
    "solidity_per_pct": df["lesion_solidity"] * 100,
})
variables = [c for c in data.columns if c != "label"]
lr = logistic_regression(data, outcome="label", variables=variables, reference="benign",
                         class_order=cohort.classes,
                         categorical=[c for c in variables
                                      if not pd.api.types.is_numeric_dtype(data[c])])
ors = lr.odds_ratios()[["term", "odds_ratio", "ci_low", "ci_high", "pval"]]
print(f"\nMultivariable logistic regression, malignant vs benign (n = {lr.n_obs}, "
      f"{lr.n_dropped} dropped for missing age):")
print(ors.round(3).to_string(index=False))
lines = ["| Term | OR | 95% CI | p |", "|:---|---:|:---|---:|"]
lines += [f"| {r.term} | {r.odds_ratio:.3g} | {r.ci_low:.3g} to {r.ci_high:.3g} | {r.pval:.2g} |"
          for r in ors.itertuples()]
(args.out / "breast_logistic.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
