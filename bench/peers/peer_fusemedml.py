"""Peer: fuse-med-ml -- ``ModelMultiHead`` (resnet18 backbone + global-pooling head with tabular inputs).

fuse-med-ml's own image + tabular fusion: ``BackboneResnet`` (torchvision resnet18,
``pretrained=False``: no weights can be downloaded here) over the image, and
``HeadGlobalPoolingClassifier`` concatenating the pooled image features with the
descriptor vector (``tabular_data_inputs``) before its classifier; trained with
fuse's ``LightningModuleDefault`` and ``LossDefault`` (cross-entropy), AdamW,
the benchmark's number of epochs, no early stopping.  Per outer fold, on the
training cases only; descriptors one-hot encoded, median-filled and standardised
(the head needs a complete numeric vector); one image per case: the first image
of one modality (elastography on the demo cohort; a missing image is black),
each modality more would be another channel of the same backbone.

    python peer_fusemedml.py --data DIR --out DIR [--threads 2] [--probe]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import CAPABILITIES, Recorder, load_images, outer_folds, peer_main, read_task  # noqa: E402
from peer_fusilli import image_modality, tabular  # noqa: E402  (same table preparation as fusilli)


def build(n_tab: int, k: int, channels: int = 1):
    from fuse.dl.models import ModelMultiHead
    from fuse.dl.models.backbones.backbone_resnet import BackboneResnet
    from fuse.dl.models.heads.head_global_pooling_classifier import HeadGlobalPoolingClassifier

    return ModelMultiHead(conv_inputs=(("data.input.img", channels),),
                          backbone=BackboneResnet(pretrained=False, in_channels=channels),
                          heads=[HeadGlobalPoolingClassifier(head_name="head_0", conv_inputs=[("model.backbone_features", 512)],
                                                             tabular_data_inputs=[("data.input.clinical", n_tab)],
                                                             num_classes=k, pooling="avg")])


class Cases:
    """A torch dataset of fuse sample dicts."""

    def __init__(self, X, imgs, y):
        self.X, self.imgs, self.y = X, imgs, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        import torch

        return {"data.input.img": torch.as_tensor((self.imgs[i] - 0.5) / 0.25),
                "data.input.clinical": torch.as_tensor(self.X[i]), "data.label": int(self.y[i]),
                "data.sample_id": int(i)}


def fit_fuse(X, imgs, y, k: int, epochs: int, seed: int, work: Path):
    import pytorch_lightning as pl
    import torch
    import torch.nn.functional as F
    from fuse.data.utils.collates import CollateDefault
    from fuse.dl.lightning.pl_module import LightningModuleDefault
    from fuse.dl.losses.loss_default import LossDefault

    torch.manual_seed(seed)
    model = build(X.shape[1], k, imgs.shape[1])
    losses = {"cls": LossDefault(pred="model.logits.head_0", target="data.label", callable=F.cross_entropy, weight=1.0)}
    module = LightningModuleDefault(model_dir=str(work), model=model, losses=losses, validation_metrics={},
                                    train_metrics={},
                                    optimizers_and_lr_schs=lambda m: torch.optim.AdamW(m.parameters(), lr=2e-3,
                                                                                        weight_decay=1e-4))
    loader = torch.utils.data.DataLoader(Cases(X, imgs, y), batch_size=32, shuffle=True, collate_fn=CollateDefault(),
                                         drop_last=True)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, enable_checkpointing=False,
                         enable_progress_bar=False, default_root_dir=str(work))
    trainer.fit(module, train_dataloaders=loader)
    return model


def predict(model, X, imgs, k: int) -> np.ndarray:
    import torch
    from fuse.data.utils.collates import CollateDefault

    model.eval()
    ds, out = Cases(X, imgs, np.zeros(len(X), dtype=int)), []
    with torch.no_grad():
        for i in range(0, len(ds), 64):
            batch = CollateDefault()([ds[j] for j in range(i, min(i + 64, len(ds)))])
            out.append(torch.softmax(model(batch)["model.logits.head_0"], dim=1).numpy())
    return np.concatenate(out)


def run(data: Path, out: Path, probe: bool, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    table, spec = read_task(data)
    rec = Recorder(out, spec["classes"])
    mod = image_modality(spec)
    rec.notes = {"tool": "fuse-med-ml ModelMultiHead (BackboneResnet + HeadGlobalPoolingClassifier with tabular inputs)",
                 "weights": "from scratch (pretrained=False)", "images": f"first {mod} image, {spec['image_size']} px",
                 "epochs": spec["epochs"]}
    y = table["label"].to_numpy()
    k = len(spec["classes"])
    imgs = load_images(list(table[mod]), spec["image_size"])
    work = Path(tempfile.mkdtemp(prefix="fuse_"))
    if probe:
        return run_probes(table, spec, rec, imgs, work)
    for f, train, test in outer_folds(table):
        t0 = time.perf_counter()
        X = tabular(table, spec, train)
        model = fit_fuse(X[train], imgs[train], y[train], k, spec["epochs"], spec["seed"] + f, work / f"f{f}")
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = predict(model, X[test], imgs[test], k)
        rec.fold(f, table["row"].to_numpy()[test], proba, fit_s, time.perf_counter() - t0)
        print(f"fuse-med-ml fold {f}: fit {fit_s:.0f} s", flush=True)


def run_probes(table, spec, rec: Recorder, imgs, work: Path) -> None:
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(table), size=min(120, len(table)), replace=False))
    y = table["label"].to_numpy()[rows]
    k = len(spec["classes"])
    X = tabular(table, spec, rows)[rows]
    sub = table.iloc[rows]

    def several():
        n = int(sum(sub[f"{m}_all"].str.contains(";").sum() for m in spec["modalities"]))
        two = np.concatenate([imgs[rows], imgs[rows]], axis=1)
        fit_fuse(X, two, y, k, 1, 0, work / "several")
        raise NotImplementedError(f"{n} cells with 2+ images; a fixed number of images can be stacked as channels "
                                  "(fitted with 2), a varying number per case cannot")

    def missing():
        raise NotImplementedError("no missing-input handling in the model: a missing image or value is "
                                  "filled by hand (black image, median)")

    def grouped():
        from fuse.data.utils.split import balanced_division

        folds = balanced_division(sub[["patient_id", "label"]].reset_index(drop=True), no_mixture_id="patient_id",
                                  keys_to_balance=["label"], nfolds=3)
        per_patient = folds.groupby("patient_id")["fold"].nunique() if "fold" in folds else None
        if per_patient is None or (per_patient > 1).any():
            raise RuntimeError(f"balanced_division returned {list(folds.columns)}; a patient in two folds")
        return "fuse.data.utils.split.balanced_division(no_mixture_id='patient_id') made 3 folds, no patient in two"

    def explain():
        import importlib
        import pkgutil

        import fuse

        mods = [m.name for m in pkgutil.walk_packages(fuse.__path__, "fuse.")
                if any(w in m.name.lower() for w in ("explain", "gradcam", "shap", "interpret"))]
        if not mods:
            raise NotImplementedError("no explanation module in fuse-med-ml")
        importlib.import_module(mods[0])
        return f"modules: {mods}"

    for cap, fn in zip(CAPABILITIES, (several, missing, grouped, explain)):
        rec.probe(cap, fn)


def main(argv=None) -> int:
    return peer_main(__doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
