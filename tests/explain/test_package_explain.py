"""lnfusion.explain imports lazily and exports what its docs promise."""
from __future__ import annotations

import subprocess
import sys

import lnfusion.explain as explain_pkg


def test_import_is_light():
    code = ("import sys, lnfusion.explain; "
            "print(','.join(m for m in ('torch', 'timm', 'xgboost', 'shap') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_exported_name_resolves():
    for name in explain_pkg.__all__:
        assert getattr(explain_pkg, name) is not None, name
    assert {"explain", "ExplanationBundle", "tabular_shap", "fusion_shap", "image_shap",
            "grad_cam", "save_overlays", "plot_card", "write_cards"} <= set(explain_pkg.__all__)
    assert set(explain_pkg.__all__) <= set(dir(explain_pkg))
