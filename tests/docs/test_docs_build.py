"""The documentation site builds with warnings as errors, and what it shows runs.

* ``mkdocs build --strict`` succeeds (skipped when the ``docs`` extra is not
  installed); the API pages render real docstrings.
* Every module of ``lnfusion`` and of its subpackages is rendered on an API page
  (so the reference cannot silently miss a part of the library).
* The Python code blocks of *Getting started* and of the API overview execute
  top to bottom, in order, in a fresh folder.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Pages whose ``python`` code blocks are executed here (each page is one script).
EXECUTED_PAGES = ("getting_started.md", "api/index.md")


def _mkdocs_available() -> bool:
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
        import mkdocstrings_handlers.python  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    if not _mkdocs_available():
        pytest.skip("mkdocs, mkdocs-material or mkdocstrings[python] not installed "
                    "(pip install -e '.[docs]')")
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("WARNING", "ERROR")) or "Error" in line]
    assert proc.returncode == 0, (
        "mkdocs build --strict failed:\n" + "\n".join(problems or [proc.stderr[-4000:]]))
    return site


@pytest.mark.e2e
def test_site_builds_strict_with_every_page(built_site: Path):
    assert (built_site / "index.html").is_file()
    assert (built_site / "getting_started" / "index.html").is_file()
    # every markdown page of docs/ became an HTML page
    for page in DOCS.rglob("*.md"):
        rel = page.relative_to(DOCS).with_suffix("")
        html = (built_site / "index.html" if rel.name == "index" and rel.parent == Path(".")
                else built_site / rel.parent / "index.html" if rel.name == "index"
                else built_site / rel / "index.html")
        assert html.is_file(), f"{page.relative_to(ROOT)} was not rendered"


@pytest.mark.e2e
def test_api_pages_render_docstrings(built_site: Path):
    core = (built_site / "api" / "core" / "index.html").read_text(encoding="utf-8")
    # the rendered reference holds the objects and their docstrings, not the ::: directive
    assert "LnfusionError" in core and "atomic_write_text" in core
    assert "Base class of every error raised by lnfusion" in core
    for page in (built_site / "api").rglob("index.html"):
        assert ":::" not in page.read_text(encoding="utf-8"), page


def _modules() -> list[str]:
    """Every public module of lnfusion and its subpackages (the CLI is documented by ``--help``)."""
    files = [*(ROOT / "lnfusion").glob("*.py"), *(ROOT / "lnfusion").glob("*/*.py")]
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in files
                  if not p.name.startswith("_") and p.parent.name != "cli")


def test_every_module_has_an_api_entry():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented.update(re.findall(r"^:::\s*(lnfusion[\w.]*)", page.read_text(encoding="utf-8"),
                                     flags=re.M))
    missing = [m for m in _modules() if m not in documented]
    assert not missing, f"no docs/api page renders {missing} (add a '::: module' line)"
    packages = sorted({m.rsplit(".", 1)[0] for m in _modules() if m.count(".") == 2})
    assert not [p for p in packages if p not in documented], "a subpackage has no API page"


def _blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, flags=re.M | re.S)


def _command_lines(page: str) -> list[str]:
    """``lnfusion ...`` lines of the page's bash blocks and ``lnfusion X`` inline code."""
    text = (DOCS / page).read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for block in _blocks(text, "bash")
             for line in block.splitlines() if line.startswith("lnfusion ")]
    return lines + re.findall(r"`(lnfusion [a-z]+)[^`]*`", text)


@pytest.mark.parametrize("page", ["getting_started.md", "index.md"])
def test_shown_commands_and_options_exist(page: str):
    """Every ``lnfusion COMMAND --option`` a page shows is a real command with that option."""
    import click

    from lnfusion.cli import main

    ctx = click.Context(main)
    lines = _command_lines(page)
    assert lines, f"docs/{page} shows no command line"
    for line in lines:
        words = line.split()
        command = main.get_command(ctx, words[1])
        assert command is not None, f"docs/{page}: unknown command in {line!r}"
        assert "not available" not in (command.help or "").lower(), \
            f"docs/{page} shows {line!r} but 'lnfusion {words[1]}' is not implemented"
        known = {opt for p in command.params for opt in p.opts + p.secondary_opts}
        unknown = [w.split("=")[0] for w in words[2:] if w.startswith("--")
                   and w.split("=")[0] not in known]
        assert not unknown, f"docs/{page}: {line!r} uses options {unknown} that do not exist"


@pytest.mark.e2e
@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_code_blocks_run(page: str, tmp_path: Path):
    blocks = _blocks((DOCS / page).read_text(encoding="utf-8"), "python")
    assert blocks, f"docs/{page} shows no Python code"
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    # one torch/XGBoost thread (unless set), as for the notebooks: tiny networks, busy machines
    env = {"OMP_NUM_THREADS": "1", **os.environ, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"docs/{page} code failed:\n{proc.stderr[-4000:]}"
