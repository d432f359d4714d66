"""Clinical variables of the simulated cohort: age, sex, neck level, side, nodes per patient.

Values are rounded, plausible figures consistent with the cited literature (see
:mod:`lnfusion.datasets.anatomy` for the reference keys); they are not a
meta-analysis.

- Age and sex: head-and-neck SCC in older men, papillary thyroid carcinoma in
  middle-aged women, Hodgkin lymphoma and tuberculosis in young adults [AY05, K11].
- Neck level (I-VI, Som et al. imaging-based classification): SCC metastases at
  levels II-III, PTC metastases at VI, III and IV, adenocarcinoma (infraclavicular
  primaries) at IV-V, lymphoma at II-V with the posterior triangle (V), tuberculosis
  in the posterior triangle and supraclavicular fossa (IV-V), reactive nodes in the
  submandibular (I) and upper jugular (II) regions [AY05, YA03, AY08].
  [S99] Som PM, Curtin HD, Mancuso AA. An imaging-based classification for the
  cervical nodes. Arch Otolaryngol Head Neck Surg 1999;125:388-396.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "NECK_LEVELS",
    "AGE_BY_SUBTYPE",
    "MALE_BY_SUBTYPE",
    "LOCATION_BY_SUBTYPE",
    "NODES_PER_PATIENT",
    "SAME_SIDE_PROB",
    "sample_age",
    "sample_sex",
    "sample_location",
    "sample_side",
    "sample_node_counts",
]

NECK_LEVELS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI")

#: Age (years): normal (mean, sd) per subtype, clipped to [16, 90].
AGE_BY_SUBTYPE: dict[str, tuple[float, float]] = {
    "scc": (60.0, 10.0), "ptc": (46.0, 14.0), "adeno": (62.0, 11.0),
    "nhl": (58.0, 14.0), "hodgkin": (32.0, 12.0),
    "reactive": (38.0, 16.0), "tb": (34.0, 14.0),
}
AGE_RANGE = (16.0, 90.0)
#: P(male) per subtype.
MALE_BY_SUBTYPE: dict[str, float] = {
    "scc": 0.72, "ptc": 0.28, "adeno": 0.55, "nhl": 0.55, "hodgkin": 0.55,
    "reactive": 0.45, "tb": 0.45,
}
#: P(neck level I..VI) per subtype [S99, AY05, YA03].
LOCATION_BY_SUBTYPE: dict[str, tuple[float, ...]] = {
    "scc": (0.12, 0.40, 0.25, 0.13, 0.05, 0.05),
    "ptc": (0.02, 0.12, 0.28, 0.25, 0.05, 0.28),
    "adeno": (0.05, 0.15, 0.20, 0.35, 0.20, 0.05),
    "nhl": (0.10, 0.30, 0.20, 0.13, 0.22, 0.05),
    "hodgkin": (0.05, 0.20, 0.25, 0.22, 0.25, 0.03),
    "reactive": (0.30, 0.40, 0.12, 0.06, 0.10, 0.02),
    "tb": (0.05, 0.20, 0.15, 0.20, 0.38, 0.02),
}
#: P(1, 2, 3 nodes examined) per class; lymphoma is more often multifocal.
NODES_PER_PATIENT: dict[str, tuple[float, float, float]] = {
    "metastatic": (0.45, 0.35, 0.20), "lymphoma": (0.30, 0.35, 0.35),
    "benign": (0.50, 0.30, 0.20),
}
#: P(a further node of a patient is on the same side as the first) per class.
SAME_SIDE_PROB: dict[str, float] = {"metastatic": 0.85, "lymphoma": 0.55, "benign": 0.75}


def _pick(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(probs, axis=1)
    return np.minimum((u[:, None] * cum[:, -1:] >= cum).sum(axis=1), probs.shape[1] - 1)


def sample_age(subtypes: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Age in years (rounded to 0.1) per patient, from :data:`AGE_BY_SUBTYPE`."""
    subtypes = np.asarray(subtypes, dtype=object)
    mean = np.array([AGE_BY_SUBTYPE[s][0] for s in subtypes])
    sd = np.array([AGE_BY_SUBTYPE[s][1] for s in subtypes])
    return np.round(np.clip(mean + sd * rng.standard_normal(len(subtypes)), *AGE_RANGE), 1)


def sample_sex(subtypes: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Sex ``"F"``/``"M"`` per patient, from :data:`MALE_BY_SUBTYPE`."""
    subtypes = np.asarray(subtypes, dtype=object)
    p_male = np.array([MALE_BY_SUBTYPE[s] for s in subtypes])
    return np.where(rng.random(len(subtypes)) < p_male, "M", "F").astype(object)


def sample_location(subtypes: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Neck level (I-VI) per node, from :data:`LOCATION_BY_SUBTYPE`."""
    subtypes = np.asarray(subtypes, dtype=object)
    probs = np.array([LOCATION_BY_SUBTYPE[s] for s in subtypes]).reshape(len(subtypes), -1)
    return np.asarray(NECK_LEVELS, dtype=object)[_pick(probs, rng.random(len(subtypes)))]


def sample_side(labels: Sequence[str], groups: Sequence, rng: np.random.Generator) -> np.ndarray:
    """Side (``left``/``right``) per node: the first node of a patient at random, the
    others on the same side with probability :data:`SAME_SIDE_PROB` of the class."""
    labels = np.asarray(labels, dtype=object)
    groups = np.asarray(groups)
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    first_side = rng.random(len(first)) < 0.5
    same = rng.random(len(labels)) < np.array([SAME_SIDE_PROB[c] for c in labels])
    is_first = np.zeros(len(labels), dtype=bool)
    is_first[first] = True
    left = np.where(is_first | same, first_side[inverse], ~first_side[inverse])
    return np.where(left, "left", "right").astype(object)


def sample_node_counts(labels: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Number of nodes (1-3) examined per patient, from :data:`NODES_PER_PATIENT`."""
    labels = np.asarray(labels, dtype=object)
    probs = np.array([NODES_PER_PATIENT[c] for c in labels]).reshape(len(labels), -1)
    return _pick(probs, rng.random(len(labels))) + 1

