"""Saving and loading a fitted :class:`LateFusionClassifier`: JSON, safetensors, XGBoost JSON.

Folder layout (written atomically with :func:`lnfusion.io.atomic_dir`)::

    config.json            format_version, lnfusion version, parameters, classes,
                           branch names and types, head type, missing counts
    schema.json            the training cohort's schema (when known)
    head.json              the head's parameters (plain JSON; floats round-trip exactly)
    oof.safetensors        out-of-fold branch probabilities and fold index per training node
    branches/<name>/...    one folder per branch, written by the branch's own ``save``
                           (image branches: JSON + safetensors; tabular: JSON + XGBoost JSON)
    manifest.json          SHA-256 of every other file

Loading checks the format version (:class:`~lnfusion.exceptions.FormatVersionError`),
then the presence and SHA-256 of every file in the manifest
(:class:`~lnfusion.exceptions.IntegrityError` naming the file), and only then
reads anything else.  Every file the loader reads (config, head, out-of-fold
tensors, schema, everything in a branch's folder) must be listed: an unlisted
one is an :class:`~lnfusion.exceptions.IntegrityError`, never a file read
unverified.  Other files not listed in the manifest are never opened (a
warning names them); the output markers (:data:`lnfusion.io.OUTPUT_MARKER`, one
per folder) are not part of the model and are neither listed nor loaded.  Nothing is ever unpickled: branch classes come from a
fixed allow-list, not from names in the files.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lnfusion._version import __version__
from lnfusion.exceptions import (
    FormatVersionError,
    IntegrityError,
    NotAvailableError,
    PersistenceError,
    check_fitted,
)
from lnfusion.io import (
    OUTPUT_MARKER,
    atomic_dir,
    atomic_write_bytes,
    atomic_write_text,
    recover_output,
)

__all__ = ["MODEL_FORMAT_VERSION", "save_model", "read_model", "verify_model_dir", "branch_classes"]

#: Version of the folder layout written by :func:`save_model`.
MODEL_FORMAT_VERSION = 1

CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.json"
HEAD_FILE = "head.json"
SCHEMA_FILE = "schema.json"
OOF_FILE = "oof.safetensors"
BRANCH_DIR = "branches"

_ESTIMATOR_PARAMS = ("branches", "tabular", "head")


def branch_classes() -> dict[str, type]:
    """The branch classes a saved model may name (an allow-list; nothing else is loaded)."""
    from lnfusion.models.tabular import TabularClassifier

    out: dict[str, type] = {"TabularClassifier": TabularClassifier}
    try:
        from lnfusion.models import ImageBranchClassifier
    except ImportError:  # pragma: no cover - the image branch is part of lnfusion
        pass
    else:
        out["ImageBranchClassifier"] = ImageBranchClassifier
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """Settings objects as plain JSON values: configs with ``to_dict``, paths, numpy scalars."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):   # JsonConfig, e.g. AugmentConfig
        return _plain(value.to_dict())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_param(name: str, value: Any) -> Any:
    """A constructor parameter as JSON; estimator-valued ones become a marker."""
    if name in _ESTIMATOR_PARAMS and value is not None and not isinstance(value, str):
        return {"__fitted__": name}
    value = _plain(value)
    try:
        json.dumps(value)
    except TypeError as exc:
        raise PersistenceError(f"parameter {name}={value!r} cannot be written as JSON; "
                               "expected strings, numbers, lists and dicts") from exc
    return value


