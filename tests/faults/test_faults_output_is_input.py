"""Output equal to (or around, or inside) an input, for every command that writes.

Each case is refused with a clean message (exit code 1, no traceback) before any
work is done, ``--overwrite`` or not, and the inputs are byte-identical afterwards.
The first cases are the reproductions of the hostile-input audit: each of them
deleted or replaced the user's study before.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from lnfusion.cli import main
from lnfusion.exceptions import LnfusionError

MARKER = ".lnfusion-output.json"   # lnfusion.io.OUTPUT_MARKER


def _refused(result, *names):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception   # a message, not a traceback
    assert "Traceback" not in result.output
    assert "refusing to" in result.output, result.output
    for name in names:
        assert str(name) in result.output, (name, result.output)


def _cli(*args, cwd=None, monkeypatch=None):
    if cwd is not None:
        monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, [str(a) for a in args])


def test_train_output_dot_in_a_config_kept_in_the_study(workspace):
    before = workspace.inputs_digest()
    config = workspace.config(".", folder=workspace.study)
    _refused(_cli("train", config, "--overwrite", "--quiet"), workspace.study)
    config.unlink()
    assert workspace.inputs_digest() == before


@pytest.mark.parametrize("output", ["study/images", "study", ".."])
def test_train_output_around_or_inside_an_input(workspace, output):
    before = workspace.inputs_digest()
    config = workspace.config(output)
    result = _cli("train", config, "--overwrite", "--quiet")
    _refused(result)
    assert workspace.inputs_digest() == before


def test_explain_out_study_overwrite(workspace):
    before = workspace.inputs_digest()
    _refused(_cli("explain", workspace.model, workspace.manifest, "--patients", "P0001",
                  "--out", workspace.study, "--overwrite"), workspace.study)
    assert workspace.inputs_digest() == before


def test_explain_out_dot_inside_the_study(workspace, monkeypatch):
    before = workspace.inputs_digest()
    _refused(_cli("explain", workspace.model, "manifest.csv", "--patients", "P0001", "--out", ".",
                  "--overwrite", cwd=workspace.study, monkeypatch=monkeypatch))
    assert workspace.inputs_digest() == before


def test_explain_out_model_folder(workspace):
    before = workspace.inputs_digest()
    _refused(_cli("explain", workspace.model, workspace.manifest, "--out", workspace.model,
                  "--overwrite"), workspace.model)
    assert workspace.inputs_digest() == before


@pytest.mark.parametrize("out", ["study/manifest.csv", "model/config.json", "study/images/x.csv"])
def test_predict_out_is_an_input(workspace, out):
    before = workspace.inputs_digest()
    target = workspace.root / out
    result = _cli("predict", workspace.model, workspace.manifest, "--out", target)
    if out.startswith("study/images"):     # a new file beside the images touches no input
        assert result.exit_code == 0, result.output
        target.unlink()
    else:
        _refused(result, target)
    assert workspace.inputs_digest() == before


def test_predict_out_is_a_link_to_the_manifest(workspace):
    before = workspace.inputs_digest()
    link = workspace.root / "preds.csv"
    link.hardlink_to(workspace.manifest)
    _refused(_cli("predict", workspace.model, workspace.manifest, "--out", link), "same file")
    assert workspace.inputs_digest() == before


@pytest.mark.parametrize("flag,out", [("--json", "study/manifest.csv"), ("--out", "model/report.md")])
def test_evaluate_out_is_an_input(workspace, flag, out):
    before = workspace.inputs_digest()
    args = ["evaluate", workspace.model, workspace.manifest, "--n-boot", "0"]
    args += ["--out", workspace.root / "report.md"] if flag == "--json" else []
    target = workspace.root / out
    _refused(_cli(*args, flag, target), target)
    assert workspace.inputs_digest() == before
    assert not (workspace.root / "report.md").exists()


def test_stats_out_is_its_input(workspace, tmp_path):
    table = workspace.root / "s.csv"
    table.write_bytes(workspace.manifest.read_bytes())
    before = table.read_bytes()
    _refused(_cli("stats", table, "--out", table), table)
    assert table.read_bytes() == before


def test_demo_into_a_users_folder(workspace):
    before = workspace.inputs_digest()
    for extra in ([], ["--overwrite"]):
        _refused(_cli("demo", "--out", workspace.study, "--preset", "small", "--quiet", *extra),
                 workspace.study, "manifest.csv")
    # a folder named like the demo's cohort but not written by lnfusion is never replaced
    out = workspace.root / "demo"
    (out / "cohort").mkdir(parents=True)
    (out / MARKER).write_text('{"written_by": "lnfusion"}')    # an earlier demo's folder
    (out / "cohort" / "notes.txt").write_text("mine")
    _refused(_cli("demo", "--out", out, "--preset", "small", "--quiet", "--overwrite"), "notes.txt")
    assert (out / "cohort" / "notes.txt").read_text() == "mine"
    assert workspace.inputs_digest() == before


def test_pretrain_out_inside_its_dataset(workspace):
    before = workspace.inputs_digest()
    dataset = workspace.study / "images"
    _refused(_cli("pretrain", dataset, "--out", dataset / "encoder", "--epochs", "1"), dataset)
    assert workspace.inputs_digest() == before


def test_save_over_a_folder_lnfusion_did_not_write(workspace):
    from lnfusion.fusion import LateFusionClassifier

    before = workspace.inputs_digest()
    model = LateFusionClassifier.load(workspace.model)
    with pytest.raises(LnfusionError, match=rf"refusing to replace .*no {MARKER}.*manifest.csv"):
        model.save(workspace.study, overwrite=True)
    for branch in model.branches_.values():
        with pytest.raises(LnfusionError, match="refusing to replace"):
            branch.save(workspace.study, overwrite=True)
    assert workspace.inputs_digest() == before
    assert not workspace.temporaries()
    model.save(workspace.model, overwrite=True)   # its own earlier output: replaced
    assert LateFusionClassifier.load(workspace.model).classes_.tolist() == model.classes_.tolist()
