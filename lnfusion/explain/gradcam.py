"""Grad-CAM for a fitted image branch (pytorch-grad-cam), at each image's own resolution.

:func:`grad_cam` runs Grad-CAM on the network of an
:class:`~lnfusion.models.ImageBranchClassifier` and maps each map back through
the preprocessing (:func:`lnfusion.data.geometry.input_to_image`: pad removal,
resize, ROI placement) onto the original image grid, so ``result.cam.shape == image.shape[:2]``.  The target layer is chosen
automatically (:func:`lnfusion.models.encoders.cam_target_layer`): the last
feature stage of a CNN, or the first norm of a ViT's last block with the tokens
reshaped to their grid.  :func:`save_overlays` writes PNG overlays.
"""
from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lnfusion.exceptions import ConfigError, DataError
from lnfusion.io import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from lnfusion.data import Cohort
    from lnfusion.models.image_branch import ImageBranchClassifier

__all__ = ["GradCamResult", "grad_cam", "save_overlays"]


@dataclass(frozen=True, eq=False)
class GradCamResult:
    """Grad-CAM of one image of one node.

    Attributes
    ----------
    row : int
        Position of the node in the cohort.
    image_index : int
        Position of the image among the node's images of the modality.
    image_path : str
        The image file.
    modality : str
        Modality of the branch.
    target : str
        Class whose score was explained.
    cam : np.ndarray
        float32 ``(H, W)`` in [0, 1] on the original image grid (0 outside the ROI).
    roi : tuple or None
        ``(x0, y0, x1, y1)`` crop the network saw, or None for the whole image.
    """

    row: int
    image_index: int
    image_path: str
    modality: str
    target: str
    cam: np.ndarray
    roi: tuple[int, int, int, int] | None


def _to_original(cam: np.ndarray, shape: tuple[int, int], roi: Sequence[int] | None,
                 image_size: int) -> np.ndarray:
    """Map a square input-grid CAM onto the original ``(H, W)`` grid, clipped at 0, peak 1."""
    from lnfusion.data.geometry import input_to_image

    out = np.clip(input_to_image(cam, shape, roi, image_size), 0.0, None)
    peak = out.max()
    return out / peak if peak > 0 else out


def _targets(branch: ImageBranchClassifier, cohort: Cohort, rows: np.ndarray,
             target: Any) -> np.ndarray:
    classes = [str(c) for c in branch.classes_]
    if isinstance(target, str) and target == "predicted":
        proba = branch.predict_proba(cohort.subset(rows))
        return np.where(np.isfinite(proba).all(axis=1), np.nan_to_num(proba).argmax(axis=1), -1)
    values = [target] * len(rows) if np.ndim(target) == 0 else list(target)
    if len(values) != len(rows):
        raise ConfigError(f"target has {len(values)} entries for {len(rows)} nodes; expected one per node, "
                          "a class name, a class index or 'predicted'")
    out = []
    for v in values:
        if isinstance(v, (int, np.integer)) and 0 <= int(v) < len(classes):
            out.append(int(v))
        elif str(v) in classes:
            out.append(classes.index(str(v)))
        else:
            raise ConfigError(f"target {v!r} is not a class of the branch {classes} (nor 'predicted')")
    return np.asarray(out, dtype=np.int64)


