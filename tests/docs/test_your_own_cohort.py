"""The page *Your own cohort* runs as written: every ``bash`` and ``python`` block of
``docs/your_own_cohort.md``, in order, in one fresh folder, on the simulated two-class,
one-modality cohort with masks that its first block generates.

Then the outputs are checked: the published split is the one trained on, the report and the
explanation cards exist, and the training log (not a terminal) has one timed line per epoch
and per branch fit.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "your_own_cohort.md"

pytestmark = pytest.mark.e2e


def page_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced ``bash`` / ``python`` block, in page order."""
    return [(lang, code) for lang, code in
            re.findall(r"^```(bash|python)\n(.*?)^```", text, flags=re.M | re.S)]


def test_the_page_has_every_step():
    blocks = page_blocks(PAGE.read_text(encoding="utf-8"))
    commands = " ".join(code for lang, code in blocks if lang == "bash")
    for step in ("lnfusion validate", "lnfusion stats", "lnfusion train", "lnfusion evaluate",
                 "lnfusion explain"):
        assert step in commands, step
    assert blocks[0][0] == "python" and "make_lesion_cohort" in blocks[0][1]


def test_every_command_of_the_page_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    logs = []
    for k, (lang, code) in enumerate(page_blocks(PAGE.read_text(encoding="utf-8"))):
        argv = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"block {k} ({lang}) failed:\n{code}\n{proc.stdout[-3000:]}" \
                                     f"\n{proc.stderr[-3000:]}"
        logs.append(proc.stdout + proc.stderr)
    log = "\n".join(logs)

    manifest = pd.read_csv(tmp_path / "my_lesions" / "manifest.csv", dtype=str)
    assert manifest["label"].nunique() == 2 and manifest["bmode_mask"].notna().all()
    run = tmp_path / "runs" / "lesions"
    split = pd.read_csv(run / "split.csv", dtype=str)
    published = set(manifest.loc[manifest["split"] == "test", "patient_id"])
    assert set(split.loc[split["split"] == "test", "patient_id"]) == published
    test = pd.read_csv(run / "test_manifest.csv", dtype=str)
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in test["bmode_mask"])

    # validate, stats
    assert "patients: 40" in log
    table1 = (tmp_path / "table1.md").read_text(encoding="utf-8")
    variables = [ln.split("|")[1] for ln in table1.splitlines() if ln.startswith("| **")]
    assert any("orientation" in v for v in variables) and any("age" in v for v in variables)
    assert not any(c in v for v in variables for c in ("bmode", "patient_id", "lesion_id", "split"))
    # training log: not a terminal, so timed lines instead of bars
    assert re.search(r"^bmode epoch 1/1: train_loss .*; elapsed \d+:\d\d, remaining ~\d+:\d\d$", log,
                     flags=re.M)
    fits = re.findall(r"^branch fit (\d+)/8: (bmode|tabular), (fold\d|all); elapsed", log, flags=re.M)
    assert [int(f[0]) for f in fits] == list(range(1, 9))
    # evaluate, explain
    assert (run / "report.html").stat().st_size > 10_000
    cards = sorted((run / "explain" / "cards").glob("*.png"))
    assert len(cards) == len(test)
