"""``lnfusion evaluate``: report and JSON written from a saved model and a manifest."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from evaluation_standins import FusionStandIn, make_cohort, make_manifest
from PIL import Image

from lnfusion.cli import evaluate_cmd, main


@pytest.fixture()
def study_files(tmp_path):
    """A manifest, its schema and tiny images on disk."""
    manifest, schema = make_manifest(n_patients=30, seed=3)
    for m in ("bmode", "cdfi"):
        for rel in manifest[m]:
            if rel:
                (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / rel)
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    schema.save(tmp_path / "schema.json")
    return tmp_path


@pytest.fixture()
def study(study_files, monkeypatch):
    """study_files plus a 'saved model' folder that the (patched) loader turns into a stand-in."""
    model_dir = study_files / "model"
    model_dir.mkdir()
    model = FusionStandIn().fit(make_cohort(n_patients=30, seed=3))
    loaded = []
    monkeypatch.setattr(evaluate_cmd, "load_model", lambda d: loaded.append(d) or model)
    return study_files, model_dir, loaded


def test_evaluate_writes_html_and_json(study):
    root, model_dir, loaded = study
    out, js = root / "report.html", root / "metrics.json"
    result = CliRunner().invoke(main, ["evaluate", str(model_dir), str(root / "manifest.csv"),
                                       "--out", str(out), "--json", str(js), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert loaded == [model_dir]
    page = out.read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    for name in ("bmode", "cdfi", "tabular"):
        assert name in page
    data = json.loads(js.read_text())
    models = [row[0] for row in data["tables"]["summary"]["data"]]
    assert models == ["model", "bmode", "cdfi", "tabular"]
    assert data["settings"]["n_boot"] == 20
    assert "macro_auc" in result.output


def test_evaluate_writes_markdown(study):
    root, model_dir, _ = study
    out = root / "report.md"
    result = CliRunner().invoke(main, ["evaluate", str(model_dir), str(root / "manifest.csv"),
                                       "--out", str(out), "--n-boot", "0", "--title", "Site C"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Site C")


def test_evaluate_rejects_unknown_report_format(study):
    root, model_dir, _ = study
    result = CliRunner().invoke(main, ["evaluate", str(model_dir), str(root / "manifest.csv"),
                                       "--out", str(root / "report.pdf")])
    assert result.exit_code != 0 and ".html or .md" in result.output


def test_absent_class_is_a_clean_cli_error(study):
    import pandas as pd

    root, model_dir, _ = study
    manifest = pd.read_csv(root / "manifest.csv", keep_default_na=False)
    manifest[manifest["label"] != "lymphoma"].to_csv(root / "no_lymphoma.csv", index=False)
    result = CliRunner().invoke(main, ["evaluate", str(model_dir), str(root / "no_lymphoma.csv"),
                                       "--out", str(root / "r.md"), "--n-boot", "0"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "'lymphoma'" in result.output
    assert not (root / "r.md").exists()


def test_evaluate_a_saved_late_fusion_model(study_files):
    """End to end with the real loader: LateFusionClassifier.save, then lnfusion evaluate."""
    pytest.importorskip("lnfusion.models.tabular")
    from lnfusion.fusion import LateFusionClassifier

    root = study_files
    model = LateFusionClassifier(modalities=(), tabular="logistic", cv=3, progress=False)
    model.fit(make_cohort(n_patients=30, seed=3)).save(root / "saved")
    result = CliRunner().invoke(main, ["evaluate", str(root / "saved"), str(root / "manifest.csv"),
                                       "--out", str(root / "r.md"), "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    md = (root / "r.md").read_text(encoding="utf-8")
    assert "| model |" in md and "| tabular |" in md and "model vs tabular" in md
