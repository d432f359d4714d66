"""One image modality -> class probabilities: a timm encoder fine-tuned per modality.

:class:`ImageBranchClassifier` is a scikit-learn estimator whose ``X`` is a
:class:`~lnfusion.data.Cohort`.  It decodes the images of its modality once
(ROI crop, aspect-preserving resize and pad by
:func:`lnfusion.data.build_transform`, kept as ``uint8`` in memory), trains with
:func:`lnfusion.models.training.train_model` and predicts per node by the mean
logit of the node's images.  Nodes without an image of the modality get a row
of NaN.
"""
from __future__ import annotations

import json
import os
import platform
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from lnfusion.data.labels import resolve_target
from lnfusion.exceptions import (
    ConfigError,
    DataError,
    ParameterError,
    PersistenceError,
    check_fitted,
)
from lnfusion.io import atomic_dir, atomic_write_text, recover_output
from lnfusion.models.checkpoint import load_tensors, read_json, save_tensors
from lnfusion.models.hardware import check_threads, resolve_threads, torch_threads

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from lnfusion.data import Cohort
    from lnfusion.models.training import EpochInfo, ImageSet

__all__ = ["ImageBranchClassifier", "MODEL_FORMAT", "decode_images"]

#: ``format`` value in the ``config.json`` written by :meth:`ImageBranchClassifier.save`.
MODEL_FORMAT = "lnfusion-image-branch"
MODEL_FORMAT_VERSION = 1


def decode_images(cohort: Cohort, modality: str, image_size: int, *, in_chans: int,
                  positions: Sequence[int] | None = None, labels: np.ndarray | None = None,
                  num_workers: int = 0, progress: bool = False) -> ImageSet:
    """Decode the images of ``modality`` at the network's input size, as ``uint8``.

    ROI crop, aspect-preserving resize and black padding are those of
    :func:`lnfusion.data.build_transform` (``train=False``); the result is
    rounded back to ``uint8`` so a whole cohort stays small in memory.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    modality : str
        One of ``cohort.modalities``.
    image_size : int
        Output side in pixels.
    in_chans : int
        Channels of the output (1 for greyscale, 3 for colour).
    positions : sequence of int, optional
        Node positions to include (default all); nodes without an image give none.
    labels : np.ndarray, optional
        Class index per node (default ``cohort.y``).
    num_workers : int
        DataLoader worker processes for decoding.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ImageSet
        Images ``(n_images, in_chans, image_size, image_size)``, label and node
        position (in ``cohort``) of each image; ``n_nodes = len(cohort)``.
    """
    from lnfusion.data.decode import decode_uint8, modality_images
    from lnfusion.models.training import ImageSet

    paths, rois, nodes = modality_images(cohort, modality, positions)
    colour = cohort.schema.modalities[modality].colour
    out = decode_uint8(paths, rois, image_size=image_size, colour=colour, in_chans=in_chans,
                       num_workers=num_workers, progress=progress, desc=f"decode {modality}")
    if labels is not None:
        y = np.asarray(labels)[nodes]
    elif cohort.is_labelled:
        y = cohort.y[nodes]
    else:  # new patients: prediction needs no labels
        y = None
    return ImageSet(images=out, labels=y, node=nodes, n_nodes=len(cohort))


