"""The peer driver's table and comparison code (bench/peers/run_peers.py) on made-up predictions.

No peer is installed or run: predictions are written as the peers write them
(exchange.py's ``Recorder``) and read back through the driver.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PEERS_DIR = Path(__file__).resolve().parents[1] / "bench" / "peers"


@pytest.fixture(scope="module")
def driver():
    sys.path.insert(0, str(PEERS_DIR))
    try:
        yield importlib.import_module("run_peers"), importlib.import_module("exchange")
    finally:
        sys.path.remove(str(PEERS_DIR))


def make_table(n_folds: int, n_per_fold: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_folds * n_per_fold
    fold = np.repeat(np.arange(n_folds), n_per_fold) if n_folds > 1 else np.r_[np.zeros(n_per_fold, int), -np.ones(n, int)]
    return pd.DataFrame({"row": np.arange(len(fold)), "patient_id": [f"P{i // 2}" for i in range(len(fold))],
                         "label": rng.integers(0, k, len(fold)), "fold": fold})


def noisy_proba(y: np.ndarray, k: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = np.eye(k)[y] + noise * rng.normal(size=(len(y), k))
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def write_peer(exchange, out: Path, table: pd.DataFrame, classes, proba: np.ndarray, skip_fold=None):
    rec = exchange.Recorder(out, classes)
    for f, _, test in exchange.outer_folds(table):
        if f != skip_fold:
            rec.fold(f, table["row"].to_numpy()[test], proba[test], fit_s=2.0, predict_s=0.5)


def test_cross_validated_comparison(driver, tmp_path):
    run_peers, exchange = driver
    table = make_table(5, 40, 2)
    y = table["label"].to_numpy()
    good, bad = noisy_proba(y, 2, 0.3, 1), noisy_proba(y, 2, 3.0, 2)
    base = tmp_path / "results" / "breast"
    write_peer(exchange, base / "lnfusion", table, ["benign", "malignant"], good)
    write_peer(exchange, base / "stack", table, ["benign", "malignant"], bad)
    (base / "stack" / "status.json").write_text(json.dumps({"rc": 0, "peak_rss_mb": 512.0}))
    probas, cost = run_peers.load_results(tmp_path, "breast", table, ["benign", "malignant"])
    assert set(probas) == {"lnfusion", "stack"}
    comp = run_peers.compare(table, ["benign", "malignant"], probas, n_boot=200).set_index("tool")
    assert comp.loc["lnfusion", "macro_auc"] > 0.95 > comp.loc["stack", "macro_auc"]
    assert comp.loc["lnfusion", "ci_low"] <= comp.loc["lnfusion", "macro_auc"] <= comp.loc["lnfusion", "ci_high"]
    row = comp.loc["stack"]
    assert row["test"].startswith("corrected resampled") and row["n_folds"] == 5
    assert row["diff"] < 0 and row["diff_low"] < row["diff"] < row["diff_high"]
    assert row["folds_better"] == 0
    assert cost.set_index("tool").loc["stack", "fit_s"] == pytest.approx(10.0)
    text = run_peers.fmt_table(comp.reset_index(), cost, "breast")
    assert "| lnfusion (LateFusionClassifier) |" in text and "reference" in text and "| 512 |" in text


def test_single_split_comparison_and_missing_predictions(driver, tmp_path):
    run_peers, exchange = driver
    table = make_table(1, 90, 3)
    y = table["label"].to_numpy()
    classes = ["a", "b", "c"]
    probas = {"lnfusion": noisy_proba(y, 3, 0.5, 3), "stack": noisy_proba(y, 3, 0.5, 3)}
    comp = run_peers.compare(table, classes, probas, n_boot=200).set_index("tool")
    same = comp.loc["stack"]
    assert same["test"] == "paired patient bootstrap"
    assert same["diff"] == pytest.approx(0.0) and same["p"] == pytest.approx(1.0) or np.isnan(same["p"])
    # a tool that left a fold out is scored on the cases it predicted and says how many it missed
    t5 = make_table(5, 30, 2)
    write_peer(exchange, tmp_path / "results" / "d" / "stack", t5, ["x", "y"],
               noisy_proba(t5["label"].to_numpy(), 2, 0.5, 4), skip_fold=3)
    probas, _ = run_peers.load_results(tmp_path, "d", t5, ["x", "y"])
    comp = run_peers.compare(t5, ["x", "y"], probas, n_boot=100).set_index("tool")
    assert comp.loc["stack", "n_missing"] == 30 and comp.loc["stack", "n_cases"] == 120


def test_recorder_rejects_wrong_shape_and_records_probe_outcomes(driver, tmp_path):
    _, exchange = driver
    rec = exchange.Recorder(tmp_path, ["a", "b"])
    with pytest.raises(ValueError, match="expected \\(3, 2\\)"):
        rec.fold(0, np.arange(3), np.ones((3, 3)), 1.0, 1.0)

    def unsupported():
        raise NotImplementedError("not offered")

    def broken():
        raise KeyError("bmode_all")

    rec.probe("several images per case", lambda: "did it")
    rec.probe("missing modalities", unsupported)
    rec.probe("explanations", broken)
    got = json.loads((tmp_path / "probes.json").read_text())
    assert [g["outcome"] for g in got] == ["yes", "no", "no"]
    assert got[1]["detail"] == "not offered" and "KeyError" in got[2]["detail"]
