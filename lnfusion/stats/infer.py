"""Infer the statistical type of each column of a data frame, and say why.

Rules, in order (first match wins):

1. The grouping column and explicitly excluded columns are skipped.
2. **Left out**: an id-like name (``id``/``uuid``/``guid``, or ending in
   ``_id``/``id`` after a separator: ``patient_id``, ``node-id``,
   ``PatientID``); a path-like name (a ``path``, ``file``, ``filename``,
   ``image``, ``img``, ``url``, ``uri`` or ``dir`` token); a region-of-interest
   or mask name (a ``roi``, ``bbox``, ``box``, ``mask``, ``seg`` or
   ``segmentation`` token: ``bmode_roi``, ``bmode_mask``); no non-missing
   value; dates or times.
3. **Left out, with a warning, near-numeric**: a text column in which at most
   10 % of the non-missing cells are not numbers (``"unknown"`` in an ``age``
   column).  The warning names each such cell and its row; fix the cells, or
   declare the text a missing-value code (``lnfusion stats --na unknown``).
   A text column holding only numbers follows the numeric rules (6, 7).
4. **Left out**: text whose non-missing values are all distinct (names, ids),
   or mostly contain a path separator or end in a file extension (``.png``),
   or mostly are boxes of four numbers (``"12,30,140,118"``, several joined
   by ``;``).
5. **Left out, with a warning, too many levels**: a text or category column
   with more than ``max_levels`` (default 50) distinct values, or with more
   than 10 distinct values making up more than half of its non-missing cells
   (free text): one Table 1 row per level would be unreadable.
   Otherwise an *ordered* pandas Categorical is **ordinal**; text, category
   and bool columns are **categorical**.
6. Numeric columns whose non-missing values are all integers with at most
   ``max_ordinal_levels`` (default 7) distinct values: **categorical** when
   there are exactly 2 (a binary flag), otherwise **ordinal**.
7. Other numeric columns: **continuous**.

:func:`infer_types` returns one :class:`ColumnType` per column with the type,
the reason and any warning; :func:`infer_variable_types` only the names per type.
"""
from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError

from .records import Record

__all__ = [
    "ColumnType",
    "VARIABLE_TYPES",
    "DEFAULT_MAX_LEVELS",
    "describe_cells",
    "infer_types",
    "infer_variable_types",
    "numeric_cells",
]

VARIABLE_TYPES = ("categorical", "continuous", "ordinal")

#: Most levels a categorical or ordinal Table 1 variable may have by default.
DEFAULT_MAX_LEVELS = 50

#: Share of non-missing cells that may fail to parse for a text column to count as near-numeric.
NEAR_NUMERIC_SHARE = 0.10

_ID_NAME = re.compile(r"^(id|uuid|guid)$|[_\-. ](id|uuid|guid)$|^(id|uuid|guid)[_\-. ]")
_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")
_PATH_TOKENS = {"path", "paths", "file", "files", "filename", "filenames", "image", "images",
                "img", "imgs", "url", "uri", "dir", "folder", "filepath"}
_ROI_TOKENS = {"roi", "rois", "bbox", "bboxes", "box", "boxes", "mask", "masks", "seg",
               "segmentation", "segmentations"}
_BOX = re.compile(r"^\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*"
                  r"(?:;\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*)*$")
_EXT = re.compile(r"\.(?:png|jpe?g|bmp|gif|tiff?|dcm|dicom|nii|nii\.gz|npy|npz|mha|mhd|nrrd|h5|"
                  r"pt|pth|csv|parquet|json|txt|mp4|avi)$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnType(Record):
    """The type given to one column, and why.

    Attributes
    ----------
    column : str
        Column name.
    type : str
        ``"categorical"``, ``"continuous"``, ``"ordinal"`` or ``"excluded"``
        (left out of the table).
    reason : str
        Why, in words (``"numbers, 59 distinct values"``, ``"name looks like an
        identifier"``, ``"declared categorical"``).
    source : str
        ``"inferred"`` or ``"declared"`` (named by the caller).
    warning : str
        A problem the user should look at (empty when there is none), e.g. the
        non-numeric cells of a near-numeric column.
    """

    column: str
    type: str
    reason: str
    source: str = "inferred"
    warning: str = ""


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _is_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.lower()) or _CAMEL_ID.search(name))


def _is_path_name(name: str) -> bool:
    return any(t in _PATH_TOKENS for t in _tokens(name))


