"""Table 1: per-class descriptive statistics with the right test for each variable.

:func:`table_one` summarises every variable of a cohort per class of the
grouping column (e.g. ``label``: metastatic / lymphoma / benign) and overall,
tests the difference between classes, adjusts the p-values across variables,
runs pairwise post-hoc comparisons and computes standardized mean differences.

Which test runs for which variable is decided by the rules documented in
:mod:`lnfusion.stats.selection` and in ``docs/statistics.md``; every rule can
be overridden per variable with ``tests={"variable": "name"}``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, StatsError

from .adjust import adjust_pvalues, normalize_adjust_method
from .effect_size import smd_categorical, smd_continuous
from .fisher import DEFAULT_MAX_WORK
from .infer import DEFAULT_MAX_LEVELS, ColumnType, describe_cells, infer_types, numeric_cells
from .records import HypothesisTestResult
from .selection import (
    CATEGORICAL_TESTS,
    CONTINUOUS_TESTS,
    ORDINAL_TESTS,
    TEST_LABELS,
    TestSettings,
    not_testable,
    select_categorical_test,
    select_continuous_test,
    select_ordinal_test,
)

__all__ = ["table_one", "TableOneResult", "RESERVED_COLUMNS"]

#: Column names of :attr:`TableOneResult.table` (and of its CSV, which may add ``smd``) other than the class columns.
RESERVED_COLUMNS = ("variable", "type", "level", "overall", "missing", "test", "statistic",
                    "pval", "pval_adj", "smd")


@dataclass(frozen=True)
class TableOneResult:
    """Result of :func:`table_one`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy table, one row per variable level (one row per continuous
        variable, plus a first row ``variable == "n"`` with class sizes).
        Columns: ``variable``, ``type``, ``level``, one column per class (named
        ``str(class)``), ``overall``, ``missing``, ``test``, ``statistic``,
        ``pval``, ``pval_adj``.  Class and overall cells are formatted
        strings: ``"n (%)"``, ``"mean ± SD"`` or ``"median [Q1, Q3]"``.  The
        test columns are repeated on every row of a variable.
    tests : pandas.DataFrame
        One row per variable: ``variable``, ``type``, ``summary``, ``test``
        (identifier), ``test_label``, ``method`` (full description),
        ``statistic``, ``dof``, ``dof2``, ``pval``, ``pval_adj``,
        ``effect_size``, ``effect_name``, ``smd`` (two classes) or the largest
        absolute pairwise SMD (more classes), ``n``, ``missing``.
    posthoc : pandas.DataFrame
        Pairwise comparisons between classes when there are more than two:
        ``variable``, ``group_a``, ``group_b``, ``test``, ``statistic``,
        ``pval``, ``pval_adj`` (adjusted within the variable by the
        ``posthoc`` method).  Empty for two classes or ``posthoc=None``.
    smd : pandas.DataFrame
        ``variable``, ``group_a``, ``group_b``, ``smd`` for every pair of classes.
    by : str
        Grouping column.
    classes : tuple of str
        Class names, in column order.
    class_counts : tuple of int
        Rows per class.
    n_excluded : int
        Rows left out because their ``by`` value was missing or not a listed class.
    settings : dict
        The options used (adjustment, post-hoc method, seeds, ...).
    types : pandas.DataFrame
        One row per column considered: ``column``, ``type`` (``"excluded"``
        for a column left out), ``reason``, ``source`` (``"inferred"`` or
        ``"declared"``) and ``warning`` (empty when none).  The renderers print
        it under the table.
    warnings : tuple of str
        Problems the user should look at: near-numeric or many-level columns
        left out, variables with no value.  Printed under the table.
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    posthoc: pd.DataFrame
    smd: pd.DataFrame
    by: str
    classes: tuple[str, ...]
    class_counts: tuple[int, ...]
    n_excluded: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    types: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["column", "type", "reason", "source", "warning"]))
    warnings: tuple[str, ...] = ()

    # ----------------------------------------------------------------- renderers
    def to_markdown(self, *, notes: bool = True, smd: bool = False, posthoc: bool = True) -> str:
        """Render as a GitHub-flavoured Markdown table (with a notes paragraph).

        ``smd=True`` adds an SMD column; ``posthoc`` a table of the pairwise
        comparisons when there are any (more than two classes).
        """
        from .render import render_markdown

        return render_markdown(self, notes=notes, smd=smd, posthoc=posthoc)

    def to_latex(self, *, caption: str | None = None, label: str | None = None,
                 notes: bool = True, smd: bool = False, posthoc: bool = True) -> str:
        """Render as a LaTeX ``table`` using booktabs rules (``\\usepackage{booktabs}``)."""
        from .render import render_latex

        return render_latex(self, caption=caption, label=label, notes=notes, smd=smd,
                            posthoc=posthoc)

    def to_html(self, *, notes: bool = True, smd: bool = False, posthoc: bool = True) -> str:
        """Render as an HTML ``<table>`` fragment (escaped, notes in ``<tfoot>``)."""
        from .render import render_html

        return render_html(self, notes=notes, smd=smd, posthoc=posthoc)

    def to_csv(self, path: str | Path | None = None, *, smd: bool = False,
               posthoc: bool = True) -> str | None:
        """Write the tidy :attr:`table` as CSV to ``path`` (atomically), or return it.

        ``smd=True`` adds an ``smd`` column; ``posthoc`` one ``pval_adj <a> vs <b>``
        column per pair of classes when there are pairwise comparisons.
        """
        from lnfusion.io import atomic_write_text

        from .render import render_csv

        text = render_csv(self, smd=smd, posthoc=posthoc)
        if path is None:
            return text
        atomic_write_text(path, text)
        return None

    def save(self, path: str | Path, *, smd: bool = False, posthoc: bool = True) -> Path:
        """Write the table to ``path`` in the format its extension names.

        ``.md``/``.markdown`` Markdown, ``.tex`` LaTeX, ``.html``/``.htm`` HTML,
        ``.csv`` CSV.  The file is written to a temporary file beside it and
        moved into place with :func:`os.replace`.  ``smd`` and ``posthoc`` as
        for :meth:`to_markdown`.
        """
        from .render import save_table

        return save_table(self, path, smd=smd, posthoc=posthoc)

    def display_frame(self) -> pd.DataFrame:
        """The formatted table that the renderers print, as a DataFrame."""
        from .render import display_frame

        return display_frame(self)

    def __repr__(self) -> str:
        tested = self.tests["pval"].notna().sum() if len(self.tests) else 0
        return (f"TableOneResult(by={self.by!r}, classes={list(self.classes)}, "
                f"variables={len(self.tests)}, tested={tested})")

    def _repr_html_(self) -> str:
        return self.to_html()


