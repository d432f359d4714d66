"""Infer the statistical type of each column of a data frame.

Rules, in order (first match wins):

1. The grouping column and explicitly excluded columns are skipped.
2. **Excluded, id-like**: the name is ``id``/``uuid``/``guid`` or ends in
   ``_id``/``id`` after a separator (``patient_id``, ``node-id``, ``PatientID``);
   or a text column whose non-missing values are all distinct (e.g. names).
3. **Excluded, path-like**: the name contains a ``path``, ``file``, ``filename``,
   ``image``, ``img``, ``url``, ``uri`` or ``dir`` token; or most text values
   contain a path separator or end in a file extension such as ``.png``.
4. **Excluded**: date/time columns and columns with no non-missing value.
5. **Ordinal**: an *ordered* pandas Categorical.
6. **Categorical**: object, string, category or bool dtype.
7. Numeric columns whose non-missing values are all integers with at most
   ``max_ordinal_levels`` (default 7) distinct values: **categorical** when
   there are exactly 2 (a binary flag), otherwise **ordinal**.
8. Other numeric columns: **continuous**.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError

__all__ = ["infer_variable_types", "VARIABLE_TYPES"]

VARIABLE_TYPES = ("categorical", "continuous", "ordinal")

_ID_NAME = re.compile(r"^(id|uuid|guid)$|[_\-. ](id|uuid|guid)$|^(id|uuid|guid)[_\-. ]")
_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")
_PATH_TOKENS = {"path", "paths", "file", "files", "filename", "filenames", "image", "images",
                "img", "imgs", "url", "uri", "dir", "folder", "filepath"}
_EXT = re.compile(r"\.(?:png|jpe?g|bmp|gif|tiff?|dcm|dicom|nii|nii\.gz|npy|npz|mha|mhd|nrrd|h5|"
                  r"pt|pth|csv|parquet|json|txt|mp4|avi)$", re.IGNORECASE)


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _is_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.lower()) or _CAMEL_ID.search(name))


def _is_path_name(name: str) -> bool:
    return any(t in _PATH_TOKENS for t in _tokens(name))


def _looks_like_paths(s: pd.Series) -> bool:
    vals = s.dropna().astype(str)
    if vals.empty:
        return False
    sample = vals.iloc[:200]
    hits = sample.str.contains(r"[/\\]", regex=True) | sample.str.contains(_EXT, regex=True)
    return bool(hits.mean() > 0.5)


def infer_variable_types(
    df: pd.DataFrame,
    *,
    by: str | None = None,
    exclude: Iterable[str] = (),
    max_ordinal_levels: int = 7,
) -> dict[str, list[str]]:
    """Sort the columns of ``df`` into categorical, continuous and ordinal.

    Parameters
    ----------
    df : pandas.DataFrame
        The data (not modified).
    by : str, optional
        Grouping column, never returned as a variable.
    exclude : iterable of str, optional
        Columns to leave out.
    max_ordinal_levels : int, default 7
        Integer-valued numeric columns with at most this many distinct values
        are ordinal (binary ones categorical).

    Returns
    -------
    dict
        Keys ``"categorical"``, ``"continuous"``, ``"ordinal"`` and
        ``"excluded"``, each a list of column names in frame order.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame; got {type(df).__name__}")
    skip = set(exclude)
    if by is not None:
        skip.add(by)
    out: dict[str, list[str]] = {"categorical": [], "continuous": [], "ordinal": [], "excluded": []}
    for col in df.columns:
        if col in skip:
            continue
        s = df[col]
        name = str(col)
        nonnull = s.dropna()
        is_text = (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)) \
            and not isinstance(s.dtype, pd.CategoricalDtype)
        if (
            _is_id_name(name)
            or _is_path_name(name)
            or nonnull.empty
            or pd.api.types.is_datetime64_any_dtype(s)
            or pd.api.types.is_timedelta64_dtype(s)
            or (is_text and len(nonnull) > 10 and nonnull.nunique() == len(nonnull))
            or (is_text and _looks_like_paths(s))
        ):
            out["excluded"].append(col)
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            out["ordinal" if s.dtype.ordered else "categorical"].append(col)
            continue
        if pd.api.types.is_bool_dtype(s) or is_text:
            out["categorical"].append(col)
            continue
        if pd.api.types.is_numeric_dtype(s):
            v = pd.to_numeric(nonnull, errors="coerce").to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size == 0:
                out["excluded"].append(col)
                continue
            nunique = np.unique(v).size
            if np.all(v == np.round(v)) and nunique <= max_ordinal_levels:
                out["categorical" if nunique <= 2 else "ordinal"].append(col)
            else:
                out["continuous"].append(col)
            continue
        out["excluded"].append(col)
    return out
