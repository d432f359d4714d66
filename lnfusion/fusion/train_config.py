"""The YAML configuration of ``lnfusion train``: :class:`FusionTrainConfig`.

The file names the data and gives :class:`~lnfusion.fusion.LateFusionClassifier`
its parameters in the estimator's own vocabulary, so a setting has one name in
Python, in YAML and in the saved model (every key but ``output`` and
``data.manifest`` is optional; relative paths are relative to the YAML file's
folder)::

    output: runs/fusion-resnet18           # a new folder: model/, split.csv, config copies
    data:
      manifest: data/manifest.csv          # one row per node (docs/manifest.md)
      schema: data/schema.json             # default: schema.json beside the manifest
      test_size: 0.2                       # fraction of patients held out as the test set (0: none)
      random_state: 0                      # seed of that patient split
      # or a predefined split (published folds), instead of test_size:
      # split_column: split                # a manifest column of 'train' / 'test'
      # test_patients: folds/test_ids.txt  # a file of test patient ids (one per line, or a CSV)
    model:                                 # LateFusionClassifier parameters
      modalities: [bmode, cdfi, elasto]    # one image branch each; [] for a clinical-only model
      backbone: resnet18                   # or per modality: {bmode: resnet18, default: resnet34}
      image_params:                        # ImageBranchClassifier parameters of every image branch
        image_size: 224
        epochs: 20
        pretrained: checkpoints/busi-resnet18   # a pre-training folder (lnfusion pretrain)
      elasto__epochs: 30                   # one branch's parameter, as set_params(elasto__epochs=30)
      tabular: xgboost                     # xgboost | logistic | null
      tabular__xgb_params: {n_estimators: 300}
      head: shrunk                         # shrunk (default) | stacking | shrunk_weighted | mean | weighted | mlp
      cv: 5                                # inner K-fold for out-of-fold predictions, or holdout
      random_state: 0
      n_jobs: 1
      n_threads: null                      # threads per branch fit; null: available cores / n_jobs
      executor: sequential                 # sequential | processes | ray | {kind: ray, address: auto, num_gpus: 1}

``model`` is passed to ``LateFusionClassifier().set_params(**model)`` and checked
by the estimator's own validation before any data are read; an error names the
file and the key.  Files in the earlier flat layout (``manifest``, ``folds``, ``seed``, ``image``,
``pretrained``, ``descriptors``... at the top level) are refused with a message
that shows the same settings in this layout (:data:`LEGACY_KEYS`).

The held-out test patients are chosen by :func:`lnfusion.data.split_patients`
(class-stratified, whole patients) before anything is fitted; nothing is tuned
on them.  ``test_size: 0`` holds out nobody (train on every patient, e.g. for
a final model whose test set lives elsewhere).  A predefined split replaces the
random one: ``split_column`` (:func:`lnfusion.data.split_from_column`) or
``test_patients`` (:func:`lnfusion.data.split_from_test_patients`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lnfusion.config import JsonConfig
from lnfusion.exceptions import ConfigError, ParameterError

__all__ = ["FusionTrainConfig", "DataSettings", "load_train_config", "LEGACY_KEYS"]

#: Parameters holding a file or folder: resolved against the YAML file's folder.
PATH_PARAMS = ("pretrained", "checkpoint_dir", "cache_dir")

#: Keys of the earlier flat layout and where each lives now.
LEGACY_KEYS: dict[str, str] = {
    "manifest": "data.manifest",
    "schema": "data.schema",
    "test_size": "data.test_size",
    "seed": "model.random_state (and data.random_state for the test split)",
    "modalities": "model.modalities",
    "backbone": "model.backbone",
    "image": "model.image_params",
    "pretrained": "model.image_params.pretrained",
    "tabular": "model.tabular",
    "descriptors": "model.tabular__descriptors",
    "xgb_params": "model.tabular__xgb_params",
    "head": "model.head",
    "folds": "model.cv",
    "holdout_size": "model.holdout_size",
    "n_jobs": "model.n_jobs",
}


@dataclass(frozen=True)
class DataSettings(JsonConfig):
    """The ``data`` section: which manifest, and which patients are held out for testing.

    Parameters
    ----------
    manifest : str
    schema : str or None
        Default: ``schema.json`` beside the manifest.
    test_size : float or None, default 0.2
        Fraction of the patients (per class) held out at random; 0 holds out
        none.  None (and so recorded in ``train_config.json``) when a
        predefined split below decides the test patients.
    random_state : int, default 0
        Seed of that random split.
    split_column : str or None
        A manifest column of ``train`` / ``test`` (a published split); replaces
        ``test_size``.
    test_patients : str or None
        A file of test patient ids (one per line, or a CSV whose first column
        holds them); every other patient trains.  Replaces ``test_size``.
    """

    manifest: str
    schema: str | None = None
    test_size: float | None = 0.2
    random_state: int = 0
    split_column: str | None = None
    test_patients: str | None = None

    def __post_init__(self) -> None:
        if self.split_column is not None and self.test_patients is not None:
            raise ConfigError("data: give split_column or test_patients, not both (each one "
                              "decides the test patients)")
        if self.split_column is not None or self.test_patients is not None:
            object.__setattr__(self, "test_size", None)  # replaced: recorded as null, never read
        elif self.test_size is None:
            raise ConfigError("data: test_size is None without a predefined split "
                              "(split_column or test_patients); expected a number in [0.0, 1.0)")

    def split(self, cohort: Any) -> tuple[Any, Any]:
        """Training and test node positions of ``cohort`` under these settings.

        Raises
        ------
        DataError
            The split column is missing or holds a bad value, a patient is on
            both sides, the id file names patients the cohort lacks, or a class
            has too few patients for a random split.
        """
        import numpy as np

        from lnfusion.data.splits import (
            read_patient_ids,
            split_from_column,
            split_from_test_patients,
            split_patients,
        )
        from lnfusion.exceptions import SchemaError

        if self.split_column is not None:
            if self.split_column not in cohort.table.columns:
                raise SchemaError(f"{self.manifest}: no column {self.split_column!r} (data.split_column); "
                                  f"columns: {list(cohort.table.columns)}")
            part = split_from_column(cohort.table[self.split_column], cohort.groups,
                                     column=self.split_column, source=self.manifest)
        elif self.test_patients is not None:
            ids = read_patient_ids(self.test_patients)
            part = split_from_test_patients(ids, cohort.groups, source=self.test_patients)
        elif self.test_size:
            part = split_patients(cohort.y, cohort.groups, test_size=self.test_size, val_size=0.0,
                                  random_state=self.random_state)
        else:
            return np.arange(len(cohort)), np.array([], dtype=int)
        return part.train, part.test


@dataclass(frozen=True)
class FusionTrainConfig(JsonConfig):
    """Settings of one ``lnfusion train`` run (see the module docstring for the YAML form).

    Build it with :func:`load_train_config` (which checks every key, resolves
    paths and lets the estimator validate ``model``) or directly;
    :meth:`build_model` returns the unfitted
    :class:`~lnfusion.fusion.LateFusionClassifier`.

    Parameters
    ----------
    output : str
        The run's folder.
    data : DataSettings or dict
        The ``data`` section.
    model : dict
        :class:`~lnfusion.fusion.LateFusionClassifier` parameters, including
        branch parameters as ``<branch>__<param>``.
    """

    output: str
    data: DataSettings
    model: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.data, Mapping):  # from JSON
            object.__setattr__(self, "data", DataSettings.from_dict(dict(self.data)))

    def build_model(self, progress: bool = True):
        """The unfitted :class:`~lnfusion.fusion.LateFusionClassifier` of ``model``.

        ``progress=False`` turns progress bars off whatever ``model`` says.
        """
        from lnfusion.fusion.late import LateFusionClassifier

        params = dict(self.model)
        if isinstance(params.get("modalities"), list):
            params["modalities"] = tuple(params["modalities"])
        if not progress:
            params["progress"] = False
        return LateFusionClassifier().set_params(**params)


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def _fail(source: str, key: str, expected: str, got: Any) -> None:
    raise ConfigError(f"{source}: key '{key}': expected {expected}, got {got!r}")


def _path(source: str, key: str, value: Any, base: Path, must_exist: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(source, key, "a non-empty path", value)
    p = Path(os.path.expanduser(value.strip()))
    p = p if p.is_absolute() else base / p
    if must_exist and not p.exists():
        raise ConfigError(f"{source}: key '{key}': file or folder not found: {p}")
    return str(p)


def _mapping(source: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        _fail(source, key, "a mapping of settings (key: value)", value)
    return dict(value)


def _legacy_message(source: str, data: Mapping[str, Any]) -> str:
    """The refusal of a flat-layout file, with its settings in the current layout."""
    import yaml

    new: dict[str, Any] = {"output": data.get("output"), "data": {}, "model": {}}
    model = new["model"]
    for key, value in data.items():
        if key in ("manifest", "schema", "test_size"):
            new["data"][key] = value
        elif key == "seed":
            new["data"]["random_state"] = value
            model["random_state"] = value
        elif key == "image":
            model.setdefault("image_params", {}).update(value or {})
        elif key == "pretrained":
            model.setdefault("image_params", {})["pretrained"] = value
        elif key in ("descriptors", "xgb_params"):
            model[f"tabular__{key}"] = value
        elif key == "folds":
            model["cv"] = value
        elif key == "tabular" and isinstance(value, str) and value.lower() in ("none", "null", ""):
            model["tabular"] = None
        elif key != "output":
            model[key] = value
    moved = ", ".join(f"{k} -> {LEGACY_KEYS[k]}" for k in data if k in LEGACY_KEYS)
    text = yaml.safe_dump(new, sort_keys=False, default_flow_style=None)
    return (f"{source}: this is the earlier flat layout (keys {moved}); lnfusion train "
            "now reads {output, data: {...}, model: <LateFusionClassifier parameters>}. "
            f"The same settings in the current layout:\n\n{text}")


def _resolve_paths(source: str, key: str, value: Any, base: Path) -> Any:
    """A path-valued parameter (``pretrained``, ``checkpoint_dir``) made absolute; must exist."""
    if isinstance(value, str):
        return _path(source, key, value, base, must_exist=key.endswith("pretrained"))
    return value


def _model_params(source: str, model: Mapping[str, Any], base: Path) -> dict[str, Any]:
    from lnfusion.fusion.late import LateFusionClassifier

    own = set(LateFusionClassifier._get_param_names())
    out: dict[str, Any] = {}
    for key, value in model.items():
        name, sep, sub = key.partition("__")
        if key == "branches":
            raise ConfigError(f"{source}: key 'model.branches': branches are estimator objects "
                              "and cannot be written in YAML; set a branch's parameters with "
                              "model.<branch>__<param> (e.g. bmode__epochs: 5)")
        if not sep and key not in own:
            hint = f" (it is now {LEGACY_KEYS[key]})" if key in LEGACY_KEYS else ""
            raise ConfigError(f"{source}: key 'model.{key}': not a LateFusionClassifier parameter"
                              f"{hint}; parameters: {sorted(own - {'branches'})}, or "
                              "<branch>__<param> for one branch")
        if key == "image_params" and value is not None:
            value = _mapping(source, "model.image_params", value)
            value = {k: _resolve_paths(source, f"model.image_params.{k}", v, base)
                     if k in PATH_PARAMS else v for k, v in value.items()}
        elif sep and sub in PATH_PARAMS:
            value = _resolve_paths(source, f"model.{key}", value, base)
        out[key] = value
    return out


def _yaml_key(error: ParameterError, model: Mapping[str, Any]) -> str:
    """The YAML key a ParameterError is about (``image_params.epochs`` for an image setting,
    ``backbone`` or ``backbone.<modality>`` for a branch's backbone)."""
    branch, sep, sub = error.param.partition("__")
    if sep and error.param not in model:
        if sub in (model.get("image_params") or {}):
            return f"model.image_params.{sub}"
        if sub == "backbone" and "backbone" in model:
            chosen = model["backbone"]
            if isinstance(chosen, Mapping):
                return f"model.backbone.{branch if branch in chosen else 'default'}"
            return "model.backbone"
    return f"model.{error.param}"


def _validate(data: Mapping[str, Any], source: str, base: Path) -> FusionTrainConfig:
    if set(data) & set(LEGACY_KEYS) and not {"data", "model"} & set(data):
        raise ConfigError(_legacy_message(source, data))
    unknown = sorted(set(data) - {"output", "data", "model"})
    if unknown:
        hints = [f"{k} -> {LEGACY_KEYS[k]}" for k in unknown if k in LEGACY_KEYS]
        raise ConfigError(f"{source}: unknown key(s) {unknown}; accepted keys: ['output', 'data', "
                          f"'model']" + (f" (moved: {', '.join(hints)})" if hints else ""))
    for required in ("output", "data"):
        if data.get(required) is None:
            raise ConfigError(f"{source}: key '{required}' is required")
    output = _path(source, "output", data["output"], base, must_exist=False)

    section = _mapping(source, "data", data["data"])
    accepted = ["manifest", "schema", "test_size", "random_state", "split_column", "test_patients"]
    bad = sorted(set(section) - set(accepted))
    if bad:
        raise ConfigError(f"{source}: unknown key(s) {[f'data.{k}' for k in bad]}; accepted: "
                          f"{[f'data.{k}' for k in accepted]}")
    if section.get("manifest") is None:
        raise ConfigError(f"{source}: key 'data.manifest' is required")
    settings: dict[str, Any] = {
        "manifest": _path(source, "data.manifest", section["manifest"], base, must_exist=True)}
    if section.get("schema") is not None:
        settings["schema"] = _path(source, "data.schema", section["schema"], base, must_exist=True)
    if "test_size" in section:
        ts = section["test_size"]
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not 0.0 <= ts < 1.0:
            _fail(source, "data.test_size", "a number in [0.0, 1.0)", ts)
        settings["test_size"] = float(ts)
    given = [k for k in ("split_column", "test_patients", "test_size") if section.get(k) is not None]
    if len(given) > 1:
        raise ConfigError(f"{source}: keys {[f'data.{k}' for k in given]} each decide the test "
                          "patients; give one (split_column: a manifest column of train/test; "
                          "test_patients: a file of test patient ids; test_size: a random fraction)")
    if section.get("split_column") is not None:
        col = section["split_column"]
        if not isinstance(col, str) or not col.strip():
            _fail(source, "data.split_column", "a manifest column name", col)
        settings["split_column"] = col.strip()
    if section.get("test_patients") is not None:
        settings["test_patients"] = _path(source, "data.test_patients", section["test_patients"],
                                          base, must_exist=True)
    if "random_state" in section:
        rs = section["random_state"]
        if isinstance(rs, bool) or not isinstance(rs, int) or rs < 0:
            _fail(source, "data.random_state", "an integer >= 0", rs)
        settings["random_state"] = rs

    raw_model = data.get("model")
    model = _model_params(source, {} if raw_model is None else _mapping(source, "model", raw_model),
                          base)
    config = FusionTrainConfig(output=output, data=DataSettings(**settings), model=model)
    try:
        config.build_model()._validate_params()
    except ParameterError as exc:
        raise ConfigError(f"{source}: key '{_yaml_key(exc, model)}': expected {exc.expected}, "
                          f"got {exc.value!r}") from exc
    except ValueError as exc:  # set_params: a <branch>__<param> naming no branch or parameter
        raise ConfigError(f"{source}: key 'model': {exc}") from exc
    return config


def load_train_config(path: str | os.PathLike) -> FusionTrainConfig:
    """Read and validate a ``lnfusion train`` YAML file.

    Relative paths are resolved against the YAML file's folder; ``model`` is
    validated by :class:`~lnfusion.fusion.LateFusionClassifier` itself.

    Raises
    ------
    ConfigError
        The file is missing or not YAML, or a key is unknown, missing or has a
        wrong value; the message names the file, the key and what was expected.
        A file in the earlier flat layout is refused with its settings rewritten
        in the current layout.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of settings (key: value), "
                          f"got {type(data).__name__}")
    return _validate(data, str(path), path.resolve().parent)