def grad_cam(branch: ImageBranchClassifier, cohort: Cohort, indices: Sequence[int] | None = None,
             target: Any = "predicted", *, batch_size: int = 16) -> list[GradCamResult]:
    """Grad-CAM maps of the images of ``branch.modality`` for the chosen nodes.

    Parameters
    ----------
    branch : ImageBranchClassifier
        A fitted image branch (CNN or ViT backbone).
    cohort : Cohort
        Cohort holding the nodes.
    indices : sequence of int, optional
        Node positions to explain (default: all); nodes without an image of the
        modality are skipped.
    target : "predicted", class name, class index, or sequence of those
        Class to explain: the node's predicted class (mean image logit, as
        :meth:`~ImageBranchClassifier.predict`), one class for all nodes, or one
        per node of ``indices``.
    batch_size : int
        Images per backward pass.

    Returns
    -------
    list of GradCamResult
        One per image, in node then image order; ``result.cam`` is float32
        ``(H, W)`` in [0, 1] at the image's original resolution (0 outside the ROI).
    """
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from lnfusion.data.decode import modality_images
    from lnfusion.data.imageio import image_size as read_size
    from lnfusion.models.encoders import cam_target_layer
    from lnfusion.models.image_branch import decode_images
    from lnfusion.models.inference import BatchPreparer

    branch._check_fitted()
    modality = branch.modality
    if modality not in cohort.modalities:
        raise DataError(f"the cohort has no {modality!r} images; its modalities are {list(cohort.modalities)}")
    rows = np.arange(len(cohort)) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= len(cohort)):
        raise DataError(f"indices must lie in [0, {len(cohort)}); got min {rows.min()}, max {rows.max()}")
    classes_of_row = dict(zip(rows.tolist(), _targets(branch, cohort, rows, target).tolist()))
    sub = cohort.subset(rows)
    decoded = decode_images(sub, modality, branch.image_size, in_chans=branch.in_chans_)
    paths, rois, _ = modality_images(sub, modality)  # the images decode_images decoded, in order
    model = branch.model_
    layer, reshape = cam_target_layer(model)
    device = next(model.parameters()).device
    prep = BatchPreparer(branch.data_config_["mean"], branch.data_config_["std"], device,
                     branch.channels_last, branch.colour_)
    image_of = np.zeros(len(decoded), dtype=np.int64)  # image index within its node
    for i in range(1, len(decoded)):
        image_of[i] = image_of[i - 1] + 1 if decoded.node[i] == decoded.node[i - 1] else 0
    results: list[GradCamResult] = []
    was_training = model.training
    # Grad-CAM needs the gradient at the target layer only: with the weights frozen and the graph
    # started at that layer's output, backward runs through the layers after it and computes
    # no weight gradient (the maps are the same; the backward pass is several times cheaper).
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    graph_start = layer.register_forward_hook(_start_graph)  # before GradCAM's hooks: runs first
    try:
        cam = GradCAM(model=model, target_layers=[layer], reshape_transform=reshape)
        with torch.enable_grad():
            for start in range(0, len(decoded), batch_size):
                stop = min(start + batch_size, len(decoded))
                x = prep(torch.from_numpy(decoded.images[start:stop]))
                ks = [classes_of_row[int(rows[decoded.node[i]])] for i in range(start, stop)]
                ks = [k if k >= 0 else 0 for k in ks]
                maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(k) for k in ks])
                for i, k, m in zip(range(start, stop), ks, maps):
                    node = int(decoded.node[i])
                    j = int(image_of[i])
                    path, roi = paths[i], rois[i]
                    size = read_size(path)
                    results.append(GradCamResult(
                        row=int(rows[node]), image_index=j, image_path=str(path), modality=modality,
                        target=str(branch.classes_[k]),
                        cam=_to_original(np.asarray(m, dtype=np.float32), (size.height, size.width), roi,
                                         branch.image_size),
                        roi=None if roi is None else tuple(int(v) for v in roi)))
        cam.activations_and_grads.release()
    finally:
        graph_start.remove()
        for p in trainable:
            p.requires_grad_(True)
        model.train(was_training)
    return results


def _start_graph(module: Any, inputs: Any, output: Any) -> Any:
    """Forward hook: the layer's output as the leaf where the autograd graph begins."""
    return output.detach().requires_grad_(True)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def save_overlays(results: Sequence[GradCamResult], out_dir: str | os.PathLike, *, alpha: float = 0.45,
                  cmap: str = "jet") -> list[Path]:
    """Write one PNG per result: the original image with its Grad-CAM blended in.

    Parameters
    ----------
    results : sequence of GradCamResult
        From :func:`grad_cam`.
    out_dir : path-like
        Folder (created); files ``<row>_<image>_<modality>_<target>.png``.
    alpha : float
        Maximum opacity of the heat map.
    cmap : str
        Matplotlib colour map.

    Returns
    -------
    list of pathlib.Path
    """
    from matplotlib import colormaps
    from PIL import Image

    from lnfusion.data.imageio import read_image

    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colour_map = colormaps[cmap]
    written = []
    for r in results:
        image = read_image(r.image_path, mode="rgb").astype(np.float32) / 255.0
        if image.shape[:2] != r.cam.shape:
            raise DataError(f"{r.image_path}: image is {image.shape[:2]} but its CAM is {r.cam.shape}")
        heat = colour_map(np.clip(r.cam, 0.0, 1.0))[..., :3]
        weight = alpha * np.clip(r.cam, 0.0, 1.0)[..., None]
        blended = ((1.0 - weight) * image + weight * heat) * 255.0
        buf = io.BytesIO()
        Image.fromarray(blended.round().clip(0, 255).astype(np.uint8)).save(buf, format="PNG")
        name = f"{r.row:05d}_{r.image_index}_{_safe(r.modality)}_{_safe(r.target)}.png"
        written.append(atomic_write_bytes(out_dir / name, buf.getvalue()))
    return written
