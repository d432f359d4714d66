"""``lnfusion demo`` (first version: cohort, contact sheet, validation, summary)."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from lnfusion.cli import main
from lnfusion.cli.demo_cmd import STEPS


def test_demo_command_reuses_cohort_and_writes_outputs(demo_root, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(demo_root, out / "cohort")   # same settings: the step reuses it
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--preset", "small"])
    assert result.exit_code == 0, result.output
    assert "reusing the existing cohort" in result.output
    assert "SIMULATED" in result.output and "patients: 60" in result.output
    assert (out / "contact_sheet.png").is_file()
    assert str(out / "contact_sheet.png") in result.output
    assert [name for name, _ in STEPS][:3] == ["cohort", "contact sheet", "validate"]


def test_demo_command_refuses_foreign_folder(tmp_path):
    (tmp_path / "cohort").mkdir()
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--preset", "small"])
    assert result.exit_code != 0
    assert "--overwrite" in result.output
