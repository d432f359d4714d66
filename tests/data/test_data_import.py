"""``import lnfusion.data`` stays light: no torch until a transform or dataset is used."""
from __future__ import annotations

import subprocess
import sys


def test_import_lnfusion_data_does_not_import_torch():
    code = ("import sys, lnfusion.data; from lnfusion.data import Cohort, split_patients, read_image; "
            "print(','.join(m for m in ('torch', 'timm', 'xgboost', 'shap', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_names_resolve():
    import lnfusion.data as data

    assert data.build_transform.__name__ == "build_transform"
    assert data.ImageDataset.__name__ == "ImageDataset"
    assert set(data.__all__) <= set(dir(data))
