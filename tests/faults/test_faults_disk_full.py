"""A full disk during every command that writes.

The disk "fills up" after a given number of completed file writes: every
``os.fsync`` of lnfusion's atomic writer after that raises ``OSError(ENOSPC)``,
so folder outputs fail half-way through.  Each command must stop with one clean
message naming its output (no traceback), leave no output and no temporary
behind, keep any previous output intact and leave the inputs byte-identical.
"""
from __future__ import annotations

import errno
import os

import pytest
from click.testing import CliRunner

from lnfusion.cli import main
from lnfusion.exceptions import DiskFullError


@pytest.fixture
def disk_fills(monkeypatch):
    """``disk_fills(n)``: the disk is full after ``n`` more completed writes."""
    real = os.fsync

    def arm(n_ok: int) -> None:
        left = [n_ok]

        def fsync(fd):
            if left[0] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            left[0] -= 1
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    return arm


def _clean_failure(result, output):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception   # no traceback
    assert "no space left on the device" in result.output, result.output
    assert str(output) in result.output and "MB free" in result.output
    assert ".tmp" not in result.output            # names the output, not a temporary


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.slow
def test_train(workspace, disk_fills):
    before = workspace.inputs_digest()
    config = workspace.config("run")
    disk_fills(3)                                       # a few files of the model, then full
    _clean_failure(_run("train", config, "--quiet"), workspace.root / "run")
    assert not (workspace.root / "run").exists() and not workspace.temporaries()
    assert workspace.inputs_digest() == before


def test_save_over_a_previous_model(workspace, disk_fills, tmp_path):
    from lnfusion.fusion import LateFusionClassifier

    model = LateFusionClassifier.load(workspace.model)
    target = tmp_path / "saved"
    model.save(target)
    previous = {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    disk_fills(2)
    with pytest.raises(DiskFullError, match=f"no space left.*{target}"):
        model.save(target, overwrite=True)
    assert {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()} == previous
    assert not workspace.temporaries()
    assert LateFusionClassifier.load(target).classes_.tolist() == model.classes_.tolist()


def test_predict_keeps_the_previous_file(workspace, disk_fills):
    before = workspace.inputs_digest()
    out = workspace.root / "preds.csv"
    out.write_text("previous\n")
    disk_fills(0)
    _clean_failure(_run("predict", workspace.model, workspace.manifest, "--out", out), out)
    assert out.read_text() == "previous\n" and not workspace.temporaries()
    assert workspace.inputs_digest() == before


@pytest.mark.parametrize("n_ok", [0, 1])
def test_evaluate(workspace, disk_fills, n_ok):
    before = workspace.inputs_digest()
    report, metrics = workspace.root / "report.html", workspace.root / "metrics.json"
    disk_fills(n_ok)
    result = _run("evaluate", workspace.model, workspace.manifest, "--out", report,
                  "--json", metrics, "--n-boot", "10")
    _clean_failure(result, metrics if n_ok else report)
    assert report.exists() == bool(n_ok) and not metrics.exists()   # each file complete or absent
    if n_ok:
        assert report.read_text().rstrip().endswith("</html>")
    assert not workspace.temporaries() and workspace.inputs_digest() == before


def test_explain(workspace, disk_fills):
    before = workspace.inputs_digest()
    out = workspace.root / "expl"
    disk_fills(4)                                       # part of the tables, then full
    _clean_failure(_run("explain", workspace.model, workspace.manifest, "--patients", "P0001",
                        "--out", out, "--image-method", "none"), out)
    assert not out.exists() and not workspace.temporaries()
    assert workspace.inputs_digest() == before


def test_stats(workspace, disk_fills):
    before = workspace.inputs_digest()
    out = workspace.root / "table1.md"
    disk_fills(0)
    _clean_failure(_run("stats", workspace.manifest, "--out", out), out)
    assert not out.exists() and not workspace.temporaries()
    assert workspace.inputs_digest() == before


@pytest.mark.slow
def test_demo(workspace, disk_fills):
    out = workspace.root / "demo"
    disk_fills(0)
    _clean_failure(_run("demo", "--out", out, "--preset", "small", "--quiet"), out / "cohort")
    assert sorted(p.name for p in out.iterdir()) == [".lnfusion-output.json"]   # nothing half-written
    assert not workspace.temporaries()
