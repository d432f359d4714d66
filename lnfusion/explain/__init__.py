"""Explanations: SHAP for the clinical branch, the fusion head and images; Grad-CAM; cards.

Everything is imported lazily (PEP 562): ``import lnfusion.explain`` loads no
torch, shap or xgboost; a name's module loads when the name is first used.

Main entry point: :func:`explain` returns an :class:`ExplanationBundle`.
"""
from __future__ import annotations

from lnfusion.lazy import lazy_exports

#: public name -> module that defines it
_LAZY: dict[str, str] = {
    # Grad-CAM (image branch)
    "grad_cam": "lnfusion.explain.gradcam",
    "save_overlays": "lnfusion.explain.gradcam",
    "GradCamResult": "lnfusion.explain.gradcam",
    # the SHAP record, tabular SHAP and fusion-head (modality-level) SHAP
    "ShapExplanation": "lnfusion.explain.explanation",
    "tabular_shap": "lnfusion.explain.tabular",
    "fusion_shap": "lnfusion.explain.fusion_head",
    "head_shap": "lnfusion.explain.fusion_head",
    # image attributions
    "ImageAttribution": "lnfusion.explain.attribution",
    "image_shap": "lnfusion.explain.images",
    "gradcam_attributions": "lnfusion.explain.images",
    # bundle, cards and global plots
    "explain": "lnfusion.explain.bundle",
    "ExplanationBundle": "lnfusion.explain.bundle",
    "plot_card": "lnfusion.explain.cards",
    "card_html": "lnfusion.explain.cards",
    "write_cards": "lnfusion.explain.cards",
    "plot_contributions": "lnfusion.explain.cards",
    "plot_importance": "lnfusion.explain.global_plots",
    "plot_descriptor_importance": "lnfusion.explain.global_plots",
    "plot_modality_importance": "lnfusion.explain.global_plots",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
