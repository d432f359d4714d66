"""Univariable screening and multivariable logistic regression (statsmodels).

Workflow of :func:`logistic_regression`:

1. :func:`univariable_screening` -- each candidate variable alone against the
   outcome, likelihood-ratio test against the intercept-only model (for a
   categorical variable this is the G-test of the levels x classes table,
   computed in closed form so it is valid even with empty cells).  Variables
   with ``pval < screen_alpha`` are kept.
2. :func:`fit_logistic` -- one model with the kept variables: binary
   :class:`statsmodels.discrete.discrete_model.Logit` for two classes,
   multinomial :class:`~statsmodels.discrete.discrete_model.MNLogit` for more,
   each non-reference class against the reference class.  Categorical
   variables are dummy-coded against a reference level (the first level
   unless ``reference_levels`` says otherwise); numeric variables enter
   linearly.  Rows with a missing value in the outcome or any used variable
   are dropped (complete-case analysis; the count is reported).

Odds ratios are ``exp(coef)`` with Wald ``1 - alpha`` intervals
``exp(coef +/- z se)`` (R ``exp(confint.default(fit))``) and Wald p-values
(R ``summary(glm(..., family = binomial))``).

Before fitting, the design is checked: a constant column or a column that is
a linear combination of others raises :class:`~lnfusion.exceptions.SingularDesignError`
naming them; a categorical level with no observation in some outcome class
(quasi-complete separation) raises :class:`~lnfusion.exceptions.SeparationError`
naming the variable, level and class.  After fitting, non-convergence with
exploding standardized coefficients also raises ``SeparationError`` naming
the variables involved.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from lnfusion.exceptions import DataError, SeparationError, SingularDesignError, StatsError

__all__ = [
    "LogisticResult",
    "univariable_screening",
    "fit_logistic",
    "logistic_regression",
]

_MAX_STD_COEF = 15.0  # |coef| per SD of a predictor beyond which the fit has diverged


# ----------------------------------------------------------------------------- design
@dataclass(frozen=True)
class _Design:
    X: pd.DataFrame  # with "Intercept"
    y: np.ndarray  # int codes, reference class = 0
    classes: tuple[Any, ...]  # reference first
    terms: list[tuple[str, str, str | None]]  # (term, variable, level)
    levels: dict[str, list[Any]]  # categorical variable -> levels (reference first)
    ranges: dict[str, tuple[float, float]]  # numeric variable -> (min, max)
    n_dropped: int


def _is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s)
            or pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s))


def _py(v: Any) -> Any:
    """numpy scalar -> Python scalar (for readable messages and keys)."""
    return v.item() if isinstance(v, np.generic) else v


def _levels_of(s: pd.Series) -> list[Any]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(pd.unique(s.dropna()))
        return [_py(c) for c in s.cat.categories if c in present]
    uniq = [_py(v) for v in pd.unique(s.dropna())]
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _outcome_classes(y: pd.Series, outcome: str, class_order: Sequence[Any] | None,
                     reference: Any) -> list[Any]:
    classes = [_py(c) for c in class_order] if class_order is not None else _levels_of(y)
    if class_order is not None:
        present = set(pd.unique(y.dropna()))
        extra = present - set(classes)
        if extra:
            raise DataError(f"outcome {outcome!r} holds classes {sorted(map(str, extra))} "
                            f"missing from class_order {classes}")
    if len(classes) < 2:
        raise DataError(f"outcome {outcome!r} needs at least 2 classes; got {classes}")
    if reference is not None:
        if reference not in classes:
            raise DataError(f"reference class {reference!r} is not a class of {outcome!r}: {classes}")
        classes = [reference] + [c for c in classes if c != reference]
    return classes


def _build_design(
    df: pd.DataFrame,
    outcome: str,
    variables: Sequence[str],
    categorical: set[str],
    reference: Any,
    reference_levels: Mapping[str, Any],
    class_order: Sequence[Any] | None,
) -> _Design:
    cols = [outcome, *variables]
    sub = df.loc[:, cols]
    keep = sub.notna().all(axis=1).to_numpy()
    n_dropped = int((~keep).sum())
    sub = sub[keep]
    if len(sub) == 0:
        raise DataError(f"no complete row for outcome {outcome!r} and variables {list(variables)}")
    classes = _outcome_classes(sub[outcome], outcome, class_order, reference)
    y = pd.Categorical(sub[outcome], categories=classes).codes.astype(int)
    data: dict[str, np.ndarray] = {"Intercept": np.ones(len(sub))}
    terms: list[tuple[str, str, str | None]] = [("Intercept", "Intercept", None)]
    levels: dict[str, list[Any]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for v in variables:
        s = sub[v]
        if v in categorical:
            levs = _levels_of(s)
            ref = reference_levels.get(v, levs[0] if levs else None)
            if ref not in levs:
                raise DataError(f"reference level {ref!r} of {v!r} does not occur; levels are {levs}")
            levs = [ref] + [lv for lv in levs if lv != ref]
            levels[v] = levs
            vals = s.to_numpy()
            for lv in levs[1:]:
                term = f"{v}[{lv}]"
                data[term] = (vals == lv).astype(float)
                terms.append((term, v, str(lv)))
        else:
            if not pd.api.types.is_numeric_dtype(s):
                raise DataError(f"variable {v!r} is not numeric (dtype {s.dtype}); list it in "
                                "categorical to dummy-code it")
            x = s.to_numpy(dtype=float)
            if not np.all(np.isfinite(x)):
                raise DataError(f"variable {v!r} holds infinite values")
            data[v] = x
            terms.append((v, v, None))
            ranges[v] = (float(x.min()), float(x.max()))
    X = pd.DataFrame(data, index=sub.index)
    return _Design(X=X, y=y, classes=tuple(classes), terms=terms, levels=levels, ranges=ranges,
                   n_dropped=n_dropped)


def _check_singular(d: _Design) -> None:
    X = d.X.to_numpy()
    names = list(d.X.columns)
    const = [n for n, col in zip(names, X.T) if n != "Intercept" and np.ptp(col) == 0]
    if const:
        raise SingularDesignError(
            f"design matrix is singular: column(s) {const} are constant in the "
            f"{len(X)} complete rows (a level that never or always occurs, or a constant variable)"
        )
    scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Z = X / scale
    kept: list[int] = []
    for j in range(Z.shape[1]):
        cand = kept + [j]
        if np.linalg.matrix_rank(Z[:, cand], tol=1e-8 * max(Z.shape)) == len(cand):
            kept = cand
            continue
        coef, *_ = np.linalg.lstsq(Z[:, kept], Z[:, j], rcond=None)
        involved = [names[kept[i]] for i in np.flatnonzero(np.abs(coef) > 1e-6)]
        raise SingularDesignError(
            f"design matrix is singular: column {names[j]!r} is a linear combination of "
            f"{involved} (collinear variables); drop or merge one of them"
        )


def _check_zero_cells(d: _Design, variables: Sequence[str], outcome: str) -> None:
    for v in variables:
        if v not in d.levels:
            continue
        levs = d.levels[v]
        col = d.X.index  # alignment only
        vals = np.zeros(len(col), dtype=int)
        for i, lv in enumerate(levs[1:], start=1):
            vals[d.X[f"{v}[{lv}]"].to_numpy() == 1] = i
        tab = np.zeros((len(levs), len(d.classes)), dtype=int)
        np.add.at(tab, (vals, d.y), 1)
        zero = np.argwhere(tab == 0)
        if zero.size:
            cells = ", ".join(f"{v}={levs[i]!r} & {outcome}={d.classes[j]!r}" for i, j in zero[:5])
            raise SeparationError(
                f"quasi-complete separation: variable {v!r} has no observation for {cells}; "
                "its odds ratio would be infinite. Merge sparse levels, drop the variable or "
                "use penalised (Firth) regression"
            )


def _fit(d: _Design, maxiter: int):
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    k = len(d.classes)
    model = sm.Logit(d.y, d.X) if k == 2 else sm.MNLogit(d.y, d.X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(method="newton", maxiter=maxiter, disp=0)
        except PerfectSeparationError as exc:
            raise SeparationError(f"perfect separation: {exc}") from exc
        except np.linalg.LinAlgError as exc:
            raise SingularDesignError(f"singular information matrix while fitting: {exc}") from exc
    flags = {type(w.message) for w in caught}
    converged = bool(res.mle_retvals.get("converged", True))
    sep_warning = PerfectSeparationWarning in flags
    bad = not converged or sep_warning or HessianInversionWarning in flags \
        or ConvergenceWarning in flags
    return res, bad, sep_warning


def _exploding_terms(d: _Design, params: np.ndarray, bse: np.ndarray) -> list[str]:
    X = d.X.to_numpy()
    sd = X.std(axis=0)
    sd[0] = 1.0
    p = params.reshape(X.shape[1], -1)
    b = bse.reshape(X.shape[1], -1)
    std = np.abs(p) * sd[:, None]
    bad_rows = np.flatnonzero(np.any((std > _MAX_STD_COEF) | ~np.isfinite(b)
                                     | (b * sd[:, None] > 1e3), axis=1))
    return [d.X.columns[i] for i in bad_rows if d.X.columns[i] != "Intercept"]


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class LogisticResult:
    """A fitted binary or multinomial logistic regression.

    Attributes
    ----------
    kind : {"binary", "multinomial"}
    outcome : str
    classes : tuple
        Outcome classes, reference class first.
    reference : object
        Reference outcome class.
    variables : tuple of str
        Variables in the model.
    coefficients : pandas.DataFrame
        One row per (outcome class, term): ``outcome`` (class compared with
        the reference), ``term``, ``variable``, ``level`` (``None`` for
        numeric variables and the intercept), ``coef``, ``se``, ``z``,
        ``pval``, ``odds_ratio``, ``ci_low``, ``ci_high`` (of the odds ratio).
    screening : pandas.DataFrame or None
        Output of :func:`univariable_screening` when screening was run.
    n_obs, n_dropped : int
        Rows used, rows dropped for missing values.
    llf, llnull, llr_pval, pseudo_r2, aic, bic : float
        Log-likelihoods, likelihood-ratio test against the null model,
        McFadden's pseudo-R squared, information criteria.
    alpha : float
        1 - confidence level of the intervals.
    levels : dict
        Levels of each categorical variable, reference level first.
    ranges : dict
        ``(min, max)`` of each numeric variable in the fitted rows.
    model : statsmodels results
        The underlying fitted results (not compared, not shown in repr).
    """

    kind: str
    outcome: str
    classes: tuple[Any, ...]
    reference: Any
    variables: tuple[str, ...]
    coefficients: pd.DataFrame
    screening: pd.DataFrame | None
    n_obs: int
    n_dropped: int
    llf: float
    llnull: float
    llr_pval: float
    pseudo_r2: float
    aic: float
    bic: float
    alpha: float
    levels: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)

    def odds_ratios(self) -> pd.DataFrame:
        """The coefficient table without intercepts."""
        c = self.coefficients
        return c[c["term"] != "Intercept"].reset_index(drop=True)

    def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities for new rows (columns = classes, reference first).

        Rows with a missing value in a model variable get ``nan``; unknown
        categorical levels raise :class:`~lnfusion.exceptions.DataError`.
        """
        missing = [v for v in self.variables if v not in df.columns]
        if missing:
            raise DataError(f"columns {missing} needed by the model are not in the data")
        X = pd.DataFrame({"Intercept": np.ones(len(df))}, index=df.index)
        for v in self.variables:
            s = df[v]
            if v in self.levels:
                levs = self.levels[v]
                unknown = set(pd.unique(s.dropna())) - set(levs)
                if unknown:
                    raise DataError(f"variable {v!r} holds levels {sorted(map(str, unknown))} "
                                    f"unseen in fitting; known levels {levs}")
                vals = s.to_numpy()
                for lv in levs[1:]:
                    col = (vals == lv).astype(float)
                    col[s.isna().to_numpy()] = np.nan
                    X[f"{v}[{lv}]"] = col
            else:
                X[v] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        coef = self.coefficients
        outs = [c for c in self.classes if c != self.reference]
        lin = np.zeros((len(df), len(self.classes)))
        for j, cls in enumerate(outs, start=1):
            b = coef[coef["outcome"] == cls].set_index("term")["coef"]
            lin[:, j] = X[b.index].to_numpy() @ b.to_numpy()
        lin -= np.nanmax(lin, axis=1, keepdims=True)
        e = np.exp(lin)
        p = e / e.sum(axis=1, keepdims=True)
        return pd.DataFrame(p, index=df.index, columns=list(self.classes))

    def nomogram_table(self) -> pd.DataFrame:
        """Coefficient table laid out for drawing a nomogram.

        For each outcome class (against the reference), each variable gets
        one row per level (categorical; reference level at coefficient 0) or
        two rows at its observed minimum and maximum (numeric).  ``points``
        rescale each variable's contribution to the linear predictor so that
        the variable with the widest range spans 0-100; ``scale`` is points
        per unit of log-odds, so ``log-odds = intercept + sum(min
        contributions) + total points / scale``.

        Returns
        -------
        pandas.DataFrame
            Columns ``outcome``, ``variable``, ``type`` (``"categorical"``,
            ``"numeric"`` or ``"intercept"``), ``level``, ``value``, ``coef``,
            ``contribution`` (coefficient times value), ``points``, ``scale``.
        """
        rows: list[dict[str, Any]] = []
        c = self.coefficients
        for cls in [k for k in self.classes if k != self.reference]:
            cc = c[c["outcome"] == cls]
            coef = dict(zip(cc["term"], cc["coef"]))
            per_var: list[list[dict[str, Any]]] = []
            for v in self.variables:
                vr = []
                if v in self.levels:
                    for i, lv in enumerate(self.levels[v]):
                        b = 0.0 if i == 0 else float(coef[f"{v}[{lv}]"])
                        vr.append({"outcome": cls, "variable": v, "type": "categorical",
                                   "level": str(lv), "value": np.nan, "coef": b, "contribution": b})
                else:
                    b = float(coef[v])
                    for val in self.ranges[v]:
                        vr.append({"outcome": cls, "variable": v, "type": "numeric", "level": None,
                                   "value": val, "coef": b, "contribution": b * val})
                per_var.append(vr)
            spans = [max(r["contribution"] for r in vr) - min(r["contribution"] for r in vr)
                     for vr in per_var]
            widest = max(spans) if spans else 0.0
            scale = 100.0 / widest if widest > 0 else float("nan")
            rows.append({"outcome": cls, "variable": "Intercept", "type": "intercept",
                         "level": None, "value": np.nan, "coef": float(coef["Intercept"]),
                         "contribution": float(coef["Intercept"]), "points": np.nan,
                         "scale": scale})
            for vr in per_var:
                lo = min(r["contribution"] for r in vr)
                for r in vr:
                    r["points"] = (r["contribution"] - lo) * scale
                    r["scale"] = scale
                    rows.append(r)
        return pd.DataFrame(rows, columns=["outcome", "variable", "type", "level", "value", "coef",
                                           "contribution", "points", "scale"])