def _is_roi_name(name: str) -> bool:
    return any(t in _ROI_TOKENS for t in _tokens(name))


def _looks_like_boxes(s: pd.Series) -> bool:
    vals = s.dropna().astype(str)
    vals = vals[vals.str.strip() != ""]
    if vals.empty:
        return False
    return bool(vals.iloc[:200].str.match(_BOX).mean() > 0.5)


def _looks_like_paths(s: pd.Series) -> bool:
    vals = s.dropna().astype(str)
    if vals.empty:
        return False
    sample = vals.iloc[:200]
    hits = sample.str.contains(r"[/\\]", regex=True) | sample.str.contains(_EXT, regex=True)
    return bool(hits.mean() > 0.5)


def _is_text(s: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def numeric_cells(s: pd.Series) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Parse a column as numbers.

    Parameters
    ----------
    s : pandas.Series
        A numeric, boolean or text column.

    Returns
    -------
    (numpy.ndarray, list of (int, str))
        The values as floats (``nan`` where missing or not a number), and the
        cells that are present but not numbers, as ``(position, text)``.
    """
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan), []
    present = s.notna().to_numpy()
    text = s.astype("object").where(present, None)
    stripped = pd.Series([v.strip() if isinstance(v, str) else v for v in text], dtype="object")
    values = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad_pos = np.flatnonzero(present & np.isnan(values))
    bad = [(int(p), str(text.iloc[p])) for p in bad_pos]
    blank = [p for p, v in bad if v.strip() == ""]
    if blank:  # an empty or all-space cell is missing, not a wrong value
        bad = [(p, v) for p, v in bad if v.strip() != ""]
    return values, bad


def describe_cells(cells: list[tuple[int, str]], limit: int = 5) -> str:
    """``'unknown' (row 18, position 16), ...``: rows count the header as row 1, as in a CSV file."""
    shown = ", ".join(f"{v!r} (row {p + 2}, position {p})" for p, v in cells[:limit])
    more = f" and {len(cells) - limit} more" if len(cells) > limit else ""
    return shown + more


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _too_many_levels(nunique: int, n: int, max_levels: int | None) -> str:
    """Why a column has too many levels for a Table 1 row ('' when it has not)."""
    if max_levels is not None and nunique > max_levels:
        return f"{nunique} distinct values, more than the limit of {max_levels} levels"
    if nunique > 10 and nunique > n / 2:
        return (f"{nunique} distinct values in {n} non-missing cells "
                "(more than half of them distinct: free text or an identifier)")
    return ""


def _infer_one(s: pd.Series, name: str, max_ordinal_levels: int,
               max_levels: int | None) -> ColumnType:
    def out(kind: str, reason: str, warning: str = "") -> ColumnType:
        return ColumnType(column=name, type=kind, reason=reason, warning=warning)

    nonnull = s.dropna()
    is_text = _is_text(s)
    if _is_id_name(name):
        return out("excluded", "name looks like an identifier")
    if _is_path_name(name):
        return out("excluded", "name looks like a file path")
    if _is_roi_name(name):
        return out("excluded", "name looks like a region-of-interest box or mask column")
    if nonnull.empty:
        return out("excluded", "no non-missing value")
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
        return out("excluded", "dates or times")
    if is_text:
        values, bad = numeric_cells(s)
        n_present = int(s.notna().sum())
        n_numbers = int(np.isfinite(values).sum())
        if bad and n_numbers and len(bad) <= NEAR_NUMERIC_SHARE * n_present:
            codes = sorted({v for _, v in bad})
            na = " ".join(f"--na {c!r}" if " " in c else f"--na {c}" for c in codes[:3])
            few = not _too_many_levels(int(nonnull.nunique()), len(nonnull), max_levels)
            return out(
                "excluded", "near-numeric: numbers with a few non-numeric cells",
                f"{name}: {len(bad)} of {n_present} non-missing cells "
                f"{'is' if len(bad) == 1 else 'are'} not a number: {describe_cells(bad)}; "
                f"the column is left out. Fix the cells, or count them as missing "
                f"(lnfusion stats {na})" + (", or declare the column categorical" if few else ""),
            )
        if not bad and n_numbers:  # text holding only numbers (e.g. from Parquet)
            return _numeric_type(values[np.isfinite(values)], name, max_ordinal_levels,
                                 "text holding only numbers; ")
    if is_text and len(nonnull) > 10 and nonnull.nunique() == len(nonnull):
        return out("excluded", "text with every value distinct (an identifier or free text)")
    if is_text and _looks_like_paths(s):
        return out("excluded", "values look like file paths")
    if is_text and _looks_like_boxes(s):
        return out("excluded", "values look like region-of-interest boxes (x0,y0,x1,y1)")
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s) or is_text:
        nunique = int(nonnull.nunique())
        many = _too_many_levels(nunique, len(nonnull), max_levels)
        if many and not pd.api.types.is_bool_dtype(s):
            return out("excluded", "too many levels",
                       f"{name}: {many}; left out (a Table 1 row per level would be unreadable). "
                       "Merge levels, or declare the column and raise the level limit to force it")
        if isinstance(s.dtype, pd.CategoricalDtype):
            if s.dtype.ordered:
                return out("ordinal", f"ordered categories, {_n(nunique, 'level')}")
            return out("categorical", f"categories, {_n(nunique, 'level')}")
        if pd.api.types.is_bool_dtype(s):
            return out("categorical", "true/false values")
        return out("categorical", f"text, {_n(nunique, 'level')}")
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return out("excluded", "no finite value")
        return _numeric_type(v, name, max_ordinal_levels, "")
    return out("excluded", f"unsupported dtype {s.dtype}")


def _numeric_type(v: np.ndarray, name: str, max_ordinal_levels: int, prefix: str) -> ColumnType:
    nunique = int(np.unique(v).size)
    if np.all(v == np.round(v)) and nunique <= max_ordinal_levels:
        if nunique <= 2:
            return ColumnType(name, "categorical", f"{prefix}integers with {nunique} values, a flag")
        return ColumnType(name, "ordinal", f"{prefix}integers with {nunique} levels, "
                                           f"ordinal up to {max_ordinal_levels}")
    if np.all(v == np.round(v)):
        return ColumnType(name, "continuous", f"{prefix}integers with {nunique} distinct values, "
                                              f"more than {max_ordinal_levels}")
    return ColumnType(name, "continuous", f"{prefix}numbers, {nunique} distinct values")


def infer_types(
    df: pd.DataFrame,
    *,
    by: str | None = None,
    exclude: Iterable[Hashable] = (),
    max_ordinal_levels: int = 7,
    max_levels: int | None = DEFAULT_MAX_LEVELS,
) -> list[ColumnType]:
    """Give every column of ``df`` a type and the reason for it.

    Parameters
    ----------
    df : pandas.DataFrame
        The data (not modified).
    by : str, optional
        Grouping column, never returned.
    exclude : iterable of str, optional
        Columns to skip (not returned).
    max_ordinal_levels : int, default 7
        Integer-valued numeric columns with at most this many distinct values
        are ordinal (binary ones categorical).
    max_levels : int or None, default 50
        Text or category columns with more distinct values are left out with a
        warning (``None``: no limit; the free-text rule still applies).

    Returns
    -------
    list of ColumnType
        One per column of ``df`` (except ``by`` and ``exclude``), in frame order.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame; got {type(df).__name__}")
    skip = set(exclude)
    if by is not None:
        skip.add(by)
    return [_infer_one(df[col], str(col), max_ordinal_levels, max_levels)
            for col in df.columns if col not in skip]


def infer_variable_types(
    df: pd.DataFrame,
    *,
    by: str | None = None,
    exclude: Iterable[str] = (),
    max_ordinal_levels: int = 7,
    max_levels: int | None = DEFAULT_MAX_LEVELS,
) -> dict[str, list[str]]:
    """Sort the columns of ``df`` into categorical, continuous and ordinal.

    The names-only form of :func:`infer_types` (same parameters).

    Returns
    -------
    dict
        Keys ``"categorical"``, ``"continuous"``, ``"ordinal"`` and
        ``"excluded"``, each a list of column names in frame order.
    """
    out: dict[str, list[str]] = {"categorical": [], "continuous": [], "ordinal": [], "excluded": []}
    names = {str(c): c for c in df.columns} if isinstance(df, pd.DataFrame) else {}
    for ct in infer_types(df, by=by, exclude=exclude, max_ordinal_levels=max_ordinal_levels,
                          max_levels=max_levels):
        out[ct.type].append(names.get(ct.column, ct.column))
    return out
