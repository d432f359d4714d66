"""The README's quickstart code block runs as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_names_the_two_setup_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text


@pytest.mark.e2e
@pytest.mark.usefixtures("one_torch_thread")
def test_readme_quickstart_runs(tmp_path, monkeypatch, capsys):
    blocks = _python_blocks(README.read_text())
    assert len(blocks) == 1, "the README has exactly one quickstart block"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "| model" in out or "model" in out
    report = namespace["report"]
    assert set(report.summary["model"]) >= {"model", "bmode", "cdfi", "elasto", "tabular"}
    assert (tmp_path / "demo_model" / "config.json").exists()
