"""Fusion on real data: BrEaST-Lesions_USG (B-mode image + radiologists' descriptors).

Repeated patient-level stratified K-fold CV (outer folds); in every outer fold, on the
training patients only:

* image branch from scratch (ImageBranchClassifier, early stopping on an inner
  validation split of the training patients);
* image branch initialised from an encoder pre-trained on BUSI (what
  ``lnfusion pretrain ../shared/data/busi`` writes; BUSI is a different hospital's
  cohort, and every BUSI image byte-identical to a BrEaST image is excluded);
* descriptor branch (TabularClassifier, XGBoost);
* the fused model (pre-trained image branch + descriptor branch) with every head
  (stacking, mean, weighted, mlp, stacking-shrunk) and every inner ``cv`` setting.
  The branches are fitted once per outer fold and ``cv`` setting (``cross_fit``), the
  refit branches once per outer fold; all heads are fitted on those same out-of-fold
  predictions (``LateFusionClassifier.fit_from_oof`` does the same), so the heads are
  compared on identical branch fits;
* a bare baseline written without lnfusion (a plain timm loop from
  bench/bare_timm_baseline.py + plain xgboost on one-hot descriptors + the mean of
  the two probabilities), on the same folds and the same inputs (image, ROI box,
  descriptor table).

AUC on the outer test patients (never used for anything else), mean and SD over the
folds x repeats, and paired comparisons on the same folds with the corrected
resampled t-test (lnfusion.stats.corrected_resampled_ttest; docs/statistics.md says
why).  Then, on the first outer fold, SHAP ranking of the descriptors, the modality
contributions of the fused model on its test patients and explanation cards for two
of them.

    python bench/bench_breast_lesions.py --out bench_breast_out            # the full case study
    python bench/bench_breast_lesions.py --small --out bench_breast_small  # ~1-2 minutes
    python bench/bench_breast_lesions.py --out bench_breast_out --summarize  # report the folds done so far

Per-fold predictions are cached under --out (folds_<settings hash>/): an interrupted
run resumes where it stopped.  ``--threads`` sets torch's threads.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
DEFAULT_DATA = SHARED / "breast_lesions_usg"
DEFAULT_BUSI = SHARED / "busi"
POSITIVE = "malignant"

#: Heads compared on every outer fold (names of lnfusion.fusion.heads.HEADS).
HEADS = ("stacking", "shrunk", "shrunk_weighted", "mean", "weighted", "mlp")

#: The two settings.  "full": the documented case study (5 folds x 1 repeat, ~55 min on a shared
#: 2-core CPU; ``--repeats 5`` gives the 5 x 5 design: ~4.5 h at one thread on a loaded machine, about an hour at two threads); "small": a smoke run (~1-2 min).
SETTINGS = {
    "full": dict(folds=5, repeats=1, n_patients=None, image_size=64, backbone="resnet18", epochs=15,
                 patience=4, pretrain_epochs=15, pretrain_images=None, inner_cvs=("5", "holdout")),
    "small": dict(folds=2, repeats=1, n_patients=60, image_size=32, backbone="resnet18", epochs=2,
                  patience=None, pretrain_epochs=1, pretrain_images=120, inner_cvs=("holdout",)),
}


def parse_cv(text: str) -> int | str:
    """``"5"`` -> 5, ``"holdout"`` -> ``"holdout"``."""
    return text if text == "holdout" else int(text)


# ---------------------------------------------------------------------------------- data
def load_cohort(data: Path, n_patients: int | None, seed: int = 0):
    """The benign-vs-malignant cohort (normal cases excluded), optionally a stratified subset."""
    from lnfusion.data import load_breast_lesions
    from lnfusion.data.splits import split_patients

    cohort = load_breast_lesions(data)
    if n_patients is not None and n_patients < len(cohort):
        keep = split_patients(cohort.y, cohort.groups, test_size=n_patients / len(cohort),
                              random_state=seed).test
        cohort = cohort.subset(np.sort(keep))
    return cohort


def outer_splits(cohort, folds: int, repeats: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(repeat, fold, train, test)`` of repeated patient-stratified K-fold (seed = repeat)."""
    from lnfusion.data.splits import PatientStratifiedKFold

    out = []
    for r in range(repeats):
        kfold = PatientStratifiedKFold(n_splits=folds, shuffle=True, random_state=r)
        for f, (tr, te) in enumerate(kfold.split(None, cohort.y, cohort.groups)):
            out.append((r, f, np.asarray(tr), np.asarray(te)))
    return out


