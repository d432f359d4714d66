"""Text rendering of result tables: numbers, p-values, intervals, Markdown, HTML and JSON.

Only presentation lives here; the numbers themselves stay in tidy DataFrames.
One formatter per kind of number, shared by every table lnfusion prints
(Table 1, evaluation reports, plot labels).  Imports numpy and pandas only, so
:mod:`lnfusion.stats` can use it and stay standalone.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["format_number", "format_pvalue", "format_ci", "format_range", "count_noun",
           "markdown_table", "html_table", "table_to_json", "table_from_json", "jsonable"]


def _missing(value: Any) -> bool:
    """None, NaN, ``pd.NA`` or ``NaT`` (but never a container)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like: not a missing scalar
        return False


def format_number(value: Any, digits: int = 3) -> str:
    """Fixed-point number; an en dash for a missing value."""
    if _missing(value):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}f}"


def format_pvalue(p: Any, digits: int = 3, missing: str = "–") -> str:
    """p-value as journals print it: ``<0.001`` below ``10**-digits``, else ``digits`` decimals.

    Parameters
    ----------
    p : float
        The p-value.
    digits : int, default 3
        Decimals shown; values below ``10**-digits`` print as ``<0.001`` (for 3).
    missing : str, default "–"
        Text for a missing p-value (``None`` or NaN); Table 1 leaves the cell empty.
    """
    if _missing(p):
        return missing
    p = float(p)
    floor = 10 ** (-digits)
    return f"<{floor:.{digits}f}" if p < floor else f"{p:.{digits}f}"


def format_ci(estimate: Any, low: Any, high: Any, digits: int = 3) -> str:
    """``estimate (low–high)``, or ``estimate (low to high)`` when a bound is negative.

    Just the estimate when the interval is missing; an en dash when the estimate is.
    """
    if _missing(estimate):
        return "–"
    if _missing(low) or _missing(high):
        return format_number(estimate, digits)
    return f"{format_number(estimate, digits)} ({format_range(low, high, digits)})"


def format_range(low: Any, high: Any, digits: int = 3) -> str:
    """``low–high``, or ``low to high`` when a bound is negative (a dash would read as minus)."""
    if _missing(low) or _missing(high):
        return "–"
    sep = " to " if float(low) < 0 or float(high) < 0 else "–"
    return f"{format_number(low, digits)}{sep}{format_number(high, digits)}"


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """``1 variable``, ``2 variables``: a count with its noun in the right number."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def markdown_table(df: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown table of already formatted values (no dependency on tabulate)."""
    cols = [str(c) for c in df.columns]

    def cell(v: Any) -> str:
        text = format_number(v) if isinstance(v, (float, np.floating)) else str(v)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def html_table(df: pd.DataFrame) -> str:
    """HTML table of already formatted values (escaped)."""
    return df.to_html(index=False, escape=True, border=0, classes="table", na_rep="–")


def jsonable(value: Any) -> Any:
    """Convert numpy scalars / NaN to JSON-safe Python values (NaN becomes None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    return value


def table_to_json(df: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as ``{"columns": [...], "data": [[...], ...]}`` with NaN as null."""
    return {"columns": [str(c) for c in df.columns],
            "data": [jsonable(list(row)) for row in df.itertuples(index=False)]}


def table_from_json(obj: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`table_to_json` (null becomes NaN in numeric columns)."""
    df = pd.DataFrame(obj.get("data", []), columns=obj.get("columns", []))
    for col in df.columns:
        values = df[col]
        non_null = values.dropna()
        if len(non_null) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in non_null):
            if all(isinstance(v, int) for v in non_null) and len(non_null) == len(values):
                df[col] = values.astype("int64")
            else:
                df[col] = values.astype(float)
        elif not len(non_null) and len(values):
            df[col] = values.astype(float)
    return df
