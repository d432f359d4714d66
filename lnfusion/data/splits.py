"""Patient-grouped, class-stratified splits.

Every function here splits *patients*, never images or nodes: all nodes of a
patient land on the same side of every split.  Stratification uses one label
per patient (the most frequent class among the patient's nodes; a validated
:class:`~lnfusion.data.Cohort` has exactly one).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, ManifestError

__all__ = ["PatientSplit", "split_patients", "PatientStratifiedKFold", "leave_one_site_out",
           "patient_labels", "SPLIT_VALUES", "split_from_column", "split_from_test_patients",
           "read_patient_ids"]

#: Values of a predefined split column (:func:`split_from_column`).
SPLIT_VALUES: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class PatientSplit:
    """Node positions of a train / validation / test split (each sorted, disjoint)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.train, self.val, self.test))


def _check_y_groups(y: Any, groups: Any) -> tuple[np.ndarray, np.ndarray]:
    if groups is None:
        raise DataError("groups (patient id per node) is required: splits are made by patient")
    y = np.asarray(y)
    groups = np.asarray(groups)
    if y.ndim != 1 or groups.ndim != 1 or len(y) != len(groups):
        raise DataError(f"y and groups must be 1-D of the same length; got shapes {y.shape} "
                        f"and {groups.shape}")
    if len(y) == 0:
        raise DataError("cannot split an empty cohort (y has length 0)")
    if pd.isna(pd.Series(groups)).any():
        raise DataError("groups contains missing patient ids; expected an id on every node")
    return y, groups


def patient_labels(y: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One label per patient.

    Parameters
    ----------
    y, groups : array-like of shape (n_nodes,)
        Class per node and patient id per node.

    Returns
    -------
    patients : ndarray
        Distinct patient ids, in order of first appearance.
    labels : ndarray
        The most frequent class among each patient's nodes (ties: the first seen).
    inverse : ndarray
        For each node, the position of its patient in ``patients``.
    """
    y, groups = _check_y_groups(y, groups)
    codes, patients = pd.factorize(pd.Series(groups), sort=False)
    frame = pd.DataFrame({"p": codes, "y": y})
    first = frame.groupby(["p", "y"], sort=False).size().reset_index(name="n")
    first = first.sort_values("n", ascending=False, kind="stable").drop_duplicates("p")
    labels = first.set_index("p")["y"].reindex(range(len(patients))).to_numpy()
    return np.asarray(patients), labels, codes


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, for readable messages."""
    return value.item() if hasattr(value, "item") else value


def _nodes_of(patient_positions: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isin(inverse, patient_positions))


def split_patients(y: Any, groups: Any, test_size: float = 0.2, val_size: float = 0.0,
                   random_state: int | None = 0) -> PatientSplit:
    """Split patients into train / validation / test, stratified by class.

    Parameters
    ----------
    y : array-like of shape (n_nodes,)
        Class (index or name) per node.
    groups : array-like of shape (n_nodes,)
        Patient id per node.
    test_size, val_size : float
        Fractions of each class's patients for test and validation (0 gives an
        empty part).  Each class contributes ``round(size * n_patients)``
        patients, at least one when the size is positive.
    random_state : int or None
        Seed of the shuffle.

    Returns
    -------
    PatientSplit
        Node positions ``train``, ``val``, ``test`` (sorted).  Every node is in
        exactly one part, every patient in one part, and every class is in
        every non-empty part.

    Raises
    ------
    DataError
        Sizes out of range, or a class with too few patients to appear in every
        requested part (the message names the class and its patient count).
    """
    for name, size in (("test_size", test_size), ("val_size", val_size)):
        if not (0.0 <= float(size) < 1.0):
            raise DataError(f"{name} must be a fraction in [0, 1), got {size!r}")
    if test_size + val_size >= 1.0:
        raise DataError(f"test_size + val_size must be < 1 to leave training patients; got "
                        f"{test_size} + {val_size}")
    patients, labels, inverse = patient_labels(y, groups)
    rng = np.random.default_rng(random_state)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    n_parts = 1 + (test_size > 0) + (val_size > 0)
    for cls in pd.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < n_parts:
            raise DataError(
                f"class {_plain(cls)!r} has {len(members)} patient(s); cannot place at least one in each of "
                f"the {n_parts} requested parts (train{', val' if val_size > 0 else ''}"
                f"{', test' if test_size > 0 else ''}). Lower val_size/test_size or add patients")
        members = rng.permutation(members)
        n = len(members)
        n_test = max(1, int(round(test_size * n))) if test_size > 0 else 0
        n_val = max(1, int(round(val_size * n))) if val_size > 0 else 0
        while n_test + n_val > n - 1:  # keep one training patient
            if n_val >= n_test and n_val > 1:
                n_val -= 1
            elif n_test > 1:
                n_test -= 1
            else:
                break
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test:n_test + n_val])
        parts["train"].append(members[n_test + n_val:])
    out = {k: _nodes_of(np.concatenate(v) if v else np.array([], dtype=int), inverse)
           for k, v in parts.items()}
    return PatientSplit(train=out["train"], val=out["val"], test=out["test"])


