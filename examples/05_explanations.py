"""Explanations of a fused model: modality-level SHAP, descriptor SHAP, Grad-CAM cards.

Fits a small model on the demo cohort, explains the test patients and writes the
explanation cards (PNG + HTML), the SHAP tables (CSV) and the global plots under ``--out``.
Run: ``python examples/05_explanations.py --out explanations``.
"""
from __future__ import annotations

import numpy as np
from _common import parse_args

from lnfusion.data import split_patients
from lnfusion.datasets import make_demo_cohort
from lnfusion.explain import explain
from lnfusion.fusion import LateFusionClassifier

args = parse_args(__doc__.splitlines()[0])
cohort = make_demo_cohort(args.out / "cohort", preset=args.preset, overwrite=True)
split = split_patients(cohort.y, cohort.groups, test_size=0.3, random_state=0)
train, test = cohort.subset(split.train), cohort.subset(split.test)
modalities = ("bmode", "elasto") if args.preset == "small" else ("bmode", "cdfi", "elasto")
model = LateFusionClassifier(modalities=modalities, **args.model_params, random_state=0,
                             progress=False).fit(train)

patients = list(dict.fromkeys(test.groups))[:2]
bundle = explain(model, test, patients=patients, image_method="gradcam")
# exact for the stacking head: base value + contributions = the head's logit
assert np.allclose(bundle.modality.output_values(),
                   model.head_.decision_function(model.predict_branch_proba(test)))
print("modality importance (mean |SHAP| of the fusion head):")
print(bundle.modality_importance().round(4).to_string())
print("\ntop descriptors of the clinical branch:")
print(bundle.descriptor_importance().head(5).round(4).to_string())
written = bundle.write_cards(args.out / "cards") + bundle.save(args.out / "tables")
print(f"\nwrote {len(written)} files, e.g. {sorted(p.name for p in written)[:4]}")
