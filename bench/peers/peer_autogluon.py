"""Peer: AutoGluon -- ``MultiModalPredictor`` (images + descriptors) or, with ``--tabular``, ``TabularPredictor``.

Per outer fold, on the training cases only.  MultiModalPredictor: one timm
resnet18 per image column trained from scratch (no weights can be downloaded
here; ``pretrained=False`` is not honoured by AutoGluon 1.6.3's fit, so the network
starts from a randomly initialised local checkpoint) at the benchmark's image size and number of epochs, AutoGluon's
MLPs on the descriptors, its late-fusion MLP; validation split and early stopping
are AutoGluon's own (random, not grouped by patient).  The first image of each
case is given (a ``;``-joined list is probed).  TabularPredictor: the descriptors
only (its default model zoo, ``medium_quality``, 60 s per fold).

    python peer_autogluon.py --data DIR --out DIR [--tabular] [--threads 2] [--probe]

Needs autogluon.multimodal and autogluon.tabular (its own venv; see run_peers.py).
"""
from __future__ import annotations

import inspect
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import CAPABILITIES, Recorder, descriptor_frame, outer_folds, peer_main, read_task  # noqa: E402

LABEL = "label__"


def frame(table, spec, rows, images: bool, image_suffix: str = ""):
    out = descriptor_frame(table.iloc[rows], spec).reset_index(drop=True)
    if images:
        for m in spec["modalities"]:
            out[m] = table[m + image_suffix].iloc[rows].to_numpy()
    out[LABEL] = table["label"].iloc[rows].to_numpy()
    return out


def random_checkpoint(backbone: str, folder: Path, seed: int = 0) -> str:
    """A randomly initialised timm ``backbone`` saved as AutoGluon reads a local checkpoint folder.

    AutoGluon 1.6.3 ignores ``MultiModalPredictor(pretrained=False)`` when it builds the model
    in ``fit`` (``learners/base.py`` ``get_model_per_run`` does not pass it on), so a timm name
    makes it download the weights; a local folder (``config.json`` + ``pytorch_model.bin``) does not.
    """
    import json

    import timm
    import torch

    if not (folder / "pytorch_model.bin").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(seed)
        model = timm.create_model(backbone, pretrained=False, num_classes=0)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        cfg = {"architecture": backbone, "num_features": model.num_features,
               "pretrained_cfg": {k: v for k, v in model.pretrained_cfg.items() if k in ("mean", "std", "input_size")}}
        (folder / "config.json").write_text(json.dumps(cfg))
    return str(folder)


def mm_hyperparameters(spec: dict, epochs: int, threads: int, checkpoint: str) -> dict:
    return {"model.names": ["timm_image", "categorical_mlp", "numerical_mlp", "fusion_mlp"],
            "model.timm_image.checkpoint_name": checkpoint,
            "model.timm_image.image_size": spec["image_size"],
            "optim.max_epochs": epochs, "optim.lr": 2e-3,
            "env.num_gpus": 0, "env.accelerator": "cpu", "env.num_workers": 0, "env.num_workers_inference": 0,
            "env.per_gpu_batch_size": 32, "env.batch_size": 32}


def fit_multimodal(train_df, spec, epochs: int, seed: int, threads: int, workdir: Path, extra: dict | None = None,
                   **fit_kwargs):
    from autogluon.multimodal import MultiModalPredictor

    types = {m: "image_path" for m in spec["modalities"] if m in train_df}
    predictor = MultiModalPredictor(label=LABEL, problem_type="binary" if len(spec["classes"]) == 2 else "multiclass",
                                    path=str(workdir), verbosity=1, pretrained=False)
    checkpoint = random_checkpoint(spec["backbone"], workdir.parent / f"random_{spec['backbone']}_{seed}", seed)
    predictor.fit(train_df, column_types=types, hyperparameters={**mm_hyperparameters(spec, epochs, threads, checkpoint),
                                                                 **(extra or {})},
                  seed=seed, **fit_kwargs)
    return predictor


def fit_tabular(train_df, spec, seed: int, workdir: Path, **fit_kwargs):
    from autogluon.tabular import TabularPredictor

    predictor = TabularPredictor(label=LABEL, problem_type="binary" if len(spec["classes"]) == 2 else "multiclass",
                                 path=str(workdir), verbosity=1)
    kwargs = dict(presets="medium_quality", time_limit=60)
    kwargs.update(fit_kwargs)
    return predictor.fit(train_df, **kwargs)


def proba_matrix(predictor, df, k: int) -> np.ndarray:
    p = predictor.predict_proba(df.drop(columns=[LABEL]))
    return p[list(range(k))].to_numpy(dtype=float) if hasattr(p, "columns") else np.asarray(p, dtype=float)


