"""The stratified patient (cluster) bootstrap: the one resampler of lnfusion.

A patient may contribute several nodes, so resampling nodes would treat
correlated nodes as independent and understate the variance.  The resampler
draws whole patients with replacement -- each draw brings all of the patient's
nodes -- within strata of patients, as pROC's stratified bootstrap draws cases
and controls separately.

**Stratum of a patient** (:func:`patient_strata`): the set of distinct classes
among its nodes (its *class make-up*), e.g. ``"benign"``, ``"metastatic"`` or
``"benign|metastatic"``.  Every make-up present in the sample keeps its number
of patients in every resample, so every class present in the sample is present
in every resample (a one-vs-rest AUC is defined on every resample and no
resample is discarded); in the two-class case the strata are "negatives only",
"positives only" and "both".  See the statistics documentation for why this
rule, rather than a majority or most-severe class, is used.

Without patient ids every node is its own patient, so the strata are the
classes (pROC's stratified bootstrap); without strata, patients are drawn from
one pool.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError

__all__ = ["cluster_bootstrap_indices", "bootstrap_weights", "patient_strata"]

#: Separator of the classes in a stratum key.
SEPARATOR = "|"


def _patients(n: int, groups: np.ndarray | Sequence | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Patient ids (sorted as text), node order grouped by patient, start and size of each."""
    if groups is None:
        ids = np.arange(n).astype(str)
    else:
        ids = np.asarray(groups).astype(str)
        if ids.shape != (n,):
            raise DataError(f"groups: expected one patient id per node ({n}), got shape "
                            f"{ids.shape}")
    uniq, codes = np.unique(ids, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=uniq.size)
    starts = np.cumsum(counts) - counts
    return uniq, order, starts, counts


def _strata_keys(strata: np.ndarray | Sequence, order: np.ndarray, starts: np.ndarray,
                 counts: np.ndarray) -> np.ndarray:
    st = np.asarray(strata).astype(str)
    if st.shape != order.shape:
        raise DataError(f"strata: expected one class per node ({order.size}), got shape "
                        f"{st.shape}")
    st = st[order]
    return np.asarray([SEPARATOR.join(np.unique(st[s0:s0 + c])) for s0, c in zip(starts, counts)])


def patient_strata(strata: np.ndarray | Sequence,
                   groups: np.ndarray | Sequence | None = None) -> pd.Series:
    """Stratum of each patient: the sorted distinct classes of its nodes, joined by ``|``.

    Parameters
    ----------
    strata : array-like of shape (n,)
        Class of each node.
    groups : array-like of shape (n,), optional
        Patient id of each node; ``None``: every node is its own patient.

    Returns
    -------
    pandas.Series
        Indexed by patient id (as text, sorted), the stratum key of each patient.

    Examples
    --------
    >>> patient_strata(["b", "m", "b", "m"], groups=["p1", "p1", "p2", "p3"]).to_dict()
    {'p1': 'b|m', 'p2': 'b', 'p3': 'm'}
    """
    st = np.asarray(strata)
    uniq, order, starts, counts = _patients(st.shape[0], groups)
    return pd.Series(_strata_keys(st, order, starts, counts), index=uniq, name="stratum")


def cluster_bootstrap_indices(n: int, groups: np.ndarray | Sequence | None, n_boot: int,
                              random_state: int | np.random.Generator | None = 0,
                              strata: np.ndarray | Sequence | None = None
                              ) -> Iterator[np.ndarray]:
    """Yield bootstrap resamples of node positions, resampling whole patients.

    Parameters
    ----------
    n : int
        Number of nodes.
    groups : array-like of shape (n,) or None
        Patient id per node; ``None`` resamples nodes independently.
    n_boot : int
        Number of resamples.
    random_state : int, Generator or None, default 0
    strata : array-like of shape (n,), optional
        Class per node.  Patients are then drawn within strata of patients
        with the same class make-up (:func:`patient_strata`; nodes within
        classes when ``groups`` is None), as pROC's stratified bootstrap, so
        every resample keeps the number of patients of each make-up.

    Yields
    ------
    numpy.ndarray of int
        Node positions of one resample (patients drawn with replacement, each
        bringing all of its nodes, in their original order).
    """
    rng = np.random.default_rng(random_state)
    _, order, starts, counts = _patients(int(n), groups)
    if strata is None:
        pools = [np.arange(counts.size)]
    else:
        keys = _strata_keys(strata, order, starts, counts)
        pools = [np.flatnonzero(keys == key) for key in np.unique(keys)]
    for _ in range(int(n_boot)):
        pick = np.concatenate([pool[rng.integers(0, pool.size, pool.size)] for pool in pools])
        lens = counts[pick]
        ends = np.cumsum(lens)
        offs = np.repeat(starts[pick] - (ends - lens), lens)
        yield order[np.arange(ends[-1]) + offs]


def bootstrap_weights(n: int, groups: np.ndarray | Sequence | None, n_boot: int,
                      random_state: int | np.random.Generator | None = 0,
                      strata: np.ndarray | Sequence | None = None) -> Iterator[np.ndarray]:
    """Yield the resamples of :func:`cluster_bootstrap_indices` as node weights.

    The weight of a node is how often it was drawn, the form
    :class:`lnfusion.stats.auc.SortedScores` takes to score a resample without
    re-sorting.

    Yields
    ------
    numpy.ndarray of float, shape (n,)
    """
    for idx in cluster_bootstrap_indices(n, groups, n_boot, random_state, strata):
        yield np.bincount(idx, minlength=int(n)).astype(float)