# ----------------------------------------------------------------------------- helpers
def _fmt_num(x: float, decimals: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{decimals}f}"


def _fmt_count(n: int, total: int, decimals: int) -> str:
    if total == 0:
        return f"{n} (–)"
    return f"{n} ({100.0 * n / total:.{decimals}f}%)"


def _mean_sd(v: np.ndarray, decimals: int) -> str:
    if v.size == 0:
        return "–"
    sd = v.std(ddof=1) if v.size > 1 else float("nan")
    return f"{_fmt_num(float(v.mean()), decimals)} ± {_fmt_num(float(sd), decimals)}"


def _median_iqr(v: np.ndarray, decimals: int) -> str:
    if v.size == 0:
        return "–"
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return f"{_fmt_num(float(med), decimals)} [{_fmt_num(float(q1), decimals)}, " \
           f"{_fmt_num(float(q3), decimals)}]"


def _sorted_levels(values: pd.Series) -> list[Any]:
    uniq = list(pd.unique(values.dropna()))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=lambda v: str(v))


def level_label(level: Any) -> str:
    """Text of a level: an integer-valued float prints as an integer (``1``, not ``1.0``).

    A numeric column with a missing value is stored as float, so without this
    the levels of a 0/1 flag would read ``0.0``/``1.0`` only when a value is missing.
    """
    if isinstance(level, (float, np.floating)) and math.isfinite(level) and level == round(level):
        return str(int(level))
    return str(level)


