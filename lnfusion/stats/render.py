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
from lnfusion.formatting import count_noun, format_number, format_pvalue
from lnfusion.io import atomic_write_text

from .selection import TEST_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from .table1 import TableOneResult

__all__ = [
    "RenderError",
    "FORMATS",
    "display_frame",
    "posthoc_frame",
    "render_csv",
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


def display_frame(res: TableOneResult, *, smd: bool = False) -> pd.DataFrame:
    """The table as printed: one header row per categorical variable, indented levels.

    Columns: ``Variable``, one per class with its size, ``Overall``,
    ``Missing`` (the count of missing values, ``0`` included), ``Test``,
    ``Statistic``, ``p``, ``p (<adjustment>)``, ``SMD`` when ``smd`` is true,
    and a boolean ``_indent`` column telling renderers which rows are level rows.
    """
    t = res.table
    labels = res.settings.get("labels", {})
    adj = res.settings.get("adjust", "none")
    class_headers = [f"{c} (n={n})" for c, n in zip(res.classes, res.class_counts)]
    overall_header = f"Overall (n={sum(res.class_counts)})"
    p_adj_header = f"p ({_ADJUST_SHORT.get(adj, adj)})"
    smd_by_var = dict(zip(res.tests["variable"], res.tests["smd"])) if smd else {}
    out: list[dict] = []

    def blank() -> dict:
        return {h: "" for h in class_headers} | {overall_header: ""}

    for var, grp in t[t["variable"] != "n"].groupby("variable", sort=False):
        first = grp.iloc[0]
        name = labels.get(var, var)
        testcols = {
            "Missing": "" if pd.isna(first["missing"]) else str(int(first["missing"])),
            "Test": first["test"],
            "Statistic": _fmt_stat(first["statistic"]),
            "p": format_pvalue(first["pval"], missing=""),
            p_adj_header: format_pvalue(first["pval_adj"], missing=""),
        }
        if smd:
            value = smd_by_var.get(var)
            testcols["SMD"] = "" if value is None or pd.isna(value) else format_number(value, 3)
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
            if r["level"] == "":  # a variable with no value: its header row only
                continue
            row = {"Variable": str(r["level"]), "_indent": True}
            row.update({h: r[c] for h, c in zip(class_headers, res.classes)})
            row[overall_header] = r["overall"]
            row.update({k: "" for k in testcols})
            out.append(row)
    cols = ["Variable", *class_headers, overall_header, "Missing", "Test", "Statistic", "p",
            p_adj_header, *(["SMD"] if smd else []), "_indent"]
    return pd.DataFrame(out, columns=cols)


def _pair_name(a: str, b: str) -> str:
    return f"{a} vs {b}"


def posthoc_frame(res: TableOneResult) -> pd.DataFrame:
    """Pairwise comparisons as printed: one row per variable, one column per pair of classes.

    Cells are the post-hoc p-values adjusted within the variable
    (``settings["posthoc"]``); ``Test`` names the pairwise test(s).  Empty
    when there are no pairwise comparisons (two classes, or ``posthoc=None``).
    """
    ph = res.posthoc
    pairs = list(dict.fromkeys(zip(ph["group_a"], ph["group_b"])))
    cols = ["Variable", "Test", *(_pair_name(a, b) for a, b in pairs)]
    labels = res.settings.get("labels", {})
    rows = []
    for var, grp in ph.groupby("variable", sort=False):
        tests = [TEST_LABELS.get(x, x) for x in dict.fromkeys(grp["test"])]
        row = {"Variable": labels.get(var, var), "Test": "; ".join(tests)}
        row.update({_pair_name(a, b): format_pvalue(p, missing="")
                    for a, b, p in zip(grp["group_a"], grp["group_b"], grp["pval_adj"])})
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _describe_types(res: TableOneResult) -> list[str]:
    types = res.types
    if types is None or types.empty:
        return []
    labels = res.settings.get("labels", {})
    used = types[types["type"] != "excluded"]
    left = types[types["type"] == "excluded"]
    notes = []
    if len(used):
        parts = [f"{labels.get(r.column, r.column)} {r.type} ("
                 + ("declared" if r.source == "declared" else f"inferred: {r.reason}") + ")"
                 for r in used.itertuples(index=False)]
        notes.append("Variable types: " + "; ".join(parts) + ".")
    if len(left):
        notes.append("Left out: " + "; ".join(f"{r.column} ({r.reason})"
                                                for r in left.itertuples(index=False)) + ".")
    return notes


def _notes(res: TableOneResult, *, smd: bool = False, posthoc: bool = True) -> list[str]:
    s = res.settings
    adj = s.get("adjust", "none")
    n_tested = int(res.tests["pval"].notna().sum())
    notes = ["Values are n (%), mean ± SD or median [Q1, Q3]; percentages among non-missing values; "
             "Missing is the number of missing values of each variable."]
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
                     f"adjustment across {count_noun(n_tested, 'tested variable')}.")
    if posthoc and not res.posthoc.empty:
        ph = s.get("posthoc") or "none"
        notes.append("Pairwise comparisons: the same family of test on each pair of classes, "
                     + ("p-values not adjusted." if ph == "none" else
                        f"p-values {_ADJUST_NAMES.get(ph, ph)}-adjusted within each variable."))
    if smd:
        notes.append("SMD: absolute standardized mean difference (Yang & Dalton for categorical "
                     "variables)" + (", the largest over pairs of classes." if len(res.classes) > 2
                                     else "."))
    if res.n_excluded:
        notes.append(f"{count_noun(res.n_excluded, 'row')} without a {res.by} class "
                     f"{'was' if res.n_excluded == 1 else 'were'} left out.")
    notes += _describe_types(res)
    notes += [f"Warning: {w}." if not w.endswith(".") else f"Warning: {w}" for w in res.warnings]
    return notes


