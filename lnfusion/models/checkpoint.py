"""Model and training state on disk: safetensors for tensors, JSON for the rest.

No pickle anywhere: a state is a pair of files ``<name>.safetensors`` (flat
mapping of tensor name -> tensor) and ``<name>.json`` (plain JSON metadata, plus
the SHA-256 of the tensor file so an altered or truncated file is detected).
Both are written atomically with :mod:`lnfusion.io`.

Optimizer states (``torch.optim.Optimizer.state_dict()``) and random number
generator states are flattened into tensors + JSON by the helpers below so a
training run can be resumed bit for bit.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lnfusion.exceptions import FormatVersionError, IntegrityError, PersistenceError
from lnfusion.io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "STATE_FORMAT_VERSION",
    "save_state",
    "load_state",
    "save_tensors",
    "load_tensors",
    "flatten_optimizer_state",
    "unflatten_optimizer_state",
    "read_json",
]

#: Version of the ``<name>.json`` + ``<name>.safetensors`` pair written by :func:`save_state`.
STATE_FORMAT_VERSION = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _detached(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage and non-contiguous tensors: copy each one.
    return {str(k): v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor]) -> str:
    """Write ``tensors`` to a ``.safetensors`` file atomically.

    Parameters
    ----------
    path : path-like
        Destination file.
    tensors : mapping of str to torch.Tensor
        Flat mapping; tensors are copied to CPU.

    Returns
    -------
    str
        SHA-256 hex digest of the written file.
    """
    from safetensors.torch import save

    data = save(_detached(tensors))
    atomic_write_bytes(path, data)
    return _sha256(data)


def load_tensors(path: str | os.PathLike, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` file; check its SHA-256 when ``sha256`` is given.

    Raises
    ------
    IntegrityError
        The file is missing, unreadable or its digest differs from ``sha256``.
    """
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IntegrityError(f"{path}: tensor file is missing") from exc
    if sha256 is not None and _sha256(data) != sha256:
        raise IntegrityError(
            f"{path}: SHA-256 {_sha256(data)[:12]}... differs from the recorded "
            f"{sha256[:12]}...; the file was altered or truncated")
    try:
        return load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise IntegrityError(f"{path}: not a valid safetensors file ({exc})") from exc


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON object from ``path``, raising :class:`PersistenceError` on failure."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IntegrityError(f"{path}: file is missing") from exc
    except json.JSONDecodeError as exc:
        raise PersistenceError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PersistenceError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def save_state(directory: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
               meta: Mapping[str, Any], *, name: str = "state") -> Path:
    """Write ``<name>.safetensors`` and ``<name>.json`` into ``directory``.

    Parameters
    ----------
    directory : path-like
        Folder to write into (created if needed).
    tensors : mapping of str to torch.Tensor
        Tensors to store.
    meta : mapping
        JSON-serialisable metadata; stored under ``"meta"``.
    name : str, default "state"
        Base name of the two files.

    Returns
    -------
    pathlib.Path
        The JSON file.
    """
    directory = Path(directory)
    digest = save_tensors(directory / f"{name}.safetensors", tensors)
    doc = {"format_version": STATE_FORMAT_VERSION, "tensors_sha256": digest, "meta": dict(meta)}
    return atomic_write_text(directory / f"{name}.json", json.dumps(doc, indent=1) + "\n")


def load_state(directory: str | os.PathLike, *, name: str = "state"
               ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a state written by :func:`save_state`; returns ``(tensors, meta)``.

    Raises
    ------
    FormatVersionError
        The state was written by a newer format version.
    IntegrityError
        A file is missing or the tensor file does not match its recorded digest.
    """
    directory = Path(directory)
    doc = read_json(directory / f"{name}.json")
    version = doc.get("format_version")
    if version != STATE_FORMAT_VERSION:
        raise FormatVersionError(
            f"{directory / (name + '.json')}: format_version {version!r}, this lnfusion reads "
            f"{STATE_FORMAT_VERSION}")
    tensors = load_tensors(directory / f"{name}.safetensors", doc.get("tensors_sha256"))
    return tensors, doc.get("meta", {})


def flatten_optimizer_state(state_dict: Mapping[str, Any], prefix: str = "optim."
                            ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors and JSON metadata.

    Tensors of ``state[param_id][key]`` go to ``f"{prefix}{param_id}.{key}"``;
    non-tensor entries and ``param_groups`` go to the metadata.
    """
    import torch

    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    meta = {"param_groups": [dict(g) for g in state_dict["param_groups"]], "scalars": scalars,
            "param_ids": [str(p) for p in state_dict["state"]]}
    return tensors, meta


def unflatten_optimizer_state(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any],
                              prefix: str = "optim.") -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer_state`."""
    state: dict[int, dict[str, Any]] = {int(p): {} for p in meta["param_ids"]}
    for name, value in tensors.items():
        if not name.startswith(prefix):
            continue
        pid, key = name[len(prefix):].split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    for pid, entries in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entries)
    return {"state": state, "param_groups": [dict(g) for g in meta["param_groups"]]}