# ----------------------------------------------------------------------------- API
def _resolve_categorical(df: pd.DataFrame, variables: Sequence[str],
                         categorical: Sequence[str] | None) -> set[str]:
    if categorical is None:
        return {v for v in variables if _is_categorical(df[v])}
    cats = set(categorical)
    unknown = cats - set(variables)
    if unknown:
        raise DataError(f"categorical lists {sorted(unknown)}, which are not model variables")
    return cats


def _check_columns(df: pd.DataFrame, outcome: str, variables: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame; got {type(df).__name__}")
    if outcome not in df.columns:
        raise DataError(f"outcome column {outcome!r} is not in the data")
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise DataError(f"variables not in the data: {missing}")
    if outcome in variables:
        raise DataError(f"the outcome {outcome!r} cannot also be a predictor")
    if len(set(variables)) != len(variables):
        raise DataError(f"variables are listed twice: {list(variables)}")


def _null_llf(y: np.ndarray, k: int) -> float:
    counts = np.bincount(y, minlength=k).astype(float)
    counts = counts[counts > 0]
    return float(np.sum(counts * np.log(counts / counts.sum())))


def univariable_screening(
    df: pd.DataFrame,
    outcome: str,
    variables: Sequence[str],
    *,
    categorical: Sequence[str] | None = None,
    alpha: float = 0.05,
    class_order: Sequence[Any] | None = None,
    reference: Any = None,
    maxiter: int = 100,
) -> pd.DataFrame:
    """Screen variables one at a time with a likelihood-ratio test.

    Parameters
    ----------
    df : pandas.DataFrame
        Data (not modified).
    outcome : str
        Outcome column (two or more classes).
    variables : sequence of str
        Candidate predictors.
    categorical : sequence of str, optional
        Predictors to dummy-code; default: non-numeric, bool and category columns.
    alpha : float, default 0.05
        A variable is ``selected`` when its LR p-value is below ``alpha``.
    class_order, reference
        Outcome classes and reference class (see :func:`fit_logistic`).
    maxiter : int, default 100
        Newton iterations for numeric predictors.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``type``, ``n``, ``dof``, ``lr_stat``, ``pval``,
        ``selected``, ``note`` (e.g. separation), one row per variable.
    """
    variables = list(variables)
    _check_columns(df, outcome, variables)
    cats = _resolve_categorical(df, variables, categorical)
    rows = []
    for v in variables:
        d = _build_design(df, outcome, [v], cats, reference, {}, class_order)
        k = len(d.classes)
        n = len(d.y)
        ll0 = _null_llf(d.y, k)
        note = ""
        if v in cats:
            L = len(d.levels[v])
            codes = np.zeros(n, dtype=int)
            for i, lv in enumerate(d.levels[v][1:], start=1):
                codes[d.X[f"{v}[{lv}]"].to_numpy() == 1] = i
            tab = np.zeros((L, k))
            np.add.at(tab, (codes, d.y), 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(tab > 0, tab * np.log(tab / tab.sum(axis=1, keepdims=True)), 0.0)
            ll1 = float(terms.sum())
            dof = (L - 1) * (k - 1)
            if np.any(tab == 0):
                note = "empty cell (quasi-separation)"
            vtype = "categorical"
        else:
            vtype = "numeric"
            dof = k - 1
            if np.ptp(d.X[v].to_numpy()) == 0:
                rows.append({"variable": v, "type": vtype, "n": n, "dof": dof, "lr_stat": np.nan,
                             "pval": np.nan, "selected": False, "note": "constant"})
                continue
            try:
                res, bad, _ = _fit(d, maxiter)
                ll1 = float(res.llf)
            except SeparationError:
                ll1, bad = 0.0, True  # complete separation: the likelihood tends to 1
            except SingularDesignError:
                rows.append({"variable": v, "type": vtype, "n": n, "dof": dof, "lr_stat": np.nan,
                             "pval": np.nan, "selected": False, "note": "singular fit"})
                continue
            if bad:
                note = "did not converge (possible separation)"
        lr = max(0.0, 2 * (ll1 - ll0))
        p = float(sps.chi2.sf(lr, dof)) if dof > 0 else np.nan
        rows.append({"variable": v, "type": vtype, "n": n, "dof": dof, "lr_stat": lr, "pval": p,
                     "selected": bool(p < alpha) if not math.isnan(p) else False, "note": note})
    return pd.DataFrame(rows, columns=["variable", "type", "n", "dof", "lr_stat", "pval",
                                       "selected", "note"])


def fit_logistic(
    df: pd.DataFrame,
    outcome: str,
    variables: Sequence[str],
    *,
    categorical: Sequence[str] | None = None,
    reference: Any = None,
    reference_levels: Mapping[str, Any] | None = None,
    class_order: Sequence[Any] | None = None,
    alpha: float = 0.05,
    maxiter: int = 100,
) -> LogisticResult:
    """Fit a multivariable logistic regression (binary or multinomial).

    Parameters
    ----------
    df : pandas.DataFrame
        Data (not modified).
    outcome : str
        Outcome column.
    variables : sequence of str
        Predictors.
    categorical : sequence of str, optional
        Predictors to dummy-code; default: non-numeric, bool and category columns.
    reference : object, optional
        Reference outcome class; default the first class (category order of a
        Categorical outcome, else sorted order, or ``class_order``).
    reference_levels : dict, optional
        Reference level per categorical predictor; default its first level.
    class_order : sequence, optional
        Outcome classes in order.
    alpha : float, default 0.05
        1 - confidence level of the odds-ratio intervals.
    maxiter : int, default 100
        Newton iterations.

    Returns
    -------
    LogisticResult

    Raises
    ------
    SingularDesignError
        Constant or collinear design columns (named in the message).
    SeparationError
        Perfect or quasi-complete separation (variables named in the message).
    DataError
        Missing columns, non-numeric predictors not declared categorical, no
        complete rows, fewer than two outcome classes.
    """
    variables = list(variables)
    if not variables:
        raise DataError("fit_logistic needs at least one predictor")
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must be in (0, 1); got {alpha!r}")
    _check_columns(df, outcome, variables)
    cats = _resolve_categorical(df, variables, categorical)
    d = _build_design(df, outcome, variables, cats, reference, dict(reference_levels or {}),
                      class_order)
    if len(d.y) <= d.X.shape[1] * (len(d.classes) - 1):
        raise SingularDesignError(
            f"{len(d.y)} complete rows are too few for {d.X.shape[1] * (len(d.classes) - 1)} "
            "parameters"
        )
    _check_singular(d)
    _check_zero_cells(d, variables, outcome)
    res, bad, sep_warning = _fit(d, maxiter)
    params = np.asarray(res.params, dtype=float)
    bse = np.asarray(res.bse, dtype=float)
    exploding = _exploding_terms(d, params, bse)
    if exploding or (bad and (sep_warning or not np.all(np.isfinite(bse)))):
        involved = sorted({t[1] for t in d.terms if t[0] in exploding}) or list(variables)
        raise SeparationError(
            f"perfect or quasi-complete separation: the fit did not converge and the "
            f"coefficients of {involved} diverge (terms {exploding or 'unknown'}); a variable "
            "predicts the outcome (almost) perfectly. Drop or merge it, or use penalised "
            "(Firth) regression"
        )
    if bad:
        raise StatsError("logistic regression did not converge; increase maxiter or "
                         "simplify the model")
    params = params.reshape(d.X.shape[1], -1)
    bse = bse.reshape(d.X.shape[1], -1)
    z = params / bse
    pvals = 2 * sps.norm.sf(np.abs(z))
    q = sps.norm.ppf(1 - alpha / 2)
    rows = []
    outs = d.classes[1:]
    for j, cls in enumerate(outs):
        for i, (term, var, level) in enumerate(d.terms):
            b, se = params[i, j], bse[i, j]
            rows.append({"outcome": cls, "term": term, "variable": var, "level": level,
                         "coef": b, "se": se, "z": z[i, j], "pval": pvals[i, j],
                         "odds_ratio": math.exp(b), "ci_low": math.exp(b - q * se),
                         "ci_high": math.exp(b + q * se)})
    coefs = pd.DataFrame(rows, columns=["outcome", "term", "variable", "level", "coef", "se", "z",
                                        "pval", "odds_ratio", "ci_low", "ci_high"])
    llnull = _null_llf(d.y, len(d.classes))
    llf = float(res.llf)
    df_model = params.size - (len(d.classes) - 1)
    llr = max(0.0, 2 * (llf - llnull))
    return LogisticResult(
        kind="binary" if len(d.classes) == 2 else "multinomial", outcome=outcome,
        classes=d.classes, reference=d.classes[0], variables=tuple(variables),
        coefficients=coefs, screening=None, n_obs=len(d.y), n_dropped=d.n_dropped,
        llf=llf, llnull=llnull, llr_pval=float(sps.chi2.sf(llr, df_model)),
        pseudo_r2=float(1 - llf / llnull) if llnull != 0 else float("nan"),
        aic=float(-2 * llf + 2 * params.size), bic=float(-2 * llf + math.log(len(d.y)) * params.size),
        alpha=alpha, levels=d.levels, ranges=d.ranges, model=res,
    )


def logistic_regression(
    df: pd.DataFrame,
    outcome: str,
    variables: Sequence[str] | None = None,
    *,
    screen: bool = True,
    screen_alpha: float = 0.05,
    categorical: Sequence[str] | None = None,
    reference: Any = None,
    reference_levels: Mapping[str, Any] | None = None,
    class_order: Sequence[Any] | None = None,
    alpha: float = 0.05,
    maxiter: int = 100,
) -> LogisticResult:
    """Univariable screening, then a multivariable logistic regression.

    Parameters
    ----------
    df : pandas.DataFrame
        Data (not modified).
    outcome : str
        Outcome column: binary ``Logit`` for two classes, multinomial
        ``MNLogit`` for more.
    variables : sequence of str, optional
        Candidate predictors; default every other column.
    screen : bool, default True
        Keep only variables whose univariable LR p-value is below
        ``screen_alpha`` (see :func:`univariable_screening`).
    screen_alpha : float, default 0.05
        Screening level (0.05, or 0.10 / 0.20 for a more inclusive screen).
    categorical, reference, reference_levels, class_order, alpha, maxiter
        As in :func:`fit_logistic`.

    Returns
    -------
    LogisticResult
        With ``screening`` set when ``screen`` is true.

    Raises
    ------
    StatsError
        No variable passes the screen.
    SeparationError, SingularDesignError, DataError
        As in :func:`fit_logistic`.
    """
    if variables is None:
        variables = [c for c in df.columns if c != outcome]
    variables = list(variables)
    screening = None
    selected = variables
    if screen:
        screening = univariable_screening(df, outcome, variables, categorical=categorical,
                                          alpha=screen_alpha, class_order=class_order,
                                          reference=reference, maxiter=maxiter)
        selected = screening.loc[screening["selected"], "variable"].tolist()
        if not selected:
            raise StatsError(f"no variable passed univariable screening at alpha={screen_alpha}; "
                             f"smallest p-value {screening['pval'].min():.3g}")
    cats = None if categorical is None else [c for c in categorical if c in selected]
    res = fit_logistic(df, outcome, selected, categorical=cats, reference=reference,
                       reference_levels={k: v for k, v in (reference_levels or {}).items()
                                         if k in selected},
                       class_order=class_order, alpha=alpha, maxiter=maxiter)
    if screening is None:
        return res
    return LogisticResult(**{**{f: getattr(res, f) for f in res.__dataclass_fields__},
                             "screening": screening})