def _esc_md(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _posthoc_title(res: TableOneResult) -> str:
    ph = res.settings.get("posthoc") or "none"
    how = "unadjusted" if ph == "none" else f"{_ADJUST_NAMES.get(ph, ph)}-adjusted within each variable"
    return f"Pairwise comparisons between classes (p, {how})"


def render_markdown(res: TableOneResult, *, notes: bool = True, smd: bool = False,
                    posthoc: bool = True) -> str:
    """Render as a GitHub-flavoured Markdown pipe table (and the pairwise comparisons)."""
    d = display_frame(res, smd=smd)
    cols = [c for c in d.columns if c != "_indent"]
    esc = _esc_md

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
    ph = posthoc_frame(res) if posthoc else pd.DataFrame()
    if len(ph):
        pcols = list(ph.columns)
        text += f"\n**{_posthoc_title(res)}**\n\n"
        text += "| " + " | ".join(esc(c) for c in pcols) + " |\n"
        text += "|" + "|".join(":---" if c in ("Variable", "Test") else "---:" for c in pcols) + "|\n"
        for _, r in ph.iterrows():
            text += "| " + " | ".join(esc(r[c]) for c in pcols) + " |\n"
    if notes:
        text += "\n" + "\n\n".join(_notes(res, smd=smd, posthoc=posthoc)) + "\n"
    return text


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "<": r"$<$", ">": r"$>$",
                  "–": "--"}


def _latex_escape(x: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(x))


def _latex_tabular(d: pd.DataFrame) -> list[str]:
    """A booktabs ``tabular`` of a formatted frame (rows flagged ``_indent`` are indented)."""
    cols = [c for c in d.columns if c != "_indent"]
    out = ["\\begin{tabular}{" + "".join("l" if c in ("Variable", "Test") else "r"
                                        for c in cols) + "}",
           "\\toprule", " & ".join(_latex_escape(c) for c in cols) + " \\\\", "\\midrule"]
    for _, r in d.iterrows():
        cells = [_latex_escape(r[c]) for c in cols]
        if r.get("_indent", False):
            cells[0] = "\\quad " + cells[0]
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    return out


