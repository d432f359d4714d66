"""``kill -9`` at random moments of every command that writes.

Each command runs in its own process (own process group) and is killed with
SIGKILL at two seeded random moments: one drawn in its first seconds, one just
after its first temporary appears (while it writes its output).  Afterwards the
user's inputs must be byte-identical, any output present must be complete and
loadable, and the temporaries the killed run left must be removed by the next
write once they are stale.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from lnfusion.cli import main; main()"]
SAVE = [sys.executable, "-c", """if True:
    import sys
    from lnfusion.fusion import LateFusionClassifier
    model = LateFusionClassifier.load(sys.argv[1])
    for _ in range(20):
        model.save(sys.argv[2], overwrite=True)
"""]


def _load_model(path: Path) -> None:
    from lnfusion.fusion import LateFusionClassifier

    assert len(LateFusionClassifier.load(path).classes_) == 3


def _check_train(ws) -> None:
    run = ws.root / "run"
    if run.exists():
        _load_model(run / "model")
        json.loads((run / "train_config.json").read_text())
        assert set(pd.read_csv(run / "split.csv")["split"]) == {"train", "test"}
        assert len(pd.read_csv(run / "test_manifest.csv")) > 0


def _check_save(ws) -> None:
    _load_model(ws.root / "saved")            # the previous model is there whatever the moment


def _check_predict(ws) -> None:
    out = ws.root / "preds.csv"
    if out.exists():
        table = pd.read_csv(out)
        assert len(table) == len(pd.read_csv(ws.manifest)) and table["predicted"].notna().all()


def _check_evaluate(ws) -> None:
    report, metrics = ws.root / "report.html", ws.root / "metrics.json"
    if report.exists():
        assert report.read_text().rstrip().endswith("</html>")
    if metrics.exists():
        assert report.exists() and json.loads(metrics.read_text())


def _check_explain(ws) -> None:
    out = ws.root / "expl"
    if out.exists():
        json.loads((out / "explanation.json").read_text())
        assert list((out / "cards").glob("*.html"))


def _check_stats(ws) -> None:
    out = ws.root / "table1.md"
    if out.exists():
        assert out.read_text().count("|") > 20


def _check_demo(ws) -> None:
    from lnfusion.data import Cohort

    out = ws.root / "demo"
    if (out / "cohort").exists():
        assert len(Cohort.from_manifest(out / "cohort" / "manifest.csv")) > 0
    if (out / "model").exists():
        _load_model(out / "model")
    for name in ("table1.md", "evaluation.md"):
        if (out / name).exists():
            assert (out / name).read_text().count("|") > 10


#: command -> (arguments, check of its outputs)
COMMANDS = {
    "train": (lambda ws: [*CLI, "train", ws.config("run"), "--quiet", "--overwrite"], _check_train),
    "save": (lambda ws: [*SAVE, ws.model, ws.root / "saved"], _check_save),
    "predict": (lambda ws: [*CLI, "predict", ws.model, ws.manifest, "--out", ws.root / "preds.csv"],
                _check_predict),
    "evaluate": (lambda ws: [*CLI, "evaluate", ws.model, ws.manifest, "--out", ws.root / "report.html",
                             "--json", ws.root / "metrics.json", "--n-boot", "10"], _check_evaluate),
    "explain": (lambda ws: [*CLI, "explain", ws.model, ws.manifest, "--patients", "P0001,P0002",
                            "--out", ws.root / "expl", "--overwrite", "--format", "html"],
                _check_explain),
    "stats": (lambda ws: [*CLI, "stats", ws.manifest, "--out", ws.root / "table1.md"], _check_stats),
    "demo": (lambda ws: [*CLI, "demo", "--out", ws.root / "demo", "--preset", "small", "--quiet",
                         "--overwrite", "--backbone", "test_resnet", "--image-size", "32",
                         "--epochs", "1", "--folds", "holdout"], _check_demo),
}


def _writing(folder: Path) -> bool:
    """A temporary of lnfusion's writer exists somewhere under ``folder``."""
    return any(True for _ in folder.rglob(".*.tmp"))


def _kill_at(argv: list, moment: str, rng: random.Random, ws) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    already = {p for p in ws.root.rglob(".*.tmp")}
    proc = subprocess.Popen([str(a) for a in argv], cwd=ws.root, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    if moment == "early":
        delay = rng.uniform(0.5, 4.0)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
    else:
        while proc.poll() is None and time.monotonic() < deadline:
            if {p for p in ws.root.rglob(".*.tmp")} - already:
                time.sleep(rng.uniform(0.0, 0.2))
                break
            time.sleep(0.01)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "killed"
    err = proc.stderr.read().decode(errors="replace")
    assert proc.returncode == 0, err[-2000:]
    return "finished"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_kill_at_random_moments(name, workspace, tmp_path):
    from lnfusion import io

    build, check = COMMANDS[name]
    if name == "save":
        from lnfusion.fusion import LateFusionClassifier

        LateFusionClassifier.load(workspace.model).save(workspace.root / "saved")
    before = workspace.inputs_digest()
    rng = random.Random(zlib.crc32(name.encode()))
    outcomes = []
    for moment in ("early", "writing"):
        outcomes.append(_kill_at(build(workspace), moment, rng, workspace))
        assert workspace.inputs_digest() == before, f"{name}: inputs changed ({moment})"
        check(workspace)
    # what the killed runs left (hidden temporaries only) goes once it is stale
    left = [p for p in workspace.temporaries()
            if not any(q.name.endswith(".tmp") for q in p.relative_to(workspace.root).parents
                       if q.name)]
    then = time.time() - io.STALE_AFTER_S - 60
    for p in left:
        for q in (p, p / io.OUTPUT_MARKER):
            if q.exists():
                os.utime(q, (then, then))
    for parent in {p.parent for p in left}:
        io._SWEPT.discard(os.path.realpath(parent))
        io.atomic_write_text(parent / "next.txt", "next run")
    assert not workspace.temporaries(), (outcomes, left)
