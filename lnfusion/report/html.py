"""A small self-contained HTML document: sections, tables and inlined images.

Everything the document shows is inside the one file: figures are PNG data
URIs, the style sheet is inline, and it uses no script, font or stylesheet from
the network, so a report can be mailed, archived or opened on a machine without
internet access.  Fragments produced by other lnfusion renderers (a Table 1's
``to_html()``, an evaluation report, an explanation card) are embedded with
:func:`embed_html`, which keeps only their ``<body>`` and inlines the images
they reference.
"""
from __future__ import annotations

import base64
import html
import io
import mimetypes
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lnfusion.exceptions import DataError

__all__ = ["HtmlDocument", "Section", "figure_html", "image_html", "embed_html", "table_html",
           "escape"]

#: Image types a report may embed, by file suffix.
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
     margin:0;color:#1d232b;background:#f6f7f9;line-height:1.45}
header{background:#283593;color:#fff;padding:1.2rem 2rem}
header h1{margin:0 0 .3rem 0;font-size:1.6rem}
header p{margin:.2rem 0;opacity:.9}
nav{background:#fff;border-bottom:1px solid #dde;padding:.5rem 2rem;position:sticky;top:0}
nav a{margin-right:1rem;color:#283593;text-decoration:none;font-size:.92rem}
main{padding:1rem 2rem;max-width:1200px}
section{background:#fff;border:1px solid #dde;border-radius:6px;padding:1rem 1.4rem;
        margin:1rem 0}
section h2{margin-top:0;color:#283593}
section section{border:0;border-top:1px solid #eee;border-radius:0;padding:.6rem 0;margin:.6rem 0}
section.omitted{background:#fafafa;color:#555}
.note{font-size:.9rem;color:#555}
.warning{border-left:4px solid #e6a700;background:#fff8e1;padding:.6rem 1rem}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555;max-width:560px}
table{border-collapse:collapse;font-size:.88rem;margin:.5rem 0}
th,td{border:1px solid #d5d8dc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f6}
.embedded{overflow-x:auto}
.cards>div{margin-bottom:1.2rem}
"""


def escape(text: Any) -> str:
    """Return ``text`` (any object, via ``str``) escaped for HTML."""
    return html.escape(str(text), quote=True)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def figure_html(fig: Any, alt: str, caption: str | None = None, *, dpi: int = 110,
                close: bool = True) -> str:
    """Render a matplotlib figure as an inline PNG ``<figure>``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (any object with ``savefig``).
    alt : str
        Alternative text (what the figure shows), required for accessibility.
    caption : str, optional
        Caption under the figure.
    dpi : int, default 110
        Resolution of the PNG.
    close : bool, default True
        Close the figure afterwards so figures do not accumulate in memory.

    Returns
    -------
    str
        An HTML ``<figure>`` holding a ``data:image/png`` image.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return _figure(_data_uri(buf.getvalue(), "image/png"), alt, caption)


def image_html(image: str | Path | bytes, alt: str, caption: str | None = None,
               mime: str = "image/png") -> str:
    """Embed an image file (or its bytes) as an inline ``<figure>``.

    Parameters
    ----------
    image : path-like or bytes
        An image file (PNG, JPEG, GIF, SVG or WebP, by suffix) or encoded bytes.
    alt : str
        Alternative text.
    caption : str, optional
        Caption under the image.
    mime : str, default "image/png"
        MIME type of ``image`` when bytes are given.

    Raises
    ------
    DataError
        When the file does not exist or its suffix is not an image type.
    """
    if isinstance(image, (bytes, bytearray)):
        return _figure(_data_uri(bytes(image), mime), alt, caption)
    return _figure(_file_uri(Path(image)), alt, caption)


def _file_uri(path: Path) -> str:
    mime = _IMAGE_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if mime is None or not mime.startswith("image/"):
        raise DataError(f"{path}: cannot embed in a report; expected an image file "
                        f"({', '.join(sorted(_IMAGE_TYPES))}), got suffix {path.suffix!r}")
    if not path.is_file():
        raise DataError(f"{path}: image file not found; expected an existing file to embed")
    return _data_uri(path.read_bytes(), mime)


def _figure(src: str, alt: str, caption: str | None) -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{src}" alt="{escape(alt)}">{cap}</figure>'


_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_STRIP = re.compile(r"<(script|link|meta|title)\b[^>]*>(?:.*?</\1>)?", re.S | re.I)
_HEADING = re.compile(r"<(/?)h([1-6])(?=[\s>])", re.I)
_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.S | re.I)


def embed_html(fragment: str, base_dir: str | Path | None = None, shift_headings: int = 0) -> str:
    """Make an HTML fragment or page safe to embed in a report section.

    Keeps the ``<body>`` content of a full page (its ``<head>``, whose page-wide
    styles would restyle the whole report, is dropped), removes ``<script>``,
    ``<link>``, ``<meta>`` and ``<title>`` tags, and replaces every ``<img src>``
    that is not already a ``data:`` URI by the inlined file, resolved against
    ``base_dir``.

    Parameters
    ----------
    fragment : str
        HTML produced by another renderer.
    base_dir : path-like, optional
        Folder that relative image paths are relative to.
    shift_headings : int, default 0
        Add this to every heading level (``<h1>`` becomes ``<h3>`` with 2, at
        most ``<h6>``), so a page's own headings nest under the report's section.

    Raises
    ------
    DataError
        When an image the fragment refers to is remote (``http(s)://``) or
        cannot be found: a report must be self-contained.
    """
    match = _BODY.search(fragment)
    body = match.group(1) if match else fragment
    body = _STRIP.sub("", body)

    def inline(m: re.Match) -> str:
        src = html.unescape(m.group(3).strip())
        if src.startswith("data:"):
            return m.group(0)
        if re.match(r"^[a-z][a-z0-9+.-]*://", src, flags=re.I) and not src.startswith("file://"):
            raise DataError(f"embedded HTML refers to a remote image {src!r}; a report must be "
                            "self-contained (expected a local file or a data: URI)")
        path = Path(src.removeprefix("file://"))
        if not path.is_absolute():
            if base_dir is None:
                raise DataError(f"embedded HTML refers to the relative image {src!r} but no "
                                "base_dir was given to resolve it")
            path = Path(base_dir) / path
        return f"{m.group(1)}{m.group(2)}{_file_uri(path)}{m.group(2)}"

    body = _SRC.sub(inline, body)
    if shift_headings:
        body = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + shift_headings, 6)}",
                            body)
    return f'<div class="embedded">{body}</div>'


def table_html(rows: Mapping[str, Any] | Iterable[tuple[Any, Any]],
               header: tuple[str, str] | None = None) -> str:
    """Render key/value pairs as a two-column HTML table (values escaped)."""
    items = rows.items() if isinstance(rows, Mapping) else rows
    head = (f"<tr><th>{escape(header[0])}</th><th>{escape(header[1])}</th></tr>"
            if header else "")
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return f"<table>{head}{body}</table>"


@dataclass
class Section:
    """One section of a report.

    Attributes
    ----------
    id : str
        HTML id (also the anchor of the navigation link); letters, digits, ``-``, ``_``.
    title : str
        Heading shown in the report and the navigation bar.
    body : str
        HTML content, already escaped where needed.  Empty for an omitted section.
    note : str, optional
        For an omitted section: why it is absent and how to include it.
    """

    id: str
    title: str
    body: str = ""
    note: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][\w-]*", self.id):
            raise DataError(f"section id {self.id!r} is not a valid HTML id; expected a letter "
                            "followed by letters, digits, '-' or '_'")

    @property
    def omitted(self) -> bool:
        """True when the section carries only a note."""
        return not self.body

    def to_html(self, level: int = 2) -> str:
        """Return the section as a ``<section>`` element with an ``<h{level}>`` heading.

        Parameters
        ----------
        level : int, default 2
            Heading level: 2 for a top-level section, 3 for one nested in another's body.
        """
        h = f"h{min(max(level, 1), 6)}"
        if self.omitted:
            note = escape(self.note or "Not available.")
            return (f'<section id="{self.id}" class="omitted" data-omitted="true">'
                    f'<{h}>{escape(self.title)}</{h}><p class="note">{note}</p></section>')
        return f'<section id="{self.id}"><{h}>{escape(self.title)}</{h}>{self.body}</section>'


@dataclass
class HtmlDocument:
    """A self-contained HTML page made of :class:`Section` objects.

    Attributes
    ----------
    title : str
        Page title and main heading.
    subtitle : list of str
        Lines of (escaped) text under the heading.
    sections : list of Section
        In display order; ids must be unique.
    """

    title: str
    subtitle: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def add(self, section: Section) -> Section:
        """Append a section (its id must be new) and return it."""
        if any(s.id == section.id for s in self.sections):
            raise DataError(f"a section with id {section.id!r} is already in the report")
        self.sections.append(section)
        return section

    def to_html(self) -> str:
        """Return the whole page as one HTML string."""
        links = "".join(f'<a href="#{s.id}">{escape(s.title)}</a>' for s in self.sections)
        sub = "".join(f"<p>{escape(line)}</p>" for line in self.subtitle)
        body = "\n".join(s.to_html() for s in self.sections)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{escape(self.title)}</title><style>{_STYLE}</style></head>"
                f"<body><header><h1>{escape(self.title)}</h1>{sub}</header>"
                f"<nav>{links}</nav><main>\n{body}\n</main></body></html>\n")
