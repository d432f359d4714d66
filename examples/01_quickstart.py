"""Quickstart: demo cohort -> fused model -> evaluation -> explanations -> HTML report.

The same pipeline as ``lnfusion demo``, in a page of Python.  With ``--preset small``
(the default here) it takes a few minutes on a laptop CPU and its numbers are close to
chance; ``--preset default`` is the full 586-patient cohort with real training.
Run: ``python examples/01_quickstart.py --out quickstart``.
"""
from __future__ import annotations

from _common import parse_args

from lnfusion.data import split_patients
from lnfusion.datasets import make_demo_cohort, write_contact_sheet
from lnfusion.evaluation import evaluate
from lnfusion.explain import explain
from lnfusion.fusion import LateFusionClassifier
from lnfusion.report import build_demo_report
from lnfusion.stats import table_one

args = parse_args(__doc__.splitlines()[0])
cohort = make_demo_cohort(args.out / "cohort", preset=args.preset, overwrite=True)
sheet = write_contact_sheet(cohort, args.out / "contact_sheet.png")
print(cohort.summary().to_text())

split = split_patients(cohort.y, cohort.groups, test_size=0.3, random_state=0)
train, test = cohort.subset(split.train), cohort.subset(split.test)

# the preset's backbone, image_params and cv (lnfusion.datasets.PRESETS)
model = LateFusionClassifier(modalities=("bmode", "cdfi", "elasto"), tabular="xgboost",
                             head="stacking", **args.model_params, random_state=0,
                             progress=False).fit(train)
model.save(args.out / "model", overwrite=True)

result = evaluate(model, test, n_boot=args.n_boot, title="Held-out patients")
print("\n" + result.summary[["model", "n", "macro_auc", "macro_auc_ci_low", "macro_auc_ci_high",
                             "accuracy"]].round(3).to_string(index=False))

explanations = explain(model, test, patients=list(dict.fromkeys(test.groups))[:3])
print("\nmodality ranking:", explanations.modality.ranking())

df = cohort.descriptors.copy()
df["label"] = [cohort.classes[k] for k in cohort.y]
report = build_demo_report(args.out, cohort, table_one=table_one(df, by="label",
                                                                 class_order=cohort.classes),
                           evaluation=result, explanations=explanations, contact_sheet=sheet)
print(f"\nreport: {report.resolve()}")