class PatientStratifiedKFold:
    """K-fold over patients, stratified by each patient's class.

    A scikit-learn splitter (``split(X, y, groups)``, ``get_n_splits``): usable
    as ``cv=`` wherever scikit-learn accepts one.  Folds are made with
    :class:`sklearn.model_selection.StratifiedKFold` on one row per patient,
    so class proportions are kept at patient level and no patient is in two
    folds.

    Parameters
    ----------
    n_splits : int
        Number of folds (>= 2).
    shuffle : bool
        Shuffle patients within each class before folding.
    random_state : int or None
        Seed used when ``shuffle`` is True.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = True, random_state: int | None = None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds."""
        return int(self.n_splits)

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` node positions for each fold.

        Parameters
        ----------
        X : Cohort or array-like
            When a Cohort and ``y`` / ``groups`` are None, its ``y`` and
            ``groups`` are used.
        y : array-like of shape (n_nodes,)
            Class per node.
        groups : array-like of shape (n_nodes,)
            Patient id per node (required).

        Raises
        ------
        DataError
            ``groups`` missing, fewer than ``n_splits`` patients, or a class with
            fewer patients than ``n_splits``.
        """
        from sklearn.model_selection import StratifiedKFold

        if y is None and hasattr(X, "y"):
            y = X.y
        if groups is None and hasattr(X, "groups"):
            groups = X.groups
        if y is None:
            raise DataError("PatientStratifiedKFold.split needs y (class per node)")
        if not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 2:
            raise DataError(f"n_splits must be an integer >= 2, got {self.n_splits!r}")
        patients, labels, inverse = patient_labels(y, groups)
        counts = pd.Series(labels).value_counts()
        small = counts[counts < self.n_splits]
        if len(small):
            raise DataError(
                f"PatientStratifiedKFold(n_splits={self.n_splits}): class(es) "
                f"{ {_plain(k): int(v) for k, v in small.items()} } have fewer patients than folds; expected at least "
                f"{self.n_splits} patients per class. Lower n_splits")
        skf = StratifiedKFold(n_splits=self.n_splits, shuffle=self.shuffle,
                              random_state=self.random_state if self.shuffle else None)
        for train_p, test_p in skf.split(np.zeros(len(patients)), labels):
            yield _nodes_of(train_p, inverse), _nodes_of(test_p, inverse)

    def __repr__(self) -> str:
        return (f"PatientStratifiedKFold(n_splits={self.n_splits}, shuffle={self.shuffle}, "
                f"random_state={self.random_state})")


def leave_one_site_out(sites: Any, groups: Any = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``(site, train_idx, test_idx)``: each site in turn is the test set.

    Parameters
    ----------
    sites : array-like of shape (n_nodes,) or Cohort
        Site per node (a Cohort's ``sites`` are used when a Cohort is given).
    groups : array-like, optional
        Patient id per node.  When given, a patient seen at two sites raises
        ``DataError`` (it would be on both sides of a split).

    Raises
    ------
    DataError
        No sites, missing site values, fewer than two sites, or a patient at two sites.
    """
    if hasattr(sites, "sites") and hasattr(sites, "groups"):
        if groups is None:
            groups = sites.groups
        sites = sites.sites
    if sites is None:
        raise DataError("leave_one_site_out needs a site per node; the cohort has no site column")
    sites = np.asarray(sites, dtype=object)
    if pd.isna(pd.Series(sites)).any():
        raise DataError("sites contains missing values; expected a site on every node")
    names = sorted(pd.unique(sites), key=str)
    if len(names) < 2:
        raise DataError(f"leave_one_site_out needs at least two sites, got {names}")
    if groups is not None:
        frame = pd.DataFrame({"g": np.asarray(groups), "s": sites})
        multi = frame.groupby("g")["s"].nunique()
        multi = multi[multi > 1]
        if len(multi):
            raise DataError(f"patient(s) {list(multi.index[:5])} appear at several sites; "
                            "expected each patient at one site")
    for name in names:
        test = np.flatnonzero(sites == name)
        train = np.flatnonzero(sites != name)
        yield str(name), train, test


# --------------------------------------------------------------------------------------
# predefined splits (published folds)
# --------------------------------------------------------------------------------------
def _row(pos: int) -> str:
    return f"row {pos + 2} (position {pos})"


def _ids(groups: Any) -> np.ndarray:
    if groups is None:
        raise DataError("groups (patient id per node) is required: splits are made by patient")
    groups = np.asarray([str(g) for g in np.asarray(groups, dtype=object)], dtype=object)
    if len(groups) == 0:
        raise DataError("cannot split an empty cohort (no nodes)")
    return groups


def split_from_column(values: Any, groups: Any, column: str = "split",
                      source: str = "manifest") -> PatientSplit:
    """The train / test split a manifest column gives (published folds).

    Parameters
    ----------
    values : array-like of shape (n_nodes,)
        The column: ``"train"`` or ``"test"`` on every row (case and
        surrounding spaces ignored).
    groups : array-like of shape (n_nodes,)
        Patient id per node.
    column, source : str
        Names of the column and of the file, for messages.

    Returns
    -------
    PatientSplit
        ``train`` and ``test`` node positions; ``val`` is empty.

    Raises
    ------
    ManifestError
        A cell is empty or not one of :data:`SPLIT_VALUES` (the message names
        the row and the value), or a patient's nodes are on both sides, or no
        node is marked ``train``.
    """
    groups = _ids(groups)
    values = list(values) if not isinstance(values, pd.Series) else values.tolist()
    if len(values) != len(groups):
        raise DataError(f"{source}, column {column!r}: {len(values)} values for {len(groups)} nodes")
    parts = np.empty(len(values), dtype=object)
    for pos, v in enumerate(values):
        text = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip().lower()
        if text not in SPLIT_VALUES:
            got = "an empty cell" if not text else repr(v)
            raise ManifestError(f"{source}, {_row(pos)}, column {column!r}: {got}; expected one of "
                                f"{list(SPLIT_VALUES)} on every row", row=pos, column=column)
        parts[pos] = text
    frame = pd.DataFrame({"patient": groups, "part": parts})
    sides = frame.groupby("patient", sort=False)["part"].nunique()
    both = list(sides.index[sides > 1])
    if both:
        first = both[0]
        rows = np.flatnonzero(groups == first)
        detail = "; ".join(f"{parts[r]} on {_row(r)}" for r in rows[:6])
        pos = int(rows[np.flatnonzero(parts[rows] != parts[rows[0]])[0]])
        raise ManifestError(
            f"{source}, column {column!r}: patient {first!r} has nodes on both sides ({detail})"
            + (f"; {len(both) - 1} other patient(s) too: {both[1:6]}" if len(both) > 1 else "")
            + "; expected all nodes of a patient in one part (a patient split in two leaks "
            "between training and test)", row=pos, column=column)
    train = np.flatnonzero(parts == "train")
    test = np.flatnonzero(parts == "test")
    if len(train) == 0:
        raise ManifestError(f"{source}, column {column!r}: no row is 'train'; expected training "
                            "patients", column=column)
    return PatientSplit(train=train, val=np.array([], dtype=int), test=test)


def split_from_test_patients(test_patients: Iterable[Any], groups: Any,
                             source: str = "the test patient list") -> PatientSplit:
    """The split that holds out the listed patients (every node of each) as the test set.

    Parameters
    ----------
    test_patients : iterable
        Patient ids of the test set (compared as text, so ``7`` matches ``"7"``).
    groups : array-like of shape (n_nodes,)
        Patient id per node.
    source : str
        Where the list came from, for messages (e.g. the file name).

    Returns
    -------
    PatientSplit
        ``train``: every other node; ``val`` is empty.

    Raises
    ------
    DataError
        The list is empty, names patients the cohort does not have (the
        message lists them), or leaves no training patient.
    """
    groups = _ids(groups)
    wanted = list(dict.fromkeys(str(p).strip() for p in test_patients))
    if not wanted:
        raise DataError(f"{source}: no patient ids; expected the ids of the test patients")
    known = set(groups)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        shown = ", ".join(repr(p) for p in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DataError(f"{source}: {len(unknown)} patient id(s) not in the cohort: {shown}{more}; "
                        f"expected ids of the manifest's patient column (e.g. {sorted(known)[:3]})")
    is_test = np.isin(groups, wanted)
    if is_test.all():
        raise DataError(f"{source}: every patient of the cohort is listed; expected some "
                        "patients left for training")
    return PatientSplit(train=np.flatnonzero(~is_test), val=np.array([], dtype=int),
                        test=np.flatnonzero(is_test))


def read_patient_ids(path: str | os.PathLike, column: str | None = None) -> list[str]:
    """Patient ids from a file: one per line, or a CSV column.

    Parameters
    ----------
    path : path-like
        A text file with one id per line (blank lines and lines starting with
        ``#`` skipped), or a ``.csv`` file.
    column : str, optional
        The CSV column holding the ids; default its first column.

    Raises
    ------
    DataError
        The file is missing or unreadable, or the column is not in the CSV.
    """
    from pathlib import Path

    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            if column is None:
                column = frame.columns[0] if len(frame.columns) else None
            if column not in frame.columns:
                raise DataError(f"{path}: no column {column!r}; columns: {list(frame.columns)}")
            return [v.strip() for v in frame[column].tolist() if v.strip()]
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: patient id file not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read patient ids ({exc})") from exc
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