def _level_codes(s: pd.Series, var: str) -> tuple[list[Any], np.ndarray]:
    """Levels (ordered) and an int code per row (-1 = missing)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories), s.cat.codes.to_numpy(dtype=np.int64)
    levels = _sorted_levels(s)
    codes = pd.Categorical(s, categories=levels).codes.astype(np.int64)
    return levels, codes


def _test_label(res: HypothesisTestResult, settings: TestSettings) -> str:
    label = TEST_LABELS.get(res.test, res.test)
    if res.test == "fisher_mc":
        label = f"Fisher exact (Monte Carlo, {settings.mc_draws} draws, seed {settings.random_state})"
    return label


def _as_list(name: str, value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise DataError(f"{name} must be a list of column names; got {type(value).__name__}") from None


def _pairs(k: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(k), 2))


# ----------------------------------------------------------------------------- main
def _pairwise(var: str, by_class: list[np.ndarray], pairs: list[tuple[int, int]],
              class_names: Sequence[str], pair_results: list, smd_rows: list,
              test: Any) -> None:
    """Append the post-hoc test (``test(sub, a, b)``) and the SMD of every pair of classes
    of a numeric (ordinal or continuous) variable; a pair with an empty class is not tested."""
    for a, b in pairs:
        sub = [by_class[a], by_class[b]]
        if sub[0].size == 0 or sub[1].size == 0:
            pres = not_testable("a class has no observations")
        else:
            pres = test(sub, a, b)
        pair_results.append((a, b, pres))
        smd_rows.append({"variable": var, "group_a": class_names[a], "group_b": class_names[b],
                         "smd": smd_continuous(by_class[a], by_class[b])})


def table_one(
    df: pd.DataFrame,
    by: str,
    categorical: Sequence[str] | None = None,
    continuous: Sequence[str] | None = None,
    ordinal: Sequence[str] | None = None,
    *,
    tests: Mapping[str, str] | None = None,
    yates: bool = False,
    normality_alpha: float = 0.05,
    parametric: str = "welch",
    exact: bool | str = "auto",
    mc_draws: int = 100_000,
    random_state: int | None = 0,
    adjust: str | None = "fdr_bh",
    posthoc: str | None = "holm",
    trend: bool = False,
    class_order: Sequence[Any] | None = None,
    labels: Mapping[str, str] | None = None,
    decimals: int = 1,
    fisher_max_work: int | None = DEFAULT_MAX_WORK,
    infer: bool | None = None,
    exclude: Sequence[str] | None = None,
    max_levels: int | None = DEFAULT_MAX_LEVELS,
    max_ordinal_levels: int = 7,
) -> TableOneResult:
    """Build a Table 1 of ``df`` by the classes of column ``by``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject (or node).  Never modified.
    by : str
        Grouping column (e.g. ``"label"``).  Rows where it is missing are left
        out (counted in ``n_excluded``).
    categorical, continuous, ordinal : list of str, optional
        Variables of each type (*declared*).  When all three are ``None``
        (or ``infer=True``) the types of the other columns are inferred with
        :func:`lnfusion.stats.infer.infer_types`; what was inferred and why is
        in :attr:`TableOneResult.types` and printed under the table.
        Variables appear in the order of ``df``'s columns.
    tests : dict, optional
        Per-variable override of the test, ``{variable: name}``; names are
        listed in :mod:`lnfusion.stats.selection` (e.g. ``"fisher"``,
        ``"chi2"``, ``"mann_whitney"``, ``"welch_anova"``, ``"parametric"``).
    yates : bool, default False
        Yates' continuity correction for chi-square tests of 2 x 2 tables.
    normality_alpha : float, default 0.05
        Level of the per-class Shapiro-Wilk tests (and of Levene's test when
        ``parametric="levene"``).
    parametric : {"welch", "student", "levene"}, default "welch"
        Parametric test family when normality holds: always Welch (t-test /
        ANOVA), always equal-variance, or equal-variance unless Levene rejects.
    exact : {"auto", True, False}, default "auto"
        Fisher's test on r x c tables: enumerate exactly when feasible and
        simulate otherwise; always enumerate; always simulate.
    mc_draws : int, default 100000
        Monte Carlo draws for Fisher's test when simulated.
    random_state : int or None, default 0
        Seed of every random step (Monte Carlo, Shapiro-Wilk subsamples).
    adjust : str or None, default "fdr_bh"
        Adjustment across variables (see :func:`lnfusion.stats.adjust.adjust_pvalues`);
        ``None`` copies ``pval`` into ``pval_adj``.
    posthoc : str or None, default "holm"
        Adjustment of the pairwise post-hoc p-values within each variable;
        ``None`` skips post-hoc tests.
    trend : bool, default False
        Test ordinal variables for a trend (Cochran-Armitage for 2 classes,
        Jonckheere-Terpstra in class order for more) instead of Kruskal-Wallis.
    class_order : list, optional
        Classes to keep, in column order.  Default: the categories of a
        Categorical ``by`` column that occur, else the sorted distinct values.
    labels : dict, optional
        Display names of variables in rendered tables.
    decimals : int, default 1
        Decimals of percentages and summary statistics.
    fisher_max_work : int or None
        Work limit of the exact r x c enumeration before ``exact="auto"``
        falls back to Monte Carlo.
    infer : bool or None, default None
        Infer the type of every column not declared (and not in ``exclude``):
        ``None`` does so only when no variable is declared.
    exclude : list of str, optional
        Columns never inferred as variables.
    max_levels : int or None, default 50
        Most levels of a categorical or ordinal variable (one table row each).
        A declared variable with more raises :class:`DataError`; an inferred
        one is left out with a warning.  ``None``: no limit.
    max_ordinal_levels : int, default 7
        Inference: integer columns with at most this many values are ordinal.

    Returns
    -------
    TableOneResult
        Tidy tables and renderers (``to_markdown``, ``to_latex``, ``to_html``,
        ``to_csv``, ``save``).

    Raises
    ------
    DataError
        A named column is missing, listed twice, of the wrong type for its
        declared kind (the error quotes the offending cells and their rows),
        has more than ``max_levels`` levels, or ``by`` has fewer than two classes.
    StatsError
        An unknown test override or adjustment method.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"label": ["a"] * 6 + ["b"] * 6,
    ...                    "shape": ["oval", "round"] * 3 + ["round"] * 5 + ["oval"]})
    >>> res = table_one(df, "label", categorical=["shape"])
    >>> res.tests.loc[0, "test"]
    'fisher_exact'
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"table_one expects a pandas DataFrame; got {type(df).__name__}")
    if by not in df.columns:
        raise DataError(f"grouping column {by!r} is not in the data; columns are {list(df.columns)}")
    settings = TestSettings(yates=bool(yates), normality_alpha=float(normality_alpha),
                            parametric=parametric, exact=exact, mc_draws=int(mc_draws),
                            random_state=random_state, fisher_max_work=fisher_max_work,
                            trend=bool(trend))
    adjust_method = normalize_adjust_method(adjust)
    posthoc_method = None if posthoc is None else normalize_adjust_method(posthoc)
    if decimals < 0:
        raise DataError(f"decimals must be >= 0; got {decimals}")

    # ---- variables and their kinds
    kinds: dict[str, str] = {}
    for kind, names in (("categorical", categorical), ("continuous", continuous),
                        ("ordinal", ordinal)):
        for v in _as_list(kind, names):
            if v in kinds:
                raise DataError(f"variable {v!r} is listed twice (as {kinds[v]} and {kind})")
            kinds[v] = kind
    missing_cols = [v for v in [*kinds, *_as_list("exclude", exclude)] if v not in df.columns]
    if missing_cols:
        raise DataError(f"variables not in the data: {missing_cols}; columns are {list(df.columns)}")
    if by in kinds:
        raise DataError(f"the grouping column {by!r} cannot also be a variable")
    if max_levels is not None and max_levels < 2:
        raise DataError(f"max_levels must be at least 2 or None; got {max_levels}")
    types: dict[str, ColumnType] = {
        v: ColumnType(column=str(v), type=kind, reason=f"declared {kind}", source="declared")
        for v, kind in kinds.items()}
    if infer or (infer is None and not kinds):
        skip = [*kinds, *_as_list("exclude", exclude)]
        names = {str(c): c for c in df.columns}
        for ct in infer_types(df, by=by, exclude=skip, max_ordinal_levels=max_ordinal_levels,
                              max_levels=max_levels):
            col = names.get(ct.column, ct.column)
            types[col] = ct
            if ct.type != "excluded":
                kinds[col] = ct.type
    if not kinds:
        left = "; ".join(ct.warning or f"{ct.column}: {ct.reason}" for ct in types.values())
        raise DataError("no variable to summarise: pass categorical, continuous or ordinal columns"
                        + (f"; every column was left out ({left})" if left else ""))
    for v, kind in kinds.items():
        _check_variable(df[v], v, kind, max_levels)
    warnings = [ct.warning for ct in types.values() if ct.warning]
    order = {c: i for i, c in enumerate(df.columns)}
    variables = sorted(kinds, key=lambda v: order[v])
    types_df = pd.DataFrame([types[c].to_dict() for c in sorted(types, key=lambda v: order[v])],
                            columns=["column", "type", "reason", "source", "warning"])
    overrides = dict(tests or {})
    for v, name in overrides.items():
        if v not in kinds:
            raise DataError(f"test override for {v!r}, which is not a Table 1 variable")
        allowed = {"categorical": CATEGORICAL_TESTS, "continuous": CONTINUOUS_TESTS,
                   "ordinal": ORDINAL_TESTS}[kinds[v]]
        if name not in allowed:
            raise StatsError(f"test {name!r} does not apply to {kinds[v]} variable {v!r}; "
                             f"expected one of {allowed}")

    # ---- classes
    g = df[by]
    if class_order is not None:
        classes = list(class_order)
        if len(set(map(str, classes))) != len(classes):
            raise DataError(f"class_order has duplicate classes: {classes}")
        present = set(pd.unique(g.dropna()))
        absent = [c for c in classes if c not in present]
        if absent:
            raise DataError(f"classes {absent} of class_order do not occur in column {by!r}")
    elif isinstance(g.dtype, pd.CategoricalDtype):
        present = set(pd.unique(g.dropna()))
        classes = [c for c in g.cat.categories if c in present]
    else:
        classes = _sorted_levels(g)
    if len(classes) < 2:
        raise DataError(f"column {by!r} has {len(classes)} class(es) {classes}; "
                        "Table 1 needs at least 2")
    class_names = tuple(str(c) for c in classes)
    clash = [c for c in class_names if c in RESERVED_COLUMNS]
    if clash:
        raise DataError(f"class names {clash} of column {by!r} clash with Table 1 columns "
                        f"{RESERVED_COLUMNS}; rename them")
    cc_all = pd.Categorical(g, categories=classes).codes.astype(np.int64)
    used = cc_all >= 0
    n_excluded = int((~used).sum())
    cc = cc_all[used]
    k = len(classes)
    class_counts = np.bincount(cc, minlength=k)
    n_total = int(used.sum())
    pairs = _pairs(k)

    rows: list[dict[str, Any]] = []
    test_rows: list[dict[str, Any]] = []
    posthoc_rows: list[dict[str, Any]] = []
    smd_rows: list[dict[str, Any]] = []

    first = {"variable": "n", "type": "", "level": ""}
    first.update({name: str(int(class_counts[i])) for i, name in enumerate(class_names)})
    first.update({"overall": str(n_total), "missing": pd.NA, "test": "", "statistic": np.nan,
                  "pval": np.nan, "pval_adj": np.nan})
    rows.append(first)

    var_rows: dict[str, list[dict[str, Any]]] = {}
    for var in variables:
        kind = kinds[var]
        s = df[var][used]
        override = overrides.get(var, "auto")
        level_rows: list[dict[str, Any]] = []
        pair_results: list[tuple[int, int, HypothesisTestResult]] = []
        if kind in ("categorical", "ordinal"):
            if kind == "ordinal":
                if isinstance(s.dtype, pd.CategoricalDtype):
                    levels, codes = _level_codes(s, var)
                    scores = np.arange(1, len(levels) + 1, dtype=float)
                elif not pd.api.types.is_bool_dtype(s) and (
                        pd.api.types.is_numeric_dtype(s) or _is_text(s)):
                    levels, codes = _level_codes(pd.Series(numeric_cells(s)[0], index=s.index), var)
                    scores = np.asarray(levels, dtype=float)
                else:
                    raise DataError(
                        f"ordinal variable {var!r} must be numeric or a pandas Categorical "
                        f"(whose category order gives the level order); got dtype {s.dtype}"
                    )
            else:
                levels, codes = _level_codes(s, var)
                scores = np.arange(1, len(levels) + 1, dtype=float)
            n_lev = len(levels)
            ok = codes >= 0
            if n_lev == 0:
                warnings.append(f"{var}: no non-missing value in any class; kept as an empty row, "
                                "not tested")
                level_rows.append({"variable": var, "type": kind, "level": "",
                                   **{name: "–" for name in class_names}, "overall": "–"})
            counts = np.bincount(codes[ok] * k + cc[ok], minlength=n_lev * k).reshape(n_lev, k)
            missing = int((~ok).sum())
            per_class = counts.sum(axis=0)
            overall_n = int(per_class.sum())
            for li, lev in enumerate(levels):
                row = {"variable": var, "type": kind, "level": level_label(lev)}
                row.update({name: _fmt_count(int(counts[li, ci]), int(per_class[ci]), decimals)
                            for ci, name in enumerate(class_names)})
                row["overall"] = _fmt_count(int(counts[li].sum()), overall_n, decimals)
                level_rows.append(row)
            if kind == "categorical":
                res = select_categorical_test(counts, settings, override)
                summary = "n (%)"
                for a, b in pairs:
                    pair_results.append((a, b, select_categorical_test(
                        counts[:, [a, b]], settings, override)))
                    smd_rows.append({"variable": var, "group_a": class_names[a],
                                     "group_b": class_names[b],
                                     "smd": smd_categorical(counts[:, a], counts[:, b])})
            else:
                vals = np.full(codes.shape, np.nan)
                vals[ok] = scores[codes[ok]]
                by_class = [vals[ok & (cc == ci)] for ci in range(k)]
                res = select_ordinal_test(by_class, counts, scores, settings, override)
                summary = "n (%)"
                pair_override = override
                if override in ("auto", "kruskal") and not settings.trend:
                    pair_override = "mann_whitney"
                elif override == "jonckheere":
                    pair_override = "trend"
                _pairwise(var, by_class, pairs, class_names, pair_results, smd_rows,
                          lambda sub, a, b, n=counts, sc=scores, o=pair_override:
                          select_ordinal_test(sub, n[:, [a, b]], sc, settings, o))
        else:  # continuous
            vals = numeric_cells(s)[0]
            ok = ~np.isnan(vals)
            missing = int((~ok).sum())
            by_class = [vals[ok & (cc == ci)] for ci in range(k)]
            res, is_param = select_continuous_test(by_class, settings, override)
            summary = "mean ± SD" if is_param else "median [Q1, Q3]"
            fmt = _mean_sd if is_param else _median_iqr
            row = {"variable": var, "type": kind, "level": summary}
            row.update({name: fmt(by_class[ci], decimals) for ci, name in enumerate(class_names)})
            row["overall"] = fmt(vals[ok], decimals)
            level_rows.append(row)
            if is_param:
                if res.test in ("t_test", "anova"):
                    pair_override = "t_test"
                elif res.test in ("welch_t_test", "welch_anova"):
                    pair_override = "welch_t_test"
                else:
                    pair_override = "parametric"
            else:
                pair_override = "mann_whitney"
            _pairwise(var, by_class, pairs, class_names, pair_results, smd_rows,
                      lambda sub, a, b, o=pair_override: select_continuous_test(sub, settings, o)[0])

        if k > 2 and posthoc_method is not None:
            padj = adjust_pvalues([r.pval for _, _, r in pair_results], posthoc_method)
            for (a, b, r), pa in zip(pair_results, padj):
                posthoc_rows.append({"variable": var, "group_a": class_names[a],
                                     "group_b": class_names[b], "test": r.test,
                                     "statistic": r.statistic, "pval": r.pval,
                                     "pval_adj": float(pa), "method": r.method})
        var_smds = [abs(r["smd"]) for r in smd_rows if r["variable"] == var
                    and not (isinstance(r["smd"], float) and math.isnan(r["smd"]))]
        test_rows.append({
            "variable": var, "type": kind, "summary": summary, "test": res.test,
            "test_label": _test_label(res, settings), "method": res.method,
            "statistic": res.statistic, "dof": res.dof, "dof2": res.dof2, "pval": res.pval,
            "pval_adj": np.nan, "effect_size": res.effect_size, "effect_name": res.effect_name,
            "smd": (max(var_smds) if var_smds else np.nan), "n": int(n_total - missing),
            "missing": missing,
        })
        var_rows[var] = level_rows

    tests_df = pd.DataFrame(test_rows)
    pvals = tests_df["pval"].to_numpy(dtype=float)
    tests_df["pval_adj"] = pvals if adjust_method == "none" else adjust_pvalues(pvals, adjust_method)
    for rec in tests_df.itertuples(index=False):
        for row in var_rows[rec.variable]:
            row.update({"missing": rec.missing, "test": rec.test_label,
                        "statistic": rec.statistic, "pval": rec.pval, "pval_adj": rec.pval_adj})
            rows.append(row)

    columns = ["variable", "type", "level", *class_names, "overall", "missing", "test",
               "statistic", "pval", "pval_adj"]
    table = pd.DataFrame(rows, columns=columns)
    table["missing"] = table["missing"].astype("Int64")
    table["statistic"] = table["statistic"].astype(float)
    table["pval"] = table["pval"].astype(float)
    table["pval_adj"] = table["pval_adj"].astype(float)
    for col in ("dof", "dof2", "effect_size"):
        tests_df[col] = pd.to_numeric(tests_df[col], errors="coerce").astype(float)
    posthoc_df = pd.DataFrame(posthoc_rows, columns=["variable", "group_a", "group_b", "test",
                                                     "statistic", "pval", "pval_adj", "method"])
    smd_df = pd.DataFrame(smd_rows, columns=["variable", "group_a", "group_b", "smd"])
    for var in variables:
        if kinds[var] == "continuous" and tests_df.loc[tests_df.variable == var, "n"].iloc[0] == 0:
            warnings.append(f"{var}: no non-missing value in any class; not tested")
    return TableOneResult(
        table=table, tests=tests_df, posthoc=posthoc_df, smd=smd_df, by=by,
        classes=class_names, class_counts=tuple(int(c) for c in class_counts),
        n_excluded=n_excluded,
        settings={
            "adjust": adjust_method, "posthoc": posthoc_method, "yates": settings.yates,
            "normality_alpha": settings.normality_alpha, "parametric": settings.parametric,
            "exact": settings.exact, "mc_draws": settings.mc_draws,
            "random_state": settings.random_state, "trend": settings.trend,
            "decimals": decimals, "labels": dict(labels or {}), "max_levels": max_levels,
        },
        types=types_df, warnings=tuple(warnings),
    )


