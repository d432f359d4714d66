"""Naming and choosing the nodes to explain."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from lnfusion.exceptions import DataError

__all__ = ["node_labels", "patient_rows"]


def node_labels(cohort: Any) -> list[str]:
    """A readable, unique label per node: ``patient`` or ``patient/node``.

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    list of str
        ``"<patient_id>"`` when the manifest has no node column, else
        ``"<patient_id>/<node_id>"``.
    """
    patients = [str(p) for p in cohort.groups]
    node_col = getattr(cohort.schema, "node", None)
    table = cohort.table
    if node_col is None or node_col not in table.columns:
        return patients
    return [f"{p}/{n}" for p, n in zip(patients, table[node_col].astype(str))]


def patient_rows(cohort: Any, patients: Iterable[str] | str | None) -> np.ndarray:
    """Integer positions of the nodes of ``patients`` (all nodes when None).

    Parameters
    ----------
    cohort : Cohort
    patients : iterable of str, str or None
        Patient ids (a node label ``patient/node`` selects that node only).
        A comma-separated string is split.

    Returns
    -------
    ndarray of int
        Positions in cohort order.

    Raises
    ------
    DataError
        A requested patient is not in the cohort (the message lists some that are).
    """
    if patients is None:
        return np.arange(len(cohort))
    if isinstance(patients, str):
        patients = [p.strip() for p in patients.split(",") if p.strip()]
    wanted = [str(p) for p in patients]
    groups = np.asarray([str(g) for g in cohort.groups], dtype=object)
    labels = np.asarray(node_labels(cohort), dtype=object)
    keep = np.zeros(len(cohort), dtype=bool)
    unknown = []
    for p in wanted:
        hit = (groups == p) | (labels == p)
        if not hit.any():
            unknown.append(p)
        keep |= hit
    if unknown:
        known = list(dict.fromkeys(groups.tolist()))
        raise DataError(f"patient(s) {unknown} not found in {getattr(cohort, 'source', 'the cohort')}; "
                        f"{len(known)} patients, e.g. {known[:5]}")
    return np.flatnonzero(keep)
