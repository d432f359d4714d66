"""Peer: the stack a user writes in an afternoon -- timm CNN features + scikit-learn ``StackingClassifier``.

Per outer fold, on the training cases only: one timm CNN per image modality trained
from scratch (no pretrained weights can be downloaded here) on the first image of
each case, its pooled features for every case, then ``StackingClassifier`` over
(per modality: standardised features -> logistic regression) and (one-hot
descriptors -> ``HistGradientBoostingClassifier``) with a logistic-regression final
estimator on 5-fold stratified out-of-fold predictions (scikit-learn's default cv:
not grouped by patient).  A missing image is a black image.

    python peer_stack.py --data DIR --out DIR [--threads 2] [--probe]

Needs torch, timm, scikit-learn, pandas, pillow (its own venv; see run_peers.py).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import (  # noqa: E402
    CAPABILITIES,
    Recorder,
    descriptor_frame,
    load_images,
    one_hot,
    outer_folds,
    peer_main,
    read_task,
)

REQUIREMENTS = ["torch", "timm", "scikit-learn", "pandas", "pillow"]


def train_cnn(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int, seed: int, backbone: str = "resnet18"):
    """A timm CNN from scratch (grey input), Adam, flips, fixed epochs; returns the model."""
    import timm
    import torch

    torch.manual_seed(seed)
    model = timm.create_model(backbone, pretrained=False, in_chans=1, num_classes=n_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(order), 32):
            b = order[i:i + 32]
            if len(b) < 2:
                continue
            xb = xt[b]
            if rng.random() < 0.5:
                xb = torch.flip(xb, dims=[3])
            loss = torch.nn.functional.cross_entropy(model((xb - 0.5) / 0.25), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def cnn_features(model, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = [model.forward_head(model.forward_features((torch.from_numpy(x[i:i + 128]) - 0.5) / 0.25),
                                  pre_logits=True).numpy() for i in range(0, len(x), 128)]
    return np.concatenate(out)


def stack(feature_blocks: dict[str, list[str]], desc_cols: list[str], seed: int, cv=5):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def pick(cols):
        return ColumnTransformer([("keep", "passthrough", cols)])

    estimators = [(f"image_{m}", make_pipeline(pick(cols), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)))
                  for m, cols in feature_blocks.items()]
    estimators.append(("descriptors", make_pipeline(pick(desc_cols), HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_depth=3, random_state=seed))))
    return StackingClassifier(estimators, final_estimator=LogisticRegression(max_iter=2000), cv=cv,
                              stack_method="predict_proba")


def design(table, spec, train, models: dict, epochs: int, seed: int, image_col=None):
    """Features of every case: CNN features per modality (CNNs fitted on ``train``) + one-hot descriptors."""
    import pandas as pd

    y = table["label"].to_numpy()
    k = len(spec["classes"])
    blocks, frames = {}, []
    for m in spec["modalities"]:
        x = load_images(list(table[image_col or m]), spec["image_size"])
        if m not in models:
            have = train[table[m].to_numpy()[train] != ""]
            models[m] = train_cnn(x[have], y[have], k, epochs, seed)
        f = cnn_features(models[m], x)
        cols = [f"{m}_f{j}" for j in range(f.shape[1])]
        blocks[m] = cols
        frames.append(pd.DataFrame(f, columns=cols))
    desc = one_hot(descriptor_frame(table, spec), spec)
    frames.append(desc.reset_index(drop=True))
    return pd.concat(frames, axis=1), blocks, list(desc.columns)


def run(data: Path, out: Path, probe: bool, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    table, spec = read_task(data)
    rec = Recorder(out, spec["classes"])
    rec.notes = {"tool": "timm + scikit-learn StackingClassifier (hand-rolled)",
                 "weights": "from scratch (no download)", "images": "first image per modality",
                 "epochs": spec["epochs"], "cv": "StratifiedKFold(5) inside StackingClassifier (not grouped)"}
    y = table["label"].to_numpy()
    if probe:
        return run_probes(table, spec, rec)
    for f, train, test in outer_folds(table):
        t0 = time.perf_counter()
        X, blocks, desc_cols = design(table, spec, train, {}, spec["epochs"], spec["seed"] + f)
        model = stack(blocks, desc_cols, spec["seed"] + f).fit(X.iloc[train], y[train])
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = model.predict_proba(X.iloc[test])
        rec.fold(f, table["row"].to_numpy()[test], proba, fit_s, time.perf_counter() - t0)
        print(f"stack fold {f}: fit {fit_s:.0f} s", flush=True)


def run_probes(table, spec, rec: Recorder) -> None:
    """Each capability tried on a small subset (1 epoch)."""
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(0)
    sub = table.iloc[np.sort(rng.choice(len(table), size=min(80, len(table)), replace=False))].reset_index(drop=True)
    y = sub["label"].to_numpy()
    train = np.arange(len(sub))
    X, blocks, desc_cols = design(sub, spec, train, {}, 1, 0)

    def several():
        if not any(";" in v for m in spec["modalities"] for v in sub[f"{m}_all"]):
            raise NotImplementedError("no case of this data set has more than one image")
        # the estimators take one feature row per case: a ';'-joined list is not an image
        design(sub, spec, train, {}, 1, 0, image_col=f"{spec['modalities'][0]}_all")
        return "accepted a list of images per case"

    def missing():
        if not any((sub[m] == "").any() for m in spec["modalities"]):
            raise NotImplementedError("no case of this data set misses a modality")
        raise NotImplementedError("no notion of a missing image: the stack needs a value for every "
                                  "feature, so a missing image was replaced by a black image (imputation by hand)")

    def grouped():
        splits = list(GroupKFold(n_splits=3).split(X, y, sub["patient_id"]))
        stack(blocks, desc_cols, 0, cv=splits).fit(X, y)
        return ("StackingClassifier(cv=<GroupKFold splits>) fitted; the default cv (5-fold stratified) "
                "ignores patients, the grouped splits must be built by hand")

    def explain():
        model = stack(blocks, desc_cols, 0).fit(X, y)
        imp = permutation_importance(model, X, y, n_repeats=2, random_state=0)
        return (f"sklearn.inspection.permutation_importance over {X.shape[1]} columns (CNN feature "
                f"columns and one-hot descriptors, not modalities); top column "
                f"{X.columns[int(np.argmax(imp.importances_mean))]}; no per-case explanation")

    for cap, fn in zip(CAPABILITIES, (several, missing, grouped, explain)):
        rec.probe(cap, fn)


def main(argv=None) -> int:
    return peer_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
