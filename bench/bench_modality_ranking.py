"""Global modality ranking of a saved fusion model on its held-out patients.

Usage::

    .venv/bin/python bench/bench_modality_ranking.py --root DEMO_DIR --model MODEL_DIR
        [--test-size 0.2] [--seed 0]

Re-creates the patient split that ``bench/bench_fusion_demo.py`` used (same
``split_patients`` call, same seed), explains the held-out nodes with
:func:`lnfusion.explain.explain` (tabular and modality-level SHAP only, no image
attributions) and prints the mean |SHAP| of each branch per class and overall,
with the ranking.  Build ``DEMO_DIR`` with ``make_demo_cohort(DEMO_DIR,
preset="default", seed=0)`` (deterministic: the same cohort the fusion benchmark
trained on) and ``MODEL_DIR`` with ``bench_fusion_demo.py --out``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="demo cohort folder")
    parser.add_argument("--model", type=Path, required=True, help="saved LateFusionClassifier")
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from lnfusion.data import Cohort, split_patients
    from lnfusion.explain import explain
    from lnfusion.fusion import LateFusionClassifier

    model = LateFusionClassifier.load(args.model)
    cohort = Cohort.from_manifest(args.root / "manifest.csv")
    split = split_patients(cohort.y, cohort.groups, test_size=args.test_size,
                           random_state=args.seed)
    test = cohort.subset(split.test)
    start = time.perf_counter()
    bundle = explain(model, test, patients=[], image_method="none")
    print(f"explained {len(test)} held-out nodes in {time.perf_counter() - start:.1f} s")
    print(bundle.modality_importance().round(3).to_string())
    print("ranking (all branches):", bundle.modality.ranking())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
