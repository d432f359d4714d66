"""Benchmark: the global modality ranking of the fusion head on the demo cohort.

Usage::

    .venv/bin/python bench/bench_explain_demo.py [--root DIR] [--preset default|small]
        [--seed 0] [--test-size 0.3] [--backbone resnet18] [--image-size 64] [--epochs 10]
        [--folds 3] [--head stacking] [--threads N] [--device auto] [--precision auto]
        [--cards DIR --patients N]

Builds (or reads, with ``--root`` pointing at an existing demo folder) the
SIMULATED demo cohort (``lnfusion.datasets.make_demo_cohort``), splits PATIENTS
into training and held-out sets (class-stratified), fits
``lnfusion.fusion.LateFusionClassifier`` on the training patients, and runs
``lnfusion.explain.explain`` on the held-out patients.  Prints the modality-level
SHAP importance of the fusion head (mean |SHAP| per branch and class), the
ranking of the image modalities and of all branches, the descriptor importance
of the clinical branch, the local-accuracy error of both explanations, and wall
times.  With ``--cards`` it also writes explanation cards for ``--patients``
held-out patients (Grad-CAM and SHAP image maps) and the global plots.

Expected (issue 7): elastography first among all branches, the clinical branch
included (the simulation makes it the most informative modality:
``modality_signal`` default ``{"bmode": 0.6, "cdfi": 0.4, "elasto": 2.2}``).

Cost: the default preset trains 3 modalities x (folds + 1) CNNs; on CPU expect
hours at 64 px (use a GPU, or ``--preset small`` for a run of minutes).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="demo cohort folder (read if it exists, else built there)")
    parser.add_argument("--preset", default="default", choices=["default", "small"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--folds", default="3", help="inner K-fold (integer) or 'holdout'")
    parser.add_argument("--head", default="stacking", choices=["stacking", "shrunk", "shrunk_weighted", "mean", "weighted", "mlp"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--cards", type=Path, help="write cards and global plots to this folder")
    parser.add_argument("--patients", type=int, default=3, help="held-out patients with cards")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from lnfusion import __version__
    from lnfusion.data import Cohort, split_patients
    from lnfusion.datasets import make_demo_cohort
    from lnfusion.explain import explain
    from lnfusion.fusion import LateFusionClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # lnfusion fits (n_threads=None) follow it
    folds = args.folds if args.folds == "holdout" else int(args.folds)
    print(f"lnfusion {__version__}; python {platform.python_version()}; torch {torch.__version__}; "
          f"{platform.machine()} {os.cpu_count()} CPU(s), torch threads {torch.get_num_threads()}; "
          f"CUDA {'yes: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))

    timings: dict[str, float] = {}
    t = time.perf_counter()
    if args.root is not None and (args.root / "manifest.csv").is_file():
        cohort = Cohort.from_manifest(args.root / "manifest.csv")
    else:
        root = args.root or Path(tempfile.mkdtemp(prefix="lnfusion_explain_bench_")) / "demo"
        cohort = make_demo_cohort(root, preset=args.preset, seed=args.seed)
    timings["cohort"] = time.perf_counter() - t
    print(cohort)

    split = split_patients(cohort.y, cohort.groups, test_size=args.test_size, random_state=args.seed)
    train, test = cohort.subset(split.train), cohort.subset(split.test)
    model = LateFusionClassifier(
        backbone=args.backbone, head=args.head, cv=folds, random_state=args.seed, progress=False,
        image_params={"image_size": args.image_size, "epochs": args.epochs, "lr": args.lr,
                      "batch_size": args.batch_size, "device": args.device,
                      "precision": args.precision, "progress": False})
    t = time.perf_counter()
    model.fit(train)
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    bundle = explain(model, test, image_method="none")
    timings["explain (tabular + modality SHAP, all held-out nodes)"] = time.perf_counter() - t

    head_out = (model.head_.decision_function(model.head_inputs(test)) if bundle.modality.output == "logit"
                else model.predict_proba(test))
    fusion_err = float(np.abs(bundle.modality.output_values() - head_out).max())
    tab_err = None
    if bundle.tabular is not None:
        import xgboost

        tab = model.branches_["tabular"]
        margin = tab.booster_.predict(xgboost.DMatrix(tab.feature_frame(test), enable_categorical=True),
                                      output_margin=True)
        tab_err = float(np.abs(bundle.tabular.output_values() - margin).max())

    print(f"\nheld-out nodes: {len(test)} ({len(set(test.groups))} patients); "
          f"fusion head: {type(model.head_).__name__}, SHAP method {bundle.modality.method} "
          f"on the {bundle.modality.output} scale")
    print("\nModality importance (mean |SHAP| per class, 'all' = sum):")
    print(bundle.modality_importance().to_string(float_format=lambda v: f"{v:.4f}"))
    image_rank = bundle.modality.ranking(among=[m for m in cohort.modalities
                                                if m in bundle.modality.feature_names])
    print("\nranking of the image modalities:", " > ".join(image_rank))
    print("ranking of all branches:       ", " > ".join(bundle.modality.ranking()))
    print("elastography first among image modalities:", image_rank[:1] == ["elasto"])
    if bundle.tabular is not None:
        print("\nDescriptor importance (top 8):")
        print(bundle.descriptor_importance().head(8).to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\nlocal accuracy, max |base + sum(SHAP) - output|: fusion head {fusion_err:.2e}"
          + ("" if tab_err is None else f", clinical branch {tab_err:.2e}"))

    if args.cards is not None:
        patients = list(dict.fromkeys(test.groups))[: args.patients]
        t = time.perf_counter()
        with_images = explain(model, test, patients=patients, image_method="both", random_state=args.seed)
        timings[f"explain with Grad-CAM + SHAP images ({len(with_images.selected)} nodes)"] = (
            time.perf_counter() - t)
        t = time.perf_counter()
        with_images.save(args.cards)
        with_images.write_cards(args.cards / "cards")
        timings["cards and plots"] = time.perf_counter() - t
        print(f"\ncards and plots written to {args.cards}")

    print("\nwall time:")
    for step, seconds in timings.items():
        print(f"  {step:<58} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