class ImageBranchClassifier(ClassifierMixin, BaseEstimator):
    """Classify nodes from the images of one modality with a fine-tuned timm encoder.

    Parameters
    ----------
    modality : str
        Modality (manifest column) this branch reads, e.g. ``"elasto"``.
    backbone : str, default "resnet18"
        timm model name (see :func:`lnfusion.models.create_encoder`).
    image_size : int, default 224
        Input side in pixels (images are resized with their aspect ratio and padded).
    pretrained : None, False, True or path, default None
        Initial weights: none, timm's hub (``True``, needs network), a weights
        file, or an lnfusion pre-training folder.
    epochs : int, default 30
        Maximum number of epochs.
    batch_size : int, default 32
        Training batch size.
    lr : float, default 1e-3
        Peak AdamW learning rate.
    weight_decay : float, default 0.05
        AdamW weight decay (not applied to biases and norm parameters).
    warmup_epochs : float, default 1
        Linear warm-up length; then cosine decay to zero at ``epochs``.
    label_smoothing : float, default 0.1
        Cross-entropy label smoothing.
    class_weight : "balanced", None, dict or array, default "balanced"
        Loss weight per class; ``"balanced"`` = ``n_images / (n_classes * count)``
        over the training images.
    val_size : float, default 0.15
        Fraction of the *training* patients (per class) held out to pick the best
        epoch and stop early; 0 trains every epoch and keeps the last.
    patience : int or None, default 5
        Epochs without a better validation AUC before stopping.
    augment : bool, AugmentConfig or dict, default True
        Training augmentation (see :class:`lnfusion.data.transforms.AugmentConfig`).
    device : str, default "auto"
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    precision : {"auto", "bf16", "fp32"}, default "auto"
        bf16 autocast where the hardware supports it natively.
    channels_last : bool, default True
        Use the channels-last memory format (faster convolutions).
    num_workers : int, default 0
        Worker processes for decoding images.
    random_state : int, default 0
        Seed of initialisation, validation split, shuffling, augmentation and dropout.
    progress : bool, default True
        Show progress bars and one line per epoch.
    checkpoint_dir : path, optional
        Write a resumable checkpoint there at the end of every epoch.
    resume : bool, default False
        Continue from ``checkpoint_dir`` when it holds a checkpoint of the same run.
    tta : bool, default False
        Average the logits of the image and its left-right mirror at prediction.
    drop_rate : float, default 0.0
        Dropout before the classifier.
    n_threads : int or None, default None
        CPU threads torch may use while this branch fits and predicts
        (``torch.set_num_threads``, restored afterwards).  None: the cores
        available to the process (its CPU affinity, capped by
        ``OMP_NUM_THREADS``); a :class:`~lnfusion.fusion.LateFusionClassifier`
        fitting branches in parallel gives each its share of the cores.

    Attributes
    ----------
    classes_ : np.ndarray
        Class names, in the cohort's order.
    model_ : torch.nn.Module
        The fine-tuned network (best epoch), in eval mode.
    history_ : pandas.DataFrame
        One row per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_auc``, ``lr``, ``seconds``.
    best_epoch_ : int
        Epoch whose weights were kept (1-based).
    data_config_ : dict
        Input size and normalisation (``input_size``, ``mean``, ``std``, ...).
    in_chans_ : int
        1 for greyscale modalities, 3 for colour ones.
    n_train_images_, n_val_images_ : int
        Images used for training and for validation.

    Examples
    --------
    >>> clf = ImageBranchClassifier("elasto", backbone="resnet18", image_size=128)  # doctest: +SKIP
    >>> clf.fit(train_cohort).predict_proba(test_cohort)                            # doctest: +SKIP
    """

    def __init__(self, modality: str, backbone: str = "resnet18", image_size: int = 224,
                 pretrained: Any = None, epochs: int = 30, batch_size: int = 32, lr: float = 1e-3,
                 weight_decay: float = 0.05, warmup_epochs: float = 1, label_smoothing: float = 0.1,
                 class_weight: Any = "balanced", val_size: float = 0.15, patience: int | None = 5,
                 augment: Any = True, device: str = "auto", precision: str = "auto",
                 channels_last: bool = True, num_workers: int = 0, random_state: int = 0,
                 progress: bool = True, checkpoint_dir: str | os.PathLike | None = None,
                 resume: bool = False, tta: bool = False, drop_rate: float = 0.0,
                 n_threads: int | None = None):
        self.modality = modality
        self.backbone = backbone
        self.image_size = image_size
        self.pretrained = pretrained
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.val_size = val_size
        self.patience = patience
        self.augment = augment
        self.device = device
        self.precision = precision
        self.channels_last = channels_last
        self.num_workers = num_workers
        self.random_state = random_state
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.tta = tta
        self.drop_rate = drop_rate
        self.n_threads = n_threads

    # ------------------------------------------------------------------ helpers
    def _augment_config(self):
        from lnfusion.data.augment import AugmentConfig

        if self.augment is True:
            return AugmentConfig()
        if self.augment in (False, None):
            return None
        if isinstance(self.augment, AugmentConfig):
            return self.augment
        if isinstance(self.augment, dict):
            try:
                return AugmentConfig.from_dict(self.augment)
            except ConfigError as exc:
                raise ParameterError("augment", self.augment, f"AugmentConfig settings ({exc})",
                                     type(self).__name__) from exc
        raise ParameterError("augment", self.augment, "True, False, an AugmentConfig or a dict",
                             type(self).__name__)

    def _train_config(self):
        """The training loop's record of this estimator's parameters (same names)."""
        from lnfusion.models.training import TrainConfig

        params = dict(self.get_params(deep=False), augment=self._augment_config())
        try:
            return TrainConfig.from_params(params)
        except ParameterError as exc:
            raise exc.within(type(self).__name__) from None

    def _validate_params(self) -> None:
        """Check every parameter's type and range; :class:`ParameterError` names the first bad one.

        Called by :meth:`fit`; needs no data.
        """
        owner = type(self).__name__

        def fail(name: str, expected: str) -> None:
            raise ParameterError(name, getattr(self, name), expected, owner)

        for name in ("modality", "backbone"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                fail(name, "a non-empty string")
        self._check_backbone_known()
        for name in ("channels_last", "progress", "resume", "tta"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                fail(name, "True or False")
        for name in ("weight_decay", "warmup_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value >= 0:
                fail(name, "a number >= 0")
        rs = self.random_state
        if isinstance(rs, bool) or not isinstance(rs, (int, np.integer)):
            fail("random_state", "an integer")
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, os.PathLike)):
            fail("checkpoint_dir", "None or a folder path")
        if not isinstance(self.pretrained, (type(None), bool, str, os.PathLike)):
            fail("pretrained", "None, False, True (timm's weights) or a path")
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, (int, np.integer)) \
                or self.image_size < 8:
            fail("image_size", "an integer >= 8")
        if isinstance(self.val_size, bool) or not isinstance(self.val_size, (int, float)) \
                or not 0.0 <= self.val_size < 1.0:
            fail("val_size", "a fraction in [0, 1)")
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, (int, np.integer)) \
                or self.num_workers < 0:
            fail("num_workers", "an integer >= 0")
        if isinstance(self.drop_rate, bool) or not isinstance(self.drop_rate, (int, float)) \
                or not 0.0 <= self.drop_rate < 1.0:
            fail("drop_rate", "a number in [0, 1)")
        if isinstance(self.class_weight, str) and self.class_weight != "balanced":
            fail("class_weight", "'balanced', None, a dict class -> weight or an array")
        if not isinstance(self.device, str):
            fail("device", "'auto', 'cpu', 'cuda' or 'cuda:N'")
        check_threads(self.n_threads, owner)
        self._train_config()

    def _check_backbone_known(self) -> None:
        """Refuse a backbone timm does not know, before any data are read (no network needed)."""
        import timm

        if timm.is_model(self.backbone):
            return
        import difflib

        close = difflib.get_close_matches(self.backbone, timm.list_models(), n=5, cutoff=0.6)
        raise ParameterError("backbone", self.backbone, "a timm model name (timm.list_models())"
                             + (f"; similar names: {close}" if close else ""), type(self).__name__)

    def _class_weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray | None:
        cw = self.class_weight
        if cw is None:
            return None
        if isinstance(cw, str):
            if cw != "balanced":
                raise ParameterError("class_weight", cw, "'balanced', None, a dict or an array",
                                     type(self).__name__)
            counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
            weights = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
            return weights
        if isinstance(cw, dict):
            unknown = sorted(set(map(str, cw)) - set(map(str, self.classes_)))
            if unknown:
                raise ConfigError(f"class_weight names {unknown}, which are not classes {list(self.classes_)}")
            return np.array([float(cw.get(c, 1.0)) for c in self.classes_])
        arr = np.asarray(cw, dtype=np.float64)
        if arr.shape != (n_classes,):
            raise ConfigError(f"class_weight array has shape {arr.shape}; expected ({n_classes},)")
        return arr

    def _check_cohort(self, cohort: Any) -> None:
        from lnfusion.data import Cohort

        if not isinstance(cohort, Cohort):
            raise DataError(f"{type(self).__name__} expects a lnfusion.data.Cohort as X, "
                            f"got {type(cohort).__name__}")

    def _check_fitted(self) -> None:
        check_fitted(self, "model_")

    def _build_model(self, n_classes: int, in_chans: int, pretrained: Any) -> nn.Module:
        import torch

        from lnfusion.models.encoders import create_encoder

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            return create_encoder(self.backbone, in_chans=in_chans, num_classes=n_classes,
                                  pretrained=pretrained, drop_rate=self.drop_rate,
                                  image_size=self.image_size)

    # ------------------------------------------------------------------ fit
    def fit(self, cohort: Cohort, y: Any = None, *,
            callbacks: Sequence[Callable[[EpochInfo], None]] = ()) -> ImageBranchClassifier:
        """Fine-tune on the images of ``self.modality`` in ``cohort``.

        Parameters
        ----------
        cohort : Cohort
            Training cohort.  The validation split for early stopping is carved
            from its patients (grouped by patient, stratified by class).
        y : array-like, optional
            Class per node (indices or names); default ``cohort.y``.
        callbacks : sequence of callables
            Called after every epoch with an
            :class:`~lnfusion.models.training.EpochInfo`; raising
            :class:`~lnfusion.models.training.TrainingInterrupted` stops the run
            after its checkpoint (continue it with ``resume=True``).

        Returns
        -------
        self
        """
        self._check_cohort(cohort)
        if self.modality not in cohort.modalities:
            raise DataError(f"modality {self.modality!r} is not in the cohort; its modalities are "
                            f"{list(cohort.modalities)}")
        self._validate_params()
        with torch_threads(resolve_threads(self.n_threads)):
            return self._fit(cohort, y, callbacks)

    def _fit(self, cohort: Cohort, y: Any, callbacks: Sequence[Callable[[EpochInfo], None]]
             ) -> ImageBranchClassifier:
        from lnfusion.data.splits import split_patients
        from lnfusion.models.encoders import resolve_data_config
        from lnfusion.models.training import train_model

        config = self._train_config()
        classes = tuple(cohort.classes)
        y_all = cohort.y if y is None else resolve_target(cohort, y)[0]
        has = np.flatnonzero(cohort.modality_mask()[self.modality].to_numpy())
        if has.size == 0:
            raise DataError(f"no node of the cohort has a {self.modality!r} image")
        if self.val_size > 0:
            try:
                split = split_patients(y_all[has], cohort.groups[has], test_size=self.val_size,
                                       random_state=self.random_state)
            except DataError as exc:
                raise ConfigError(f"cannot carve a validation split (val_size={self.val_size}) from the "
                                  f"training patients with {self.modality!r} images: {exc}. Use "
                                  "val_size=0 to train without one") from exc
            train_pos, val_pos = has[split.train], has[split.test]
        else:
            train_pos, val_pos = has, has[:0]

        self.classes_ = np.asarray(classes)
        colour = bool(cohort.schema.modalities[self.modality].colour)
        in_chans = 3 if colour else 1
        model = self._build_model(len(classes), in_chans, self.pretrained)
        data_config = resolve_data_config(model, self.image_size)
        decode = dict(in_chans=in_chans, labels=y_all, num_workers=self.num_workers,
                      progress=self.progress)
        train = decode_images(cohort, self.modality, self.image_size, positions=train_pos, **decode)
        val: ImageSet | None = None
        if len(val_pos):
            val = decode_images(cohort, self.modality, self.image_size, positions=val_pos, **decode)
        result = train_model(
            model, train, val, config, mean=data_config["mean"], std=data_config["std"],
            colour=colour, class_weight=self._class_weights(train.labels, len(classes)),
            device=self.device, checkpoint_dir=self.checkpoint_dir, resume=self.resume,
            callbacks=callbacks, n_classes=len(classes), label=self.modality,
            fingerprint_extra=(self.backbone, str(self.pretrained), self.drop_rate, self.class_weight))
        self.model_ = model
        self.history_ = pd.DataFrame(result.history)
        self.best_epoch_ = int(result.best_epoch)
        self.stopped_early_ = bool(result.stopped_early)
        self.data_config_ = data_config
        self.in_chans_ = in_chans
        self.colour_ = colour
        self.n_train_images_ = len(train)
        self.n_val_images_ = 0 if val is None else len(val)
        return self

    # ------------------------------------------------------------------ predict
    def _outputs(self, cohort: Cohort, features: bool) -> np.ndarray:
        from lnfusion.models.inference import mean_by_node, predict_batches

        self._check_fitted()
        self._check_cohort(cohort)
        width = int(self.model_.num_features) if features else len(self.classes_)
        if self.modality not in cohort.modalities:
            warnings.warn(f"the cohort has no {self.modality!r} column; {type(self).__name__} returns "
                          "NaN for every node", UserWarning, stacklevel=3)
            return np.full((len(cohort), width), np.nan)
        images = decode_images(cohort, self.modality, self.image_size, in_chans=self.in_chans_,
                               num_workers=self.num_workers, progress=self.progress)
        with torch_threads(resolve_threads(getattr(self, "n_threads", None))):
            values = predict_batches(self.model_, images.images, mean=self.data_config_["mean"],
                                     std=self.data_config_["std"], batch_size=max(self.batch_size, 64),
                                     device=self.device, precision=self.precision,
                                     channels_last=self.channels_last, tta=self.tta,
                                     features=features, colour=self.colour_)
        return mean_by_node(values.reshape(len(values), width), images.node, len(cohort))

    def decision_function(self, cohort: Cohort) -> np.ndarray:
        """Node-level logits: the mean of the logits of each node's images (NaN rows when missing)."""
        return self._outputs(cohort, features=False)

    def predict_proba(self, cohort: Cohort) -> np.ndarray:
        """Class probabilities ``(n_nodes, n_classes)`` in ``classes_`` order.

        The softmax of the node's mean image logit; a row of NaN for nodes
        without an image of the modality.
        """
        logits = self.decision_function(cohort)
        with np.errstate(invalid="ignore"):
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)

    def predict(self, cohort: Cohort) -> np.ndarray:
        """Most probable class name per node (``None`` for nodes without an image)."""
        proba = self.predict_proba(cohort)
        out = np.empty(len(proba), dtype=object)
        ok = np.isfinite(proba).all(axis=1)
        out[ok] = self.classes_[np.argmax(proba[ok], axis=1)]
        out[~ok] = None
        return out

    def transform(self, cohort: Cohort) -> np.ndarray:
        """Node embeddings: the mean of the images' pre-logits features (NaN rows when missing)."""
        return self._outputs(cohort, features=True)

    def score(self, cohort: Cohort, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on the nodes that have an image of the modality."""
        y_true = self.classes_[cohort.y] if y is None else np.asarray(y)
        pred = self.predict(cohort)
        keep = pred != None  # noqa: E711 - elementwise on an object array
        return float(np.mean(pred[keep] == y_true[keep])) if keep.any() else float("nan")

    # ------------------------------------------------------------------ persistence
    def _jsonable_params(self) -> dict[str, Any]:
        from lnfusion.data.augment import AugmentConfig

        params = {}
        for k, v in self.get_params(deep=False).items():
            if isinstance(v, AugmentConfig):
                v = {"__augment__": v.to_dict()}
            elif isinstance(v, os.PathLike):
                v = os.fspath(v)
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, (np.integer, np.floating)):
                v = v.item()
            params[k] = v
        try:
            json.dumps(params)
        except TypeError as exc:
            raise PersistenceError(f"cannot save {type(self).__name__}: a parameter is not "
                                   f"JSON-serialisable ({exc})") from exc
        return params

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the fitted branch to a new folder: ``config.json`` + ``weights.safetensors``.

        Parameters
        ----------
        path : path-like
            Folder to create (built under a temporary name, renamed when complete).
        overwrite : bool
            Replace an existing folder.

        Returns
        -------
        pathlib.Path
        """
        import timm
        import torch

        from lnfusion._version import __version__

        self._check_fitted()
        path = Path(path)
        try:
            with atomic_dir(path, overwrite=overwrite) as tmp:
                digest = save_tensors(tmp / "weights.safetensors", self.model_.state_dict())
                doc = {
                    "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
                    "class": type(self).__name__, "params": self._jsonable_params(),
                    "classes": [str(c) for c in self.classes_], "data_config": self.data_config_,
                    "in_chans": self.in_chans_, "colour": self.colour_, "best_epoch": self.best_epoch_,
                    "stopped_early": self.stopped_early_, "n_train_images": self.n_train_images_,
                    "n_val_images": self.n_val_images_,
                    "history": json.loads(self.history_.to_json(orient="records")),
                    "weights": "weights.safetensors", "weights_sha256": digest,
                    "versions": {"lnfusion": __version__, "torch": torch.__version__,
                                 "timm": timm.__version__, "python": platform.python_version()},
                }
                atomic_write_text(tmp / "config.json", json.dumps(doc, indent=2) + "\n")
        except FileExistsError as exc:
            raise PersistenceError(f"{path} already exists; pass overwrite=True to replace it") from exc
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> ImageBranchClassifier:
        """Read a branch written by :meth:`save`.

        Parameters
        ----------
        path : path-like
            The folder.
        device : str, optional
            Override the saved ``device`` parameter (e.g. ``"cpu"``).

        Raises
        ------
        PersistenceError
            Not an image-branch folder (or a newer format version).
        IntegrityError
            A file is missing or altered.
        """
        from lnfusion.data.augment import AugmentConfig
        from lnfusion.exceptions import FormatVersionError
        from lnfusion.models.hardware import resolve_device

        path = Path(path)
        recover_output(path)
        doc = read_json(path / "config.json")
        if doc.get("format") != MODEL_FORMAT:
            raise PersistenceError(f"{path / 'config.json'}: expected format {MODEL_FORMAT!r}, got "
                                   f"{doc.get('format')!r}")
        if doc.get("format_version") != MODEL_FORMAT_VERSION:
            raise FormatVersionError(f"{path / 'config.json'}: format_version {doc.get('format_version')!r}; "
                                     f"this lnfusion reads {MODEL_FORMAT_VERSION}")
        params = dict(doc["params"])
        if isinstance(params.get("augment"), dict) and "__augment__" in params["augment"]:
            params["augment"] = AugmentConfig.from_dict(params["augment"]["__augment__"])
        if device is not None:
            params["device"] = device
        try:
            self = cls(**params)
        except TypeError as exc:
            raise PersistenceError(f"{path / 'config.json'}: parameters do not match "
                                   f"{cls.__name__} ({exc})") from exc
        self.classes_ = np.asarray(doc["classes"])
        model = self._build_model(len(self.classes_), int(doc["in_chans"]), pretrained=None)
        state = load_tensors(path / doc["weights"], doc.get("weights_sha256"))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise PersistenceError(f"{path / doc['weights']}: weights do not fit backbone "
                                   f"{self.backbone!r} ({exc})") from exc
        model.to(resolve_device(self.device))
        if self.channels_last:
            import torch

            model.to(memory_format=torch.channels_last)
        model.eval()
        self.model_ = model
        self.data_config_ = doc["data_config"]
        self.in_chans_ = int(doc["in_chans"])
        self.colour_ = bool(doc["colour"])
        self.best_epoch_ = int(doc["best_epoch"])
        self.stopped_early_ = bool(doc.get("stopped_early", False))
        self.n_train_images_ = int(doc.get("n_train_images", 0))
        self.n_val_images_ = int(doc.get("n_val_images", 0))
        self.history_ = pd.DataFrame(doc.get("history", []))
        return self
