"""The demo presets: one table of cohort size and training settings.

``lnfusion demo --preset``, :func:`~lnfusion.datasets.make_demo_cohort`'s
``preset``, the example scripts and the notebooks all read :data:`PRESETS`, so a
preset means the same cohort and the same model everywhere.  The training
settings are :class:`~lnfusion.fusion.LateFusionClassifier` parameters, in the
estimator's own vocabulary (as in ``lnfusion train``'s ``model:`` section)::

    from lnfusion.datasets import demo_model_params, make_demo_cohort
    from lnfusion.fusion import LateFusionClassifier

    cohort = make_demo_cohort("demo", preset="small")
    model = LateFusionClassifier(**demo_model_params("small"), progress=False)
"""
from __future__ import annotations

import copy
from typing import Any

from lnfusion.exceptions import ConfigError

__all__ = ["PRESETS", "demo_model_params", "preset_settings"]

#: ``n_patients`` and ``image_size``: the demo cohort; ``model``: LateFusionClassifier
#: parameters; ``n_boot``: bootstrap resamples of the evaluation.
#: ``"small"``: 60 patients at 64 px, a tiny timm test network at 32 px for one epoch and
#: one inner hold-out split (seconds per branch; numbers near chance: for tests, CI and a
#: first look).  ``"default"``: the study's 586 patients at 224 px, resnet18 at 64 px for
#: 6 epochs and 3-fold out-of-fold stacking (about six minutes on a 2-core CPU; see
#: docs/benchmarks.md).
PRESETS: dict[str, dict[str, Any]] = {
    "small": {
        "n_patients": 60, "image_size": 64, "n_boot": 200,
        "model": {"backbone": "test_resnet", "image_params": {"image_size": 32, "epochs": 1},
                  "cv": "holdout"},
    },
    "default": {
        "n_patients": 586, "image_size": 224, "n_boot": 1000,
        "model": {"backbone": "resnet18", "image_params": {"image_size": 64, "epochs": 6},
                  "cv": 3},
    },
}


def preset_settings(preset: str) -> dict[str, Any]:
    """A copy of one row of :data:`PRESETS` (changing it leaves the table alone).

    Raises
    ------
    ConfigError
        ``preset`` is not a preset name.
    """
    if preset not in PRESETS:
        raise ConfigError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    return copy.deepcopy(PRESETS[preset])


def demo_model_params(preset: str) -> dict[str, Any]:
    """The :class:`~lnfusion.fusion.LateFusionClassifier` parameters of a preset (a copy).

    Examples
    --------
    >>> demo_model_params("small")["cv"]
    'holdout'
    """
    return preset_settings(preset)["model"]
