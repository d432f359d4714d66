"""Image attributions of an image branch: SHAP (expected gradients) and Grad-CAM.

:func:`image_shap` explains the logit of a target class of a fitted
:class:`~lnfusion.models.ImageBranchClassifier` for each image of the chosen
nodes with :class:`shap.GradientExplainer` (expected gradients, an
approximation of SHAP values that integrates gradients between the image and a
small background set drawn from the cohort).  The per-pixel values are summed
over colour channels and mapped back through the preprocessing (pad removal,
resize, ROI placement: :func:`lnfusion.data.geometry.input_to_image`) onto the
original image grid, preserving their sum.

:func:`gradcam_attributions` wraps :func:`lnfusion.explain.gradcam.grad_cam`
so both methods return the same :class:`~lnfusion.explain.attribution.ImageAttribution`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lnfusion.exceptions import DataError
from lnfusion.explain.attribution import ImageAttribution

if TYPE_CHECKING:  # pragma: no cover
    from lnfusion.data import Cohort
    from lnfusion.models.image_branch import ImageBranchClassifier

__all__ = ["image_shap", "gradcam_attributions"]


def _rows(cohort: Cohort, indices: Sequence[int] | None) -> np.ndarray:
    rows = np.arange(len(cohort)) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= len(cohort)):
        raise DataError(f"indices must lie in [0, {len(cohort)}); got min {rows.min()}, max {rows.max()}")
    return rows


def _labels(cohort: Cohort, node_ids: Sequence[str] | None) -> list[str]:
    if node_ids is not None:
        return [str(v) for v in node_ids]
    from lnfusion.explain.selection import node_labels

    return node_labels(cohort)


def _stack_outputs(raw: Any, n: int, k: int) -> np.ndarray:
    """GradientExplainer output (list of k arrays, or one array with classes last) -> (n, C, H, W, k)."""
    if isinstance(raw, (list, tuple)):
        arr = np.stack([np.asarray(a) for a in raw], axis=-1)
    else:
        arr = np.asarray(raw)
        if arr.ndim == 4 and k == 1:
            arr = arr[..., None]
    if arr.ndim != 5 or arr.shape[0] != n or arr.shape[-1] != k:
        raise DataError(f"shap.GradientExplainer returned shape {arr.shape}; expected ({n}, C, H, W, {k})")
    return arr


def image_shap(branch: ImageBranchClassifier, cohort: Cohort, indices: Sequence[int] | None = None,
               target: Any = "predicted", *, n_background: int = 16, nsamples: int = 32,
               random_state: int = 0, batch_size: int = 8,
               node_ids: Sequence[str] | None = None) -> list[ImageAttribution]:
    """SHAP (expected-gradients) maps of the images of ``branch.modality`` for chosen nodes.

    Parameters
    ----------
    branch : ImageBranchClassifier
        A fitted image branch.
    cohort : Cohort
    indices : sequence of int, optional
        Node positions to explain (default all); nodes without an image of the
        modality are skipped.
    target : "predicted", class name, class index, or sequence of those
        Class whose logit is explained: the branch's predicted class, one class
        for every node, or one per node of ``indices``.
    n_background : int, default 16
        Background images, drawn (without replacement, seeded by
        ``random_state``) from the cohort's images of the modality.
    nsamples : int, default 32
        Expected-gradient samples per image.
    random_state : int, default 0
        Seeds the background draw and shap's sampling.  numpy's global random
        state (which shap reseeds) is restored afterwards.
    batch_size : int, default 8
        Images explained per call of the explainer.
    node_ids : sequence of str, optional
        Node labels of the cohort (default ``patient`` or ``patient/node``).

    Returns
    -------
    list of ImageAttribution
        One per image, in node then image order, ``method="shap"``; the
        heat map is signed, at the image's original resolution.
    """
    import shap
    import torch

    from lnfusion.data.decode import modality_images
    from lnfusion.data.geometry import input_to_image
    from lnfusion.data.imageio import image_size as read_size
    from lnfusion.explain.gradcam import _targets
    from lnfusion.models.image_branch import decode_images
    from lnfusion.models.inference import BatchPreparer

    branch._check_fitted()
    if n_background < 1 or nsamples < 1:
        raise DataError(f"n_background and nsamples must be >= 1, got {n_background} and {nsamples}")
    modality = branch.modality
    if modality not in cohort.modalities:
        raise DataError(f"the cohort has no {modality!r} images; its modalities are {list(cohort.modalities)}")
    rows = _rows(cohort, indices)
    labels = _labels(cohort, node_ids)
    target_of = dict(zip(rows.tolist(), _targets(branch, cohort, rows, target).tolist()))
    sub = cohort.subset(rows)
    zeros = np.zeros(len(cohort), np.int64)
    decoded = decode_images(sub, modality, branch.image_size, in_chans=branch.in_chans_,
                            labels=zeros[:len(sub)])
    if len(decoded.images) == 0:
        return []
    have = np.flatnonzero(cohort.modality_mask()[modality].to_numpy())
    rng = np.random.default_rng(random_state)
    bg_nodes = np.sort(rng.choice(have, size=min(n_background, have.size), replace=False))
    background = decode_images(cohort, modality, branch.image_size, in_chans=branch.in_chans_,
                               positions=bg_nodes, labels=zeros).images[:n_background]

    model = branch.model_
    device = next(model.parameters()).device
    prep = BatchPreparer(branch.data_config_["mean"], branch.data_config_["std"], device, False,
                         branch.colour_)
    paths, rois, _ = modality_images(sub, modality)  # the images decode_images decoded, in order
    image_of = np.zeros(len(decoded.images), dtype=np.int64)
    for i in range(1, len(image_of)):
        image_of[i] = image_of[i - 1] + 1 if decoded.node[i] == decoded.node[i - 1] else 0

    targets = np.array([max(target_of[int(rows[node])], 0) for node in decoded.node], dtype=np.int64)
    maps: dict[int, np.ndarray] = {}
    was_training = model.training
    np_state = np.random.get_state()
    try:
        bg = prep(torch.from_numpy(background))
        for c in np.unique(targets):  # one single-output explainer per target class: k times cheaper
            explainer = shap.GradientExplainer(_one_logit(model, int(c)), bg, batch_size=max(batch_size, 1))
            todo = np.flatnonzero(targets == c)
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                x = prep(torch.from_numpy(decoded.images[chunk]))
                raw = explainer.shap_values(x, nsamples=nsamples, rseed=random_state)
                values = _stack_outputs(raw, len(chunk), 1)
                for i, v in zip(chunk, values):
                    maps[int(i)] = v[..., 0].sum(axis=0)
    finally:
        np.random.set_state(np_state)
        model.train(was_training)

    results: list[ImageAttribution] = []
    for i in range(len(decoded.images)):
        node = int(decoded.node[i])
        row = int(rows[node])
        j = int(image_of[i])
        path, roi = paths[i], rois[i]
        size = read_size(path)
        results.append(ImageAttribution(
            node=labels[row], row=row, image_index=j, modality=modality, method="shap",
            target=str(branch.classes_[targets[i]]), image_path=str(path),
            heatmap=input_to_image(maps[i], (size.height, size.width), roi, branch.image_size,
                                   preserve_sum=True),
            roi=None if roi is None else tuple(int(v) for v in roi)))
    return results


def _one_logit(model: Any, index: int) -> Any:
    """``model`` restricted to the logit of class ``index``, as a ``(batch, 1)`` output."""
    import torch

    class OneLogit(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x)[:, index:index + 1]

    return OneLogit()


def gradcam_attributions(branch: ImageBranchClassifier, cohort: Cohort,
                         indices: Sequence[int] | None = None, target: Any = "predicted", *,
                         node_ids: Sequence[str] | None = None) -> list[ImageAttribution]:
    """Grad-CAM maps (:func:`~lnfusion.explain.gradcam.grad_cam`) as :class:`ImageAttribution`.

    Parameters
    ----------
    branch, cohort, indices, target
        As for :func:`~lnfusion.explain.gradcam.grad_cam`.
    node_ids : sequence of str, optional
        Node labels of the cohort (default ``patient`` or ``patient/node``).

    Returns
    -------
    list of ImageAttribution
        ``method="gradcam"``, maps in ``[0, 1]`` at the image's original resolution.
    """
    from lnfusion.explain.gradcam import grad_cam

    labels = _labels(cohort, node_ids)
    return [ImageAttribution(node=labels[r.row], row=r.row, image_index=r.image_index,
                             modality=r.modality, method="gradcam", target=r.target,
                             image_path=r.image_path, heatmap=r.cam, roi=r.roi)
            for r in grad_cam(branch, cohort, _rows(cohort, indices), target)]
