"""``lnfusion demo``: cohort, contact sheet, validation, Table 1, training, evaluation, report."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from lnfusion.cli import main
from lnfusion.cli.demo_cmd import STEPS


@pytest.mark.e2e
@pytest.mark.usefixtures("one_torch_thread")
def test_demo_command_reuses_cohort_and_writes_outputs(demo_root, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(demo_root, out / "cohort")   # same settings: the step reuses it
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--preset", "small"])
    assert result.exit_code == 0, result.output
    assert "reusing the existing cohort" in result.output
    assert "SIMULATED" in result.output and "patients: 60" in result.output
    assert (out / "contact_sheet.png").is_file()
    assert str(out / "contact_sheet.png") in result.output
    assert f"lnfusion serve {out / 'model'}" in result.output   # how to serve what it trained
    assert [name for name, _ in STEPS] == ["cohort", "contact sheet", "validate", "table 1",
                                           "train", "evaluate", "explain", "report"]
    for name in ("table1.md", "evaluation.md", "report.html", "model/config.json"):
        assert (out / name).is_file(), name
        assert str(out / name.split("/")[0]) in result.output
    table = (out / "table1.md").read_text()
    for variable in ("location", "shape", "margin", "cdfi_pattern"):
        assert variable in table
    evaluation = (out / "evaluation.md").read_text()
    for branch in ("bmode", "cdfi", "elasto", "tabular"):
        assert f"| {branch} |" in evaluation
    html = (out / "report.html").read_text()
    assert 'id="evaluation"' in html and "data:image/png;base64," in html


def test_demo_training_options_are_validated(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--preset", "small",
                                       "--folds", "1"])
    assert result.exit_code != 0
    assert "--folds" in result.output and "holdout" in result.output


def test_demo_command_refuses_foreign_folder(tmp_path):
    (tmp_path / "cohort").mkdir()
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--preset", "small"])
    assert result.exit_code != 0
    assert "refusing to write into" in result.output and "found: cohort" in result.output
    # in a folder an earlier demo wrote, a cohort folder it did not write asks for --overwrite
    (tmp_path / ".lnfusion-output.json").write_text('{"written_by": "lnfusion"}')
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--preset", "small"])
    assert result.exit_code != 0
    assert "--overwrite" in result.output
