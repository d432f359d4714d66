"""The training loop shared by the image branch and pre-training.

Data are in-memory ``uint8`` arrays ``(N, C, H, W)`` already at the network's
input size (decode once, train many epochs): a batch is an index into that
array, converted to float, augmented on the whole batch at once with a few
tensor operations (:func:`lnfusion.data.augment.augment_batch`) and normalised
(:class:`lnfusion.models.inference.BatchPreparer`).  Nothing per image runs in
Python, so data handling stays a small fraction of the step time.  Device and
precision come from :mod:`lnfusion.models.hardware`; validation logits from
:func:`lnfusion.models.inference.predict_batches`.

The loop: AdamW (no weight decay on biases and norm parameters), linear
warm-up then cosine decay per step, bf16 autocast and channels_last where the
hardware supports them, validation at node level by mean logit, best epoch by
validation AUC (ties: lower loss) with early stopping, BatchNorm statistics
re-estimated with the kept weights (:func:`recalibrate_batchnorm`), a checkpoint at the end
of every epoch (weights, optimizer, schedule position, RNG states, history;
safetensors + JSON) from which ``resume=True`` continues bit for bit.

Randomness comes from ``random_state`` only: one :class:`torch.Generator` for
shuffling and augmentation, and the global torch RNG (dropout) forked and seeded
for the duration of the fit, so the caller's RNG state is left untouched.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lnfusion.config import JsonConfig
from lnfusion.data.augment import AugmentConfig
from lnfusion.exceptions import ConfigError, ParameterError
from lnfusion.io import atomic_dir
from lnfusion.models.checkpoint import (
    flatten_optimizer_state,
    load_state,
    save_state,
    unflatten_optimizer_state,
)
from lnfusion.models.hardware import autocast, resolve_device, resolve_precision
from lnfusion.models.inference import BatchPreparer, mean_by_node, predict_batches
from lnfusion.progress import ProgressLog, progress_mode

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = [
    "TrainConfig",
    "ImageSet",
    "EpochInfo",
    "TrainResult",
    "TrainingInterrupted",
    "recalibrate_batchnorm",
    "lr_at",
    "batch_bounds",
    "train_model",
    "node_metrics",
    "supervised_objective",
]

CHECKPOINT_FORMAT_VERSION = 1


class TrainingInterrupted(Exception):
    """Raise from an epoch callback to stop training after the checkpoint is written.

    Not an error: the run can be continued with ``resume=True``.
    """


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """Settings of :func:`train_model`: the record of one training run.

    Its fields are named as the parameters of
    :class:`~lnfusion.models.ImageBranchClassifier` (the one vocabulary);
    :meth:`from_params` builds it from an estimator's ``get_params()``, and its
    validation (:class:`~lnfusion.exceptions.ParameterError` naming the field) is
    the estimator's.
    """

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    patience: int | None = 5
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    precision: str = "auto"
    channels_last: bool = True
    random_state: int = 0
    progress: bool = True
    recalibrate_bn: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainConfig:
        """The fields of ``params`` (e.g. an estimator's ``get_params()``) this config holds."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):  # from JSON
            object.__setattr__(self, "augment", AugmentConfig.from_dict(self.augment))
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(name, value, "a positive integer")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ParameterError("lr", self.lr, "a number > 0")
        if self.patience is not None and (not isinstance(self.patience, (int, np.integer))
                                          or self.patience < 1):
            raise ParameterError("patience", self.patience, "None or an integer >= 1")
        if not isinstance(self.label_smoothing, (int, float)) or not 0 <= self.label_smoothing < 1:
            raise ParameterError("label_smoothing", self.label_smoothing, "a number in [0, 1)")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ParameterError("precision", self.precision, "'auto', 'bf16' or 'fp32'")


@dataclass
class ImageSet:
    """Images of one split at the network's input size.

    Parameters
    ----------
    images : np.ndarray
        ``uint8`` array ``(n_images, C, H, W)``.
    labels : np.ndarray, optional
        Class index per image (int), or ``None`` for unlabelled data.
    node : np.ndarray, optional
        Node (row) position of each image, for mean-logit aggregation; defaults
        to one node per image.
    n_nodes : int, optional
        Number of nodes (defaults to ``node.max() + 1``).
    """

    images: np.ndarray
    labels: np.ndarray | None = None
    node: np.ndarray | None = None
    n_nodes: int | None = None

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ConfigError(f"ImageSet.images must be uint8 (N, C, H, W), got {self.images.dtype} "
                              f"{self.images.shape}")
        n = len(self.images)
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            if self.labels.shape != (n,):
                raise ConfigError(f"ImageSet.labels must have shape ({n},), got {self.labels.shape}")
        self.node = np.arange(n) if self.node is None else np.asarray(self.node, dtype=np.int64)
        if self.node.shape != (n,):
            raise ConfigError(f"ImageSet.node must have shape ({n},), got {self.node.shape}")
        if self.n_nodes is None:
            self.n_nodes = int(self.node.max()) + 1 if n else 0

    def __len__(self) -> int:
        return len(self.images)

    def node_labels(self) -> np.ndarray:
        """Label of each node (``-1`` for nodes without an image)."""
        out = np.full(self.n_nodes, -1, dtype=np.int64)
        if self.labels is not None:
            out[self.node] = self.labels
        return out


@dataclass
class EpochInfo:
    """What an epoch callback receives."""

    epoch: int
    record: dict[str, float]
    model: Any
    is_best: bool


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`; the model holds the best epoch's weights."""

    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    resumed_from: int = 0


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - np.nanmax(logits, axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def node_metrics(node_logits: np.ndarray, node_labels: np.ndarray, n_classes: int) -> tuple[float, float]:
    """Cross-entropy and AUC of node-level mean logits (binary AUC, or macro one-vs-rest).

    Nodes with NaN logits or label ``-1`` are ignored; AUC is NaN when fewer
    than two classes are present.
    """
    from lnfusion.stats.auc import SortedScores

    keep = (node_labels >= 0) & np.isfinite(node_logits).all(axis=1)
    logits, y = node_logits[keep], node_labels[keep]
    if len(y) == 0:
        return float("nan"), float("nan")
    proba = _softmax(logits)
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))))
    present = np.unique(y)
    if len(present) < 2:
        return loss, float("nan")
    aucs = SortedScores.one_vs_rest(y, proba).aucs()
    auc = aucs[1] if n_classes == 2 else np.mean(aucs[present])
    return loss, float(auc)


# --------------------------------------------------------------------------- schedule

def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Learning rate at optimizer ``step`` (0-based): linear warm-up, then cosine to 0."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


# --------------------------------------------------------------------------- objectives

Objective = Callable[["nn.Module", "torch.Tensor", "torch.Tensor", Callable[["torch.Tensor"], "torch.Tensor"]],
                     "torch.Tensor"]


def supervised_objective(class_weight: np.ndarray | None = None,
                         label_smoothing: float = 0.0) -> Objective:
    """Weighted, label-smoothed cross-entropy on one augmented view."""
    import torch
    import torch.nn.functional as F

    weight = None if class_weight is None else torch.as_tensor(class_weight, dtype=torch.float32)

    def objective(model, batch, labels, prepare):
        logits = model(prepare(batch)).float()
        w = None if weight is None else weight.to(logits.device)
        return F.cross_entropy(logits, labels.to(logits.device), weight=w,
                               label_smoothing=label_smoothing)

    return objective


# --------------------------------------------------------------------------- loop

def _fingerprint(model: nn.Module, train: ImageSet, val: ImageSet | None, config: TrainConfig,
                 extra: Any) -> str:
    h = hashlib.sha256()
    h.update(config.to_json().encode())
    h.update(repr(extra).encode())
    for name, p in model.state_dict().items():
        h.update(f"{name}{tuple(p.shape)}".encode())
    for part in (train, val):
        if part is None:
            h.update(b"none")
            continue
        h.update(part.images.tobytes())
        h.update(part.node.tobytes())
        if part.labels is not None:
            h.update(part.labels.tobytes())
    return h.hexdigest()


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _better(score: tuple[float, float], best: tuple[float, float] | None) -> bool:
    """Compare (auc, loss): higher AUC wins, then lower loss; NaN AUC falls back to loss."""
    if best is None:
        return True
    auc, loss = score
    best_auc, best_loss = best
    if not (math.isnan(auc) or math.isnan(best_auc)):
        if auc != best_auc:
            return auc > best_auc
    if math.isnan(loss):
        return False
    return math.isnan(best_loss) or loss < best_loss


def train_model(model: nn.Module, train: ImageSet, val: ImageSet | None = None,
                config: TrainConfig | None = None, *, mean: Sequence[float], std: Sequence[float],
                colour: bool = False, class_weight: np.ndarray | None = None,
                objective: Objective | None = None, device: str = "auto",
                checkpoint_dir: str | Path | None = None, resume: bool = False,
                callbacks: Sequence[Callable[[EpochInfo], None]] = (), fingerprint_extra: Any = None,
                n_classes: int | None = None, label: str = "") -> TrainResult:
    """Train ``model`` in place; on return it holds the best epoch's weights.

    Parameters
    ----------
    model : torch.nn.Module
        Network to train (moved to ``device``, channels_last when configured).
    train, val : ImageSet
        Training images (labelled unless a custom ``objective`` ignores labels) and
        optional validation images.  Without ``val`` every epoch runs and the last
        one is kept.
    config : TrainConfig
        Loop settings.
    mean, std : sequence of float
        Normalisation per channel, on the [0, 1] scale.
    colour : bool
        Whether images are colour-coded (restricts augmentation; see :class:`AugmentConfig`).
    class_weight : np.ndarray, optional
        Per-class loss weights.
    objective : callable, optional
        ``objective(model, uint8_batch, labels, prepare) -> loss``; ``prepare``
        turns the batch into augmented, normalised input.  Default:
        :func:`supervised_objective`.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    checkpoint_dir : path, optional
        Where to write ``last/`` at the end of every epoch.
    resume : bool
        Continue from ``checkpoint_dir/last`` when it exists (the data and
        settings must be the same: checked by fingerprint).
    callbacks : sequence of callables
        Called with an :class:`EpochInfo` after each epoch's checkpoint is
        written; raise :class:`TrainingInterrupted` to stop (resumable).
    fingerprint_extra : any
        Extra settings (repr'd) that must match for ``resume``.
    n_classes : int, optional
        Number of classes for validation metrics (default: model output size).
    label : str, optional
        Names the run in its progress lines (``"bmode epoch 3/30: ..."``).

    Returns
    -------
    TrainResult
    """
    import torch
    from tqdm.auto import tqdm

    config = config or TrainConfig()
    if len(train) == 0:
        raise ConfigError("train_model: the training set has no images")
    dev = resolve_device(device)
    dtype = resolve_precision(config.precision, dev)
    model.to(dev)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    if objective is None:
        if train.labels is None:
            raise ConfigError("train_model: the training set has no labels and no objective was given")
        objective = supervised_objective(class_weight, config.label_smoothing)
    prepare_base = BatchPreparer(mean, std, dev, config.channels_last, colour)
    optimizer = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr)
    bounds = batch_bounds(len(train), config.batch_size)
    steps_per_epoch = len(bounds)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = int(round(config.warmup_epochs * steps_per_epoch))
    images = torch.from_numpy(train.images)
    labels = torch.from_numpy(train.labels if train.labels is not None else np.zeros(len(train), np.int64))
    n_out = n_classes or getattr(model, "num_classes", 0)
    ckpt = Path(checkpoint_dir) / "last" if checkpoint_dir is not None else None
    fingerprint = _fingerprint(model, train, val, config, fingerprint_extra) if ckpt else None

    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(config.random_state)
        gen = torch.Generator().manual_seed(config.random_state)
        history: list[dict[str, float]] = []
        best_state: dict[str, torch.Tensor] | None = None
        best_score: tuple[float, float] | None = None
        best_epoch, bad_epochs, step, start_epoch, complete = 0, 0, 0, 0, False
        if ckpt is not None and resume and (ckpt / "state.json").is_file():
            tensors, meta = load_state(ckpt)
            if meta.get("fingerprint") != fingerprint:
                raise ConfigError(
                    f"{ckpt}: the checkpoint was written for other data or settings; start a new "
                    "run (resume=False) or point checkpoint_dir elsewhere")
            model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            optimizer.load_state_dict(unflatten_optimizer_state(tensors, meta["optimizer"]))
            best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
            best_state = best or None
            gen.set_state(tensors["rng.generator"])
            torch.set_rng_state(tensors["rng.torch"])
            if dev.type == "cuda" and "rng.cuda" in tensors:
                torch.cuda.set_rng_state(tensors["rng.cuda"], dev)
            history = list(meta["history"])
            best_epoch, bad_epochs, step = meta["best_epoch"], meta["bad_epochs"], meta["step"]
            if meta["best_score"] is not None:
                best_score = tuple(float("nan") if v is None else v for v in meta["best_score"])
            start_epoch, complete = meta["epoch"], meta["complete"]
        resumed_from = start_epoch
        stopped_early = bool(complete and start_epoch < config.epochs)

        def prepare(batch: torch.Tensor) -> torch.Tensor:
            return prepare_base(batch, config.augment, gen)

        epoch = start_epoch
        mode = progress_mode(config.progress)
        log = ProgressLog(config.epochs, f"{label} epoch" if label else "epoch", start=start_epoch)
        while not complete and epoch < config.epochs:
            t0 = time.perf_counter()
            model.train()
            order = torch.randperm(len(train), generator=gen)
            total, seen = 0.0, 0
            bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}",
                       disable=mode != "bar", leave=False, unit="batch")
            for i in bar:
                idx = order[bounds[i][0]:bounds[i][1]]
                lr = lr_at(step, total_steps, warmup_steps, config.lr)
                for g in optimizer.param_groups:
                    g["lr"] = lr

                with autocast(dev, dtype):
                    loss = objective(model, images[idx], labels[idx], prepare)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                bar.set_postfix(loss=f"{total / seen:.4f}")
            bar.close()
            record = {"epoch": epoch + 1, "train_loss": total / seen, "lr": lr}
            if val is not None and len(val):
                logits = predict_batches(model, val.images, mean=mean, std=std,
                                         batch_size=max(config.batch_size, 64), device=dev,
                                         precision=config.precision,
                                         channels_last=config.channels_last, colour=colour)
                node_logits = mean_by_node(logits, val.node, val.n_nodes)
                val_loss, val_auc = node_metrics(node_logits, val.node_labels(), n_out)
                record.update(val_loss=val_loss, val_auc=val_auc)
                score = (val_auc, val_loss)
            else:
                score = (float("nan"), -float(epoch))  # no validation: the last epoch wins
            record["seconds"] = time.perf_counter() - t0
            history.append(record)
            is_best = _better(score, best_score)
            if is_best:
                best_score, best_epoch, bad_epochs = score, epoch + 1, 0
                best_state = _clone_state(model)
            else:
                bad_epochs += 1
            epoch += 1
            if val is not None and config.patience is not None and bad_epochs >= config.patience:
                complete, stopped_early = True, epoch < config.epochs
            complete = complete or epoch >= config.epochs
            if mode != "off":
                shown = ", ".join(f"{k} {v:.4f}" for k, v in record.items()
                                  if k not in ("epoch", "seconds"))
                log.step(epoch, f"{shown} ({record['seconds']:.1f} s)" + (" *" if is_best else ""))
            if ckpt is not None:
                _write_checkpoint(ckpt, model, optimizer, gen, dev, best_state, {
                    "epoch": epoch, "step": step, "history": history, "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs, "complete": complete, "fingerprint": fingerprint,
                    "best_score": None if best_score is None else
                    [None if math.isnan(v) else v for v in best_score],
                    "config": config.to_dict()})
            info = EpochInfo(epoch=epoch, record=record, model=model, is_best=is_best)
            for callback in callbacks:
                callback(info)

    if best_state is not None:
        model.load_state_dict(best_state)
    if config.recalibrate_bn:
        recalibrate_batchnorm(model, train.images, prepare_base, batch_size=config.batch_size, dtype=dtype)
    model.eval()
    return TrainResult(history=history, best_epoch=best_epoch, stopped_early=stopped_early,
                       resumed_from=resumed_from)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive batches covering ``n`` items.

    A trailing batch of a single item is merged into the one before it: a
    BatchNorm layer in training mode cannot normalise one sample (its spatial
    size is often 1x1 at the end of a CNN on small images).
    """
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def recalibrate_batchnorm(model: nn.Module, images: np.ndarray, prepare: BatchPreparer, *,
                          batch_size: int, dtype: torch.dtype | None = None) -> int:
    """Re-estimate BatchNorm running statistics with the final weights ("precise BN").

    During training the running mean/variance trail the weights (momentum 0.1),
    which matters when there are few optimizer steps (small cohorts): eval-mode
    predictions can then be far worse than the network.  One no-grad pass over
    the (un-augmented) training images in train mode, with a cumulative average,
    replaces them.  Models without BatchNorm (ViTs) are left untouched.

    Returns
    -------
    int
        Number of BatchNorm layers recalibrated.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
           and m.track_running_stats]
    if not bns or len(images) == 0:
        return 0
    momenta = [m.momentum for m in bns]
    was_training = model.training
    model.eval()  # dropout & co. off: only the BatchNorm layers run in training mode
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the pass
        m.train()
    try:
        with torch.no_grad(), autocast(prepare.device, dtype):
            for start, stop in batch_bounds(len(images), batch_size):
                model(prepare(torch.from_numpy(images[start:stop])))
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(bns)


def _write_checkpoint(path: Path, model: nn.Module, optimizer: Any, gen: torch.Generator,
                      dev: torch.device, best_state: dict | None, meta: dict[str, Any]) -> None:
    import torch

    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if best_state is not None:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    opt_tensors, opt_meta = flatten_optimizer_state(optimizer.state_dict())
    tensors.update(opt_tensors)
    tensors["rng.generator"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    if dev.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(dev)
    meta = dict(meta, optimizer=opt_meta, format_version=CHECKPOINT_FORMAT_VERSION)
    with atomic_dir(path, overwrite=True) as tmp:
        save_state(tmp, tensors, meta)
