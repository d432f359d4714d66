"""Pre-train an encoder on a public medical image dataset; compare with training from scratch.

:func:`pretrain` reads an ImageFolder-style folder (one sub-folder per class;
BUSI is one), a MedMNIST ``.npz`` (its ``train`` split by default) or a
:class:`~lnfusion.data.Cohort`, trains a timm encoder (``"supervised"`` on the
dataset's labels, or ``"simclr"``, self-supervised contrastive learning that
ignores them) and writes a folder::

    out_dir/config.json          backbone, in_chans, image_size, method, settings,
                                 what data it saw (source, split, counts, hash of the list)
    out_dir/encoder.safetensors  the encoder weights (no classifier)
    out_dir/images.sha256        SHA-256 and source of every image it saw

which :func:`lnfusion.models.create_encoder` and
:class:`~lnfusion.models.ImageBranchClassifier` take as ``pretrained=out_dir``.
``exclude`` drops images by SHA-256 (e.g. those of a test set), so the record
proves what the encoder never saw.

:func:`compare_pretraining` is the pre-trained vs from-scratch ablation in one call.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.data.pretrain_data import PretrainData, file_sha256, load_pretrain_data
from lnfusion.exceptions import ConfigError, DataError, PersistenceError
from lnfusion.io import atomic_dir, atomic_write_text, check_output, check_replaceable
from lnfusion.models.checkpoint import save_tensors
from lnfusion.models.encoders import PRETRAIN_FORMAT, PRETRAIN_FORMAT_VERSION

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from lnfusion.data import Cohort

__all__ = ["PretrainData", "load_pretrain_data", "file_sha256", "pretrain", "read_pretrain_hashes",
           "compare_pretraining", "evaluate_proba", "simclr_objective"]

METHODS = ("supervised", "simclr")


def simclr_objective(temperature: float = 0.2):
    """NT-Xent loss on two augmented views of each image (SimCLR, Chen et al. 2020)."""
    import torch
    import torch.nn.functional as F

    def objective(model, batch, labels, prepare):
        z = torch.cat([model(prepare(batch)), model(prepare(batch))]).float()
        z = F.normalize(z, dim=1)
        n = len(batch)
        sim = z @ z.t() / temperature
        sim.fill_diagonal_(-1e9)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(sim.device)
        return F.cross_entropy(sim, target)

    return objective


def _simclr_model(encoder: torch.nn.Module, dim: int = 128) -> torch.nn.Module:
    from torch import nn

    class SimCLRModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            width = encoder.num_features
            self.projector = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True),
                                           nn.Linear(width, dim))

        def forward(self, x):
            return self.projector(self.encoder(x))

    return SimCLRModel()


def pretrain(dataset: Any, backbone: str = "resnet18", image_size: int = 128, epochs: int = 30,
             out_dir: str | os.PathLike = "pretrained", *, exclude: Iterable[str] | None = None,
             method: str = "supervised", split: str = "train", modality: str | None = None,
             colour: bool = False, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.05,
             warmup_epochs: float = 1.0, temperature: float = 0.2, augment: Any = True,
             device: str = "auto", precision: str = "auto", random_state: int = 0,
             progress: bool = True, overwrite: bool = False) -> Path:
    """Pre-train a timm encoder and write a reusable checkpoint folder.

    Parameters
    ----------
    dataset : path-like or Cohort
        See :func:`load_pretrain_data`.
    backbone : str
        timm model name.
    image_size : int
        Training image side.
    epochs : int
        Training epochs (all run; the last is kept).
    out_dir : path-like
        Folder to create (atomically).
    exclude : iterable of str, optional
        SHA-256 digests of images that must not be used (e.g. a test set's).
    method : {"supervised", "simclr"}
        ``"supervised"``: cross-entropy on the dataset's labels (class-balanced,
        label smoothing 0.1).  ``"simclr"``: contrastive learning on two
        augmented views (labels unused; stronger zoom/shift augmentation).
    split : str
        MedMNIST split (default ``"train"``: never the test split unless asked).
    modality : str, optional
        Modality of a Cohort dataset.
    colour : bool
        Train on RGB (``in_chans=3``) instead of greyscale (``in_chans=1``).
    batch_size, lr, weight_decay, warmup_epochs, augment, device, precision, random_state, progress
        As for :class:`~lnfusion.models.ImageBranchClassifier`.
    temperature : float
        SimCLR softmax temperature.
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    import dataclasses

    import timm
    import torch

    from lnfusion._version import __version__
    from lnfusion.data.augment import AugmentConfig
    from lnfusion.models.encoders import create_encoder, resolve_data_config
    from lnfusion.models.training import ImageSet, TrainConfig, supervised_objective, train_model

    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    out_dir = Path(out_dir)
    check_output(out_dir, inputs=[dataset] if isinstance(dataset, (str, os.PathLike)) else [])
    try:
        check_replaceable(out_dir, overwrite)
    except FileExistsError:
        raise PersistenceError(f"{out_dir} already exists; pass overwrite=True to replace it") from None
    t0 = time.perf_counter()
    data = load_pretrain_data(dataset, image_size=image_size, colour=colour, split=split,
                              modality=modality, exclude=exclude, progress=progress)
    in_chans = 3 if colour else 1
    if augment is True:
        aug = AugmentConfig()
        if method == "simclr":
            aug = dataclasses.replace(aug, scale=(0.7, 1.4), translate=0.15, rotation=15.0, speckle=0.8)
    elif augment in (False, None):
        aug = None
    else:
        aug = augment if isinstance(augment, AugmentConfig) else AugmentConfig.from_dict(augment)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         warmup_epochs=warmup_epochs, label_smoothing=0.1, patience=None, augment=aug,
                         precision=precision, random_state=random_state, progress=progress)
    n_classes = len(data.classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        encoder = create_encoder(backbone, in_chans=in_chans,
                                 num_classes=n_classes if method == "supervised" else 0,
                                 image_size=image_size)
        model = _simclr_model(encoder) if method == "simclr" else encoder
    data_config = resolve_data_config(encoder, image_size)
    if method == "supervised":
        counts = np.bincount(data.labels, minlength=n_classes).astype(float)
        weights = np.where(counts > 0, len(data.labels) / (n_classes * np.maximum(counts, 1)), 0.0)
        objective = supervised_objective(weights, config.label_smoothing)
    else:
        if len(data.labels) < 2 * batch_size and len(data.labels) < 8:
            raise DataError(f"SimCLR needs more images than {len(data.labels)}")
        objective = simclr_objective(temperature)
    result = train_model(model, ImageSet(data.images, data.labels), None, config,
                         mean=data_config["mean"], std=data_config["std"], colour=colour,
                         objective=objective, device=device)
    encoder.reset_classifier(0)
    encoder.to("cpu")
    list_text = "".join(f"{d}  {s}\n" for d, s in zip(data.sha256, data.sources))
    doc = {
        "format": PRETRAIN_FORMAT, "format_version": PRETRAIN_FORMAT_VERSION,
        "backbone": backbone, "in_chans": in_chans, "image_size": image_size, "method": method,
        "weights": "encoder.safetensors", "data_config": data_config,
        "data": dict(data.description, classes=data.classes,
                     class_counts=np.bincount(data.labels, minlength=n_classes).tolist(),
                     images_file="images.sha256",
                     list_sha256=hashlib.sha256("\n".join(sorted(data.sha256)).encode()).hexdigest()),
        "train": dict(config.to_dict(), temperature=temperature if method == "simclr" else None),
        "history": result.history, "seconds": time.perf_counter() - t0,
        "versions": {"lnfusion": __version__, "torch": torch.__version__, "timm": timm.__version__},
    }
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        doc["weights_sha256"] = save_tensors(tmp / "encoder.safetensors", encoder.state_dict())
        atomic_write_text(tmp / "images.sha256", list_text)
        atomic_write_text(tmp / "config.json", json.dumps(doc, indent=2) + "\n")
    return out_dir


def read_pretrain_hashes(path: str | os.PathLike) -> set[str]:
    """SHA-256 digests of the images a pre-training folder saw (from ``images.sha256``)."""
    text = (Path(path) / "images.sha256").read_text(encoding="utf-8")
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def compare_pretraining(train: Cohort, test: Cohort, modality: str, pretrained: Any, *,
                        positive: str | None = None, alpha: float = 0.05, n_boot: int = 2000,
                        **params: Any) -> pd.DataFrame:
    """The pre-trained vs from-scratch ablation: fit both, evaluate on ``test``.

    Parameters
    ----------
    train, test : Cohort
        Training cohort (the validation split is carved from it) and test cohort.
    modality : str
        Modality of the branch.
    pretrained : path or True
        Initial weights of the pre-trained arm (the other arm starts from scratch).
    positive : str, optional
        Positive class for a two-class AUC (default: the first class).  With
        more classes the macro one-vs-rest AUC is reported.
    alpha : float
        1 - confidence level of the interval.
    n_boot : int
        Bootstrap replicates of the macro AUC interval (more than two classes).
    **params
        Other :class:`~lnfusion.models.ImageBranchClassifier` parameters, same for both arms.

    Returns
    -------
    pandas.DataFrame
        One row per arm (``init`` = ``"scratch"``, ``"pretrained"``): ``auc``,
        ``auc_ci_low``, ``auc_ci_high``, ``ci_method``, ``accuracy``, ``n_test``,
        ``best_epoch``, ``fit_seconds``.
    """
    from lnfusion.models.image_branch import ImageBranchClassifier

    rows = []
    for name, init in (("scratch", None), ("pretrained", pretrained)):
        t0 = time.perf_counter()
        branch = ImageBranchClassifier(modality, pretrained=init, **params).fit(train)
        seconds = time.perf_counter() - t0
        proba = branch.predict_proba(test)
        rows.append(dict(init=name, pretrained=None if init is None else str(init),
                         **evaluate_proba(test.y, proba, [str(c) for c in branch.classes_],
                                          positive=positive, alpha=alpha, n_boot=n_boot),
                         best_epoch=branch.best_epoch_, fit_seconds=seconds))
    return pd.DataFrame(rows)


def evaluate_proba(y: np.ndarray, proba: np.ndarray, classes: Sequence[str], *,
                   positive: str | None = None, alpha: float = 0.05,
                   n_boot: int = 2000) -> dict[str, Any]:
    """AUC (DeLong CI for two classes; macro one-vs-rest otherwise) and accuracy.

    Nodes with a NaN row (no image) are left out.
    """
    from lnfusion.stats.roc import multiclass_auc, roc_auc_ci

    y = np.asarray(y)
    keep = np.isfinite(proba).all(axis=1)
    y, proba = y[keep], proba[keep]
    if len(y) == 0:
        raise DataError("no test node has an image of the modality")
    accuracy = float(np.mean(np.argmax(proba, axis=1) == y))
    if len(classes) == 2:
        k = classes.index(positive) if positive is not None else 0
        res = roc_auc_ci(y == k, proba[:, k], alpha=alpha)
        auc, low, high, how = res.auc, res.ci_low, res.ci_high, "delong"
    else:
        table = multiclass_auc(np.asarray(classes)[y], proba, classes=list(classes), alpha=alpha,
                               n_boot=n_boot)
        macro = table.iloc[-1]
        auc, low, high, how = float(macro["auc"]), float(macro["ci_low"]), float(macro["ci_high"]), \
            "bootstrap (macro one-vs-rest)"
    return {"auc": float(auc), "auc_ci_low": float(low), "auc_ci_high": float(high), "ci_method": how,
            "accuracy": accuracy, "n_test": int(len(y))}
