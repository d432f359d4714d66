"""Explanations: SHAP for the clinical branch, the fusion head and images; Grad-CAM; cards.

Everything is imported lazily (PEP 562): ``import lnfusion.explain`` loads no
torch, shap or xgboost; a name's module loads when the name is first used.

Main entry point: :func:`explain` returns an :class:`ExplanationBundle`.
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> module (relative to this package) that defines it
_LAZY: dict[str, str] = {
    # Grad-CAM (image branch)
    "grad_cam": "gradcam",
    "save_overlays": "gradcam",
    "GradCamResult": "gradcam",
    # the SHAP record, tabular SHAP and fusion-head (modality-level) SHAP
    "ShapExplanation": "explanation",
    "tabular_shap": "tabular_shap",
    "fusion_shap": "fusion_shap",
    "head_shap": "fusion_shap",
    # image attributions
    "ImageAttribution": "attribution",
    "image_shap": "image_shap",
    "gradcam_attributions": "image_shap",
    # bundle, cards and global plots
    "explain": "bundle",
    "ExplanationBundle": "bundle",
    "plot_card": "cards",
    "card_html": "cards",
    "write_cards": "cards",
    "plot_contributions": "cards",
    "plot_importance": "global_plots",
    "plot_descriptor_importance": "global_plots",
    "plot_modality_importance": "global_plots",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
