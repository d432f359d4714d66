"""The README names the set-up commands and links to the one quickstart.

The Python quickstart lives only in ``docs/getting_started.md`` (section
*Quickstart in Python*), where ``tests/docs/test_docs_build.py`` executes it; the
README links there instead of keeping a second copy that could drift.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICKSTART = "docs/getting_started.md#quickstart-in-python"


def _anchor(heading: str) -> str:
    """The id mkdocs' toc extension gives a heading (lower case, words joined by '-')."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


def test_readme_names_the_two_setup_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text


def test_readme_links_to_the_quickstart():
    text = README.read_text()
    assert f"]({QUICKSTART})" in text, f"the README's Quickstart section links to {QUICKSTART}"
    assert not re.search(r"```python\n", text), \
        "the README keeps no Python code of its own: the quickstart is in docs/getting_started.md"
    page, anchor = QUICKSTART.split("#")
    headings = re.findall(r"^#+\s+(.+?)\s*$", (ROOT / page).read_text(), flags=re.M)
    assert anchor in {_anchor(h) for h in headings}, f"{page} has no heading with id {anchor!r}"
    quickstart = (ROOT / page).read_text().split("## Quickstart in Python", 1)[1]
    assert "```python" in quickstart.split("\n## ", 1)[0], "the quickstart section shows code"
