"""``lnfusion explain MODEL_DIR MANIFEST --patients ... --out DIR``."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("shap")

from lnfusion.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def saved(explain_toy, tmp_path_factory):
    cohort, model = explain_toy
    model_dir = tmp_path_factory.mktemp("explain_cli") / "model"
    model.save(model_dir)
    rows = pd.read_csv(cohort.root / "manifest.csv")
    manifest = cohort.root / "few.csv"
    rows[rows.patient_id.isin(["P001", "P002", "P004"])].to_csv(manifest, index=False)
    return model_dir, manifest


def test_cli_writes_cards_and_global_plots(saved, tmp_path):
    model_dir, manifest = saved
    out = tmp_path / "expl"
    result = CliRunner().invoke(main, ["explain", str(model_dir), str(manifest), "--patients",
                                       "P001,P004", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cards = sorted(p.name for p in (out / "cards").iterdir())
    assert cards == ["P001_N1.html", "P001_N1.png", "P004_N1.html", "P004_N1.png"]
    for name in ("descriptor_importance.png", "modality_importance.png", "modality_shap.csv",
                 "tabular_shap.csv", "predictions.csv", "explanation.json"):
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "predictions.csv")) == 3  # global plots use every node
    assert "Modality importance" in result.output
    assert "Wrote 4 card file(s)" in result.output


def test_cli_refuses_to_overwrite_and_names_unknown_patients(saved, tmp_path):
    model_dir, manifest = saved
    out = tmp_path / "expl"
    out.mkdir()
    result = CliRunner().invoke(main, ["explain", str(model_dir), str(manifest), "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = CliRunner().invoke(main, ["explain", str(model_dir), str(manifest), "--out",
                                       str(out), "--overwrite", "--patients", "P777",
                                       "--image-method", "none"])
    assert result.exit_code == 1 and "P777" in result.output
    assert list(out.iterdir()) == []  # nothing half-written
    result = CliRunner().invoke(main, ["explain", str(model_dir), str(manifest), "--out",
                                       str(tmp_path / "x"), "--format", "pdf"])
    assert result.exit_code == 2 and "--format" in result.output
