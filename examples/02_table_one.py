"""Table 1 of the demo cohort, a multivariable logistic regression and an AUC with its CI.

Writes ``table1.md``/``.tex``/``.html``/``.csv`` under ``--out`` and prints which
test produced each p-value.  Run: ``python examples/02_table_one.py``.
"""
from __future__ import annotations

from _common import parse_args

from lnfusion.datasets import make_demo_cohort
from lnfusion.stats import logistic_regression, roc_auc_ci, table_one

args = parse_args(__doc__.splitlines()[0])
cohort = make_demo_cohort(args.out / "demo_cohort", preset=args.preset, overwrite=True)

# one row per node: the descriptors and the class
df = cohort.descriptors.copy()
df["label"] = [cohort.classes[k] for k in cohort.y]
kinds = {name: d.kind for name, d in cohort.schema.descriptors.items()}
by_kind = {kind: [n for n, k in kinds.items() if k == kind]
           for kind in ("categorical", "continuous", "ordinal")}

t1 = table_one(df, by="label", class_order=cohort.classes, **by_kind)
for suffix in ("md", "tex", "html", "csv"):
    t1.save(args.out / f"table1.{suffix}")
print(t1.tests[["variable", "test_label", "pval", "pval_adj"]].sort_values("pval").to_string(index=False))

# univariable screening, then a multinomial logistic regression against "benign"
candidates = ["age", "short_axis_mm", "ls_ratio", "shape", "margin", "elasto_score"]
data = df[candidates + ["label"]].dropna()
data["elasto_score"] = data["elasto_score"].astype(int)
lr = logistic_regression(data, outcome="label", variables=candidates, reference="benign",
                         class_order=cohort.classes)
print("\n" + lr.odds_ratios()[["outcome", "term", "odds_ratio", "ci_low", "ci_high", "pval"]]
      .round(3).to_string(index=False))

# one descriptor as a test for metastasis: AUC with DeLong 95% CI
seen = df["elasto_score"].notna().to_numpy()
auc = roc_auc_ci((df["label"] == "metastatic").to_numpy()[seen],
                 df["elasto_score"].astype(float).to_numpy()[seen])
print(f"\nelasto_score, metastatic vs rest: AUC {auc.auc:.3f} "
      f"(95% CI {auc.ci_low:.3f}-{auc.ci_high:.3f}, DeLong)")
