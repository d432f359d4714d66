"""import lnfusion.evaluation / lnfusion.plotting stay light."""
import subprocess
import sys


def test_evaluation_and_plotting_import_no_heavy_library():
    code = ("import sys, lnfusion.evaluation, lnfusion.plotting, lnfusion.cli.evaluate_cmd; "
            "heavy = [m for m in ('torch', 'timm', 'xgboost', 'shap', 'matplotlib.pyplot') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
