"""Models: timm image encoders, the image branch, the tabular branch, pre-training.

Importing this package does not import torch, timm or xgboost; each name loads
its module on first use (PEP 562).
"""
from __future__ import annotations

from lnfusion.lazy import lazy_exports

__all__ = [
    "ImageBranchClassifier",
    "TabularClassifier",
    "create_encoder",
    "pretrain",
    "compare_pretraining",
    "read_pretrain_hashes",
    "TrainConfig",
    "TrainingInterrupted",
    "available_cores",
    "default_threads",
]

#: public name -> module that defines it
_LAZY = {
    "ImageBranchClassifier": "lnfusion.models.image_branch",
    "TabularClassifier": "lnfusion.models.tabular",
    "create_encoder": "lnfusion.models.encoders",
    "pretrain": "lnfusion.models.pretraining",
    "compare_pretraining": "lnfusion.models.pretraining",
    "read_pretrain_hashes": "lnfusion.models.pretraining",
    "TrainConfig": "lnfusion.models.training",
    "TrainingInterrupted": "lnfusion.models.training",
    "available_cores": "lnfusion.models.hardware",
    "default_threads": "lnfusion.models.hardware",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