def _is_text(s: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def _check_variable(s: pd.Series, var: str, kind: str, max_levels: int | None) -> None:
    """Refuse a variable that cannot be summarised as ``kind``, quoting the bad cells."""
    numeric_text = kind == "continuous" or (kind == "ordinal" and _is_text(s))
    if numeric_text and not pd.api.types.is_bool_dtype(s):
        values, bad = numeric_cells(s)
        if bad:
            n_present = int(s.notna().sum())
            verb = "is" if len(bad) == 1 else "are"
            what = "numeric" if kind == "continuous" else \
                "numeric or a pandas Categorical (whose category order gives the level order)"
            if len(bad) == n_present:
                raise DataError(f"{kind} variable {var!r} must be {what}; it holds text: "
                                f"{describe_cells(bad, limit=3)}")
            raise DataError(
                f"{kind} variable {var!r} must be {what}: {len(bad)} of {n_present} non-missing "
                f"cells {verb} not a number: {describe_cells(bad)}. Fix them, or count such text "
                "as missing (lnfusion stats --na TEXT; in Python, replace it with NaN first)"
            )
        if kind == "continuous" and np.any(np.isinf(values)):
            rows = np.flatnonzero(np.isinf(values))
            raise DataError(f"continuous variable {var!r} holds infinite values: "
                            f"{describe_cells([(int(p), str(s.iloc[p])) for p in rows])}")
    if kind in ("categorical", "ordinal") and max_levels is not None:
        n_levels = int(s.nunique(dropna=True))
        if n_levels > max_levels:
            raise DataError(
                f"{kind} variable {var!r} has {n_levels} levels, more than the limit of "
                f"{max_levels} (one Table 1 row each; the exact test would be slow and "
                "meaningless); merge levels, or raise max_levels (lnfusion stats --max-levels)"
            )
