"""Evaluation: metrics from arrays, the evaluation report, cross-validation and by-site runners.

``import lnfusion.evaluation`` imports numpy, pandas and scipy-level code only;
scikit-learn, statsmodels and matplotlib load when a function needs them.
"""
from __future__ import annotations

from lnfusion.evaluation.calibration import (
    brier_score,
    calibration_slope_intercept,
    expected_calibration_error,
    reliability_bins,
)
from lnfusion.evaluation.comparison import compare_models
from lnfusion.evaluation.metrics import (
    AbsentClassError,
    MetricsResult,
    check_predictions,
    classification_metrics,
    positive_class_index,
    predict_labels,
)
from lnfusion.evaluation.predictions import align_proba, collect_predictions
from lnfusion.evaluation.report import EvaluationResult, evaluate, evaluate_predictions
from lnfusion.evaluation.validation import (
    CrossValidationResult,
    SiteValidationResult,
    cross_validate,
    validate_by_site,
)
from lnfusion.stats.bootstrap import cluster_bootstrap_indices

__all__ = [
    "AbsentClassError",
    "CrossValidationResult",
    "EvaluationResult",
    "MetricsResult",
    "SiteValidationResult",
    "align_proba",
    "brier_score",
    "calibration_slope_intercept",
    "check_predictions",
    "classification_metrics",
    "cluster_bootstrap_indices",
    "collect_predictions",
    "compare_models",
    "cross_validate",
    "evaluate",
    "evaluate_predictions",
    "expected_calibration_error",
    "positive_class_index",
    "predict_labels",
    "reliability_bins",
    "validate_by_site",
]
