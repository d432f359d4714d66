"""A torch Dataset with one sample per image of one modality (needs torch).

A node may have several images of a modality; each is a sample.  The model
code trains on images and aggregates per node with :meth:`ImageDataset.mean_per_node`
(the mean of the image logits or probabilities of each node).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from lnfusion.data.cohort import Cohort
from lnfusion.data.decode import modality_images
from lnfusion.data.imageio import read_image
from lnfusion.exceptions import DataError

__all__ = ["ImageDataset"]


class ImageDataset(Dataset):
    """Images of one modality, one sample per image.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    modality : str
        One of ``cohort.modalities``.
    transform : callable
        ``transform(image, roi=None, rng=None) -> tensor`` (see
        :func:`lnfusion.data.build_transform`).
    indices : sequence of int, optional
        Node positions in ``cohort`` to include (default: all).  Nodes lacking
        the modality contribute no sample.
    cache : bool
        Keep decoded images in memory after the first read (worth it for small
        images and several epochs).
    random_state : int, optional
        When given, sample ``i`` of epoch ``e`` is augmented with a generator
        seeded by ``(random_state, e, i)``, so results do not depend on worker
        order; call :meth:`set_epoch` each epoch.  Default: the transform's own
        generator.

    Attributes
    ----------
    node_positions : ndarray of int
        Cohort position of the node of each sample.
    images_per_node : ndarray of int, shape (len(cohort),)
        Number of samples of each cohort node (0 for nodes without the modality
        or not in ``indices``).

    Notes
    -----
    ``dataset[i]`` returns ``(tensor, label_index, node_position)``; the label
    index is -1 for an unlabelled cohort (so batches still collate), whose
    :attr:`labels` raises :class:`~lnfusion.data.cohort.UnlabelledError`.
    """

    def __init__(self, cohort: Cohort, modality: str, transform: Callable[..., Any],
                 indices: Sequence[int] | None = None, cache: bool = False,
                 random_state: int | None = None):
        if not isinstance(cohort, Cohort):
            raise DataError(f"ImageDataset expects a Cohort, got {type(cohort).__name__}")
        self.cohort = cohort
        self.modality = modality
        self.transform = transform
        paths, rois, self.node_positions = modality_images(cohort, modality, indices)
        self._samples: list[tuple[str, Any]] = list(zip(paths, rois))
        self.images_per_node = np.bincount(self.node_positions, minlength=len(cohort))
        self._labels = cohort.y if cohort.is_labelled else None
        self._read_mode = "rgb" if cohort.schema.modalities[modality].colour else "grey"
        self.cache = bool(cache)
        self._cache: dict[int, np.ndarray] = {}
        self.random_state = random_state
        self.epoch = 0

    def __len__(self) -> int:
        return len(self._samples)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used to seed per-sample augmentation (with ``random_state``)."""
        self.epoch = int(epoch)

    def _image(self, i: int) -> np.ndarray:
        if i in self._cache:
            return self._cache[i]
        arr = read_image(self._samples[i][0], mode=self._read_mode)
        if self.cache:
            self._cache[i] = arr
        return arr

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range for {len(self)} images")
        i = i % len(self)
        rng = None
        if self.random_state is not None:
            rng = np.random.default_rng([int(self.random_state), self.epoch, i])
        x = self.transform(self._image(i), roi=self._samples[i][1], rng=rng)
        pos = int(self.node_positions[i])
        return x, -1 if self._labels is None else int(self._labels[pos]), pos

    @property
    def labels(self) -> np.ndarray:
        """Class index of each sample (raises ``UnlabelledError`` for an unlabelled cohort)."""
        labels = self.cohort.y if self._labels is None else self._labels
        return labels[self.node_positions]

    def mean_per_node(self, values: Any) -> np.ndarray:
        """Average per-sample values (logits, probabilities, embeddings) per node.

        Parameters
        ----------
        values : array-like of shape (len(self), ...) or torch tensor
            One row per sample, in dataset order.

        Returns
        -------
        ndarray of shape (len(cohort), ...)
            Mean over each node's images; NaN rows for nodes with no sample.
        """
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        values = np.asarray(values, dtype=np.float64)
        if values.shape[:1] != (len(self),):
            raise DataError(f"values has {values.shape[0] if values.ndim else 0} rows; expected one "
                            f"per sample ({len(self)})")
        n = len(self.cohort)
        sums = np.zeros((n, *values.shape[1:]))
        np.add.at(sums, self.node_positions, values)
        counts = self.images_per_node.reshape((n,) + (1,) * (values.ndim - 1)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = sums / counts
        out[self.images_per_node == 0] = np.nan
        return out
