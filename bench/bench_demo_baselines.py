"""Benchmark: how much class signal each source carries in the demo cohort.

Usage::

    .venv/bin/python bench/bench_demo_baselines.py [--root DIR] [--seed 0] [--test-size 0.3]

Builds (or reads, with ``--root``) the default demo cohort, splits PATIENTS into
train and held-out test sets (class-stratified, ``lnfusion.data.split_patients``)
and reports the macro one-vs-rest AUC on the test nodes, with a 95% patient-level
bootstrap interval (``lnfusion.evaluation.metrics.classification_metrics``), of:

- ``descriptors``: ``lnfusion.models.TabularClassifier("xgboost")`` on every
  descriptor column (clinical and sonographic readings), and the same without
  ``elasto_score`` (the elasticity score is read from the elastography image);
- ``bmode`` / ``cdfi`` / ``elasto``: a simple image baseline per modality, a
  multinomial logistic regression on hand-made features of each image (a 12 x 12
  downsampled image, a grey or colour histogram, a radial intensity / colour
  profile around the image centre), averaged over the node's images; nodes
  lacking the modality are left out of that row;
- ``late fusion (mean)``: the mean of the available probabilities of the
  descriptor model (all columns) and the three image baselines.

Expected (issue 3): every source well above chance (0.5) and well below perfect;
elastography the strongest image source; the fusion above the best single source.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

N_RADIAL = 8
GRID = 12


def _features(img: np.ndarray) -> np.ndarray:
    """Hand-made features of one image (grey (H, W) or RGB (H, W, 3))."""
    arr = img.astype(np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    # downsampled image
    gh, gw = h // GRID, w // GRID
    small = arr[:gh * GRID, :gw * GRID].reshape(GRID, gh, GRID, gw, c).mean(axis=(1, 3))
    # radial profile around the centre
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2) / (0.5 * min(h, w))
    ring = np.minimum((r * N_RADIAL / 1.0).astype(int), N_RADIAL)
    radial = np.stack([np.bincount(ring.ravel(), arr[..., k].ravel(), N_RADIAL + 1)
                       / np.maximum(np.bincount(ring.ravel(), minlength=N_RADIAL + 1), 1)
                       for k in range(c)], axis=1)[:N_RADIAL]
    feats = [small.ravel(), radial.ravel()]
    if c == 1:
        feats.append(np.histogram(arr, bins=16, range=(0, 1))[0] / arr.size)
    else:
        # colour pixels only (saturated): joint RGB histogram, central region weighted
        sat = arr.max(axis=2) - arr.min(axis=2)
        colour = sat > 0.2
        q = np.minimum((arr * 4).astype(int), 3)
        code = q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]
        central = r < 0.6
        for region in (colour, colour & central):
            feats.append(np.bincount(code[region], minlength=64) / arr.shape[0] / arr.shape[1])
        feats.append([colour.mean(), (colour & central).mean()])
    return np.concatenate([np.ravel(f) for f in feats]).astype(np.float32)


def image_features(cohort, modality: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-node features (mean over the node's images) and the mask of nodes that have any."""
    from lnfusion.data import read_image

    rows, have = [], []
    for paths in cohort.images(modality):
        if not paths:
            have.append(False)
            rows.append(None)
            continue
        have.append(True)
        rows.append(np.mean([_features(read_image(p)) for p in paths], axis=0))
    dim = next(r.shape[0] for r in rows if r is not None)
    X = np.stack([r if r is not None else np.full(dim, np.nan, np.float32) for r in rows])
    return X, np.asarray(have)


def image_baseline(X, have, y, train, test, n_classes: int, seed: int) -> np.ndarray:
    """Test-set probabilities of a multinomial logistic regression (NaN rows where missing)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tr = train[have[train]]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000,
                                                               random_state=seed))
    model.fit(X[tr], y[tr])
    proba = np.full((len(test), n_classes), np.nan)
    ok = have[test]
    proba[ok] = model.predict_proba(X[test[ok]])
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="existing demo cohort folder (default: build one)")
    parser.add_argument("--seed", type=int, default=0, help="split seed")
    parser.add_argument("--cohort-seed", type=int, default=0)
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()

    from lnfusion.data import Cohort, split_patients
    from lnfusion.datasets import make_demo_cohort
    from lnfusion.evaluation.metrics import classification_metrics
    from lnfusion.models import TabularClassifier

    t0 = time.perf_counter()
    tmp = None
    if args.root:
        cohort = Cohort.from_manifest(Path(args.root) / "manifest.csv")
    else:
        tmp = tempfile.mkdtemp(prefix="lnfusion_bench_")
        cohort = make_demo_cohort(Path(tmp) / "cohort", seed=args.cohort_seed)
    classes = cohort.classes
    y, groups = cohort.y, cohort.groups
    split = split_patients(y, groups, test_size=args.test_size, random_state=args.seed)
    train, test = np.asarray(split.train), np.asarray(split.test)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"cohort: {cohort.source} ({cohort.n_patients} patients, {len(cohort)} nodes)")
    print(f"split: {len(set(groups[train]))} train / {len(set(groups[test]))} test patients, "
          f"{len(train)} / {len(test)} nodes (seed {args.seed})")

    probas: dict[str, np.ndarray] = {}
    tab = TabularClassifier(estimator="xgboost", random_state=args.seed)
    tab.fit(cohort.subset(train))
    probas["descriptors (XGBoost)"] = tab.predict_proba(cohort.subset(test))
    # the same without the elasticity score, which is read from the elastography image
    others = [c for c in cohort.descriptors.columns if c != "elasto_score"]
    tab = TabularClassifier(estimator="xgboost", descriptors=others, random_state=args.seed)
    probas["descriptors w/o elasto_score"] = tab.fit(cohort.subset(train)).predict_proba(cohort.subset(test))
    for m in cohort.modalities:
        X, have = image_features(cohort, m)
        probas[f"{m} (image baseline)"] = image_baseline(X, have, y, train, test, len(classes),
                                                         args.seed)
    stacked = np.stack([p for k, p in probas.items() if k != "descriptors w/o elasto_score"])
    with np.errstate(invalid="ignore"):
        probas["late fusion (mean)"] = np.nanmean(stacked, axis=0)

    print(f"\n{'source':28s} {'nodes':>5s}  macro AUC  95% CI (patient bootstrap)")
    labels = np.asarray(classes, dtype=object)[y[test]]
    for name, proba in probas.items():
        ok = ~np.isnan(proba).any(axis=1)
        res = classification_metrics(labels[ok], proba[ok], classes, groups[test][ok],
                                     n_boot=args.n_boot, random_state=args.seed)
        s = res.summary
        print(f"{name:28s} {int(ok.sum()):5d}  {s['macro_auc']:.3f}      "
              f"[{s['macro_auc_ci_low']:.3f}, {s['macro_auc_ci_high']:.3f}]")
    print(f"\ntotal time: {time.perf_counter() - t0:.0f} s")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
