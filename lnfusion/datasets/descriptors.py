"""Descriptor columns of the demo manifest: noisy readings of the latent anatomy.

A radiologist reading a node does not see its true anatomy: sizes carry a
Gaussian measurement error and each categorical or ordinal descriptor is
misread with probability ``misread_rate`` (default 0.20, in the 15-25% range of
reported inter-observer disagreement for nodal descriptors).  The misreading
model is a confusion matrix per descriptor (:func:`confusion_matrix`):

- ``nominal`` (shape, margin, internal_pattern, cdfi_pattern): a misread
  records one of the other levels uniformly;
- ``ordered`` (hilum, echogenicity, adler_grade, elasto_score): a misread
  records an adjacent level (split evenly between the two neighbours);
- ``finding`` (calcification, necrosis: absent/present): a present finding is
  missed with probability ``misread_rate``, an absent one is falsely called with
  probability ``misread_rate / 5``.

The expected class-conditional frequency of a descriptor is therefore
``class_table(latent) @ confusion_matrix(descriptor)``
(:func:`expected_descriptor_frequencies`), which the tests check.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lnfusion.datasets.anatomy import CLASSES, class_table
from lnfusion.datasets.clinical import NECK_LEVELS
from lnfusion.exceptions import ConfigError, DataError

__all__ = [
    "DESCRIPTOR_LEVELS",
    "CONTINUOUS_DESCRIPTORS",
    "ORDINAL_DESCRIPTORS",
    "READ_KINDS",
    "DEFAULT_MISREAD_RATE",
    "DEFAULT_SIZE_ERROR_MM",
    "confusion_matrix",
    "expected_descriptor_frequencies",
    "read_descriptors",
    "demo_schema",
]

DEFAULT_MISREAD_RATE = 0.20
DEFAULT_SIZE_ERROR_MM = 1.0
FALSE_FINDING_FACTOR = 0.2

#: Levels of every categorical / ordinal column of the demo manifest, in order.
DESCRIPTOR_LEVELS: dict[str, tuple] = {
    "sex": ("F", "M"),
    "side": ("left", "right"),
    "location": NECK_LEVELS,
    "shape": ("oval", "round", "irregular"),
    "margin": ("sharp", "unsharp"),
    "hilum": ("present", "narrowed", "absent"),
    "echogenicity": ("hypoechoic", "isoechoic", "hyperechoic"),
    "internal_pattern": ("homogeneous", "reticulated", "heterogeneous"),
    "calcification": ("absent", "present"),
    "necrosis": ("absent", "present"),
    "cdfi_pattern": ("hilar", "peripheral", "mixed", "absent"),
    "adler_grade": (0, 1, 2, 3),
    "elasto_score": (1, 2, 3, 4, 5),
}
ORDINAL_DESCRIPTORS: tuple[str, ...] = ("adler_grade", "elasto_score")
CONTINUOUS_DESCRIPTORS: tuple[str, ...] = ("age", "long_axis_mm", "short_axis_mm", "ls_ratio")
#: How each read descriptor is misread (see the module docstring).
READ_KINDS: dict[str, str] = {
    "shape": "nominal", "margin": "nominal", "hilum": "ordered", "echogenicity": "ordered",
    "internal_pattern": "nominal", "calcification": "finding", "necrosis": "finding",
    "cdfi_pattern": "nominal", "adler_grade": "ordered", "elasto_score": "ordered",
}
#: Column order of the descriptor block of the manifest.
DESCRIPTOR_COLUMNS: tuple[str, ...] = (
    "age", "sex", "side", "location", "long_axis_mm", "short_axis_mm", "ls_ratio",
    "shape", "margin", "hilum", "echogenicity", "internal_pattern", "calcification",
    "necrosis", "cdfi_pattern", "adler_grade", "elasto_score")


def _check_rate(misread_rate: float) -> float:
    try:
        rate = float(misread_rate)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"misread_rate: expected a number in [0, 0.5], got "
                          f"{misread_rate!r}") from exc
    if not 0.0 <= rate <= 0.5:
        raise ConfigError(f"misread_rate: expected a number in [0, 0.5], got {misread_rate!r}")
    return rate


def confusion_matrix(descriptor: str, misread_rate: float = DEFAULT_MISREAD_RATE) -> pd.DataFrame:
    """Reading confusion matrix P(recorded level | true level) of a descriptor.

    Parameters
    ----------
    descriptor : str
        A key of :data:`READ_KINDS`.
    misread_rate : float
        Probability that a reading differs from the truth (see the module docstring
        for the ``finding`` kind).

    Returns
    -------
    pandas.DataFrame
        Rows = true levels, columns = recorded levels; rows sum to 1.
    """
    if descriptor not in READ_KINDS:
        raise DataError(f"confusion_matrix: {descriptor!r} is not a read descriptor; expected "
                        f"one of {sorted(READ_KINDS)}")
    r = _check_rate(misread_rate)
    levels = DESCRIPTOR_LEVELS[descriptor]
    k = len(levels)
    kind = READ_KINDS[descriptor]
    m = np.zeros((k, k))
    if kind == "nominal":
        m[:] = r / (k - 1)
        np.fill_diagonal(m, 1 - r)
    elif kind == "ordered":
        for i in range(k):
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < k]
            for j in neighbours:
                m[i, j] = r / len(neighbours)
            m[i, i] = 1 - r
    else:  # finding: (absent, present)
        m[:] = [[1 - FALSE_FINDING_FACTOR * r, FALSE_FINDING_FACTOR * r], [r, 1 - r]]
    return pd.DataFrame(m, index=list(levels), columns=list(levels))


def expected_descriptor_frequencies(descriptor: str,
                                    misread_rate: float = DEFAULT_MISREAD_RATE) -> pd.DataFrame:
    """Expected P(recorded level | class) of a read descriptor.

    ``class_table(descriptor) @ confusion_matrix(descriptor)``.  Not defined for
    ``elasto_score``, whose latent value is read from the simulated strain image
    (its simulated frequencies are tabulated in ``docs/demo_cohort.md``).

    Returns
    -------
    pandas.DataFrame
        Rows = classes, columns = levels.
    """
    if descriptor == "elasto_score":
        raise DataError("expected_descriptor_frequencies: elasto_score is read from the "
                        "simulated strain image and has no closed-form table")
    latent = class_table(descriptor)
    conf = confusion_matrix(descriptor, misread_rate)
    out = latent.to_numpy() @ conf.to_numpy()
    return pd.DataFrame(out, index=list(CLASSES), columns=conf.columns)


def _misread(values: np.ndarray, descriptor: str, misread_rate: float,
             rng: np.random.Generator) -> np.ndarray:
    """Apply the confusion matrix to true ``values`` (object array; missing stays None)."""
    conf = confusion_matrix(descriptor, misread_rate)
    levels = list(conf.columns)
    u = rng.random(len(values))
    lookup = {str(level): k for k, level in enumerate(levels)}
    codes = np.array([-1 if v is None or (isinstance(v, float) and np.isnan(v))
                      else lookup[str(v)] for v in values], dtype=int)
    present = codes >= 0
    cum = np.cumsum(conf.to_numpy(), axis=1)[codes[present]]
    picked = np.minimum((u[present, None] * cum[:, -1:] >= cum).sum(axis=1), len(levels) - 1)
    out = np.full(len(values), None, dtype=object)
    out[present] = np.asarray(levels, dtype=object)[picked]
    return out


def read_descriptors(latent: pd.DataFrame, rng: np.random.Generator, *,
                     misread_rate: float = DEFAULT_MISREAD_RATE,
                     size_error_mm: float = DEFAULT_SIZE_ERROR_MM) -> pd.DataFrame:
    """Read the ultrasound descriptors of each node from its latent anatomy, with errors.

    Parameters
    ----------
    latent : pandas.DataFrame
        Output of :func:`~lnfusion.datasets.anatomy.sample_anatomy` (optionally with
        an ``elasto_score`` column: the score shown by the strain image, or missing).
    rng : numpy.random.Generator
        Source of randomness.
    misread_rate : float
        Probability that a categorical/ordinal reading differs from the truth.
    size_error_mm : float
        Standard deviation of the Gaussian error of each axis measurement (mm).

    Returns
    -------
    pandas.DataFrame
        ``long_axis_mm``, ``short_axis_mm``, ``ls_ratio`` (from the measured axes,
        rounded to 0.1 mm / 0.01) and the categorical/ordinal descriptors (object
        columns; ``None`` where the latent value is missing).
    """
    if not np.isfinite(size_error_mm) or size_error_mm < 0:
        raise ConfigError(f"size_error_mm: expected a number >= 0, got {size_error_mm!r}")
    missing = [c for c in ("long_axis_mm", "short_axis_mm") if c not in latent.columns]
    if missing:
        raise DataError(f"read_descriptors: latent table lacks column(s) {missing}")
    n = len(latent)
    long = latent["long_axis_mm"].to_numpy(float) + size_error_mm * rng.standard_normal(n)
    short = latent["short_axis_mm"].to_numpy(float) + size_error_mm * rng.standard_normal(n)
    long, short = np.maximum(long, short), np.minimum(long, short)
    short = np.maximum(short, 1.0)
    long = np.round(np.maximum(long, short), 1)
    short = np.round(short, 1)
    out: dict[str, np.ndarray] = {"long_axis_mm": long, "short_axis_mm": short,
                                  "ls_ratio": np.round(long / short, 2)}
    for name in READ_KINDS:
        if name not in latent.columns:
            continue
        values = latent[name].to_numpy(dtype=object)
        out[name] = _misread(values, name, misread_rate, rng)
    return pd.DataFrame(out, index=latent.index)


def demo_schema(modalities: Mapping[str, bool] | None = None):
    """The :class:`lnfusion.data.CohortSchema` of the demo manifest.

    Parameters
    ----------
    modalities : mapping, optional
        Modality name -> colour flag (default ``bmode`` grey, ``cdfi`` and ``elasto``
        colour).
    """
    from lnfusion.data import CohortSchema, Descriptor, Modality

    if modalities is None:
        modalities = {"bmode": False, "cdfi": True, "elasto": True}
    descriptors = {}
    for name in DESCRIPTOR_COLUMNS:
        if name in CONTINUOUS_DESCRIPTORS:
            descriptors[name] = Descriptor("continuous")
        elif name in ORDINAL_DESCRIPTORS:
            descriptors[name] = Descriptor("ordinal", levels=DESCRIPTOR_LEVELS[name])
        else:
            descriptors[name] = Descriptor("categorical", levels=DESCRIPTOR_LEVELS[name])
    return CohortSchema(
        classes=CLASSES, patient="patient_id", node="node_id", label="label", site="site",
        descriptors=descriptors,
        modalities={m: Modality(colour=c) for m, c in modalities.items()},
    )
