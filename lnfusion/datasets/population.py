"""The simulated population as tables: patients, nodes, latent anatomy, readings.

:func:`simulate_population` draws everything except the pixels: which site
each patient attends, the class (from the site's class mix) and disease
subtype, age and sex, how many nodes were examined, each node's side, neck
level and latent anatomy, the elasticity score its strain image shows, how many
frames of each modality it has and which modalities are missing, and the
radiologist's (noisy) descriptor readings.  It is cheap (no image is rendered),
so statistics of large cohorts can be checked without images, and
:func:`~lnfusion.datasets.demo.make_demo_cohort` renders the images of exactly
these nodes.

Randomness: every table is drawn from its own child of
``numpy.random.SeedSequence(seed)``; every node's structure from the node's own
sequence (:func:`~lnfusion.datasets.acquisition.node_seed`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lnfusion.datasets.acquisition import MODALITIES, node_seed, node_structure
from lnfusion.datasets.anatomy import CLASSES, sample_anatomy, sample_subtypes
from lnfusion.datasets.clinical import (
    sample_age,
    sample_location,
    sample_node_counts,
    sample_sex,
    sample_side,
)
from lnfusion.datasets.descriptors import (
    DEFAULT_MISREAD_RATE,
    DEFAULT_SIZE_ERROR_MM,
    DESCRIPTOR_COLUMNS,
    read_descriptors,
)
from lnfusion.datasets.elastography import read_elasto_score
from lnfusion.datasets.sites import SITES, Site
from lnfusion.exceptions import ConfigError

__all__ = ["Population", "simulate_population", "DEFAULT_MISSING_RATE",
           "SECOND_IMAGE_PROB"]

#: Share of nodes lacking colour Doppler and/or elastography.
DEFAULT_MISSING_RATE = 0.10
#: P(a node has a second frame of a modality).
SECOND_IMAGE_PROB = 0.4
#: Of the nodes with a missing modality: P(elastography only, CDFI only, both).
MISSING_KIND = (0.55, 0.30, 0.15)
_PATIENTS, _CLINICAL, _ANATOMY, _FRAMES, _READING = 0, 1, 2, 3, 4


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


@dataclass
class Population:
    """The tables of a simulated cohort.

    Attributes
    ----------
    nodes : pandas.DataFrame
        One row per node: ids, site, label, subtype, clinical variables, the
        latent anatomy (true values), ``elasto_score`` (true score shown by the
        strain image), ``n_bmode``/``n_cdfi``/``n_elasto`` (frames per modality,
        0 = missing).
    descriptors : pandas.DataFrame
        The manifest's id, label, site and descriptor columns (the readings),
        aligned with ``nodes``.
    seed : int
        The seed that produced it.
    """

    nodes: pd.DataFrame
    descriptors: pd.DataFrame
    seed: int


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def simulate_population(n_patients: int = 586, seed: int = 0, *,
                        modality_signal: Mapping[str, float] | None = None,
                        missing_rate: float = DEFAULT_MISSING_RATE,
                        misread_rate: float = DEFAULT_MISREAD_RATE,
                        size_error_mm: float = DEFAULT_SIZE_ERROR_MM,
                        sites: Sequence[Site] = SITES) -> Population:
    """Draw the simulated cohort's tables (no images).

    Parameters
    ----------
    n_patients : int
        Number of patients (each has 1-3 nodes; at least one patient per class).
    seed : int
        Seed of every random draw.
    modality_signal : mapping, optional
        Class-separation strength of each modality's image-only features
        (:data:`~lnfusion.datasets.anatomy.DEFAULT_MODALITY_SIGNAL`).
    missing_rate : float
        Share of nodes lacking CDFI and/or elastography (exactly
        ``round(missing_rate * n_nodes)`` nodes).
    misread_rate : float
        Probability that a categorical/ordinal descriptor reading is wrong.
    size_error_mm : float
        Standard deviation of the axis measurement error (mm).
    sites : sequence of Site
        The hospitals (default :data:`~lnfusion.datasets.sites.SITES`).

    Returns
    -------
    Population
    """
    n_patients = _check_int("n_patients", n_patients, len(CLASSES))
    seed = _check_int("seed", seed, 0)
    try:
        missing_rate = float(missing_rate)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"missing_rate: expected a number in [0, 1], "
                          f"got {missing_rate!r}") from exc
    if not 0.0 <= missing_rate <= 1.0:
        raise ConfigError(f"missing_rate: expected a number in [0, 1], got {missing_rate!r}")
    sites = tuple(sites)
    if not sites:
        raise ConfigError("sites: expected at least one Site")

    # --- patients ------------------------------------------------------------------
    rng = _rng(seed, _PATIENTS)
    share = np.array([s.share for s in sites], dtype=float)
    site_idx = rng.choice(len(sites), size=n_patients, p=share / share.sum())
    mix = np.array([s.class_mix for s in sites], dtype=float)
    mix = mix / mix.sum(axis=1, keepdims=True)
    u = rng.random(n_patients)
    label_idx = np.minimum((u[:, None] >= np.cumsum(mix[site_idx], axis=1)).sum(axis=1),
                           len(CLASSES) - 1)
    # every class has at least one patient (matters only for tiny cohorts)
    for missing in [c for c in range(len(CLASSES)) if c not in set(label_idx)]:
        largest = np.bincount(label_idx, minlength=len(CLASSES)).argmax()
        label_idx[np.flatnonzero(label_idx == largest)[0]] = missing
    labels = np.asarray(CLASSES, dtype=object)[label_idx]
    subtypes = sample_subtypes(labels, rng)
    age = sample_age(subtypes, rng)
    sex = sample_sex(subtypes, rng)
    n_nodes = sample_node_counts(labels, rng)
    width = max(4, len(str(n_patients)))
    patient_ids = np.array([f"P{i + 1:0{width}d}" for i in range(n_patients)], dtype=object)

    # --- nodes ---------------------------------------------------------------------
    p_of_node = np.repeat(np.arange(n_patients), n_nodes)
    node_ids = np.concatenate([[f"N{k + 1}" for k in range(c)] for c in n_nodes])
    nodes = pd.DataFrame({
        "patient_id": patient_ids[p_of_node],
        "node_id": node_ids.astype(object),
        "site": np.array([sites[i].name for i in site_idx], dtype=object)[p_of_node],
        "label": labels[p_of_node],
        "subtype": subtypes[p_of_node],
        "age": age[p_of_node],
        "sex": sex[p_of_node],
    })
    rng = _rng(seed, _CLINICAL)
    nodes["side"] = sample_side(nodes["label"].to_numpy(), p_of_node, rng)
    nodes["location"] = sample_location(nodes["subtype"].to_numpy(), rng)
    latent = sample_anatomy(nodes["label"].to_numpy(), _rng(seed, _ANATOMY),
                            subtypes=nodes["subtype"].to_numpy(), groups=p_of_node,
                            modality_signal=modality_signal)
    nodes = pd.concat([nodes, latent.drop(columns=["label", "subtype"])], axis=1)
    records = nodes.to_dict("records")
    nodes["elasto_score"] = [read_elasto_score(node_structure(rec, node_seed(seed, i), full=False))
                             for i, rec in enumerate(records)]

    # --- frames per modality and missing modalities -----------------------------------
    rng = _rng(seed, _FRAMES)
    n = len(nodes)
    for m in MODALITIES:
        nodes[f"n_{m}"] = 1 + (rng.random(n) < SECOND_IMAGE_PROB).astype(int)
    n_missing = int(round(missing_rate * n))
    if n_missing:
        weight = np.array([next(s for s in sites if s.name == name).elasto_missing_weight
                           for name in nodes["site"]], dtype=float)
        chosen = rng.choice(n, size=n_missing, replace=False, p=weight / weight.sum())
        kind = rng.choice(3, size=n_missing, p=MISSING_KIND)
        nodes.loc[chosen[kind != 1], "n_elasto"] = 0
        nodes.loc[chosen[kind != 0], "n_cdfi"] = 0

    # --- readings --------------------------------------------------------------------
    seen = nodes.copy()
    seen["elasto_score"] = seen["elasto_score"].astype(object).where(seen["n_elasto"] > 0, None)
    for col in ("cdfi_pattern", "adler_grade"):
        seen[col] = seen[col].astype(object).where(seen["n_cdfi"] > 0, None)
    readings = read_descriptors(seen, _rng(seed, _READING), misread_rate=misread_rate,
                                size_error_mm=size_error_mm)
    descriptors = nodes[["patient_id", "node_id", "label", "site", "age", "sex", "side",
                         "location"]].copy()
    for col in DESCRIPTOR_COLUMNS:
        if col in readings.columns:
            descriptors[col] = readings[col]
    descriptors = descriptors[["patient_id", "node_id", "label", "site", *DESCRIPTOR_COLUMNS]]
    return Population(nodes=nodes, descriptors=descriptors, seed=seed)
