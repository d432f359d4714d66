"""``lnfusion train`` and ``lnfusion predict`` end to end on a tiny synthetic cohort."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fusion"))
from fusion_standins import make_manifest  # noqa: E402

from lnfusion.cli import main  # noqa: E402
from lnfusion.io import OUTPUT_MARKER  # noqa: E402


@pytest.fixture
def study(tmp_path):
    """A manifest without images (clinical-only training) and its schema."""
    df, schema = make_manifest(90, seed=5, tab_signal=1.5)
    for m in ("bmode", "cdfi"):
        df[m] = ""
    df = df.drop(columns=[c for c in df.columns if "_signal_" in c])
    (tmp_path / "data").mkdir()
    df.to_csv(tmp_path / "data" / "manifest.csv", index=False)
    schema.save(tmp_path / "data" / "schema.json")
    return tmp_path


def _config(folder, test_size=0.25, **model):
    """``{output, data, model}``; ``model`` keys are LateFusionClassifier parameters."""
    model = {"modalities": "[]", "tabular": "logistic", "cv": 3, "random_state": 1, **model}
    lines = ["output: run", "data:", "  manifest: data/manifest.csv", f"  test_size: {test_size}",
             "  random_state: 1", "model:"] + [f"  {k}: {v}" for k, v in model.items()]
    path = folder / "train.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_then_predict(study):
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(_config(study)), "--quiet"])
    assert result.exit_code == 0, result.output
    run = study / "run"
    assert {p.name for p in run.iterdir()} == {"model", "train_config.json", "train_config.yaml",
                                               "split.csv", "test_manifest.csv", OUTPUT_MARKER}
    split = pd.read_csv(run / "split.csv", dtype=str)
    assert list(split.columns) == ["patient_id", "node_id", "label", "split"]
    assert set(split["split"]) == {"train", "test"}
    # whole patients: no patient on both sides
    assert split.groupby("patient_id")["split"].nunique().max() == 1
    test_patients = set(split.loc[split["split"] == "test", "patient_id"])
    assert 0.2 < len(test_patients) / split["patient_id"].nunique() < 0.3
    saved = json.loads((run / "train_config.json").read_text())
    assert saved["model"]["random_state"] == 1 and saved["model"]["cv"] == 3
    assert saved["data"]["random_state"] == 1 and saved["data"]["test_size"] == 0.25
    model_cfg = json.loads((run / "model" / "config.json").read_text())
    assert model_cfg["n_train_nodes"] == int((split["split"] == "train").sum())
    assert "lnfusion evaluate" in result.output

    out = study / "preds.csv"
    result = runner.invoke(main, ["predict", str(run / "model"), str(run / "test_manifest.csv"),
                                  "--out", str(out), "--branches"])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out, dtype={"patient_id": str, "node_id": str})
    classes = ["metastatic", "lymphoma", "benign"]
    assert list(preds.columns) == (["patient_id", "node_id", "label"] + [f"proba_{c}" for c in classes]
                                   + ["predicted"] + [f"tabular_proba_{c}" for c in classes])
    assert set(preds["patient_id"]) == test_patients
    p = preds[[f"proba_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert list(preds["predicted"]) == [classes[i] for i in p.argmax(axis=1)]
    assert np.mean(preds["predicted"] == preds["label"]) > 0.5


def test_predict_needs_no_labels(study):
    runner = CliRunner()
    assert runner.invoke(main, ["train", str(_config(study, test_size=0)), "--quiet"]).exit_code == 0
    assert not (study / "run" / "test_manifest.csv").exists()
    manifest = pd.read_csv(study / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.drop(columns=["label"]).head(7).to_csv(study / "data" / "new.csv", index=False)
    out = study / "new_preds.csv"
    result = runner.invoke(main, ["predict", str(study / "run" / "model"), str(study / "data" / "new.csv"),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    assert len(preds) == 7 and "label" not in preds.columns and "Predicted:" in result.output
    # a label column with unknown or empty values is copied, never validated
    odd = manifest.head(7).assign(label=["?", "", "benign", "?", "", "x", "lymphoma"])
    odd.to_csv(study / "data" / "odd.csv", index=False)
    result = runner.invoke(main, ["predict", str(study / "run" / "model"), str(study / "data" / "odd.csv"),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out, dtype={"label": str}, keep_default_na=False)
    assert list(preds["label"]) == ["?", "", "benign", "?", "", "x", "lymphoma"]


def test_train_reports_config_errors_and_refuses_to_overwrite(study):
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(_config(study, head="median"))])
    assert result.exit_code != 0
    assert "key 'model.head': expected one of" in result.output
    (study / "run").mkdir()
    result = runner.invoke(main, ["train", str(_config(study))])
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(main, ["predict", str(study / "run"), str(study / "data" / "manifest.csv"),
                                  "--out", str(study / "p.csv")])
    assert result.exit_code != 0 and "manifest.json: missing" in result.output


@pytest.mark.parametrize("setting, key, shown", [
    ("image_params: {epochs: -3}", "model.image_params.epochs", "expected a positive integer, got -3"),
    ("image_params: {epochs: ten}", "model.image_params.epochs", "got 'ten'"),
    ("image_params: {batch_size: 2.5}", "model.image_params.batch_size", "got 2.5"),
    ("image_params: {resume: maybe}", "model.image_params.resume", "expected True or False"),
    ("image_params: {weight_decay: -1}", "model.image_params.weight_decay", "a number >= 0"),
    ("bmode__epochs: 0", "model.bmode__epochs", "expected a positive integer, got 0"),
    ("backbone: resnet18x", "model.backbone", "expected a timm model name"),
    ("backbone: {cdfi: resnet18, default: not_a_net}", "model.backbone.default",
     "got 'not_a_net'"),
])
def test_image_settings_are_checked_before_the_manifest_is_read(study, setting, key, shown):
    """Every image setting (and the backbone, against timm's list) is refused up front,
    naming the YAML file and key: no manifest read, no image decoded, no minutes lost."""
    path = _config(study, modalities="[bmode]")
    path.write_text(path.read_text() + f"  {setting}\n")
    result = CliRunner().invoke(main, ["train", str(path), "--quiet"])
    assert result.exit_code != 0
    assert "Reading" not in result.output  # refused before the manifest is opened
    assert f"{path}: key '{key}'" in result.output and shown in result.output
    assert "Traceback" not in result.output