def pretrain_on_busi(busi: Path, out_dir: Path, cohort, backbone: str, image_size: int, epochs: int,
                     n_images: int | None = None) -> Path:
    """The BUSI encoder (what ``lnfusion pretrain`` writes), made once and reused.

    BUSI images byte-identical to any BrEaST image are excluded (there are none
    expected: different hospitals), so the encoder never saw a test image.
    ``n_images``: a class-stratified subset of BUSI (the small setting).
    """
    from lnfusion.models.pretraining import file_sha256, pretrain

    if (out_dir / "config.json").is_file():
        return out_dir
    breast_hashes = {file_sha256(p) for paths in cohort.images("bmode") for p in paths}
    data = busi
    if n_images is not None:
        from lnfusion.data import load_busi
        from lnfusion.data.splits import split_patients

        everything = load_busi(busi)
        keep = split_patients(everything.y, everything.groups, test_size=n_images / len(everything)).test
        data = everything.subset(np.sort(keep))
    t0 = time.perf_counter()
    pretrain(data, modality="bmode" if n_images is not None else None, backbone=backbone, image_size=image_size, epochs=epochs, out_dir=out_dir,
             exclude=breast_hashes, batch_size=32, lr=2e-3, random_state=0, progress=False)
    print(f"pre-trained {backbone} on BUSI at {image_size} px, {epochs} epochs "
          f"({time.perf_counter() - t0:.0f} s) -> {out_dir}", flush=True)
    return out_dir


# ---------------------------------------------------------------------------------- lnfusion arms
def image_branch(args, pretrained: Path | None, seed: int):
    from lnfusion.models import ImageBranchClassifier

    return ImageBranchClassifier("bmode", backbone=args.backbone, image_size=args.image_size,
                                 pretrained=pretrained, epochs=args.epochs, patience=args.patience,
                                 lr=2e-3, val_size=0.15, tta=True, random_state=seed, progress=False)


def fusion_fold(T, S, branches: dict, inner_cvs, seed: int) -> tuple[dict[str, np.ndarray], tuple]:
    """One outer fold's branch fits, as the arrays every head needs.

    For each inner ``cv`` setting, out-of-fold probabilities and embeddings of
    every branch on the training patients ``T`` (``cross_fit``); the refit
    branches once (with the first setting); their outputs on the test patients
    ``S``.  Returns the arrays (saved per fold) and ``(T, S, oofs, fitted,
    branches)`` for :func:`explain_fold`.
    """
    from lnfusion.fusion.oof import branch_outputs, cross_fit, inner_splits

    y = T.y
    k = len(T.classes)
    out: dict[str, np.ndarray] = {"y_train": y, "y_test": S.y, "branches": np.array(list(branches))}
    oofs, fitted = {}, None
    for cv in inner_cvs:
        splits = inner_splits(y, T.groups, parse_cv(cv), 0.25, seed)
        oof, f = cross_fit(branches, T, y, k, splits, embed=True, progress=False, refit=fitted is None)
        fitted = fitted or f
        oofs[cv] = oof
        out[f"oof_folds|{cv}"] = oof.folds
        for b in branches:
            out[f"oof_p|{cv}|{b}"] = oof.proba[b]
            out[f"oof_e|{cv}|{b}"] = oof.embeddings[b]
    for b, model in fitted.items():
        out[f"test_p|{b}"], out[f"test_e|{b}"] = branch_outputs(b, model, S, k, embed=True)
    return out, (T, S, oofs, fitted, branches)


