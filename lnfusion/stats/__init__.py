"""Statistics for lnfusion: Table 1, hypothesis tests, logistic regression, ROC.

Importable without torch and without any other lnfusion subpackage.  Every
p-value and confidence interval is checked against R 4.x in the golden tests
(``tests/stats/golden``).

Main entry points
-----------------
:func:`table_one`
    Per-class descriptive table with the right test per variable, p-value
    adjustment, post-hoc comparisons, SMDs and Markdown/LaTeX/HTML/CSV output.
:func:`logistic_regression`
    Univariable screening then multivariable (binary or multinomial) logistic
    regression with odds ratios and a nomogram table.
:func:`roc_auc_ci`, :func:`delong_test`, :func:`multiclass_auc`
    AUC with DeLong or bootstrap intervals and DeLong's paired test.
:func:`corrected_resampled_ttest`
    Paired comparison of two models over repeated cross-validation folds.
:func:`infer_types`
    The type of every column of a frame, and the reason for it.
:func:`adjust_pvalues`
    R's ``p.adjust``.
:class:`SortedScores`, :func:`auc_score`, :func:`roc_points`
    The one ROC curve and AUC implementation (sorted scores, weighted cases).
:func:`cluster_bootstrap_indices`, :func:`bootstrap_weights`, :func:`patient_strata`
    The stratified patient bootstrap.
"""
from .adjust import ADJUST_METHODS, adjust_pvalues, p_adjust
from .auc import SortedScores, auc_score, roc_points
from .bootstrap import bootstrap_weights, cluster_bootstrap_indices, patient_strata
from .effect_size import smd_categorical, smd_continuous
from .fisher import FisherWorkLimitError, fisher_rxc_exact, fisher_rxc_monte_carlo
from .hypothesis_tests import (
    chi_square,
    cochran_armitage,
    expected_counts,
    fisher_exact,
    jonckheere_terpstra,
    kruskal_wallis,
    levene,
    mann_whitney,
    oneway_anova,
    shapiro_wilk,
    t_test,
    welch_anova,
)
from .infer import ColumnType, infer_types, infer_variable_types
from .logistic import LogisticResult, fit_logistic, logistic_regression, univariable_screening
from .records import HypothesisTestResult
from .render import RenderError
from .resampled import CorrectedTTestResult, corrected_resampled_ttest
from .roc import (
    AucResult,
    DelongTestResult,
    DiagnosticResult,
    delong_test,
    multiclass_auc,
    roc_auc,
    roc_auc_ci,
    sensitivity_specificity,
    wilson_ci,
)
from .selection import TestSettings, select_categorical_test, select_continuous_test
from .table1 import TableOneResult, table_one

__all__ = [
    "ADJUST_METHODS",
    "AucResult",
    "CorrectedTTestResult",
    "ColumnType",
    "DelongTestResult",
    "DiagnosticResult",
    "FisherWorkLimitError",
    "HypothesisTestResult",
    "LogisticResult",
    "RenderError",
    "SortedScores",
    "TableOneResult",
    "TestSettings",
    "adjust_pvalues",
    "auc_score",
    "bootstrap_weights",
    "chi_square",
    "cluster_bootstrap_indices",
    "cochran_armitage",
    "corrected_resampled_ttest",
    "delong_test",
    "expected_counts",
    "fisher_exact",
    "fisher_rxc_exact",
    "fisher_rxc_monte_carlo",
    "fit_logistic",
    "infer_types",
    "infer_variable_types",
    "jonckheere_terpstra",
    "kruskal_wallis",
    "levene",
    "logistic_regression",
    "mann_whitney",
    "multiclass_auc",
    "oneway_anova",
    "p_adjust",
    "patient_strata",
    "roc_auc",
    "roc_auc_ci",
    "roc_points",
    "select_categorical_test",
    "select_continuous_test",
    "sensitivity_specificity",
    "shapiro_wilk",
    "smd_categorical",
    "smd_continuous",
    "t_test",
    "table_one",
    "univariable_screening",
    "welch_anova",
    "wilson_ci",
]
