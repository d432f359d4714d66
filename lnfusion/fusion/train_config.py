"""The YAML configuration of ``lnfusion train``: :class:`FusionTrainConfig`.

Example (every key but ``manifest`` and ``output`` is optional; relative paths
are relative to the YAML file's folder)::

    manifest: data/manifest.csv        # one row per node (docs/manifest.md)
    schema: data/schema.json           # default: schema.json beside the manifest
    output: runs/fusion-resnet18       # a new folder: model/, split.csv, config copies
    modalities: [bmode, cdfi, elasto]  # one image branch each; [] for a clinical-only model
    backbone: resnet18                 # or per modality: {bmode: resnet18, default: resnet34}
    image:                             # ImageBranchClassifier settings
      image_size: 224
      epochs: 20
    pretrained: checkpoints/busi-resnet18   # pre-training checkpoint (lnfusion pretrain)
    tabular: xgboost                   # xgboost | logistic | none
    descriptors: null                  # descriptor columns for the clinical branch (default all)
    xgb_params: {n_estimators: 300}
    head: shrunk                       # shrunk | stacking | shrunk_weighted | mean | weighted | mlp
    folds: 5                           # inner K-fold for out-of-fold predictions, or "holdout"
    holdout_size: 0.25                 # with folds: holdout
    seed: 0
    test_size: 0.2                     # fraction of patients held out as the test set
    n_jobs: 1

The held-out test patients are chosen by :func:`lnfusion.data.split_patients`
(class-stratified, whole patients) before anything is fitted; nothing is tuned
on them.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lnfusion.config import JsonConfig
from lnfusion.exceptions import ConfigError

__all__ = ["FusionTrainConfig", "load_train_config", "HEAD_NAMES", "TABULAR_NAMES"]

HEAD_NAMES = ("stacking", "shrunk", "shrunk_weighted", "mean", "weighted", "mlp")
TABULAR_NAMES = ("xgboost", "logistic")


@dataclass(frozen=True)
class FusionTrainConfig(JsonConfig):
    """Settings of one ``lnfusion train`` run (see the module docstring for the YAML form).

    Build it with :func:`load_train_config` (which validates every key and
    resolves paths) or directly; :meth:`build_model` returns the unfitted
    :class:`~lnfusion.fusion.LateFusionClassifier`.
    """

    manifest: str
    output: str
    schema: str | None = None
    modalities: tuple[str, ...] = ("bmode", "cdfi", "elasto")
    backbone: Any = "resnet18"
    image: Mapping[str, Any] = field(default_factory=dict)
    pretrained: str | None = None
    tabular: str | None = "xgboost"
    descriptors: tuple[str, ...] | None = None
    xgb_params: Mapping[str, Any] | None = None
    head: str = "shrunk"
    folds: Any = 5
    holdout_size: float = 0.25
    seed: int = 0
    test_size: float = 0.2
    n_jobs: int = 1

    def build_model(self, progress: bool = True):
        """The unfitted :class:`~lnfusion.fusion.LateFusionClassifier` these settings describe."""
        from lnfusion.fusion.late import LateFusionClassifier

        image = dict(self.image)
        if self.pretrained is not None:
            image["pretrained"] = self.pretrained
        tabular: Any = self.tabular
        if tabular is not None and (self.descriptors is not None or self.xgb_params):
            from lnfusion.models.tabular import TabularClassifier

            tabular = TabularClassifier(
                estimator=tabular, random_state=self.seed,
                descriptors=list(self.descriptors) if self.descriptors is not None else None,
                xgb_params=dict(self.xgb_params) if self.xgb_params else None)
        backbone = self.backbone if isinstance(self.backbone, str) else dict(self.backbone)
        return LateFusionClassifier(
            modalities=tuple(self.modalities), backbone=backbone, image_params=image or None,
            tabular=tabular, head=self.head, cv=self.folds, holdout_size=self.holdout_size,
            random_state=self.seed, n_jobs=self.n_jobs, progress=progress)


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, expected: str, got: Any) -> None:
        raise ConfigError(f"{self.source}: key '{key}': expected {expected}, got {got!r}")

    def string(self, key: str, value: Any, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "a non-empty string", value)
        return value.strip()

    def number(self, key: str, value: Any, lo: float, hi: float, lo_open: bool = False,
               hi_open: bool = True) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}", value)
        if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
            self.fail(key, f"a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}", value)
        return float(value)

    def integer(self, key: str, value: Any, lo: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            self.fail(key, f"an integer >= {lo}", value)
        return int(value)

    def names(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            if "," in value:
                self.fail(key, "a YAML list such as [bmode, cdfi]", value)
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "a list of names", value)
        if len(set(value)) != len(value):
            self.fail(key, "distinct names", value)
        return tuple(value)

    def mapping(self, key: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self.fail(key, "a mapping of settings (key: value)", value)
        return dict(value)

    def path(self, key: str, value: Any, base: Path, must_exist: bool, optional: bool = False,
             ) -> str | None:
        text = self.string(key, value, optional)
        if text is None:
            return None
        p = Path(os.path.expanduser(text))
        p = p if p.is_absolute() else base / p
        if must_exist and not p.exists():
            raise ConfigError(f"{self.source}: key '{key}': file or folder not found: {p}")
        return str(p)


def _image_keys() -> set[str] | None:
    """Constructor parameters of ImageBranchClassifier (None when it cannot be imported)."""
    import inspect

    try:
        from lnfusion.models import ImageBranchClassifier
    except ImportError:
        return None
    return set(inspect.signature(ImageBranchClassifier.__init__).parameters) - {"self"}


def _validate(data: Mapping[str, Any], source: str, base: Path) -> FusionTrainConfig:
    c = _Checker(source)
    names = [f.name for f in dataclasses.fields(FusionTrainConfig)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; accepted keys: {names}")
    for required in ("manifest", "output"):
        if data.get(required) is None:
            raise ConfigError(f"{source}: key '{required}' is required")
    out: dict[str, Any] = {
        "manifest": c.path("manifest", data["manifest"], base, must_exist=True),
        "output": c.path("output", data["output"], base, must_exist=False),
        "schema": c.path("schema", data.get("schema"), base, must_exist=True, optional=True),
        "pretrained": c.path("pretrained", data.get("pretrained"), base, must_exist=True, optional=True),
    }
    if "modalities" in data:
        out["modalities"] = () if data["modalities"] is None else c.names("modalities", data["modalities"])
    if "backbone" in data:
        bb = data["backbone"]
        if isinstance(bb, Mapping):
            for k, v in bb.items():
                c.string(f"backbone.{k}", v)
            out["backbone"] = dict(bb)
        else:
            out["backbone"] = c.string("backbone", bb)
    if "image" in data:
        image = c.mapping("image", data["image"])
        for reserved in ("modality", "backbone", "pretrained"):
            if reserved in image:
                raise ConfigError(f"{source}: key 'image.{reserved}': set it with the top-level "
                                  f"key '{reserved if reserved != 'modality' else 'modalities'}' instead")
        accepted = _image_keys()
        if accepted is not None:
            bad = sorted(set(image) - accepted)
            if bad:
                raise ConfigError(f"{source}: key 'image': unknown setting(s) {bad}; "
                                  f"ImageBranchClassifier accepts {sorted(accepted - {'modality'})}")
        out["image"] = image
    if "tabular" in data:
        tab = data["tabular"]
        if tab is None or (isinstance(tab, str) and tab.lower() in ("none", "null", "")) or tab is False:
            out["tabular"] = None
        elif tab not in TABULAR_NAMES:
            c.fail("tabular", f"one of {list(TABULAR_NAMES)} or none", tab)
        else:
            out["tabular"] = tab
    if data.get("descriptors") is not None:
        out["descriptors"] = c.names("descriptors", data["descriptors"])
    if data.get("xgb_params") is not None:
        out["xgb_params"] = c.mapping("xgb_params", data["xgb_params"])
    if "head" in data:
        if data["head"] not in HEAD_NAMES:
            c.fail("head", f"one of {list(HEAD_NAMES)}", data["head"])
        out["head"] = data["head"]
    if "folds" in data:
        folds = data["folds"]
        if folds != "holdout":
            if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
                c.fail("folds", "an integer >= 2 or 'holdout'", folds)
        out["folds"] = folds
    if "holdout_size" in data:
        out["holdout_size"] = c.number("holdout_size", data["holdout_size"], 0.0, 1.0, lo_open=True)
    if "seed" in data:
        out["seed"] = c.integer("seed", data["seed"], 0)
    if "test_size" in data:
        out["test_size"] = c.number("test_size", data["test_size"], 0.0, 1.0)
    if "n_jobs" in data:
        n_jobs = data["n_jobs"]
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            c.fail("n_jobs", "a positive integer or -1 (all cores)", n_jobs)
        out["n_jobs"] = n_jobs
    if not out.get("modalities", True) and out.get("tabular", "xgboost") is None:
        raise ConfigError(f"{source}: no branch to train: 'modalities' is empty and 'tabular' is none")
    return FusionTrainConfig(**out)


def load_train_config(path: str | os.PathLike) -> FusionTrainConfig:
    """Read and validate a ``lnfusion train`` YAML file.

    Relative paths are resolved against the YAML file's folder.

    Raises
    ------
    ConfigError
        The file is missing or not YAML, or a key is unknown, missing or has a
        wrong value; the message names the file, the key and what was expected.
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
