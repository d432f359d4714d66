"""Real-image benchmark: BUSI on the official BreastMNIST split, malignant vs benign + normal.

For each seed: lnfusion's ImageBranchClassifier from scratch, the same pre-trained
(lnfusion.models.pretraining on the split's train + val images only), and the bare timm
baseline (bench/bare_timm_baseline.py) side by side.  Test AUC with DeLong 95% CI
(lnfusion.stats.roc_auc_ci), accuracy at 0.5, seconds per seed.  No ImageNet weights.

Data: ../shared/data/busi (780 PNG, 256x256) and its breastmnist_split_map.csv, which
places each BUSI file in BreastMNIST's official train/val/test split.  Rows with
confident == False (23 of 780: uncertain image matches) are dropped from every split.
lnfusion's branch trains on the official train + val images and carves its own
patient-grouped 15% validation split from them for the best epoch (each BUSI image is
its own "patient"); the bare baseline trains on train and picks its epoch on val.
Both are tested on the same official test images, which nothing else sees.

    python bench/bench_busi.py                     # seeds 0-2, 30 epochs, 128 px (the full run)
    python bench/bench_busi.py --quick             # smoke: seed 0, 2 epochs, 64 px, 1 pre-training epoch
    python bench/bench_busi.py --seeds 0 --epochs 30 --skip-baseline --pretrain-method simclr
    python bench/bench_busi.py --ensemble 5 --skip-pretrained   # + a 5-seed ensemble per seed
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "busi"
CLASSES = ("malignant", "non-malignant")


def build_cohort(data: Path):
    """BUSI as a two-class cohort + official split positions (unconfident rows dropped)."""
    from lnfusion.data import load_busi

    cohort = load_busi(data, label_map={"malignant": "malignant", "benign": "non-malignant",
                                        "normal": "non-malignant"}, classes=CLASSES)
    split_map = pd.read_csv(data / "breastmnist_split_map.csv")
    n_dropped = int((~split_map["confident"].astype(bool)).sum())
    split_map = split_map[split_map["confident"].astype(bool)]
    split_of = {f.rsplit(".", 1)[0]: s for f, s in zip(split_map["file"], split_map["breastmnist_split"])}
    where = np.array([split_of.get(p, "dropped") for p in cohort.groups])
    return cohort, {s: np.flatnonzero(where == s) for s in ("train", "val", "test")}, n_dropped


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--pretrain-method", choices=["supervised", "simclr"], default="supervised")
    p.add_argument("--pretrain-epochs", type=int, default=30)
    p.add_argument("--pretrain-size", type=int, default=None, help="pre-training image size (default: --image-size)")
    p.add_argument("--pretrained-dir", type=Path, default=None,
                   help="reuse this pre-training folder (default: pre-train into --out/pretrained)")
    p.add_argument("--skip-pretrained", action="store_true")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--no-tta", action="store_true", help="no left-right test-time augmentation")
    p.add_argument("--ensemble", type=int, default=1, metavar="K",
                   help="also report the mean probability of K from-scratch branches per seed (member 0 is "
                        "the single from-scratch model; member k uses random_state seed + 1000 k)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=Path("bench_busi_out"), help="folder for the pre-training and JSON")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="seed 0, 2 epochs, 64 px, 1 pre-training epoch")
    args = p.parse_args()
    if not (args.data / "breastmnist_split_map.csv").is_file():
        print(f"BUSI not found at {args.data} (pass --data); nothing to do")
        return
    if args.quick:
        args.seeds, args.epochs, args.image_size, args.pretrain_epochs = args.seeds[:1], 2, 64, 1

    import torch

    from lnfusion.models import ImageBranchClassifier
    from lnfusion.models.pretraining import (
        evaluate_proba,
        file_sha256,
        pretrain,
        read_pretrain_hashes,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # lnfusion fits (n_threads=None) follow it
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.machine()} threads {torch.get_num_threads()} "
          f"torch {torch.__version__}; args {vars(args)}", flush=True)
    cohort, split, n_dropped = build_cohort(args.data)
    print(f"BUSI: {len(cohort)} images; official split after dropping {n_dropped} unconfident rows: "
          + ", ".join(f"{k} {len(v)} ({int((cohort.y[v] == 0).sum())} malignant)" for k, v in split.items()))
    trainval = cohort.subset(np.concatenate([split["train"], split["val"]]))
    test = cohort.subset(split["test"])
    test_hashes = {file_sha256(p[0]) for p in test.images("bmode")}

    pre_dir, pre_seconds = None, 0.0
    if not args.skip_pretrained:
        pre_dir = args.pretrained_dir or args.out / f"pretrained_{args.pretrain_method}"
        if not (pre_dir / "config.json").is_file():
            t0 = time.perf_counter()
            pretrain(trainval, backbone=args.backbone, image_size=args.pretrain_size or args.image_size,
                     epochs=args.pretrain_epochs, out_dir=pre_dir, exclude=test_hashes, modality="bmode",
                     method=args.pretrain_method, batch_size=64 if args.pretrain_method == "simclr" else 32,
                     lr=args.lr, random_state=0, progress=False)
            pre_seconds = time.perf_counter() - t0
        cfg = json.loads((pre_dir / "config.json").read_text())
        seen = read_pretrain_hashes(pre_dir)
        print(f"pre-training ({cfg['method']}, {cfg['image_size']} px, {len(cfg['history'])} epochs, "
              f"{pre_seconds or cfg['seconds']:.0f} s): {cfg['data']['n_images']} BUSI train+val images, "
              f"{cfg['data']['n_excluded']} excluded as byte-identical to a test image; "
              f"|pre-training SHA-256 set ∩ test SHA-256 set| = {len(seen & test_hashes)} "
              f"(test set: {len(test_hashes)} distinct files)", flush=True)
        assert not seen & test_hashes

    params = dict(backbone=args.backbone, image_size=args.image_size, epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, patience=args.patience, val_size=0.15,
                  tta=not args.no_tta, progress=False)
    rows = []
    for seed in args.seeds:
        arms = [("lnfusion scratch", None)] + ([("lnfusion pretrained", pre_dir)] if pre_dir else [])
        for name, init in arms:
            t0 = time.perf_counter()
            branch = ImageBranchClassifier("bmode", pretrained=init, random_state=seed, **params).fit(trainval)
            proba = branch.predict_proba(test)
            m = evaluate_proba(test.y, proba, list(CLASSES), positive="malignant")
            rows.append(dict(method=name, seed=seed, test_auc=m["auc"], ci_low=m["auc_ci_low"],
                             ci_high=m["auc_ci_high"], test_acc=m["accuracy"], best_epoch=branch.best_epoch_,
                             epochs_run=len(branch.history_), seconds=time.perf_counter() - t0))
            print(_fmt(rows[-1]), flush=True)
            if init is None:
                members = [(proba, rows[-1]["seconds"], branch.best_epoch_)]
        for k in range(1, args.ensemble):
            t0 = time.perf_counter()
            member = ImageBranchClassifier("bmode", random_state=seed + 1000 * k, **params).fit(trainval)
            members.append((member.predict_proba(test), time.perf_counter() - t0, member.best_epoch_))
            print(f"  ensemble member {k} seed {seed}: best epoch {member.best_epoch_} "
                  f"({members[-1][1]:.0f} s)", flush=True)
        if args.ensemble > 1:
            proba = np.mean([mp for mp, _, _ in members], axis=0)
            m = evaluate_proba(test.y, proba, list(CLASSES), positive="malignant")
            rows.append(dict(method=f"lnfusion ensemble x{args.ensemble}", seed=seed, test_auc=m["auc"],
                             ci_low=m["auc_ci_low"], ci_high=m["auc_ci_high"], test_acc=m["accuracy"],
                             best_epoch="/".join(str(e) for _, _, e in members),
                             epochs_run=None, seconds=sum(t for _, t, _ in members)))
            print(_fmt(rows[-1]), flush=True)
        if not args.skip_baseline:
            sys.path.insert(0, str(HERE))
            from bare_timm_baseline import run

            from lnfusion.stats.roc import roc_auc_ci

            r = run(seed, args.epochs, args.image_size, data=args.data, verbose=False)
            ci = roc_auc_ci(r["y_test"] == 1, r["scores"])
            rows.append(dict(method="bare timm", seed=seed, test_auc=r["test_auc"], ci_low=ci.ci_low,
                             ci_high=ci.ci_high, test_acc=r["test_acc"], best_epoch=r["best_epoch"],
                             epochs_run=args.epochs, seconds=r["seconds"]))
            print(_fmt(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    print("\nper seed:\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    summary = table.groupby("method", sort=False).agg(mean_auc=("test_auc", "mean"), sd_auc=("test_auc", "std"),
                                                      mean_acc=("test_acc", "mean"),
                                                      mean_seconds=("seconds", "mean"))
    print("\nmean over seeds:\n" + summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if pre_dir is not None:
        print(f"(pre-training took {pre_seconds or cfg['seconds']:.0f} s once, shared by all seeds)")
    args.out.mkdir(parents=True, exist_ok=True)
    from lnfusion.io import atomic_write_text

    atomic_write_text(args.out / "results.json", table.to_json(orient="records", indent=1))


def _fmt(r: dict) -> str:
    return (f"{r['method']:<20} seed {r['seed']}: test AUC {r['test_auc']:.3f} "
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] acc {r['test_acc']:.3f} best epoch {r['best_epoch']} "
            f"({r['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
