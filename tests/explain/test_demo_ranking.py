"""On the simulated demo cohort, elastography is the most important branch of the fusion.

The simulation makes elastography the most informative modality
(``modality_signal`` default ``{"bmode": 0.6, "cdfi": 0.4, "elasto": 2.2}``), and the
global modality ranking of the fused model must show it: elastography first among
all branches, the clinical (tabular) branch included.
The check needs enough patients for the ranking to be stable (240, at 64 px;
the 60-patient ``small`` preset is too noisy: the ranking of the image
modalities changes with the split) and image branches that learn in seconds:
:class:`ImageFeatureBranch`, a multinomial logistic regression on hand-made
image features, stands in for the CNNs.  Building the cohort and fitting take
about a minute, hence ``slow``.  ``bench/bench_explain_demo.py`` runs the same
check with CNN branches on any preset.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

pytest.importorskip("xgboost")

GRID = 8


def _image_features(img: np.ndarray) -> np.ndarray:
    """An 8 x 8 downsampled image, plus a grey histogram (greyscale) or the joint RGB
    histogram of the coloured pixels (Doppler and elastography overlays)."""
    arr = img.astype(np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    gh, gw = h // GRID, w // GRID
    small = arr[:gh * GRID, :gw * GRID].reshape(GRID, gh, GRID, gw, c).mean(axis=(1, 3))
    if c == 1:
        hist = np.histogram(arr, bins=16, range=(0, 1))[0] / arr.size
    else:
        coloured = (arr.max(axis=2) - arr.min(axis=2)) > 0.2
        q = np.minimum((arr * 4).astype(int), 3)
        code = q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]
        hist = np.bincount(code[coloured], minlength=64) / (h * w)
    return np.concatenate([small.ravel(), hist])


class ImageFeatureBranch(ClassifierMixin, BaseEstimator):
    """A fast image branch (branch contract; NaN rows where the modality is missing)."""

    def __init__(self, modality: str = "bmode", C: float = 0.05):
        self.modality = modality
        self.C = C

    def _features(self, cohort):
        from lnfusion.data.imageio import read_image

        rows = [np.mean([_image_features(read_image(p)) for p in paths], axis=0) if paths else None
                for paths in cohort.images(self.modality)]
        dim = next(r.shape[0] for r in rows if r is not None)
        have = np.array([r is not None for r in rows])
        return np.stack([r if r is not None else np.full(dim, np.nan) for r in rows]), have

    def fit(self, cohort, y=None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = cohort.y if y is None else np.asarray(y)
        X, have = self._features(cohort)
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=3000))
        self.model_.fit(X[have], y[have])
        return self

    def predict_proba(self, cohort):
        X, have = self._features(cohort)
        out = np.full((len(cohort), len(self.classes_)), np.nan)
        if have.any():
            out[have] = self.model_.predict_proba(X[have])
        return out


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_cohort_ranks_elastography_first(tmp_path):
    from lnfusion.data import split_patients
    from lnfusion.datasets import make_demo_cohort
    from lnfusion.explain import explain
    from lnfusion.fusion import LateFusionClassifier
    from lnfusion.models import TabularClassifier

    cohort = make_demo_cohort(tmp_path / "demo", n_patients=240, image_size=64, n_jobs=1)
    split = split_patients(cohort.y, cohort.groups, test_size=0.3, random_state=0)
    train, test = cohort.subset(split.train), cohort.subset(split.test)
    branches = {m: ImageFeatureBranch(m) for m in cohort.modalities}
    branches["tabular"] = TabularClassifier()
    model = LateFusionClassifier(branches=branches, cv=3, progress=False, random_state=0).fit(train)

    bundle = explain(model, test, image_method="none")
    importance = bundle.modality_importance()
    assert bundle.modality.ranking()[0] == "elasto", importance
    assert bundle.modality.ranking(among=cohort.modalities)[0] == "elasto", importance
    # local accuracy on every held-out node, for both explanations
    logits = model.head_.decision_function(model.head_inputs(test))
    np.testing.assert_allclose(bundle.modality.output_values(), logits, atol=1e-9)
    import xgboost

    tab = model.branches_["tabular"]
    margin = tab.booster_.predict(xgboost.DMatrix(tab.feature_frame(test), enable_categorical=True),
                                  output_margin=True)
    np.testing.assert_allclose(bundle.tabular.output_values(), margin, atol=1e-5)
