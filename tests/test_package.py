"""Package-level properties: light import, version, CLI help on every command."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

import lnfusion
from lnfusion.cli import COMMANDS, main


def test_import_does_not_import_heavy_libraries():
    code = ("import sys, lnfusion, lnfusion.exceptions, lnfusion.config, lnfusion.io; "
            "heavy = [m for m in ('torch', 'timm', 'xgboost', 'shap') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_is_exposed():
    assert lnfusion.__version__.count(".") == 2
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert lnfusion.__version__ in result.output


def test_every_public_name_resolves():
    for name in lnfusion.__all__:
        assert getattr(lnfusion, name) is not None


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_main_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