def save_model(model: Any, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a fitted :class:`LateFusionClassifier` to a new folder.

    Parameters
    ----------
    model : LateFusionClassifier
        Fitted.
    path : path-like
        Destination folder; must not exist unless ``overwrite``.
    overwrite : bool
        Replace an existing folder (only once the new one is complete).

    Returns
    -------
    Path

    Raises
    ------
    NotFittedError
        The model is not fitted.
    NotAvailableError
        A branch is of a class that cannot be saved without pickle.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    OutputConflictError
        ``path`` exists and was not written by lnfusion (it holds no
        :data:`lnfusion.io.OUTPUT_MARKER`), even with ``overwrite``.
    """
    check_fitted(model, "head_")
    from safetensors.numpy import save as st_save

    allowed = branch_classes()
    branch_types = {}
    for name, branch in model.branches_.items():
        cls_name = type(branch).__name__
        if allowed.get(cls_name) is not type(branch):
            raise NotAvailableError(
                f"branch {name!r} is a {cls_name}, which cannot be saved without pickle; "
                f"savable branch classes: {sorted(allowed)}")
        branch_types[name] = cls_name

    params = {k: _json_param(k, v) for k, v in model.get_params(deep=False).items()}
    config = {
        "format_version": MODEL_FORMAT_VERSION,
        "lnfusion_version": __version__,
        "class": type(model).__name__,
        "params": params,
        "classes": [str(c) for c in model.classes_],
        "branch_names": list(model.branch_names_),
        "branch_types": branch_types,
        "head_type": model.head_.kind,
        "missing_counts": dict(model.missing_counts_),
        "modality_missing_counts": dict(model.modality_missing_counts_),
        "n_train_nodes": int(model.n_train_nodes_),
        "has_schema": model.schema_ is not None,
    }
    tensors = {"folds": np.ascontiguousarray(model.oof_folds_, dtype=np.int64),
               "head_rows": np.ascontiguousarray(model.head_rows_, dtype=np.int64)}
    for b, a in model.oof_proba_.items():
        tensors[f"proba/{b}"] = np.ascontiguousarray(a, dtype=np.float64)
    for b, a in (model.oof_embeddings_ or {}).items():
        tensors[f"embeddings/{b}"] = np.ascontiguousarray(a, dtype=np.float64)

    with atomic_dir(path, overwrite=overwrite) as tmp:
        for name, branch in model.branches_.items():
            branch.save(tmp / BRANCH_DIR / name)
        atomic_write_text(tmp / HEAD_FILE, json.dumps(model.head_.to_dict()) + "\n")
        atomic_write_bytes(tmp / OOF_FILE, st_save(tensors))
        if model.schema_ is not None:
            model.schema_.save(tmp / SCHEMA_FILE)
        atomic_write_text(tmp / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        files = sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != OUTPUT_MARKER)
        manifest = {
            "format_version": MODEL_FORMAT_VERSION,
            "algorithm": "sha256",
            "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
        }
        atomic_write_text(tmp / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return Path(path)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(f"{path}: missing; expected the {what} of a saved lnfusion model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path}: not valid JSON ({exc}); the {what} is damaged") from exc


def verify_model_dir(path: str | os.PathLike) -> dict[str, Any]:
    """Check a saved model folder's format version and every file's SHA-256.

    Returns
    -------
    dict
        The parsed ``config.json``.

    Raises
    ------
    PersistenceError
        ``path`` is not a folder.
    FormatVersionError
        The folder was written by an incompatible format version.
    IntegrityError
        ``manifest.json`` or a listed file is missing, a file's content
        changed, or a file the loader reads is not listed.
    """
    root = Path(path)
    recover_output(root)
    if not root.is_dir():
        raise PersistenceError(f"{root}: not a folder; expected a model folder written by "
                               "LateFusionClassifier.save")
    manifest = _read_json(root / MANIFEST_FILE, "file manifest")
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != MODEL_FORMAT_VERSION:
        raise FormatVersionError(
            f"{root / MANIFEST_FILE}: model format version {version!r}; this lnfusion "
            f"({__version__}) reads format version {MODEL_FORMAT_VERSION}. Re-train or use the "
            "lnfusion version that wrote it")
    files = manifest.get("files")
    if not isinstance(files, dict) or CONFIG_FILE not in files:
        raise IntegrityError(f"{root / MANIFEST_FILE}: malformed; expected a 'files' mapping "
                             f"that lists {CONFIG_FILE}")
    for rel, digest in files.items():
        file = (root / rel).resolve()
        if root.resolve() not in file.parents:
            raise IntegrityError(f"{root / MANIFEST_FILE}: entry {rel!r} points outside the model folder")
        if not file.is_file():
            raise IntegrityError(f"{root / rel}: missing; the model folder is incomplete")
        if _sha256(file) != digest:
            raise IntegrityError(f"{root / rel}: content differs from the SHA-256 in {MANIFEST_FILE} "
                                 "(the file was altered or damaged)")
    config = _read_json(root / CONFIG_FILE, "config")
    if not isinstance(config, dict) or config.get("format_version") != MODEL_FORMAT_VERSION:
        raise FormatVersionError(
            f"{root / CONFIG_FILE}: model format version "
            f"{config.get('format_version') if isinstance(config, dict) else None!r}; this "
            f"lnfusion ({__version__}) reads format version {MODEL_FORMAT_VERSION}")
    _check_loaded_files_listed(root, files, config)
    extra = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.relative_to(root).as_posix() not in files
                   and p.name not in (MANIFEST_FILE, OUTPUT_MARKER))
    if extra:
        warnings.warn(f"{root}: ignoring file(s) not in {MANIFEST_FILE}: {extra}", UserWarning,
                      stacklevel=3)
    return config


def _check_loaded_files_listed(root: Path, files: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Refuse a folder whose manifest leaves out a file :func:`read_model` would read.

    The loader reads the head, the out-of-fold tensors, the schema (when the
    config says there is one) and whatever a branch's own ``load`` opens in its
    folder; so each of those, and every file inside a branch folder, must be
    listed (and so was verified by SHA-256 above).
    """
    needed = [HEAD_FILE, OOF_FILE] + ([SCHEMA_FILE] if config.get("has_schema") else [])
    unlisted = [rel for rel in needed if rel not in files]
    names = config.get("branch_names")
    for name in names if isinstance(names, list) else []:
        prefix = f"{BRANCH_DIR}/{name}/"
        folder = root / BRANCH_DIR / str(name)
        on_disk = sorted(p.relative_to(root).as_posix() for p in folder.rglob("*")
                         if p.is_file() and p.name != OUTPUT_MARKER) if folder.is_dir() else []
        unlisted += [rel for rel in on_disk if rel not in files]
        if not any(rel.startswith(prefix) for rel in files) and not on_disk:
            unlisted.append(prefix)
    if unlisted:
        raise IntegrityError(
            f"{root / MANIFEST_FILE}: does not list {unlisted}, which loading the model reads; "
            "every file a model is read from must be listed with its SHA-256 (the folder was "
            "altered, or is not a complete model written by LateFusionClassifier.save)")


def read_model(path: str | os.PathLike, estimator_class: type) -> Any:
    """Read a model written by :func:`save_model` into a new ``estimator_class``.

    :func:`lnfusion.fusion.load_model` (and ``LateFusionClassifier.load``) call
    this with :class:`~lnfusion.fusion.LateFusionClassifier`; the class is passed
    in so that this module stays below the estimator it serialises.  Verifies the
    format version and every file's SHA-256 first (:func:`verify_model_dir`);
    never unpickles anything.
    """
    from safetensors.numpy import load as st_load

    from lnfusion.fusion.heads import head_from_dict

    root = Path(path)
    config = verify_model_dir(root)
    allowed = branch_classes()
    try:
        branch_names = [str(b) for b in config["branch_names"]]
        branch_types = dict(config["branch_types"])
        params = dict(config["params"])
        classes = list(config["classes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PersistenceError(f"{root / CONFIG_FILE}: malformed model config ({exc!r})") from exc

    branches = {}
    for name in branch_names:
        cls = allowed.get(branch_types.get(name))
        if cls is None:
            raise PersistenceError(f"{root / CONFIG_FILE}: branch {name!r} has type "
                                   f"{branch_types.get(name)!r}; expected one of {sorted(allowed)}")
        branches[name] = cls.load(root / BRANCH_DIR / name)
    head = head_from_dict(_read_json(root / HEAD_FILE, "head parameters"))

    from sklearn.base import clone

    for key, value in params.items():
        if isinstance(value, dict) and set(value) == {"__fitted__"}:
            if key == "branches":
                params[key] = {b: clone(m) for b, m in branches.items()}
            elif key == "tabular":
                params[key] = clone(branches["tabular"])
            elif key == "head":
                params[key] = clone(head)
    if isinstance(params.get("modalities"), list):
        params["modalities"] = tuple(params["modalities"])
    try:
        model = estimator_class(**params)
    except TypeError as exc:
        raise FormatVersionError(f"{root / CONFIG_FILE}: parameters do not match this lnfusion's "
                                 f"{estimator_class.__name__} ({exc})") from exc

    tensors = st_load((root / OOF_FILE).read_bytes())
    model.classes_ = np.asarray(classes, dtype=object)
    model.branch_names_ = branch_names
    model.branches_ = branches
    model.head_ = head
    model.oof_folds_ = tensors["folds"]
    model.head_rows_ = tensors["head_rows"]
    model.oof_proba_ = {b: tensors[f"proba/{b}"] for b in branch_names}
    emb = {b: tensors[f"embeddings/{b}"] for b in branch_names if f"embeddings/{b}" in tensors}
    model.oof_embeddings_ = emb or None
    model.missing_counts_ = {str(k): int(v) for k, v in config.get("missing_counts", {}).items()}
    model.modality_missing_counts_ = {str(k): int(v)
                                      for k, v in config.get("modality_missing_counts", {}).items()}
    model.n_train_nodes_ = int(config.get("n_train_nodes", len(model.oof_folds_)))
    model.schema_ = None
    if config.get("has_schema"):
        from lnfusion.data.schema import CohortSchema

        model.schema_ = CohortSchema.from_json(root / SCHEMA_FILE)
    return model
