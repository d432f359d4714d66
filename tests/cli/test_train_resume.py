"""``lnfusion train`` with image checkpoints and ``resume: true``: first run, kill -9, resume.

The YAML route is the only way to resumable training from the command line, so
it is tested end to end through the CLI in subprocesses: an uninterrupted first
run with ``resume: true`` must work (every branch fit, inner fold and refit,
checkpoints in a folder of its own), and a run killed after its first
checkpoint must, when started again, finish with exactly the model of the
uninterrupted run (resume is bit for bit).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lnfusion
from lnfusion.data import Cohort
from lnfusion.fusion import LateFusionClassifier

REPO = Path(lnfusion.__file__).resolve().parents[1]


def _train_cmd(config: Path) -> list[str]:
    return [sys.executable, "-c", "from lnfusion.cli import main; main()", "train", str(config),
            "--quiet"]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def _config(folder: Path, name: str) -> Path:
    text = f"""\
output: run-{name}
data:
  manifest: demo/manifest.csv
  test_size: 0.25
  random_state: 0
model:
  modalities: [bmode]
  backbone: test_resnet
  tabular: logistic
  tabular__descriptors: [age, short_axis_mm, hilum]
  cv: holdout
  random_state: 0
  progress: false
  image_params: {{image_size: 32, epochs: 3, val_size: 0, batch_size: 16, device: cpu,
                  checkpoint_dir: ck-{name}, resume: true}}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from lnfusion.datasets import make_demo_cohort

    folder = tmp_path_factory.mktemp("resume")
    make_demo_cohort(folder / "demo", preset="small", n_patients=30, seed=3)
    return folder


def _run(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_train_cmd(config), cwd=config.parent, env=_env(), capture_output=True,
                          text=True, timeout=600)


def test_first_run_with_resume_then_kill_and_resume_equals_uninterrupted(demo):
    # 1. a first, uninterrupted run with resume: true (used to fail on the second fit)
    first = _run(_config(demo, "a"))
    assert first.returncode == 0, first.stderr
    parts = sorted(p.parent.parent.relative_to(demo / "ck-a").as_posix()
                   for p in (demo / "ck-a").rglob("state.json"))
    assert parts == ["bmode/all", "bmode/fold1"]  # one checkpoint folder per fit

    # 2. the same run killed (SIGKILL) as soon as its first checkpoint exists, then started again
    config = _config(demo, "b")
    proc = subprocess.Popen(_train_cmd(config), cwd=demo, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not any((demo / "ck-b").rglob("state.json")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (demo / "run-b").exists()  # nothing half-written
    resumed = _run(config)
    assert resumed.returncode == 0, resumed.stderr

    # 3. the resumed model is the uninterrupted one, bit for bit
    a = LateFusionClassifier.load(demo / "run-a" / "model")
    b = LateFusionClassifier.load(demo / "run-b" / "model")
    wa, wb = a.branches_["bmode"].model_.state_dict(), b.branches_["bmode"].model_.state_dict()
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)
    test = Cohort.from_manifest(demo / "run-a" / "test_manifest.csv",
                                schema=demo / "demo" / "schema.json")
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))
    np.testing.assert_array_equal(a.oof_proba_["bmode"], b.oof_proba_["bmode"])
