"""Inference on in-memory uint8 images: batch preparation, logits and features, node means.

:class:`BatchPreparer` turns a ``uint8`` batch ``(B, C, H, W)`` into the
network's input (float, optionally augmented with
:func:`lnfusion.data.augment.augment_batch`, normalised, on the device,
channels_last); training, :func:`predict_batches`, Grad-CAM and image SHAP
all prepare their batches with it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lnfusion.data.augment import AugmentConfig, augment_batch
from lnfusion.models.hardware import autocast, resolve_device, resolve_precision

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = ["BatchPreparer", "predict_batches", "mean_by_node"]


class BatchPreparer:
    """uint8 batch -> float, (augmented), normalised, on device, channels_last."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device,
                 channels_last: bool, colour: bool):
        import torch

        c = len(mean)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, c, 1, 1) * 255.0
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, c, 1, 1) * 255.0
        self.device = device
        self.channels_last = channels_last
        self.colour = colour

    def __call__(self, batch: torch.Tensor, augment: AugmentConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        import torch

        x = batch.to(self.device, non_blocking=True).float()
        if augment is not None:
            x = augment_batch(x / 255.0, augment, colour=self.colour, generator=generator) * 255.0
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def mean_by_node(values: np.ndarray, node: np.ndarray, n_nodes: int) -> np.ndarray:
    """Average rows of ``values`` sharing a node; rows of nodes without any are NaN.

    Parameters
    ----------
    values : np.ndarray
        ``(n_images, k)`` per-image values (logits, embeddings).
    node : np.ndarray
        Node position of each image.
    n_nodes : int
        Number of output rows.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros((n_nodes, values.shape[1]), dtype=np.float64)
    np.add.at(out, np.asarray(node, dtype=np.int64), values)
    counts = np.bincount(node, minlength=n_nodes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= counts[:, None]
    out[counts == 0] = np.nan
    return out



def predict_batches(model: nn.Module, images: np.ndarray, *, mean: Sequence[float],
                    std: Sequence[float], batch_size: int = 64, device: str | torch.device = "cpu",
                    precision: str = "auto", channels_last: bool = True, tta: bool = False,
                    features: bool = False, colour: bool = False) -> np.ndarray:
    """Logits (or pre-logits features) of every image, in order, in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        A timm model (``forward_features``/``forward_head``).
    images : np.ndarray
        ``uint8`` ``(N, C, H, W)``.
    tta : bool, default False
        Also run the left-right flipped image and average the outputs.
    features : bool, default False
        Return ``forward_head(x, pre_logits=True)`` instead of logits.

    Returns
    -------
    np.ndarray
        float32 ``(N, n_outputs)``.
    """
    import torch

    dev = device if isinstance(device, torch.device) else resolve_device(device)
    dtype = resolve_precision(precision, dev)
    prep = BatchPreparer(mean, std, dev, channels_last, colour)
    was_training = model.training
    model.eval()
    outs = []

    def run(x: torch.Tensor) -> torch.Tensor:
        if features:
            return model.forward_head(model.forward_features(x), pre_logits=True)
        return model(x)

    try:
        with torch.inference_mode(), autocast(dev, dtype):
            for start in range(0, len(images), batch_size):
                x = prep(torch.from_numpy(images[start:start + batch_size]))
                y = run(x).float()
                if tta:
                    y = (y + run(torch.flip(x, dims=[3])).float()) / 2.0
                outs.append(y.cpu().numpy())
    finally:
        model.train(was_training)
    if not outs:
        n_out = getattr(model, "num_features" if features else "num_classes", 0)
        return np.zeros((0, n_out), dtype=np.float32)
    return np.concatenate(outs).astype(np.float32)
