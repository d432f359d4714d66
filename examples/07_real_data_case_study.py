"""Real-data case study: image + radiologists' descriptors on BrEaST-Lesions_USG.

Loads the public BrEaST-Lesions_USG cohort (one B-mode image and the BI-RADS
descriptors per patient, benign vs malignant), prints Table 1, runs a small
patient-level cross-validation of the image branch, the descriptor branch and the
fused model, then explains one fused model (descriptor SHAP ranking, modality
contributions, two explanation cards).  The full, repeated-CV study with BUSI
pre-training and a bare baseline is ``python bench/bench_breast_lesions.py --out DIR``
(docs/case_study_breast.md).  Without the data folder the script says so and exits 0.
Run: ``python examples/07_real_data_case_study.py --out breast_case``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _common import parse_args

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "breast_lesions_usg"
args = parse_args(__doc__.splitlines()[0],
                  {"--data": dict(type=Path, default=DEFAULT_DATA,
                                  help="the BrEaST-Lesions_USG release folder (default: %(default)s)")})
if not (args.data / "clinical.csv").is_file():
    print(f"BrEaST-Lesions_USG not found at {args.data}: nothing to do (pass --data; "
          "see docs/case_study_breast.md for where to get it)")
    sys.exit(0)

from sklearn.metrics import roc_auc_score  # noqa: E402

from lnfusion.data import PatientStratifiedKFold, load_breast_lesions, split_patients  # noqa: E402
from lnfusion.explain import explain  # noqa: E402
from lnfusion.fusion import LateFusionClassifier  # noqa: E402
from lnfusion.stats import table_one  # noqa: E402

small = args.preset == "small"
# small: 60 patients, a tiny test network at 32 px for one epoch, 3 folds (numbers near chance
# for the image); default: every patient, resnet18 at 64 px, 15 epochs, 5 folds, 5-fold stacking
SETTINGS = (dict(n_patients=60, backbone="test_resnet", image_size=32, epochs=1, folds=3, cv="holdout")
            if small else dict(n_patients=None, backbone="resnet18", image_size=64, epochs=15, folds=5, cv=5))

# -- 1. the cohort ---------------------------------------------------------------------------
cohort = load_breast_lesions(args.data)
print(cohort.summary())

# -- 2. Table 1 on the real readings ------------------------------------------------------------
df = cohort.descriptors
df["label"] = cohort.labels
kinds = {name: d.kind for name, d in cohort.schema.descriptors.items()}
continuous = [n for n, k in kinds.items() if k == "continuous" and df[n].nunique() > 2]
categorical = [n for n in kinds if n not in continuous]
t1 = table_one(df, by="label", categorical=categorical, continuous=continuous,
               class_order=cohort.classes, decimals=1)
t1.save(args.out / "table1.md")
tests = t1.tests.sort_values("pval")
print(f"\nTable 1 -> {args.out / 'table1.md'}; descriptors differing at p < 0.05 (unadjusted):")
print(tests.loc[tests["pval"] < 0.05, ["variable", "test_label", "pval"]].to_string(index=False))

# -- 3. a small patient-level cross-validation -----------------------------------------------------
if SETTINGS["n_patients"] is not None:
    keep = split_patients(cohort.y, cohort.groups, test_size=SETTINGS["n_patients"] / len(cohort)).test
    cohort = cohort.subset(np.sort(keep))


def make_model() -> LateFusionClassifier:
    return LateFusionClassifier(
        modalities=("bmode",), backbone=SETTINGS["backbone"],
        image_params={"image_size": SETTINGS["image_size"], "epochs": SETTINGS["epochs"], "lr": 2e-3},
        tabular="xgboost", cv=SETTINGS["cv"], random_state=0, progress=False)


rows = []
kfold = PatientStratifiedKFold(n_splits=SETTINGS["folds"], shuffle=True, random_state=0)
for fold, (train, test) in enumerate(kfold.split(None, cohort.y, cohort.groups)):
    model = make_model().fit(cohort.subset(train))
    fused, branches = model.predict_with_branches(cohort.subset(test))
    y = cohort.y[test]
    rows.append({"fold": fold, "fused": roc_auc_score(y, fused[:, 1]),
                 **{f"{b} branch": roc_auc_score(y, p[:, 1]) for b, p in branches.items()}})
cv_table = pd.DataFrame(rows).set_index("fold")
print(f"\nAUC on held-out patients, {SETTINGS['folds']}-fold patient-level CV ({len(cohort)} patients, "
      f"default head {model.head!r}):")
print(cv_table.round(3).to_string())
print("mean:", cv_table.mean().round(3).to_dict())
cv_table.to_csv(args.out / "cv_auc.csv")

# -- 4. explain the last fold's fused model on its held-out patients ----------------------------------
held_out = cohort.subset(test)
proba = fused[:, 1]
patients = [held_out.groups[int(np.argmax(proba))], held_out.groups[int(np.argmin(proba))]]
bundle = explain(model, held_out, patients=patients, image_method="gradcam")
print("\nSHAP ranking of the descriptors (mean |SHAP|, held-out patients):")
print(bundle.descriptor_importance().head(10).round(3).to_string())
print("\nmodality contributions of the fusion head (mean |SHAP|):")
print(bundle.modality_importance().round(3).to_string())
cards = bundle.write_cards(args.out / "cards")
print(f"\nexplanation cards for {patients}: {[p.name for p in cards]} in {args.out / 'cards'}")
