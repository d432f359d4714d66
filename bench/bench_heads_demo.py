"""Fusion heads x inner cv settings on the simulated demo cohort (repeated patient-level CV).

The demo-cohort half of the head study whose real-data half is
bench/bench_breast_lesions.py, with the same code (``fusion_fold``, ``head_probas``):
per outer fold the branches of ``LateFusionClassifier`` (one image branch per
modality + the XGBoost descriptor branch) are fitted once per inner ``cv`` setting,
every head is fitted on those same out-of-fold predictions and scored (macro
one-vs-rest AUC) on the outer test patients.  Paired comparisons of each head
against the mean of its branches use the corrected resampled t-test.

    python bench/bench_heads_demo.py --out bench_heads_demo      # 240 patients, 3 folds, 32 px
    python bench/bench_heads_demo.py --root DEMO_DIR              # reuse a demo folder

Branch outputs are cached per outer fold under --out/folds: a rerun (e.g. after a
change to the heads) refits nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_breast_lesions import HEADS, fusion_fold, head_probas, outer_splits  # noqa: E402


def macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Macro one-vs-rest AUC on the rows the model scored (no NaN)."""
    from sklearn.metrics import roc_auc_score

    keep = np.isfinite(p).all(axis=1)
    return float(roc_auc_score(y[keep], p[keep], multi_class="ovr", average="macro", labels=np.arange(p.shape[1])))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, help="existing demo cohort folder (default: build one)")
    p.add_argument("--n-patients", type=int, default=240)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--inner-cvs", nargs="+", default=["5", "holdout"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("bench_heads_demo"))
    args = p.parse_args(argv)

    import torch

    from lnfusion.data import Cohort
    from lnfusion.datasets import make_demo_cohort
    from lnfusion.fusion import LateFusionClassifier
    from lnfusion.fusion.heads import HEADS as REGISTRY
    from lnfusion.stats import corrected_resampled_ttest

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # lnfusion fits (n_threads=None) follow it
    t_start = time.perf_counter()
    root = args.root
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="lnfusion_demo_")) / "demo"
        make_demo_cohort(root, n_patients=args.n_patients, image_size=64, seed=0)
    cohort = Cohort.from_manifest(root / "manifest.csv", root / "schema.json")
    default = LateFusionClassifier()
    default_key = (default.head, str(default.cv))
    cvs = tuple(dict.fromkeys([str(default.cv), *args.inner_cvs]))
    heads = tuple(h for h in dict.fromkeys((*HEADS, default.head)) if h in REGISTRY)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} demo cohort {root}: {cohort.n_patients} patients, "
          f"{len(cohort)} nodes; {args.folds} folds x {args.repeats} repeats, {args.image_size} px, "
          f"{args.epochs} epochs, inner cv {cvs}, default head {default_key}", flush=True)
    rows, sizes = [], []
    for r, f, train, test in outer_splits(cohort, args.folds, args.repeats):
        t0 = time.perf_counter()
        seed = 1000 * r + f
        model = LateFusionClassifier(image_params=dict(image_size=args.image_size, epochs=args.epochs, lr=2e-3),
                                     random_state=seed, progress=False)
        T, S = cohort.subset(train), cohort.subset(test)
        cache = args.out / "folds" / f"r{r}_f{f}_{args.image_size}px_{args.epochs}ep_{'-'.join(cvs)}.npz"
        if cache.is_file():
            arrays = dict(np.load(cache, allow_pickle=False))
        else:
            arrays, _ = fusion_fold(T, S, model.make_branches(T), cvs, seed)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **arrays)
        y = arrays["y_test"]
        for b in arrays["branches"]:
            rows.append(dict(repeat=r, fold=f, method=f"branch {b}", auc=macro_auc(y, arrays[f"test_p|{b}"])))
        for (h, cv), proba in head_probas(arrays, heads, cvs, seed).items():
            name = "fused mean" if h == "mean" else f"fused {h} cv={cv}"
            if h == "mean" and cv != cvs[0]:
                continue
            rows.append(dict(repeat=r, fold=f, method=name, auc=macro_auc(y, proba)))
            if (h, cv) == default_key:
                rows.append(dict(repeat=r, fold=f, method="fused default", auc=rows[-1]["auc"]))
        sizes.append((len(T), len(S)))
        print(f"repeat {r} fold {f} ({time.perf_counter() - t0:.0f} s): "
              + ", ".join(f"{x['method']} {x['auc']:.3f}" for x in rows if (x["repeat"], x["fold"]) == (r, f)),
              flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby("method", sort=False)["auc"].agg(mean="mean", sd="std", n="count").reset_index()
    wide = table.pivot_table(index=["repeat", "fold"], columns="method", values="auc")
    n_train, n_test = np.mean(sizes, axis=0)
    comp = []
    for m in wide.columns:
        if m.startswith("fused ") and m != "fused mean":
            t = corrected_resampled_ttest(wide[m], wide["fused mean"], n_train=n_train, n_test=n_test)
            comp.append(dict(head=m, mean=wide[m].mean(), vs_mean=t.mean_diff, ci_low=t.ci_low,
                             ci_high=t.ci_high, p=t.pval, wins=int((wide[m] >= wide["fused mean"]).sum())))
    comp = pd.DataFrame(comp)
    fmt = {"float_format": lambda v: f"{v:.3f}"}
    print("\nmacro AUC over outer folds:\n" + summary.to_string(index=False, **fmt))
    print("\neach head vs the mean of its branches (corrected resampled t-test):\n"
          + comp.to_string(index=False, **fmt))
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "per_fold.csv", index=False)
    comp.to_csv(args.out / "comparisons.csv", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