def run(data: Path, out: Path, probe: bool, threads: int, tabular: bool) -> None:
    import torch

    torch.set_num_threads(threads)
    table, spec = read_task(data)
    rec = Recorder(out, spec["classes"])
    import autogluon.core

    rec.notes = {"tool": f"AutoGluon {'TabularPredictor' if tabular else 'MultiModalPredictor'} "
                         f"{autogluon.core.__version__}",
                 "weights": "none (descriptors only)" if tabular else "from scratch (MultiModalPredictor(pretrained=False))",
                 "images": "none" if tabular else "first image per modality", "epochs": spec["epochs"]}
    work = Path(tempfile.mkdtemp(prefix="ag_"))
    try:
        if probe:
            return run_probes(table, spec, rec, threads, work, tabular)
        k = len(spec["classes"])
        for f, train, test in outer_folds(table):
            t0 = time.perf_counter()
            tr = frame(table, spec, train, not tabular)
            if tabular:
                pred = fit_tabular(tr, spec, spec["seed"] + f, work / f"f{f}")
            else:
                pred = fit_multimodal(tr, spec, spec["epochs"], spec["seed"] + f, threads, work / f"f{f}")
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            proba = proba_matrix(pred, frame(table, spec, test, not tabular), k)
            rec.fold(f, table["row"].to_numpy()[test], proba, fit_s, time.perf_counter() - t0)
            print(f"autogluon fold {f}: fit {fit_s:.0f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_probes(table, spec, rec: Recorder, threads: int, work: Path, tabular: bool) -> None:
    """Each capability tried on a small subset (one epoch)."""
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(table), size=min(120, len(table)), replace=False))
    k = len(spec["classes"])

    def fit(df, name, extra=None, **kw):
        if tabular:
            return fit_tabular(df, spec, 0, work / name, **{"time_limit": 30, **kw})
        return fit_multimodal(df, spec, 1, 0, threads, work / name, extra, **kw)

    def several():
        if tabular:
            raise NotImplementedError("TabularPredictor takes no images")
        df = frame(table, spec, rows, True, "_all")
        n = int(sum(df[m].str.contains(";").sum() for m in spec["modalities"]))
        if n == 0:
            raise NotImplementedError("no case of this data set has more than one image")
        most = int(max(df[m].str.count(";").max() for m in spec["modalities"])) + 1
        p = proba_matrix(fit(df, "several", {"model.timm_image.max_image_num_per_column": most}), df, k)
        return (f"fitted and predicted with ';'-joined image paths ({n} cells with 2+ images, "
                f"max_image_num_per_column={most}; default 1: the first image only); "
                f"finite: {bool(np.isfinite(p).all())}")

    def missing():
        if tabular:
            raise NotImplementedError("TabularPredictor takes no images")
        df = frame(table, spec, rows, True)
        n = int(sum((df[m] == "").sum() for m in spec["modalities"]))
        if n == 0:
            raise NotImplementedError("no case of this data set misses a modality")
        p = proba_matrix(fit(df, "missing"), df, k)
        return f"fitted and predicted with {n} empty image cells; finite: {bool(np.isfinite(p).all())}"

    def grouped():
        df = frame(table, spec, rows, not tabular)
        if tabular:
            from autogluon.tabular import TabularPredictor
            from sklearn.model_selection import GroupKFold

            df["fold_id"] = 0
            for j, (_, te) in enumerate(GroupKFold(n_splits=3).split(df, df[LABEL], table["patient_id"].iloc[rows])):
                df.loc[te, "fold_id"] = j
            pred = TabularPredictor(label=LABEL, groups="fold_id", path=str(work / "grouped"), verbosity=1).fit(
                df, presets="medium_quality", time_limit=60)
            return ("TabularPredictor(groups=<column of patient-grouped fold ids>) bagged on those folds "
                    f"({len(pred.model_names())} models); the fold ids are built by the user (GroupKFold)")
        from autogluon.multimodal import MultiModalPredictor

        params = inspect.signature(MultiModalPredictor.fit).parameters
        if "groups" not in params:
            raise NotImplementedError("MultiModalPredictor.fit has no groups argument: its validation split "
                                      "is random over rows (a patient's nodes can fall on both sides); a "
                                      "grouped split must be made by hand and passed as tuning_data")
        return "MultiModalPredictor.fit accepts groups"

    def explain():
        df = frame(table, spec, rows, not tabular)
        pred = fit(df, "explain")
        if not hasattr(pred, "feature_importance"):
            raise NotImplementedError(f"{type(pred).__name__} has no feature_importance")
        imp = pred.feature_importance(df)
        return f"{type(pred).__name__}.feature_importance (permutation, per column); top {imp.index[0]}"

    for cap, fn in zip(CAPABILITIES, (several, missing, grouped, explain)):
        rec.probe(cap, fn)


def main(argv=None) -> int:
    def tabular(p):
        p.add_argument("--tabular", action="store_true", help="TabularPredictor on the descriptors only")

    return peer_main(__doc__, run, argv, extra=tabular)


if __name__ == "__main__":
    sys.exit(main())
