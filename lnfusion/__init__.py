"""lnfusion: multimodal ultrasound classification of lesions (any class set; enlarged cervical
lymph nodes are the worked example).

Public names are imported lazily (PEP 562), so ``import lnfusion`` stays light:
it never imports torch, timm, xgboost or shap.  Those load only when a name
that needs them is first used.

Explanations live in the subpackage :mod:`lnfusion.explain` (its entry point is
``lnfusion.explain.explain``); no public name here equals a subpackage's name,
so what a name refers to never depends on what was imported before.
"""
from __future__ import annotations

from lnfusion._version import __version__
from lnfusion.exceptions import LnfusionError  # light, always available
from lnfusion.lazy import lazy_exports

#: public name -> module that defines it
_LAZY: dict[str, str] = {
    "Cohort": "lnfusion.data",
    "CohortSchema": "lnfusion.data",
    "Descriptor": "lnfusion.data",
    "Modality": "lnfusion.data",
    "make_demo_cohort": "lnfusion.datasets",
    "table_one": "lnfusion.stats",
    "ImageBranchClassifier": "lnfusion.models",
    "TabularClassifier": "lnfusion.models",
    "LateFusionClassifier": "lnfusion.fusion",
    "evaluate": "lnfusion.evaluation",
}

__all__ = ["__version__", "LnfusionError", *sorted(_LAZY)]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