def render_latex(res: TableOneResult, *, caption: str | None = None, label: str | None = None,
                 notes: bool = True, smd: bool = False, posthoc: bool = True) -> str:
    """Render as a LaTeX ``table`` with a booktabs ``tabular`` (a second one for pairwise tests)."""
    d = display_frame(res, smd=smd)
    out = ["% Table 1 written by lnfusion.stats; requires \\usepackage{booktabs}",
           "\\begin{table}[htbp]", "\\centering"]
    if caption:
        out.append(f"\\caption{{{_latex_escape(caption)}}}")
    if label:
        out.append(f"\\label{{{label}}}")
    out += _latex_tabular(d)
    ph = posthoc_frame(res) if posthoc else pd.DataFrame()
    if len(ph):
        out.append("\\par\\medskip")
        out.append(f"{_latex_escape(_posthoc_title(res))}\\par\\smallskip")
        out += _latex_tabular(ph)
    if notes:
        out.append("\\par\\smallskip")
        out.append("\\begin{minipage}{\\linewidth}\\footnotesize")
        out.append(" ".join(_latex_escape(n) for n in _notes(res, smd=smd, posthoc=posthoc)))
        out.append("\\end{minipage}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def render_html(res: TableOneResult, *, notes: bool = True, smd: bool = False,
                posthoc: bool = True) -> str:
    """Render as an HTML ``<table>`` fragment (and one of pairwise tests); every cell is escaped."""
    d = display_frame(res, smd=smd)
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
        note = "<br>".join(e(n) for n in _notes(res, smd=smd, posthoc=posthoc))
        out.append(f'<tfoot><tr><td colspan="{len(cols)}">{note}</td></tr></tfoot>')
    out.append("</table>")
    ph = posthoc_frame(res) if posthoc else pd.DataFrame()
    if len(ph):
        out += ['<table class="lnfusion-table-one-posthoc">',
                f"<caption>{e(_posthoc_title(res))}</caption>", "<thead>", "<tr>"]
        out += [f"<th>{e(str(c))}</th>" for c in ph.columns]
        out += ["</tr>", "</thead>", "<tbody>"]
        for _, r in ph.iterrows():
            out.append("<tr>" + "".join(
                f"<td>{e(str(r[c]))}</td>" if c in ("Variable", "Test")
                else f'<td style="text-align:right">{e(str(r[c]))}</td>' for c in ph.columns)
                + "</tr>")
        out += ["</tbody>", "</table>"]
    return "\n".join(out) + "\n"


def render_csv(res: TableOneResult, *, smd: bool = False, posthoc: bool = True) -> str:
    """The tidy :attr:`~TableOneResult.table` as CSV.

    ``smd`` adds an ``smd`` column (the variable's value on each of its rows);
    ``posthoc`` adds one ``pval_adj <a> vs <b>`` column per pair of classes
    holding the adjusted pairwise p-values, when there are any.
    """
    t = res.table.copy()
    if smd:
        t["smd"] = t["variable"].map(dict(zip(res.tests["variable"], res.tests["smd"])))
    if posthoc and not res.posthoc.empty:
        for (a, b), grp in res.posthoc.groupby(["group_a", "group_b"], sort=False):
            t[f"pval_adj {_pair_name(a, b)}"] = t["variable"].map(
                dict(zip(grp["variable"], grp["pval_adj"])))
    return t.to_csv(index=False, lineterminator="\n")


def save_table(res: TableOneResult, path: str | os.PathLike, *, smd: bool = False,
               posthoc: bool = True) -> Path:
    """Write ``res`` to ``path`` in the format named by its extension.

    ``smd`` and ``posthoc`` choose the optional parts, as for :func:`render_markdown`.

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
        text = render_markdown(res, smd=smd, posthoc=posthoc)
    elif fmt == "latex":
        text = render_latex(res, smd=smd, posthoc=posthoc)
    elif fmt == "html":
        text = render_html(res, smd=smd, posthoc=posthoc)
    else:
        text = render_csv(res, smd=smd, posthoc=posthoc)
    return atomic_write_text(path, text)
