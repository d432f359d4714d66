"""Bring your own data: a manifest and its schema, validation errors, patient splits.

Writes a tiny study folder (noise images: this is about the data layer), declares
its schema, loads it as a validated cohort, shows the error a typo produces and
splits the nodes by patient.  Run: ``python examples/06_bring_your_own_data.py``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from _common import parse_args
from PIL import Image

from lnfusion import LnfusionError
from lnfusion.data import (
    Cohort,
    CohortSchema,
    Descriptor,
    Modality,
    split_patients,
    validate_manifest,
)

args = parse_args(__doc__.splitlines()[0])
n_patients = {"small": 12, "default": 60}[args.preset]
rng = np.random.default_rng(0)
classes = ("metastatic", "lymphoma", "benign")

# 1. images and a manifest: one row per node, image paths relative to the manifest
rows = []
for p in range(n_patients):
    cells = {}
    for modality, shape in (("bmode", (48, 64)), ("cdfi", (48, 64, 3)), ("elasto", (48, 64, 3))):
        if modality == "elasto" and p % 5 == 4:
            cells[modality] = ""  # a missing modality is allowed, and recorded
            continue
        rel = f"P{p:03d}/{modality}.png"
        (args.out / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(args.out / rel)
        cells[modality] = rel
    rows.append({"patient_id": f"P{p:03d}", "label": classes[p % 3],
                 "age": str(rng.integers(18, 85)), "shape": ("oval", "round", "irregular")[p % 3],
                 **cells})
pd.DataFrame(rows).to_csv(args.out / "manifest.csv", index=False)

# 2. the schema, saved beside the manifest where Cohort.from_manifest finds it
schema = CohortSchema(
    classes=classes, node=None, site=None,
    descriptors={"age": Descriptor("continuous"),
                 "shape": Descriptor("categorical", levels=("oval", "round", "irregular"))},
    modalities={"bmode": Modality(colour=False), "cdfi": Modality(colour=True),
                "elasto": Modality(colour=True)})
schema.save(args.out / "schema.json")
cohort = Cohort.from_manifest(args.out / "manifest.csv")
print(cohort.summary().to_text())

# 3. a typo in one cell: the error names the file, row, column and what was expected
broken = pd.DataFrame(rows)
broken.loc[3, "shape"] = "oblong"
broken.loc[4, "label"] = "reactive"
broken.to_csv(args.out / "broken.csv", index=False)
try:
    Cohort.from_manifest(args.out / "broken.csv")
except LnfusionError as err:
    print(f"\n{type(err).__name__}: {err}")
print("\nevery problem at once (as `lnfusion validate broken.csv` prints it):")
print(validate_manifest(args.out / "broken.csv", schema=schema).to_text())

# 4. split by patient, never by image
split = split_patients(cohort.y, cohort.groups, test_size=0.25, random_state=0)
assert not set(cohort.groups[split.train]) & set(cohort.groups[split.test])
print(f"\ntrain {len(split.train)} nodes / test {len(split.test)} nodes, no patient on both sides")
