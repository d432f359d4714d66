"""Peer: fusilli 2.0.0 -- ``ConcatImageMapsTabularData`` (tabular + one image, PyTorch Lightning).

fusilli takes one table (``ID``, numeric features, ``prediction_label``) and one
image tensor ``(N, 1, H, W)`` saved with ``torch.save``.  Per outer fold, on the
training cases only: descriptors one-hot encoded, missing values filled with the
training median and standardised (fusilli needs a complete numeric table); the
image is the first image of the case (missing: a black image; fusilli has one
image source, so on the demo cohort it gets the elastography image, the most
informative modality of that simulation).  Its default 2-D image layers (five
conv + max-pool blocks) need at least 96 px, so the 64 px images are upsampled to
96.  fusilli validates (early stopping) on its ``test_indices``: given a 15%
patient-grouped split of the training cases, never the outer test cases, which
are predicted afterwards with the trained network.

    python peer_fusilli.py --data DIR --out DIR [--threads 2] [--probe]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

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

SIZE = 96


def image_modality(spec: dict) -> str:
    return "elasto" if "elasto" in spec["modalities"] else spec["modalities"][0]


def tabular(table, spec, train: np.ndarray) -> np.ndarray:
    X = one_hot(descriptor_frame(table, spec), spec)
    med = X.iloc[train].median()
    X = X.fillna(med).fillna(0.0)
    mu, sd = X.iloc[train].mean(), X.iloc[train].std().replace(0, 1).fillna(1)
    return ((X - mu) / sd).to_numpy(dtype=np.float32)


def inner_validation(table, train: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedGroupKFold

    y, g = table["label"].to_numpy()[train], table["patient_id"].to_numpy()[train]
    fit, val = next(StratifiedGroupKFold(n_splits=7, shuffle=True, random_state=seed).split(train, y, g))
    return train[fit], train[val]


def fit_fusilli(X: np.ndarray, imgs, y: np.ndarray, val_pos: np.ndarray, k: int, epochs: int, work: Path,
                model_name: str = "ConcatImageMapsTabularData", **prep):
    """Train one fusilli model on rows ``X``/``imgs`` (positions ``val_pos`` validate); returns the Lightning module."""
    import torch
    from fusilli.data import prepare_fusion_data
    from fusilli.train import train_and_save_models
    from fusilli.utils.model_chooser import import_chosen_fusion_models

    work.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    df.insert(0, "ID", np.arange(len(df)))
    df["prediction_label"] = y
    df.to_csv(work / "tabular1.csv", index=False)
    torch.save(torch.as_tensor(imgs), work / "image.pt")
    paths = {}
    for key in ("checkpoints", "losses", "figures"):
        (work / key).mkdir(exist_ok=True)
        paths[key] = str(work / key)
    model_cls = import_chosen_fusion_models({"class_name": [model_name]})[0]
    task = "binary" if k == 2 else "multiclass"
    dm = prepare_fusion_data(prediction_task=task, fusion_model=model_cls,
                             data_paths={"tabular1": str(work / "tabular1.csv"), "tabular2": "",
                                         "image": str(work / "image.pt")},
                             output_paths=paths, batch_size=32, max_epochs=epochs,
                             multiclass_dimensions=k if k > 2 else None,
                             test_indices=None if prep else list(map(int, val_pos)), **prep)
    trained = train_and_save_models(data_module=dm, fusion_model=model_cls, max_epochs=epochs,
                                    enable_checkpointing=False, show_loss_plot=False)
    return trained[0] if isinstance(trained, list) else trained


def predict(module, X: np.ndarray, imgs: np.ndarray, k: int) -> np.ndarray:
    import torch

    module.eval()
    with torch.no_grad():
        logits, _ = module.get_model_outputs((torch.as_tensor(X).unsqueeze(1), torch.as_tensor(imgs)))
    if k == 2:
        p1 = torch.sigmoid(logits.reshape(-1)).numpy()
        return np.column_stack([1 - p1, p1])
    return torch.softmax(logits, dim=1).numpy()


def run(data: Path, out: Path, probe: bool, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    table, spec = read_task(data)
    rec = Recorder(out, spec["classes"])
    mod = image_modality(spec)
    rec.notes = {"tool": "fusilli 2.0.0 ConcatImageMapsTabularData", "weights": "from scratch (fusilli has no pretrained image layers)",
                 "images": f"first {mod} image, upsampled to {SIZE} px", "epochs": spec["epochs"]}
    y = table["label"].to_numpy()
    k = len(spec["classes"])
    imgs = load_images(list(table[mod]), SIZE)
    work = Path(tempfile.mkdtemp(prefix="fusilli_"))
    if probe:
        return run_probes(table, spec, rec, imgs, work)
    for f, train, test in outer_folds(table):
        t0 = time.perf_counter()
        X = tabular(table, spec, train)
        fit_rows, val_rows = inner_validation(table, train, spec["seed"] + f)
        rows = np.r_[fit_rows, val_rows]
        torch.manual_seed(spec["seed"] + f)
        module = fit_fusilli(X[rows], imgs[rows], y[rows], np.arange(len(fit_rows), len(rows)), k,
                             spec["epochs"], work / f"f{f}")
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = predict(module, X[test], imgs[test], k)
        rec.fold(f, table["row"].to_numpy()[test], proba, fit_s, time.perf_counter() - t0)
        print(f"fusilli fold {f}: fit {fit_s:.0f} s", flush=True)


def run_probes(table, spec, rec: Recorder, imgs: np.ndarray, work: Path) -> None:
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(table), size=min(120, len(table)), replace=False))
    y = table["label"].to_numpy()[rows]
    k = len(spec["classes"])
    X = tabular(table, spec, rows)[rows]
    sub = table.iloc[rows]

    def several():
        n = int(sum(sub[f"{m}_all"].str.contains(";").sum() for m in spec["modalities"]))
        import torch
        from fusilli.data import LoadDatasets

        stack = torch.as_tensor(np.concatenate([imgs[rows], imgs[rows]], axis=1))   # two images as two channels
        torch.save(stack, work / "two.pt")
        pd.DataFrame({"ID": np.arange(len(rows)), "x0": X[:, 0], "prediction_label": y}).to_csv(work / "t.csv", index=False)
        _, dims = LoadDatasets({"tabular1": str(work / "t.csv"), "image": str(work / "two.pt")}).load_tab_and_img()
        fit_fusilli(X, stack.numpy(), y, np.arange(100, len(rows)), k, 1, work / "several")
        return f"{n} cells with 2+ images; fitted with two images as two channels ({dims})"

    def missing():
        raise NotImplementedError(f"one image tensor (N, 1, H, W) and one complete table: a missing image or "
                                  f"value must be filled by hand (here: black image, median); "
                                  f"{int(sum((sub[m] == '').sum() for m in spec['modalities']))} empty image cells "
                                  f"in the probe subset; one image source only, so {len(spec['modalities'])} "
                                  f"modalities cannot all be used")

    def grouped():
        from sklearn.model_selection import GroupKFold

        folds = list(GroupKFold(n_splits=2).split(rows, y, sub["patient_id"]))
        m = fit_fusilli(X, imgs[rows], y, None, k, 1, work / "grouped", kfold=True, num_folds=2,
                        own_kfold_indices=folds)
        return f"prepare_fusion_data(kfold=True, own_kfold_indices=<GroupKFold>) trained ({type(m).__name__}); " \
               "its default KFold(shuffle=True) ignores patients"

    def explain():
        import fusilli
        import fusilli.eval as ev

        names = [n for n in dir(ev) if not n.startswith("_")]
        hits = [n for n in names if "shap" in n.lower() or "explain" in n.lower() or "importance" in n.lower()]
        if not hits:
            raise NotImplementedError(f"fusilli {getattr(fusilli, '__version__', '')}: fusilli.eval offers "
                                      f"{[n for n in names if n[0].isupper()]} (figures of predictions), "
                                      "no feature or modality attribution")
        return f"fusilli.eval has {hits}"

    for cap, fn in zip(CAPABILITIES, (several, missing, grouped, explain)):
        rec.probe(cap, fn)


def main(argv=None) -> int:
    return peer_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
