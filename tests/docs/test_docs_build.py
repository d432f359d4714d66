"""The documentation site builds with warnings as errors, and what it shows runs.

* ``mkdocs build --strict`` succeeds (skipped when the ``docs`` extra is not
  installed); the API pages render real docstrings.
* Every public name (each subpackage's ``__all__``, the top-level package's and
  the top-level modules') is rendered on an API page, object by object from its
  defining module, and no page renders a whole module (which would show
  internals as public).
* The Python code blocks of *Getting started* and of the API overview execute
  top to bottom, in order, in a fresh folder.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
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


def _public_namespaces() -> list[str]:
    """Modules whose ``__all__`` is public API: the package, its subpackages, its top-level modules.

    The CLI is documented by ``lnfusion --help``.
    """
    pkg = ROOT / "lnfusion"
    subpackages = [f"lnfusion.{p.parent.name}" for p in pkg.glob("*/__init__.py")
                   if p.parent.name != "cli"]
    modules = [f"lnfusion.{p.stem}" for p in pkg.glob("*.py") if not p.name.startswith("_")]
    return sorted(["lnfusion", *subpackages, *modules])


def _api_entries() -> list[str]:
    """The dotted paths of the ``::: path`` directives of every API page."""
    entries = []
    for page in (DOCS / "api").glob("*.md"):
        entries += re.findall(r"^:::\s*(lnfusion[\w.]*)", page.read_text(encoding="utf-8"),
                              flags=re.M)
    return entries


def _is_module(path: str) -> bool:
    try:
        return importlib.util.find_spec(path) is not None
    except ModuleNotFoundError:  # the parent is a plain module: ``path`` names an object in it
        return False


def test_every_public_name_has_an_api_entry():
    """Each name of each ``__all__`` is rendered from its defining module; no whole module is.

    The reference lists public names object by object (``::: lnfusion.data.cohort.Cohort``)
    rather than whole modules, because a whole module also renders its internals (a
    learning-rate schedule, a batch preparer, private helpers) as if they were public API.
    Objects are named by their defining module because names exported lazily (PEP 562)
    do not resolve statically.
    """
    entries = _api_entries()
    modules = {e for e in entries if _is_module(e)}
    whole = sorted(m for m in modules if not hasattr(importlib.import_module(m), "__path__"))
    assert not whole, f"API pages render whole modules {whole}: list their public names instead"
    objects = {tuple(e.rsplit(".", 1)) for e in entries if e not in modules}

    missing = []
    for namespace in _public_namespaces():
        for name in importlib.import_module(namespace).__all__:
            if name.startswith("__"):  # __version__
                continue
            obj = getattr(importlib.import_module(namespace), name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                found = (obj.__module__, name) in objects
                where = obj.__module__
            else:  # a constant: rendered from the (sub)module that holds this very object
                package = hasattr(importlib.import_module(namespace), "__path__")
                found = any(n == name and (m != namespace or not package)
                            and getattr(importlib.import_module(m), name, None) is obj
                            for m, n in objects)
                where = "<defining module>"
            if not found:
                missing.append(f"{namespace}.{name} (add '::: {where}.{name}')")
    assert not missing, "no docs/api page renders:\n" + "\n".join(missing)

    subpackages = [n for n in _public_namespaces()
                   if n != "lnfusion" and (ROOT / n.replace(".", "/")).is_dir()]
    assert not [p for p in subpackages if p not in modules], \
        "a subpackage's docstring is not rendered on an API page"


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