def lnfusion_fold(cohort, train: np.ndarray, test: np.ndarray, args, pre_dir: Path | None,
                  seed: int) -> tuple[dict[str, np.ndarray], tuple]:
    """:func:`fusion_fold` of (image branch, descriptor branch), plus the from-scratch image branch."""
    from lnfusion.models import TabularClassifier

    T, S = cohort.subset(train), cohort.subset(test)
    branches = {"bmode": image_branch(args, pre_dir, seed),
                "tabular": TabularClassifier(estimator="xgboost", random_state=seed)}
    out, ctx = fusion_fold(T, S, branches, args.inner_cvs, seed)
    out.update(train=train, test=test)
    if pre_dir is not None:   # the from-scratch image branch, refit only (it is not fused)
        scratch = image_branch(args, None, seed).fit(T)
        out["test_p|bmode_scratch"] = scratch.predict_proba(S)
    return out, ctx


def head_probas(arrays: dict[str, np.ndarray], heads, inner_cvs, seed: int) -> dict[tuple[str, str], np.ndarray]:
    """Test-patient probabilities of every head fitted on every cv setting's out-of-fold outputs."""
    from lnfusion.fusion.heads import make_head

    names = [str(b) for b in arrays["branches"]] if "branches" in arrays else ["bmode", "tabular"]
    y = arrays["y_train"].astype(np.int64)
    k = arrays[f"test_p|{names[0]}"].shape[1]
    out = {}
    for cv in inner_cvs:
        rows = np.flatnonzero(arrays[f"oof_folds|{cv}"] >= 0)
        for h in heads:
            head = make_head(h, random_state=seed)
            kind = "e" if head.input_kind == "embedding" else "p"
            head.fit({b: arrays[f"oof_{kind}|{cv}|{b}"][rows] for b in names}, y[rows], classes=list(range(k)))
            out[(h, cv)] = head.predict_proba({b: arrays[f"test_{kind}|{b}"] for b in names})
    return out


