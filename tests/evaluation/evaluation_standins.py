"""Tiny cohorts and stand-in estimators for the evaluation tests (no CNN, no training loop).

- ``make_manifest`` / ``make_cohort``: a real :class:`lnfusion.data.Cohort` built from a DataFrame
  (no image files): 1-2 nodes per patient, three sites, two modalities with
  missing images, and per-modality ``<m>_signal_<k>`` columns carrying class evidence.
- ``SignalModel``: scikit-learn style estimator scoring nodes from one modality's
  signal columns (softmax); NaN rows where the modality is missing unless ``fill``.
- ``FusionStandIn``: a LateFusion look-alike with ``predict_branch_proba`` (two
  image branches with NaN rows + a tabular branch) and a fused ``predict_proba``.
- ``SpyModel``: records the patients it trains on and the patients it scores.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from lnfusion.data import Cohort, CohortSchema, Descriptor, Modality
from lnfusion.exceptions import check_fitted

CLASSES = ("metastatic", "lymphoma", "benign")


def make_manifest(n_patients: int = 60, seed: int = 0, missing: float = 0.25, signal: float = 1.2,
                  sites: tuple[str, ...] = ("A", "B", "C")) -> tuple[pd.DataFrame, CohortSchema]:
    """Manifest and schema; patient p has class p % 3 and site sites[(p // 3) % len(sites)]."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = p % 3
        for node in range(1 + int(rng.random() < 0.3)):
            row = {"patient_id": f"P{p:03d}", "node_id": f"N{node}", "label": CLASSES[label],
                   "age": 50 + 5 * (label - 1) + rng.normal(0, 8)}
            if sites:
                row["site"] = sites[(p // 3) % len(sites)]
            for m, strength in (("bmode", signal), ("cdfi", 0.5 * signal)):
                row[m] = "" if rng.random() < missing else f"img/{m}_{p}_{node}.png"
                evidence = np.eye(3)[label] * strength + rng.normal(0, 1.0, 3)
                for k in range(3):
                    row[f"{m}_signal_{k}"] = evidence[k]
            rows.append(row)
    schema = CohortSchema(classes=CLASSES, site="site" if sites else None,
                          descriptors={"age": Descriptor("continuous")},
                          modalities={"bmode": Modality(colour=False), "cdfi": Modality(colour=True)})
    return pd.DataFrame(rows), schema


def make_cohort(n_patients: int = 60, seed: int = 0, missing: float = 0.25, signal: float = 1.2,
                sites: tuple[str, ...] = ("A", "B", "C")) -> Cohort:
    """A Cohort of :func:`make_manifest` (image files are not checked)."""
    manifest, schema = make_manifest(n_patients, seed, missing, signal, sites)
    return Cohort.from_manifest(manifest, schema, check_images=False)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SignalModel(ClassifierMixin, BaseEstimator):
    """Softmax of ``scale * <modality>_signal_*``; NaN rows for nodes without the modality."""

    def __init__(self, modality: str = "bmode", scale: float = 1.0, fill: bool = False):
        self.modality = modality
        self.scale = scale
        self.fill = fill

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        return self

    def predict_proba(self, cohort):
        check_fitted(self, "classes_")
        cols = [f"{self.modality}_signal_{k}" for k in range(3)]
        out = _softmax(self.scale * cohort.table[cols].to_numpy(dtype=float))
        if not self.fill:
            out[~cohort.modality_mask()[self.modality].to_numpy()] = np.nan
        return out


class FusionStandIn(ClassifierMixin, BaseEstimator):
    """Late-fusion look-alike: mean of the available branch probabilities."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.branches_ = {"bmode": SignalModel("bmode", self.scale).fit(cohort),
                          "cdfi": SignalModel("cdfi", self.scale).fit(cohort),
                          "tabular": TabularStandIn().fit(cohort)}
        self.branch_names_ = list(self.branches_)
        return self

    def predict_branch_proba(self, cohort):
        check_fitted(self, "branches_")
        return {name: b.predict_proba(cohort) for name, b in self.branches_.items()}

    def predict_proba(self, cohort):
        stacked = np.stack(list(self.predict_branch_proba(cohort).values()))
        out = np.nanmean(np.log(np.clip(stacked, 1e-9, 1)), axis=0)
        return _softmax(out)


class TabularStandIn(ClassifierMixin, BaseEstimator):
    """Weak, always-available branch from ``age``."""

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        return self

    def predict_proba(self, cohort):
        age = cohort.descriptors["age"].to_numpy(dtype=float)
        z = np.column_stack([-(age - 50) / 10, np.zeros_like(age), (age - 50) / 10])
        return _softmax(z)


class SpyModel(ClassifierMixin, BaseEstimator):
    """Uniform probabilities; appends (train patients, scored patients) to ``SpyModel.log``."""

    log: list[dict] = []

    def __init__(self, tag: str = "spy"):
        self.tag = tag

    def fit(self, cohort, y=None):
        self.classes_ = np.asarray(cohort.classes, dtype=object)
        self.train_patients_ = set(cohort.groups.tolist())
        self.train_sites_ = None if cohort.sites is None else set(cohort.sites.tolist())
        return self

    def predict_proba(self, cohort):
        SpyModel.log.append({"model": self, "train": self.train_patients_,
                             "test": set(cohort.groups.tolist()), "train_sites": self.train_sites_,
                             "test_sites": None if cohort.sites is None else set(cohort.sites.tolist()),
                             "n_test": len(cohort)})
        k = len(self.classes_)
        return np.full((len(cohort), k), 1.0 / k)
