"""lnfusion's arm of the peer comparison: ``LateFusionClassifier`` on the cohort itself.

Reads the cohort the exchange folder came from (``spec.json``'s ``source``: every
image of every case, ROI boxes, missing modalities as lnfusion handles them), fits
the default fused model (one ImageBranchClassifier per modality from scratch + the
XGBoost descriptor branch + the default head on patient-grouped out-of-fold
predictions) on each outer fold's training patients and predicts its test patients.

    python peer_lnfusion.py --data DIR --out DIR [--threads 2] [--probe]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import CAPABILITIES, Recorder, outer_folds, peer_main, read_task  # noqa: E402


def load_cohort(spec: dict):
    from lnfusion.data import Cohort, load_breast_lesions

    src = spec["source"]
    if src["kind"] == "breast_lesions":
        return load_breast_lesions(src["root"])
    return Cohort.from_manifest(src["manifest"])


def model(spec: dict, seed: int, **over):
    from lnfusion.fusion import LateFusionClassifier

    image_params = dict(image_size=spec["image_size"], epochs=spec["epochs"], lr=2e-3, val_size=0.15, tta=True)
    if spec.get("patience"):
        image_params["patience"] = spec["patience"]
    image_params.update(over.pop("image_params", {}))
    cv = spec["lnfusion_cv"]
    params = dict(modalities=tuple(spec["modalities"]), backbone=spec["backbone"], image_params=image_params,
                  tabular="xgboost", cv=cv if cv == "holdout" else int(cv), random_state=seed, progress=False)
    params.update(over)
    return LateFusionClassifier(**params)


def run(data: Path, out: Path, probe: bool, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    table, spec = read_task(data)
    cohort = load_cohort(spec)
    if len(cohort) != len(table) or list(cohort.groups.astype(str)) != list(table["patient_id"].astype(str)):
        raise SystemExit("the cohort does not match table.csv (rows or patients differ)")
    rec = Recorder(out, spec["classes"])
    rec.notes = {"tool": "lnfusion LateFusionClassifier", "weights": "from scratch",
                 "images": "every image of a case", "cv": spec["lnfusion_cv"]}
    if probe:
        return run_probes(cohort, spec, rec)
    for f, train, test in outer_folds(table):
        m = model(spec, spec["seed"] + f)
        t0 = time.perf_counter()
        m.fit(cohort.subset(train))
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = m.predict_proba(cohort.subset(test))
        rec.fold(f, table["row"].to_numpy()[test], proba, fit_s, time.perf_counter() - t0)
        print(f"lnfusion fold {f}: fit {fit_s:.0f} s", flush=True)


def run_probes(cohort, spec: dict, rec: Recorder) -> None:
    """Each capability tried on a small subset of patients (tiny network, one epoch)."""
    from lnfusion.data import split_patients

    keep = np.sort(split_patients(cohort.y, cohort.groups, test_size=0.15, random_state=0).test)
    sub = cohort.subset(keep)
    fitted = {}

    def fit():
        if "m" not in fitted:
            fitted["m"] = model(spec, 0, backbone="test_resnet", cv=2,
                                image_params={"image_size": 32, "epochs": 1}).fit(sub)
        return fitted["m"]

    def several():
        n = [len(p) for m in sub.modalities for p in sub.images(m)]
        if max(n) < 2:
            raise NotImplementedError("no case has more than one image")
        fit().predict_proba(sub)
        return f"fitted and predicted on {sum(x > 1 for x in n)} case-modalities with 2+ images (up to {max(n)})"

    def missing():
        miss = sub.modality_mask()
        n = int((~miss.to_numpy(dtype=bool)).any(axis=1).sum())
        if n == 0:
            raise NotImplementedError("no case misses a modality")
        p = fit().predict_proba(sub)
        if not np.isfinite(p).all():
            raise RuntimeError("non-finite probabilities for cases with a missing modality")
        return f"fitted and predicted every case, {n} of them missing a modality (counts {fit().missing_counts_})"

    def grouped():
        from lnfusion.fusion.oof import inner_splits

        splits = inner_splits(sub.y, sub.groups, 2, 0.25, 0)
        for tr, te in splits:
            if set(sub.groups[tr]) & set(sub.groups[te]):
                raise RuntimeError("a patient on both sides of an inner split")
        return "inner out-of-fold splits are patient-grouped by construction (checked: no patient on both sides)"

    def explain():
        from lnfusion.explain import explain as run_explain

        b = run_explain(fit(), sub, image_method="none")
        mod = b.modality_importance()
        return f"explain(): per-modality and per-descriptor SHAP, per-case cards; modalities ranked {list(mod.index)}"

    for cap, fn in zip(CAPABILITIES, (several, missing, grouped, explain)):
        rec.probe(cap, fn)


def main(argv=None) -> int:
    return peer_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
