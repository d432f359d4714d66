"""Label resolution: one conversion of labels to class indices for estimators and metrics."""
from __future__ import annotations

import numpy as np
import pytest

from lnfusion.data import Cohort
from lnfusion.data.labels import class_indices, resolve_target
from lnfusion.evaluation.metrics import check_predictions
from lnfusion.exceptions import DataError

CLASSES = ("metastatic", "lymphoma", "benign")


def test_names_and_indices_give_the_same_indices():
    names = np.array(["benign", "metastatic", "benign", "lymphoma"], dtype=object)
    assert class_indices(names, CLASSES).tolist() == [2, 0, 2, 1]
    assert class_indices([2, 0, 2, 1], CLASSES).tolist() == [2, 0, 2, 1]
    assert class_indices(np.array([1, 0]), ("0", "1")).tolist() == [1, 0]  # text match of numbers
    assert class_indices(names, CLASSES).dtype == np.int64


def test_bad_labels_are_named_by_position():
    with pytest.raises(DataError, match=r"y_true: label 'reactive' at position 1 is not a declared class"):
        class_indices(["benign", "reactive"], CLASSES, name="y_true")
    with pytest.raises(DataError, match=r"y: 3 at position 2 is not a class index; expected 0\.\.2"):
        class_indices([0, 1, 3], CLASSES)
    with pytest.raises(DataError, match="1-d"):
        class_indices([[0, 1]], CLASSES)


def test_metrics_and_estimators_resolve_labels_alike(cohort_dir, schema):
    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    names = [cohort.classes[k] for k in cohort.y]
    proba = np.full((len(cohort), len(cohort.classes)), 1 / len(cohort.classes))
    y_metrics, _, _ = check_predictions(names, proba, cohort.classes)
    y_fit, classes = resolve_target(cohort, names)
    assert classes == cohort.classes and y_metrics.tolist() == y_fit.tolist() == cohort.y.tolist()
    names[4] = "reactive"
    with pytest.raises(DataError, match="'reactive' at position 4") as from_metrics:
        check_predictions(names, proba, cohort.classes)
    with pytest.raises(DataError, match="'reactive' at position 4") as from_fit:
        resolve_target(cohort, names)
    assert str(from_metrics.value).split(":", 1)[1] == str(from_fit.value).split(":", 1)[1]
