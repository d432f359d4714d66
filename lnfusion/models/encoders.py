"""Image encoders: any timm backbone by name, with weights from where the user says.

:func:`create_encoder` is the one place lnfusion builds a network.  Weights come
from nowhere (random initialisation, the default), a local file (a timm/PyTorch
checkpoint read with ``torch.load(weights_only=True)`` or a ``.safetensors``
file), an lnfusion pre-training folder (see :mod:`lnfusion.models.pretraining`), or
timm's hub -- the latter only when the caller passes ``pretrained=True``.

Greyscale images use ``in_chans=1``; weights trained on 3 channels are adapted
with timm's :func:`timm.models.adapt_input_conv` (and vice versa).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lnfusion.exceptions import ConfigError, PersistenceError
from lnfusion.io import recover_output
from lnfusion.models.checkpoint import load_tensors, read_json

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = [
    "PRETRAIN_FORMAT",
    "EncoderMismatchError",
    "create_encoder",
    "resolve_data_config",
    "read_pretrain_config",
    "is_pretrain_dir",
    "load_encoder_weights",
    "cam_target_layer",
]

#: ``format`` value in the ``config.json`` of an lnfusion pre-training folder.
PRETRAIN_FORMAT = "lnfusion-pretrain"
PRETRAIN_FORMAT_VERSION = 1

Pretrained = bool | str | os.PathLike | None


class EncoderMismatchError(ConfigError):
    """A pre-training checkpoint was made for another backbone than the one requested."""


def _architecture(name: str) -> str:
    """``"resnet18.a1_in1k"`` -> ``"resnet18"`` (timm's pretrained tag does not change the net)."""
    return str(name).split(".", 1)[0]


def is_pretrain_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding an lnfusion pre-training checkpoint."""
    path = Path(path)
    return path.is_dir() and (path / "config.json").is_file()


def read_pretrain_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the ``config.json`` of an lnfusion pre-training folder.

    Raises
    ------
    PersistenceError
        The file is not an lnfusion pre-training config.
    """
    recover_output(path)
    cfg = read_json(Path(path) / "config.json")
    if cfg.get("format") != PRETRAIN_FORMAT:
        raise PersistenceError(
            f"{Path(path) / 'config.json'}: expected format {PRETRAIN_FORMAT!r}, "
            f"got {cfg.get('format')!r}; is this an lnfusion pre-training folder?")
    for key in ("backbone", "in_chans", "weights"):
        if key not in cfg:
            raise PersistenceError(f"{Path(path) / 'config.json'}: missing key {key!r}")
    return cfg


def create_encoder(backbone: str, *, in_chans: int = 3, num_classes: int = 0,
                   pretrained: Pretrained = None, drop_rate: float = 0.0,
                   image_size: int | None = None, **timm_kwargs: Any) -> nn.Module:
    """Build a timm network, optionally with weights.

    Parameters
    ----------
    backbone : str
        Any ``timm.list_models()`` name, e.g. ``"resnet18"``, ``"densenet121"``,
        ``"efficientnet_b0"``, ``"convnext_tiny"``, ``"vit_small_patch16_224"``.
    in_chans : int, default 3
        Input channels (1 for greyscale B-mode).
    num_classes : int, default 0
        Size of the classification head; 0 gives a feature extractor whose output
        is the pooled embedding (``model.num_features`` wide).
    pretrained : None, False, True, or path
        ``None``/``False``: random initialisation.  ``True``: timm's hub weights
        (needs network; never implicit).  A path to a ``.safetensors``/``.pth``/
        ``.pt``/``.bin`` file: a state dict (loaded with ``weights_only=True``).
        A path to a folder written by :func:`lnfusion.models.pretraining.pretrain`:
        its encoder, after checking it was made for the same backbone.
    drop_rate : float, default 0.0
        Dropout before the classifier.
    image_size : int, optional
        Input size for models whose architecture depends on it (ViTs get
        ``img_size=image_size``); ignored by CNNs.
    **timm_kwargs
        Passed to :func:`timm.create_model`.

    Returns
    -------
    torch.nn.Module
        The network, in training mode, on the CPU.

    Raises
    ------
    ConfigError
        Unknown backbone name.
    EncoderMismatchError
        An lnfusion pre-training folder made for another backbone.
    PersistenceError
        A weights file is missing, unreadable or does not fit the backbone.
    """
    import timm

    if not isinstance(backbone, str) or not timm.is_model(backbone):
        import difflib

        close = difflib.get_close_matches(str(backbone), timm.list_models(), n=5, cutoff=0.6)
        raise ConfigError(f"backbone={backbone!r} is not a timm model name"
                          + (f"; similar names: {close}" if close else ""))
    if pretrained not in (None, False, True) and not isinstance(pretrained, (str, os.PathLike)):
        raise ConfigError(f"pretrained must be None, False, True or a path, got {pretrained!r}")
    source = None if pretrained in (None, False, True) else Path(pretrained)
    if source is not None and not source.exists():
        raise PersistenceError(f"pretrained={str(source)!r}: no such file or folder")
    if source is not None and source.is_dir():
        cfg = read_pretrain_config(source)
        if _architecture(cfg["backbone"]) != _architecture(backbone):
            raise EncoderMismatchError(
                f"pre-training checkpoint {str(source)!r} holds a {cfg['backbone']!r} encoder, "
                f"but backbone={backbone!r} was requested; use backbone={cfg['backbone']!r} or "
                f"pre-train a {backbone!r} encoder")
    kwargs = dict(timm_kwargs, in_chans=in_chans, num_classes=num_classes, drop_rate=drop_rate,
                  pretrained=pretrained is True)
    if image_size is not None:
        try:
            model = timm.create_model(backbone, img_size=image_size, **kwargs)
        except TypeError:  # CNNs take any input size and have no img_size argument
            model = timm.create_model(backbone, **kwargs)
    else:
        model = timm.create_model(backbone, **kwargs)
    if source is not None:
        file = source / read_pretrain_config(source)["weights"] if source.is_dir() else source
        load_encoder_weights(model, file)
    return model


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if path.suffix == ".safetensors":
        sha = None
        cfg_file = path.parent / "config.json"
        if cfg_file.is_file():
            try:
                cfg = read_pretrain_config(path.parent)
                sha = cfg.get("weights_sha256") if cfg.get("weights") == path.name else None
            except PersistenceError:
                sha = None
        return load_tensors(path, sha)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PersistenceError(
            f"{path}: cannot read as a PyTorch weights file with weights_only=True ({exc}); "
            "save a plain state dict or a .safetensors file") from exc
    for key in ("state_dict_ema", "model_ema", "state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PersistenceError(f"{path}: expected a state dict (name -> tensor)")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def load_encoder_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a state dict file into a timm ``model`` in place, adapting what can be adapted.

    The first convolution is adapted to the model's ``in_chans``; classifier
    weights whose shape differs (or that the model lacks, ``num_classes=0``) are
    dropped; a ViT's absolute position embedding is resampled to the model's
    grid.  Everything else must match exactly.

    Raises
    ------
    PersistenceError
        The file cannot be read, or its tensors do not fit the model.
    """
    from timm.models import adapt_input_conv

    path = Path(path)
    state = _read_state_dict(path)
    own = model.state_dict()
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    for conv in _names(cfg.get("first_conv")):
        key = f"{conv}.weight"
        if key in state and key in own and state[key].ndim == 4 \
                and state[key].shape[1] != own[key].shape[1]:
            state[key] = _adapt_first_conv(state[key], own[key].shape[1], adapt_input_conv)
    classifier = _names(cfg.get("classifier"))
    for key in list(state):
        if any(key == c or key.startswith(c + ".") for c in classifier):
            if key not in own or own[key].shape != state[key].shape:
                del state[key]
    if "pos_embed" in state and "pos_embed" in own and state["pos_embed"].shape != own["pos_embed"].shape:
        from timm.layers import resample_abs_pos_embed

        prefix = 0 if getattr(model, "no_embed_class", False) else getattr(model, "num_prefix_tokens", 1)
        state["pos_embed"] = resample_abs_pos_embed(
            state["pos_embed"], new_size=list(model.patch_embed.grid_size), num_prefix_tokens=prefix)
    bad_shape = [k for k in state if k in own and own[k].shape != state[k].shape]
    missing = [k for k in own if k not in state
               and not any(k == c or k.startswith(c + ".") for c in classifier)]
    unexpected = [k for k in state if k not in own]
    arch = cfg.get("architecture", type(model).__name__)
    if bad_shape or missing or unexpected:
        detail = "; ".join(f"{label}: {keys[:4]}{' ...' if len(keys) > 4 else ''}"
                           for label, keys in (("shape mismatch", bad_shape), ("missing", missing),
                                               ("unexpected", unexpected)) if keys)
        raise PersistenceError(f"{path}: weights do not fit backbone {arch!r} ({detail})")
    model.load_state_dict(state, strict=False)  # only the classifier may be left out (checked above)
    return model


def _adapt_first_conv(weight: torch.Tensor, in_chans: int, adapt_input_conv: Any) -> torch.Tensor:
    """Greyscale <-> RGB first convolution: sum 3 -> 1 (timm), spread 1 -> C (weights / C)."""
    if weight.shape[1] == 1:
        return weight.repeat(1, in_chans, 1, 1) / in_chans
    return adapt_input_conv(in_chans, weight)


def resolve_data_config(model: nn.Module, image_size: int | None = None) -> dict[str, Any]:
    """Input size and normalisation of ``model``, from timm's pretrained config.

    Uses :func:`timm.data.resolve_model_data_config`; ``input_size`` is set to
    ``(in_chans, image_size, image_size)`` and ``mean``/``std`` reduced (averaged)
    or repeated to ``in_chans`` values.

    Returns
    -------
    dict
        JSON-serialisable: ``input_size``, ``mean``, ``std``, ``interpolation``,
        ``crop_pct``.
    """
    import timm.data

    cfg = timm.data.resolve_model_data_config(model)
    in_chans = _in_chans(model)
    size = image_size or cfg["input_size"][-1]
    mean, std = list(cfg["mean"]), list(cfg["std"])
    if len(mean) != in_chans:
        mean = [sum(mean) / len(mean)] * in_chans
        std = [sum(std) / len(std)] * in_chans
    return {"input_size": [in_chans, int(size), int(size)], "mean": [float(m) for m in mean],
            "std": [float(s) for s in std], "interpolation": str(cfg.get("interpolation", "bilinear")),
            "crop_pct": float(cfg.get("crop_pct", 1.0))}


def _in_chans(model: nn.Module) -> int:
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    own = dict(model.named_parameters())
    for conv in _names(cfg.get("first_conv")):
        w = own.get(f"{conv}.weight")
        if w is not None and w.ndim == 4:
            return int(w.shape[1])
    for p in model.parameters():
        if p.ndim == 4:
            return int(p.shape[1])
    return 3


def cam_target_layer(model: nn.Module) -> tuple[nn.Module, Any]:
    """Grad-CAM target layer and token reshape function for a timm model.

    CNNs: the module of the last feature stage (``model.feature_info[-1]``,
    e.g. ``layer4`` of a ResNet).  Vision transformers (models with
    ``patch_embed`` and ``blocks``): the first norm of the last block, with a
    reshape function turning tokens (minus class/register tokens) into a
    ``(B, C, H, W)`` grid.

    Returns
    -------
    (torch.nn.Module, callable or None)
    """
    blocks = getattr(model, "blocks", None)
    patch = getattr(model, "patch_embed", None)
    if blocks is not None and patch is not None and hasattr(patch, "grid_size"):
        last = blocks[-1]
        layer = getattr(last, "norm1", last)
        grid = tuple(int(g) for g in patch.grid_size)
        n_prefix = int(getattr(model, "num_prefix_tokens", 1))

        def reshape_tokens(tensor: torch.Tensor) -> torch.Tensor:
            if tensor.ndim == 4:  # already (B, H, W, C) in some timm ViT variants
                return tensor.permute(0, 3, 1, 2)
            tokens = tensor[:, n_prefix:, :]
            return tokens.reshape(tokens.shape[0], grid[0], grid[1], tokens.shape[2]).permute(0, 3, 1, 2)

        return layer, reshape_tokens
    info = getattr(model, "feature_info", None)
    if info:
        last = info[-1]
        name = last["module"] if isinstance(last, dict) else info.module_name(-1)
        return model.get_submodule(name), None
    convs = [m for m in model.modules() if type(m).__name__.startswith("Conv2d")]
    if not convs:
        raise ConfigError(f"cannot choose a Grad-CAM layer for {type(model).__name__}: no feature_info "
                          "and no Conv2d")
    return convs[-1], None
