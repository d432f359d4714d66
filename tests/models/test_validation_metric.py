"""The image branch's validation metric uses lnfusion's one AUC and agrees with scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

pytest.importorskip("torch")

from lnfusion.models.training import node_metrics  # noqa: E402


def _logits(y, k, seed):
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=(y.size, k)) + np.eye(k)[y], 1)  # ties in the scores


def test_binary_validation_auc_and_loss_match_sklearn():
    y = np.random.default_rng(0).integers(0, 2, 80)
    logits = _logits(y, 2, 1)
    loss, auc = node_metrics(logits, y, 2)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert auc == pytest.approx(roc_auc_score(y, p[:, 1]), abs=1e-12)
    assert loss == pytest.approx(log_loss(y, p), abs=1e-9)


def test_multiclass_validation_auc_is_macro_over_present_classes():
    y = np.random.default_rng(2).integers(0, 3, 90)
    y[y == 2] = 0                      # class 2 absent from this validation split
    logits = _logits(y, 3, 3)
    logits[:4] = np.nan                # nodes without an image are skipped
    labels = y.copy()
    labels[4:7] = -1                   # unlabelled nodes are skipped
    keep = np.arange(y.size) >= 7
    _, auc = node_metrics(logits, labels, 3)
    p = np.exp(logits[keep]) / np.exp(logits[keep]).sum(axis=1, keepdims=True)
    ref = np.mean([roc_auc_score(y[keep] == k, p[:, k]) for k in (0, 1)])
    assert auc == pytest.approx(ref, abs=1e-12)
    assert np.isnan(node_metrics(logits, np.zeros_like(y), 3)[1])   # one class: no AUC
