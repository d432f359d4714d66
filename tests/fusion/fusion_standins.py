"""Cheap stand-in branches and tiny synthetic cohorts for the fusion tests.

The stand-ins follow the branch contract (fit(cohort, y) / predict_proba(cohort)
with NaN rows for unseen nodes / transform) without training a CNN:

- SignalBranch: a "modality" whose evidence is the manifest column
  ``<modality>_signal`` (not a schema descriptor, so the tabular branch cannot
  see it); NaN rows where the node lacks the modality.
- MemoriserBranch: looks up the label of patients it trained on (perfect on
  them), uniform for everyone else: the leakage probe.
- SpyBranch: remembers its training patients and says so in its output.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality

CLASSES = ("metastatic", "lymphoma", "benign")


def make_cohort(n_patients: int = 90, seed: int = 0, missing: float = 0.2,
                signal: float = 1.5, tab_signal: float = 1.0) -> Cohort:
    """Synthetic cohort: 1-2 nodes per patient, two modalities with missing images
    (image paths are placeholders: check_images=False)."""
    df, schema = make_manifest(n_patients, seed, missing, signal, tab_signal)
    return Cohort.from_manifest(df, schema, check_images=False)


def make_manifest(n_patients: int = 90, seed: int = 0, missing: float = 0.2,
                  signal: float = 1.5, tab_signal: float = 1.0) -> tuple[pd.DataFrame, CohortSchema]:
    """The manifest DataFrame and schema behind :func:`make_cohort`."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = p % 3
        for node in range(1 + int(rng.random() < 0.3)):
            row = {"patient_id": f"P{p:03d}", "node_id": f"N{node}", "label": CLASSES[label],
                   "site": "A" if p % 2 else "B",
                   "age": 50 + 6 * tab_signal * (label - 1) + rng.normal(0, 8),
                   "shape": ["round", "irregular", "oval"][label] if rng.random() < 0.4 * tab_signal
                   else ["oval", "round", "irregular"][rng.integers(3)],
                   "elasto_score": int(np.clip(round(3 + tab_signal * (1 - label) + rng.normal(0, 1)), 1, 5))}
            if rng.random() < 0.1:
                row["age"] = np.nan
            for m, shift in (("bmode", 0.0), ("cdfi", 0.5)):
                present = rng.random() >= missing
                row[m] = f"img/{m}_{p}_{node}.png" if present else ""
                centre = np.eye(3)[label] * signal
                row[f"{m}_signal_0"], row[f"{m}_signal_1"], row[f"{m}_signal_2"] = \
                    centre + rng.normal(shift, 1.0, 3)
            rows.append(row)
    schema = CohortSchema(
        classes=CLASSES,
        descriptors={"age": Descriptor("continuous"),
                     "shape": Descriptor("categorical", levels=("oval", "round", "irregular")),
                     "elasto_score": Descriptor("ordinal", levels=(1, 2, 3, 4, 5))},
        modalities={"bmode": Modality(colour=False), "cdfi": Modality(colour=True)})
    return pd.DataFrame(rows), schema


class SignalBranch(ClassifierMixin, BaseEstimator):
    """Logistic regression on the ``<modality>_signal_*`` columns; NaN where the modality is missing."""

    def __init__(self, modality: str = "bmode", C: float = 1.0):
        self.modality = modality
        self.C = C

    def _X(self, cohort):
        cols = [f"{self.modality}_signal_{i}" for i in range(3)]
        return cohort.table[cols].to_numpy(dtype=float), cohort.modality_mask()[self.modality].to_numpy()

    def fit(self, cohort, y=None):
        from sklearn.linear_model import LogisticRegression

        y = cohort.y if y is None else np.asarray(y)
        X, seen = self._X(cohort)
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.model_ = LogisticRegression(C=self.C).fit(X[seen], y[seen])
        return self

    def predict_proba(self, cohort):
        X, seen = self._X(cohort)
        out = np.full((len(cohort), len(self.classes_)), np.nan)
        if seen.any():
            out[seen] = self.model_.predict_proba(X[seen])
        return out

    def transform(self, cohort):
        X, seen = self._X(cohort)
        X = X.copy()
        X[~seen] = np.nan
        return X


class MemoriserBranch(ClassifierMixin, BaseEstimator):
    """Returns the true label (one-hot) for training patients, uniform for unseen ones."""

    def __init__(self, confidence: float = 0.98):
        self.confidence = confidence

    def fit(self, cohort, y=None):
        y = cohort.y if y is None else np.asarray(y)
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.table_ = dict(zip(cohort.groups, y))
        return self

    def predict_proba(self, cohort):
        k = len(self.classes_)
        out = np.full((len(cohort), k), 1.0 / k)
        for i, g in enumerate(cohort.groups):
            if g in self.table_:
                out[i] = (1 - self.confidence) / (k - 1)
                out[i, self.table_[g]] = self.confidence
        return out


class SpyBranch(ClassifierMixin, BaseEstimator):
    """Output column 0 = 1 if the node's patient was in the training set, column 1 = 1 otherwise."""

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.seen_ = set(cohort.groups)
        return self

    def predict_proba(self, cohort):
        seen = np.array([g in self.seen_ for g in cohort.groups])
        out = np.zeros((len(cohort), len(self.classes_)))
        out[seen, 0] = 1.0
        out[~seen, 1] = 1.0
        return out


class NearestPatientBranch(ClassifierMixin, BaseEstimator):
    """1-nearest-neighbour on a random per-patient number: memorises training patients,
    returns a random training patient's label for anyone else."""

    def _code(self, cohort):
        import hashlib

        return np.array([int(hashlib.sha256(str(g).encode()).hexdigest()[:8], 16) for g in cohort.groups],
                        dtype=float)[:, None]

    def fit(self, cohort, y=None):
        from sklearn.neighbors import KNeighborsClassifier

        y = cohort.y if y is None else np.asarray(y)
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.knn_ = KNeighborsClassifier(1).fit(self._code(cohort), y)
        return self

    def predict_proba(self, cohort):
        out = np.full((len(cohort), len(self.classes_)), 0.01)
        out[np.arange(len(cohort)), self.knn_.predict(self._code(cohort))] = 0.98
        return out