# ---------------------------------------------------------------------------------- bare arm
def roi_square(path: str, roi, image_size: int) -> np.ndarray:
    """(S, S) uint8: one image, grey, cropped to its ROI box (if any), aspect kept, padded black (PIL only)."""
    from PIL import Image

    im = Image.open(path).convert("L")
    if roi is not None:
        im = im.crop(tuple(roi))
    scale = image_size / max(im.size)
    w, h = max(1, round(im.width * scale)), max(1, round(im.height * scale))
    im = im.resize((w, h), Image.BILINEAR)
    canvas = Image.new("L", (image_size, image_size))
    canvas.paste(im, ((image_size - w) // 2, (image_size - h) // 2))
    return np.asarray(canvas)


def bare_images(cohort, image_size: int) -> np.ndarray:
    """(N, 1, S, S) uint8: the first B-mode image of each case, as :func:`roi_square` makes it."""
    out = np.zeros((len(cohort), 1, image_size, image_size), dtype=np.uint8)
    for i, (paths, rois) in enumerate(zip(cohort.images("bmode"), cohort.rois("bmode"))):
        out[i, 0] = roi_square(paths[0], rois[0], image_size)
    return out


def bare_fold(images: np.ndarray, table: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray,
              args, seed: int) -> dict[str, np.ndarray]:
    """Plain timm CNN + plain xgboost (one-hot descriptors) + mean of the probabilities."""
    import xgboost as xgb
    from sklearn.model_selection import train_test_split

    sys.path.insert(0, str(HERE))
    from bare_timm_baseline import train_timm

    tr, va = train_test_split(train, test_size=0.15, stratify=y[train], random_state=seed)
    scores, _, _ = train_timm(images[tr], y[tr], images[va], y[va], seed=seed, epochs=args.epochs,
                              lr=2e-3, backbone=args.backbone, patience=args.patience, verbose=False)
    img = scores(images[test])
    X = pd.get_dummies(table, dummy_na=False).astype(float)
    clf = xgb.XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8,
                            colsample_bytree=0.8, tree_method="hist", n_jobs=1, random_state=seed)
    clf.fit(X.iloc[train], y[train])
    tab = clf.predict_proba(X.iloc[test])[:, 1]
    return {"bare_image": img, "bare_tabular": tab, "bare_mean": (img + tab) / 2}


# ---------------------------------------------------------------------------------- evaluation
def fold_rows(arrays: dict[str, np.ndarray], heads, inner_cvs, seed: int, r: int, f: int,
              default: tuple[str, str]) -> list[dict]:
    from sklearn.metrics import roc_auc_score

    y = arrays["y_test"]
    rows = []

    def add(method, score):
        rows.append(dict(repeat=r, fold=f, method=method, auc=float(roc_auc_score(y, score))))

    if "test_p|bmode_scratch" in arrays:
        add("image scratch", arrays["test_p|bmode_scratch"][:, 1])
        add("image pretrained (BUSI)", arrays["test_p|bmode"][:, 1])
    else:
        add("image scratch", arrays["test_p|bmode"][:, 1])
    add("descriptors (XGBoost)", arrays["test_p|tabular"][:, 1])
    fused = head_probas(arrays, heads, inner_cvs, seed)
    for (h, cv), p in fused.items():
        if h == "mean" and cv != inner_cvs[0]:
            continue  # the mean of the refit branches does not depend on cv
        add("fused mean" if h == "mean" else f"fused {h} cv={cv}", p[:, 1])
    add("fused default", fused[default][:, 1])
    for k in ("bare_image", "bare_tabular", "bare_mean"):
        if k in arrays:
            add({"bare_image": "bare image (timm)", "bare_tabular": "bare descriptors (xgboost)",
                 "bare_mean": "bare fused (mean)"}[k], arrays[k])
    return rows


def comparisons(table: pd.DataFrame, n_train: float, n_test: float, default_name: str) -> pd.DataFrame:
    """Paired corrected resampled t-tests on the same outer folds."""
    from lnfusion.stats import corrected_resampled_ttest

    wide = table.pivot_table(index=["repeat", "fold"], columns="method", values="auc")
    branches = [m for m in ("image pretrained (BUSI)", "descriptors (XGBoost)") if m in wide]
    if "image pretrained (BUSI)" not in wide:
        branches = ["image scratch", "descriptors (XGBoost)"]
    best = max(branches, key=lambda m: wide[m].mean())
    pairs = [("fused default", best, "fused vs best branch"),
             ("fused default", "fused mean", "fused default vs mean of its branches"),
             ("image pretrained (BUSI)", "image scratch", "pre-trained vs scratch image"),
             ("image scratch", "bare image (timm)", "lnfusion vs bare: image"),
             ("descriptors (XGBoost)", "bare descriptors (xgboost)", "lnfusion vs bare: descriptors"),
             ("fused default", "bare fused (mean)", "lnfusion vs bare: fused"),
             ("fused mean", "bare fused (mean)", "lnfusion vs bare: mean of the branches")]
    pairs += [(m, "fused mean", "head vs mean") for m in wide.columns
              if m.startswith("fused ") and m not in ("fused mean", "fused default")]
    rows = []
    for a, b, what in pairs:
        if a in wide and b in wide:
            t = corrected_resampled_ttest(wide[a], wide[b], n_train=n_train, n_test=n_test)
            rows.append(dict(comparison=what, a=a, b=b, mean_a=wide[a].mean(), mean_b=wide[b].mean(),
                             diff=t.mean_diff, ci_low=t.ci_low, ci_high=t.ci_high, t=t.statistic, p=t.pval,
                             a_wins=int((wide[a] > wide[b]).sum()), ties=int((wide[a] == wide[b]).sum()),
                             n_folds=t.n_folds))
    return pd.DataFrame(rows)


def explain_fold(ctx, args, default: tuple[str, str], seed: int, out: Path) -> None:
    """SHAP ranking, modality contributions and two cards on one outer fold's test patients."""
    from lnfusion.explain import explain
    from lnfusion.fusion import LateFusionClassifier

    T, S, oofs, fitted, branches = ctx
    head, cv = default
    model = LateFusionClassifier(branches=branches, head=head, cv=parse_cv(cv), random_state=seed,
                                 progress=False).fit_from_oof(T, oofs[cv], fitted)
    proba = model.predict_proba(S)[:, 1]
    y = S.y
    # two patients: the most confidently right malignant and benign test patients
    pick = [S.groups[np.flatnonzero(y == 1)[np.argmax(proba[y == 1])]],
            S.groups[np.flatnonzero(y == 0)[np.argmin(proba[y == 0])]]]
    bundle = explain(model, S, patients=pick, image_method="gradcam", random_state=seed)
    ex = out / "explain"
    ex.mkdir(parents=True, exist_ok=True)
    desc = bundle.descriptor_importance()
    mod = bundle.modality_importance()
    desc.to_csv(ex / "descriptor_importance.csv")
    mod.to_csv(ex / "modality_importance.csv")
    bundle.write_cards(ex / "cards")
    (ex / "model.json").write_text(json.dumps({"head": head, "cv": cv, "patients": [str(x) for x in pick],
                                               "n_train": len(T), "n_test": len(S)}, indent=1))
    import matplotlib.pyplot as plt

    for name, fig in (("descriptor_importance.png", bundle.plot_descriptor_importance()),
                      ("modality_importance.png", bundle.plot_modality_importance())):
        fig.savefig(ex / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    print("\nSHAP ranking of the descriptors (fused model of the first outer fold, its test patients):\n"
          + desc.head(10).to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nmodality contributions (mean |SHAP| of the fusion head):\n"
          + mod.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"cards for patients {pick} -> {ex / 'cards'} (fused model: head {head!r}, cv={cv})", flush=True)


# ---------------------------------------------------------------------------------- main
def settings_hash(settings: dict) -> str:
    """Key of the fold cache: every setting that changes a fold's result.  Not the number of
    repeats: repeat r's folds are seeded by r alone, so ``--repeats 5`` after a run with
    ``--repeats 1`` reuses its five folds and fits the twenty new ones."""
    key = {k: v for k, v in settings.items() if k != "repeats"}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("bench_breast_out"))
    p.add_argument("--small", action="store_true", help="few patients/folds/epochs at 32 px (~1-2 min)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--busi", type=Path, default=DEFAULT_BUSI)
    p.add_argument("--folds", type=int)
    p.add_argument("--repeats", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--backbone")
    p.add_argument("--epochs", type=int)
    p.add_argument("--patience", type=int)
    p.add_argument("--pretrain-epochs", type=int)
    p.add_argument("--inner-cvs", nargs="+", help="inner cv settings, e.g. 5 3 holdout")
    p.add_argument("--skip-pretrained", action="store_true")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--skip-explain", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--explain-only", action="store_true",
                   help="only the explanations of the first outer fold (refits its fused model), into --out/explain")
    p.add_argument("--summarize", action="store_true",
                   help="fit nothing: report the outer folds already cached under --out (an interrupted run)")
    args = p.parse_args(argv)
    base = dict(SETTINGS["small" if args.small else "full"])
    for k in ("folds", "repeats", "image_size", "backbone", "epochs", "patience", "pretrain_epochs", "inner_cvs"):
        if getattr(args, k) is not None:
            base[k] = tuple(getattr(args, k)) if k == "inner_cvs" else getattr(args, k)
    for k, v in base.items():
        setattr(args, k, v)
    if not (args.data / "clinical.csv").is_file():
        print(f"BrEaST-Lesions_USG not found at {args.data} (pass --data); nothing to do")
        return 0

    import torch

    from lnfusion.fusion import LateFusionClassifier

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # lnfusion fits (n_threads=None) follow it
    defaults = LateFusionClassifier()
    default = (defaults.head if isinstance(defaults.head, str) else defaults.head.kind, str(defaults.cv))
    if args.small:    # the small setting fits one inner setting: the default head runs on it
        default = (default[0], args.inner_cvs[0])
    elif default[1] not in args.inner_cvs:
        args.inner_cvs = (default[1], *args.inner_cvs)
    from lnfusion.fusion.heads import HEADS as REGISTRY

    heads = tuple(h for h in dict.fromkeys((*HEADS, default[0])) if h in REGISTRY)
    t_start = time.perf_counter()
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in base.items()}
    settings.update(skip_pretrained=args.skip_pretrained, skip_baseline=args.skip_baseline)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.machine()} {platform.processor() or ''} "
          f"threads {torch.get_num_threads()} torch {torch.__version__}; settings {settings}; "
          f"default head {default[0]} cv={default[1]}", flush=True)

    cohort = load_cohort(args.data, args.n_patients)
    print(f"BrEaST-Lesions_USG: {len(cohort)} patients "
          f"({int((cohort.y == 1).sum())} malignant), {cohort.descriptors.shape[1]} descriptors", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pre_dir = None
    if not args.skip_pretrained and not args.summarize:
        pre_dir = pretrain_on_busi(args.busi, args.out / f"pretrained_busi_{args.backbone}_{args.image_size}px"
                                   f"_{args.pretrain_epochs}ep{'' if args.pretrain_images is None else f'_{args.pretrain_images}img'}",
                                   cohort, args.backbone, args.image_size,
                                   args.pretrain_epochs, args.pretrain_images)
    images = None if args.skip_baseline or args.summarize else bare_images(cohort, args.image_size)
    if args.explain_only:
        from lnfusion.models import TabularClassifier

        r, f, train, test = outer_splits(cohort, args.folds, args.repeats)[0]
        T, S = cohort.subset(train), cohort.subset(test)
        branches = {"bmode": image_branch(args, pre_dir, 0),
                    "tabular": TabularClassifier(estimator="xgboost", random_state=0)}
        _, ctx = fusion_fold(T, S, branches, (default[1],), 0)
        explain_fold(ctx, args, default, 0, args.out)
        print(f"wall time {time.perf_counter() - t_start:.0f} s")
        return 0
    fold_dir = args.out / f"folds_{settings_hash(settings)}"
    fold_dir.mkdir(exist_ok=True)
    (fold_dir / "settings.json").write_text(
        json.dumps({k: v for k, v in settings.items() if k != "repeats"}, indent=1))

    rows, sizes = [], []
    for r, f, train, test in outer_splits(cohort, args.folds, args.repeats):
        seed = 1000 * r + f
        cache = fold_dir / f"r{r}_f{f}.npz"
        t0 = time.perf_counter()
        need_explain = (r, f) == (0, 0) and not args.skip_explain and not (args.out / "explain").is_dir()
        if args.summarize and not cache.is_file():
            continue
        if cache.is_file() and (not need_explain or args.summarize):
            arrays = dict(np.load(cache, allow_pickle=False))
        else:
            arrays, ctx = lnfusion_fold(cohort, train, test, args, pre_dir, seed)
            if images is not None:
                arrays.update(bare_fold(images, cohort.descriptors, cohort.y, train, test, args, seed))
            np.savez_compressed(cache, **arrays)
            if need_explain:
                explain_fold(ctx, args, default, seed, args.out)
        fr = fold_rows(arrays, heads, args.inner_cvs, seed, r, f, default)
        rows += fr
        sizes.append((len(train), len(test)))
        show = {x["method"]: round(x["auc"], 3) for x in fr
                if not x["method"].startswith("fused ") or x["method"] in ("fused default", "fused mean")}
        print(f"repeat {r} fold {f} ({time.perf_counter() - t0:.0f} s): {show}", flush=True)

    table = pd.DataFrame(rows)
    summary = (table.groupby("method", sort=False)["auc"]
               .agg(mean="mean", sd="std", min="min", max="max", n="count").reset_index())
    n_train, n_test = np.mean(sizes, axis=0)
    comp = comparisons(table, n_train, n_test, "fused default")
    fmt = {"float_format": lambda v: f"{v:.3f}"}
    pd.set_option("display.width", 200)
    done = sorted({(x["repeat"], x["fold"]) for x in rows})
    print(f"\nAUC over {len(done)} outer folds of {args.folds} folds x {args.repeats} repeats "
          f"(outer test patients; folds {done}):\n"
          + summary.to_string(index=False, **fmt))
    print("\npaired comparisons (corrected resampled t-test, Nadeau-Bengio; "
          f"n_train {n_train:.0f}, n_test {n_test:.0f}):\n" + comp.to_string(index=False, **fmt))
    wall = time.perf_counter() - t_start
    print(f"\nwall time {wall:.0f} s", flush=True)
    from lnfusion.io import atomic_write_text

    atomic_write_text(args.out / "per_fold.csv", table.to_csv(index=False))
    atomic_write_text(args.out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(args.out / "comparisons.csv", comp.to_csv(index=False))
    atomic_write_text(args.out / "run.json", json.dumps({"settings": settings, "wall_seconds": wall,
                                                         "outer_folds_done": [list(d) for d in done],
                                                         "default_head": list(default),
                                                         "n_patients": len(cohort)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
