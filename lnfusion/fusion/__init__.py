"""Late fusion: :class:`LateFusionClassifier`, its heads, out-of-fold stacking, executors, persistence.

Names load on first use (PEP 562), so ``import lnfusion.fusion`` stays light.
"""
from __future__ import annotations

from lnfusion.lazy import lazy_exports

__all__ = [
    "LateFusionClassifier",
    "FusionHead",
    "MeanHead",
    "WeightedMeanHead",
    "StackingHead",
    "ShrunkStackingHead",
    "ShrunkWeightedMeanHead",
    "MLPHead",
    "OutOfFold",
    "inner_splits",
    "cross_fit",
    "ExecutorSpec",
    "run_tasks",
    "save_model",
    "load_model",
    "verify_model_dir",
    "FusionTrainConfig",
    "DataSettings",
    "load_train_config",
]

_LAZY = {
    "LateFusionClassifier": "lnfusion.fusion.late",
    "FusionHead": "lnfusion.fusion.heads",
    "MeanHead": "lnfusion.fusion.heads",
    "WeightedMeanHead": "lnfusion.fusion.heads",
    "StackingHead": "lnfusion.fusion.heads",
    "ShrunkStackingHead": "lnfusion.fusion.heads",
    "ShrunkWeightedMeanHead": "lnfusion.fusion.heads",
    "MLPHead": "lnfusion.fusion.heads",
    "OutOfFold": "lnfusion.fusion.oof",
    "inner_splits": "lnfusion.fusion.oof",
    "cross_fit": "lnfusion.fusion.oof",
    "ExecutorSpec": "lnfusion.fusion.executors",
    "run_tasks": "lnfusion.fusion.executors",
    "save_model": "lnfusion.fusion.persistence",
    "load_model": "lnfusion.fusion.late",
    "verify_model_dir": "lnfusion.fusion.persistence",
    "FusionTrainConfig": "lnfusion.fusion.train_config",
    "DataSettings": "lnfusion.fusion.train_config",
    "load_train_config": "lnfusion.fusion.train_config",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
