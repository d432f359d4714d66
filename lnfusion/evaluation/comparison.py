"""Paired comparison of two models' AUCs on the same nodes.

Per class, DeLong's test (:func:`lnfusion.stats.roc.delong_test`); for the
macro AUC, a paired stratified patient bootstrap
(:func:`lnfusion.stats.bootstrap.bootstrap_weights`) scored by
:class:`lnfusion.stats.auc.SortedScores`.  A two-class task has one AUC and
one test: DeLong's, for the positive class.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.evaluation.metrics import check_predictions, positive_class_index
from lnfusion.exceptions import StatsError
from lnfusion.stats.auc import SortedScores, auc_score
from lnfusion.stats.bootstrap import bootstrap_weights

__all__ = ["compare_models"]


def compare_models(
    y_true: Sequence[Any] | np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[Any] | np.ndarray | None = None,
    *,
    names: tuple[str, str] = ("a", "b"),
    alpha: float = 0.05,
    n_boot: int = 1000,
    random_state: int | None = 0,
    adjust: str = "holm",
    positive_class: str | None = None,
) -> pd.DataFrame:
    """Paired comparison of two models' AUCs on the same nodes.

    Parameters
    ----------
    y_true : array-like of shape (n,)
    proba_a, proba_b : numpy.ndarray of shape (n, n_classes)
        Probabilities of the two models for the same nodes, in ``classes`` order.
    classes : sequence of str
    groups : array-like of shape (n,), optional
        Patient id per node: the macro bootstrap resamples whole patients.
    names : (str, str), default ("a", "b")
        Model names written in the ``model_a`` / ``model_b`` columns.
    alpha : float, default 0.05
    n_boot : int, default 1000
        Paired bootstrap resamples for the macro-AUC difference (0 skips it).
    random_state : int or None, default 0
    adjust : str, default "holm"
        p-value adjustment across the per-class tests
        (:func:`lnfusion.stats.adjust.adjust_pvalues`).
    positive_class : str, optional
        Two classes only: the class whose AUCs are compared (default the first;
        see :func:`lnfusion.evaluation.positive_class_index`).

    Returns
    -------
    pandas.DataFrame
        One row per class plus a ``"macro"`` row: ``model_a``, ``model_b``,
        ``class``, ``n``, ``auc_a``, ``auc_b``, ``diff`` (a - b), ``ci_low``,
        ``ci_high`` (of the difference), ``z``, ``pval``, ``pval_adj``, ``method``.
        With two classes, a single row: the positive class.

    Notes
    -----
    * Two classes: one ROC curve per model, hence one DeLong test (the other
      class's curve is its mirror image, with the same AUC and the same test).
      Its ``pval_adj`` equals ``pval``: there is nothing to adjust within one
      comparison (:func:`lnfusion.evaluation.evaluate` adjusts across branches).
      Identical to R ``pROC::roc.test(roc_a, roc_b, method = "delong",
      paired = TRUE)``.
    * Per class: DeLong's test for two correlated ROC curves
      (:func:`lnfusion.stats.roc.delong_test`) on the one-vs-rest problem; the
      p-values of the classes are adjusted together (``pval_adj``, Holm by default).
      DeLong's test treats nodes as independent.
    * Macro: the difference of macro AUCs (mean of one-vs-rest AUCs) is compared by a
      paired bootstrap that resamples patients (nodes when ``groups`` is None),
      stratified by the patients' class make-up
      (:func:`lnfusion.stats.bootstrap.cluster_bootstrap_indices`), and re-scores both models on each
      resample; as in pROC's ``roc.test(method = "bootstrap")``,
      ``z = diff / sd(bootstrap diffs)``, ``pval = 2 * (1 - Phi(|z|))``, and the CI is
      the percentile interval of the bootstrap differences.  Its ``pval_adj`` equals
      ``pval`` (one test; :func:`lnfusion.evaluation.evaluate` adjusts the macro rows
      across branches).
    """
    from scipy.stats import norm

    from lnfusion.stats.adjust import adjust_pvalues
    from lnfusion.stats.roc import delong_test

    classes = tuple(str(c) for c in classes)
    y, pa, g = check_predictions(y_true, proba_a, classes, groups, name=names[0])
    _, pb, _ = check_predictions(y, proba_b, classes, None, name=names[1])
    n, k = pa.shape
    pos = positive_class_index(classes, positive_class)
    counts = np.bincount(y, minlength=k)
    present = (counts > 0) & (counts < n)  # absent classes were reported by the metrics
    rows = []
    for c in range(k) if pos is None else [pos]:
        base = {"model_a": names[0], "model_b": names[1], "class": classes[c], "n": n}
        if not present[c]:
            rows.append({**base, "auc_a": math.nan, "auc_b": math.nan, "diff": math.nan,
                         "ci_low": math.nan, "ci_high": math.nan, "z": math.nan,
                         "pval": math.nan, "method": "undefined (class absent)"})
            continue
        yb = (y == c).astype(int)
        try:
            t = delong_test(yb, pa[:, c], pb[:, c], alpha=alpha)
        except StatsError as exc:
            rows.append({**base, "auc_a": auc_score(yb, pa[:, c]), "auc_b": auc_score(yb, pb[:, c]),
                         "diff": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "z": math.nan, "pval": math.nan, "method": f"undefined ({exc})"})
            continue
        rows.append({**base, "auc_a": float(t.auc_a), "auc_b": float(t.auc_b),
                     "diff": float(t.diff), "ci_low": float(t.ci_low),
                     "ci_high": float(t.ci_high), "z": float(t.z), "pval": float(t.pval),
                     "method": "DeLong"})
    adj = adjust_pvalues([r["pval"] for r in rows], adjust)
    for r, v in zip(rows, adj):
        r["pval_adj"] = float(v)
    cols = ["model_a", "model_b", "class", "n", "auc_a", "auc_b", "diff", "ci_low", "ci_high",
            "z", "pval", "pval_adj", "method"]
    if pos is not None:
        return pd.DataFrame(rows)[cols]

    macro = {"model_a": names[0], "model_b": names[1], "class": "macro", "n": n}
    if present.all():
        sa, sb = SortedScores.one_vs_rest(y, pa), SortedScores.one_vs_rest(y, pb)
        auc_a, auc_b = sa.macro_auc(), sb.macro_auc()
        diffs = [sa.macro_auc(w) - sb.macro_auc(w)
                 for w in bootstrap_weights(n, g, max(int(n_boot), 0), random_state, strata=y)]
        d = np.asarray(diffs)
        d = d[~np.isnan(d)]
        if d.size >= 2 and d.std(ddof=1) > 0:
            z = (auc_a - auc_b) / d.std(ddof=1)
            pval = float(2 * norm.sf(abs(z)))
            lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
            method = f"paired {'patient' if g is not None else 'node'} bootstrap ({d.size} resamples)"
        elif d.size >= 2:  # identical predictions on every resample
            z, pval, lo, hi = 0.0, 1.0, 0.0, 0.0
            method = f"paired {'patient' if g is not None else 'node'} bootstrap ({d.size} resamples)"
        else:
            z = pval = lo = hi = math.nan
            method = "not computed (n_boot=0)" if n_boot <= 0 else "bootstrap failed"
        macro.update({"auc_a": auc_a, "auc_b": auc_b, "diff": auc_a - auc_b,
                      "ci_low": float(lo), "ci_high": float(hi), "z": float(z),
                      "pval": float(pval), "method": method, "pval_adj": float(pval)})
    else:
        macro.update({"auc_a": math.nan, "auc_b": math.nan, "diff": math.nan,
                      "ci_low": math.nan, "ci_high": math.nan, "z": math.nan,
                      "pval": math.nan, "method": "undefined (class absent)",
                      "pval_adj": math.nan})
    rows.append(macro)
    return pd.DataFrame(rows)[cols]
