"""A local web application for one saved model: ``lnfusion serve MODEL_DIR``.

:func:`create_app` wraps a fitted :class:`~lnfusion.fusion.LateFusionClassifier`
in an ASGI application (FastAPI; ``pip install 'lnfusion[serve]'``): a page
with the patient form generated from the model's schema, where a clinician
uploads one lesion's (node's) images and descriptors and reads the fused and
per-branch probabilities with their explanation (modality contributions,
descriptor SHAP, Grad-CAM per image, the explanation card), and a JSON API
(``GET /api/schema``, ``POST /api/predict``, ``GET /healthz``).  See
docs/serving.md.  FastAPI is imported only when an application is created.
"""
from __future__ import annotations

from lnfusion.lazy import lazy_exports

__all__ = ["create_app", "ServeSettings", "Predictor", "PatientForm", "UploadLimits", "InputError"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "create_app": "lnfusion.serve.app",
    "ServeSettings": "lnfusion.serve.app",
    "Predictor": "lnfusion.serve.predictor",
    "PatientForm": "lnfusion.serve.form",
    "InputError": "lnfusion.serve.form",
    "UploadLimits": "lnfusion.serve.uploads",
})
