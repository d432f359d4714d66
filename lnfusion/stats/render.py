"""Renderers of a :class:`~lnfusion.stats.TableOneResult`.

Markdown, LaTeX (booktabs), HTML and CSV, and :func:`save_table`, which picks
the format from the file extension and writes atomically (temporary file in
the destination folder, then :func:`os.replace`).
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lnfusion.exceptions import StatsError
from lnfusion.formatting import format_pvalue
from lnfusion.io import atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from .table1 import TableOneResult

__all__ = [
    "RenderError",
    "FORMATS",
    "display_frame",
    "render_markdown",
    "render_latex",
    "render_html",
    "save_table",
]

#: File extension -> format name understood by :func:`save_table`.
FORMATS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".html": "html",
           ".htm": "html", ".csv": "csv"}

_ADJUST_NAMES = {"bh": "Benjamini-Hochberg", "by": "Benjamini-Yekutieli", "holm": "Holm",
                 "hochberg": "Hochberg", "hommel": "Hommel", "bonferroni": "Bonferroni",
                 "none": "no"}
_ADJUST_SHORT = {"bh": "BH", "by": "BY", "holm": "Holm", "hochberg": "Hochberg",
                 "hommel": "Hommel", "bonferroni": "Bonferroni", "none": "unadj."}


class RenderError(StatsError):
    """A table cannot be written in the requested format."""


def _fmt_stat(x: float) -> str:
    if x is None or pd.isna(x):
        return ""
    return f"{x:.2f}"


def display_frame(res: TableOneResult) -> pd.DataFrame:
    """The table as printed: one header row per categorical variable, indented levels.

    Columns: ``Variable``, one per class with its size, ``Overall``,
    ``Missing``, ``Test``, ``Statistic``, ``p``, ``p (<adjustment>)`` and a
    boolean ``_indent`` column telling renderers which rows are level rows.
    """
    t = res.table
    labels = res.settings.get("labels", {})
    adj = res.settings.get("adjust", "none")
    class_headers = [f"{c} (n={n})" for c, n in zip(res.classes, res.class_counts)]
    overall_header = f"Overall (n={sum(res.class_counts)})"
    p_adj_header = f"p ({_ADJUST_SHORT.get(adj, adj)})"
    out: list[dict] = []

    def blank() -> dict:
        return {h: "" for h in class_headers} | {overall_header: ""}

    for var, grp in t[t["variable"] != "n"].groupby("variable", sort=False):
        first = grp.iloc[0]
        name = labels.get(var, var)
        testcols = {
            "Missing": "" if pd.isna(first["missing"]) or first["missing"] == 0
            else str(int(first["missing"])),
            "Test": first["test"],
            "Statistic": _fmt_stat(first["statistic"]),
            "p": format_pvalue(first["pval"], missing=""),
            p_adj_header: format_pvalue(first["pval_adj"], missing=""),
        }
        if first["type"] == "continuous":
            row = {"Variable": f"{name}, {first['level']}", "_indent": False}
            row.update({h: first[c] for h, c in zip(class_headers, res.classes)})
            row[overall_header] = first["overall"]
            row.update(testcols)
            out.append(row)
            continue
        head = {"Variable": f"{name}, n (%)", "_indent": False} | blank() | testcols
        out.append(head)
        for _, r in grp.iterrows():
            row = {"Variable": str(r["level"]), "_indent": True}
            row.update({h: r[c] for h, c in zip(class_headers, res.classes)})
            row[overall_header] = r["overall"]
            row.update({k: "" for k in testcols})
            out.append(row)
    cols = ["Variable", *class_headers, overall_header, "Missing", "Test", "Statistic", "p",
            p_adj_header, "_indent"]
    return pd.DataFrame(out, columns=cols)


def _notes(res: TableOneResult) -> list[str]:
    s = res.settings
    adj = s.get("adjust", "none")
    n_tested = int(res.tests["pval"].notna().sum())
    notes = ["Values are n (%), mean ± SD or median [Q1, Q3]; percentages among non-missing values."]
    used = list(dict.fromkeys(res.tests.loc[res.tests["pval"].notna(), "test_label"]))
    if used:
        notes.append("Tests: " + "; ".join(used) + ".")
    rule = ("Test choice: chi-square when every expected count is at least 5"
            + (" (Yates-corrected for 2 x 2)" if s.get("yates") else "")
            + ", otherwise Fisher's exact test; continuous variables by per-class Shapiro-Wilk "
            f"(alpha {s.get('normality_alpha')}): "
            + {"welch": "Welch t-test / Welch ANOVA", "student": "Student t-test / ANOVA",
               "levene": "t-test / ANOVA, Welch if Levene rejects"}.get(s.get("parametric"), "")
            + " if normal, else Mann-Whitney / Kruskal-Wallis; ordinal variables by "
            + ("a trend test." if s.get("trend") else "Kruskal-Wallis."))
    notes.append(rule)
    if adj != "none":
        notes.append(f"p ({_ADJUST_SHORT.get(adj, adj)}): {_ADJUST_NAMES.get(adj, adj)} "
                     f"adjustment across {n_tested} tested variables.")
    if res.n_excluded:
        notes.append(f"{res.n_excluded} rows without a {res.by} class were left out.")
    return notes


def render_markdown(res: TableOneResult, *, notes: bool = True) -> str:
    """Render as a GitHub-flavoured Markdown pipe table."""
    d = display_frame(res)
    cols = [c for c in d.columns if c != "_indent"]

    def esc(x: object) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    align = [":---" if c in ("Variable", "Test") else "---:" for c in cols]
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |", "|" + "|".join(align) + "|"]
    for _, r in d.iterrows():
        cells = [esc(r[c]) for c in cols]
        if r["_indent"]:
            cells[0] = "&nbsp;&nbsp;&nbsp;&nbsp;" + cells[0]
        else:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n\n".join(_notes(res)) + "\n"
    return text


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "<": r"$<$", ">": r"$>$",
                  "–": "--"}


def _latex_escape(x: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(x))


def render_latex(res: TableOneResult, *, caption: str | None = None, label: str | None = None,
                 notes: bool = True) -> str:
    """Render as a LaTeX ``table`` with a booktabs ``tabular``."""
    d = display_frame(res)
    cols = [c for c in d.columns if c != "_indent"]
    out = ["% Table 1 written by lnfusion.stats; requires \\usepackage{booktabs}",
           "\\begin{table}[htbp]", "\\centering"]
    if caption:
        out.append(f"\\caption{{{_latex_escape(caption)}}}")
    if label:
        out.append(f"\\label{{{label}}}")
    out.append("\\begin{tabular}{" + "".join("l" if c in ("Variable", "Test") else "r"
                                              for c in cols) + "}")
    out.append("\\toprule")
    out.append(" & ".join(_latex_escape(c) for c in cols) + " \\\\")
    out.append("\\midrule")
    for _, r in d.iterrows():
        cells = [_latex_escape(r[c]) for c in cols]
        if r["_indent"]:
            cells[0] = "\\quad " + cells[0]
        out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    out.append("\\end{tabular}")
    if notes:
        out.append("\\par\\smallskip")
        out.append("\\begin{minipage}{\\linewidth}\\footnotesize")
        out.append(" ".join(_latex_escape(n) for n in _notes(res)))
        out.append("\\end{minipage}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def render_html(res: TableOneResult, *, notes: bool = True) -> str:
    """Render as an HTML ``<table>`` fragment; every cell is escaped."""
    d = display_frame(res)
    cols = [c for c in d.columns if c != "_indent"]
    e = html.escape
    out = ['<table class="lnfusion-table-one">', "<thead>", "<tr>"]
    out += [f"<th>{e(str(c))}</th>" for c in cols]
    out += ["</tr>", "</thead>", "<tbody>"]
    for _, r in d.iterrows():
        cells = []
        for i, c in enumerate(cols):
            text = e(str(r[c]))
            if i == 0:
                style = ' style="padding-left:1.5em"' if r["_indent"] else ""
                cells.append(f"<td{style}>{text if r['_indent'] else '<b>' + text + '</b>'}</td>")
            else:
                cells.append(f'<td style="text-align:right">{text}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody>")
    if notes:
        note = "<br>".join(e(n) for n in _notes(res))
        out.append(f'<tfoot><tr><td colspan="{len(cols)}">{note}</td></tr></tfoot>')
    out.append("</table>")
    return "\n".join(out) + "\n"


def save_table(res: TableOneResult, path: str | os.PathLike) -> Path:
    """Write ``res`` to ``path`` in the format named by its extension.

    Raises
    ------
    RenderError
        When the extension is not one of :data:`FORMATS`.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(f"cannot tell the table format of {str(path)!r} from its extension; "
                          f"expected one of {sorted(FORMATS)}")
    if fmt == "markdown":
        text = render_markdown(res)
    elif fmt == "latex":
        text = render_latex(res)
    elif fmt == "html":
        text = render_html(res)
    else:
        text = res.table.to_csv(index=False, lineterminator="\n")
    return atomic_write_text(path, text)
