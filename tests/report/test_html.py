"""The self-contained HTML document model used by every report."""
from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lnfusion.exceptions import DataError, LnfusionError  # noqa: E402
from lnfusion.report.html import (  # noqa: E402
    HtmlDocument,
    Section,
    embed_html,
    escape,
    figure_html,
    image_html,
    table_html,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data_uris(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


@pytest.fixture
def png_file(tmp_path):
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    path = tmp_path / "pics" / "line.png"
    path.parent.mkdir()
    fig.savefig(path)
    plt.close(fig)
    return path


def test_figure_is_inlined_as_png_and_closed():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    before = len(plt.get_fignums())
    out = figure_html(fig, alt='ROC "fused"', caption="a < b")
    assert len(plt.get_fignums()) == before - 1
    (png,) = _data_uris(out)
    assert png.startswith(PNG_MAGIC)
    assert 'alt="ROC &quot;fused&quot;"' in out and "a &lt; b" in out


def test_image_file_and_bytes_are_inlined(png_file):
    from_file = _data_uris(image_html(png_file, alt="line"))
    from_bytes = _data_uris(image_html(png_file.read_bytes(), alt="line"))
    assert from_file == from_bytes == [png_file.read_bytes()]


@pytest.mark.parametrize("name", ["missing.png", "notes.txt"])
def test_image_errors_name_the_file(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(DataError, match=re.escape(str(path))):
        image_html(path, alt="x")


def test_embed_html_keeps_body_inlines_images_and_drops_scripts(png_file):
    page = ("<!DOCTYPE html><html><head><title>T</title><style>body{color:red}</style>"
            "<link rel='stylesheet' href='https://cdn.example/x.css'></head>"
            "<body><h1>Card</h1><img src='pics/line.png' alt='l'><script>alert(1)</script>"
            "<p>text</p></body></html>")
    out = embed_html(page, base_dir=png_file.parent.parent, shift_headings=2)
    assert "<h3>Card</h3>" in out and "<p>text</p>" in out
    assert "<script" not in out and "<link" not in out and "<title" not in out
    assert "color:red" not in out  # page-wide head styles would restyle the report
    assert _data_uris(out.replace("'", '"')) == [png_file.read_bytes()]


def test_embed_html_keeps_data_uris_and_refuses_remote_or_unresolvable_images():
    inline = '<img src="data:image/png;base64,AAAA">'
    assert inline in embed_html(inline)
    with pytest.raises(DataError, match="remote image"):
        embed_html('<img src="https://example.org/a.png">')
    with pytest.raises(DataError, match="base_dir"):
        embed_html('<img src="a.png">')


def test_sections_render_levels_notes_and_escape():
    assert Section("x", "A & B", "<p>b</p>").to_html(level=3).startswith(
        '<section id="x"><h3>A &amp; B</h3>')
    omitted = Section("y", "Y", note="not <computed>")
    assert omitted.omitted and 'data-omitted="true"' in omitted.to_html()
    assert "not &lt;computed&gt;" in omitted.to_html()
    with pytest.raises(LnfusionError, match="not a valid HTML id"):
        Section("1 bad", "t")


def test_document_is_one_page_with_navigation_and_unique_ids():
    doc = HtmlDocument(title="R <1>", subtitle=["s"])
    doc.add(Section("a", "First", "<p>1</p>"))
    doc.add(Section("b", "Second", note="n"))
    with pytest.raises(DataError, match="'a'"):
        doc.add(Section("a", "Again", "<p>x</p>"))
    page = doc.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<title>R &lt;1&gt;</title>" in page
    assert '<a href="#a">First</a><a href="#b">Second</a>' in page
    assert re.search(r"https?://", page) is None


def test_table_html_escapes_values():
    out = table_html({"n": 3, "<b>": "x & y"}, header=("key", "value"))
    assert "<th>key</th>" in out and "&lt;b&gt;" in out and "x &amp; y" in out
    assert escape(1.5) == "1.5"
