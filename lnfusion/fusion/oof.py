"""Out-of-fold machinery for stacking: which model predicts which patient.

The fusion head must learn how much to trust each branch from predictions the
branch made on patients it has *not* trained on; otherwise a branch that
memorises its training patients looks perfect and the head trusts it blindly.
:func:`inner_splits` makes patient-grouped, class-stratified splits inside the
training cohort, and :func:`cross_fit` fits a fresh clone of every branch on
each split's training patients, predicts the held-out patients, and refits
every branch on all training patients for inference, in one task pool run by
an executor (:mod:`lnfusion.fusion.executors`: in order, local processes or Ray).

A branch with a ``checkpoint_dir`` parameter (the image branch) checkpoints
each of its fits in a folder of its own, ``<checkpoint_dir>/<branch>/fold<k>``
and ``<checkpoint_dir>/<branch>/all``: every fit trains on other patients, so
``resume=True`` continues each fit from its own checkpoint (after a kill) and
never meets another fit's.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from lnfusion.exceptions import DataError
from lnfusion.models.hardware import default_threads

__all__ = ["OutOfFold", "inner_splits", "branch_outputs", "cross_fit"]


@dataclass(frozen=True, eq=False)
class OutOfFold:
    """Out-of-fold outputs of every branch on the training nodes.

    Attributes
    ----------
    proba : dict of str to ndarray (n_nodes, n_classes)
        Probabilities; NaN rows where the branch could not see the node or the
        node was never held out (holdout mode: the inner-training nodes).
    embeddings : dict of str to ndarray, or None
        Branch embeddings (``transform``; log-probabilities for a branch without
        it), NaN rows likewise; None unless requested.
    folds : ndarray of int (n_nodes,)
        Split that held each node out; -1 for nodes never held out.
    splits : list of (train_idx, test_idx)
        The inner splits (node positions).
    """

    proba: dict[str, np.ndarray]
    embeddings: dict[str, np.ndarray] | None
    folds: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]


def inner_splits(y: np.ndarray, groups: np.ndarray, cv: int | str = 5, holdout_size: float = 0.25,
                 random_state: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-grouped, class-stratified splits inside a training cohort.

    Parameters
    ----------
    y, groups : ndarray (n_nodes,)
        Class index and patient id per node.
    cv : int or "holdout"
        ``K >= 2``: :class:`~lnfusion.data.splits.PatientStratifiedKFold` (every
        node is held out once).  ``"holdout"``: one split with a
        ``holdout_size`` fraction of each class's patients held out (cheaper;
        the head then trains on the held-out nodes only).
    holdout_size : float
        Fraction of patients held out with ``cv="holdout"``.
    random_state : int or None
        Seed of the patient shuffle.

    Returns
    -------
    list of (train_idx, test_idx)
        Node positions; no patient is on both sides of a split.
    """
    from lnfusion.data.splits import PatientStratifiedKFold, split_patients

    if isinstance(cv, str):
        if cv != "holdout":
            raise DataError(f"cv={cv!r}: expected an integer >= 2 or 'holdout'")
        if not 0.0 < float(holdout_size) < 1.0:
            raise DataError(f"holdout_size must be a fraction in (0, 1), got {holdout_size!r}")
        split = split_patients(y, groups, test_size=float(holdout_size), val_size=0.0,
                               random_state=random_state)
        return [(split.train, split.test)]
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise DataError(f"cv={cv!r}: expected an integer >= 2 or 'holdout'")
    kfold = PatientStratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
    return [(np.asarray(tr), np.asarray(te)) for tr, te in kfold.split(None, y, groups)]


def branch_outputs(name: str, branch: Any, cohort: Any, n_classes: int,
                   embed: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities (and embeddings) of a fitted branch, checked.

    The probabilities must be ``(len(cohort), n_classes)``; a NaN row means
    "cannot see this node".  Embeddings come from ``branch.transform`` (or are
    the log-probabilities when the branch has no ``transform``); their rows are
    set to NaN wherever the probabilities are NaN.
    """
    proba = np.asarray(branch.predict_proba(cohort), dtype=np.float64)
    if proba.shape != (len(cohort), n_classes):
        raise DataError(f"branch {name!r}: predict_proba returned shape {proba.shape}; expected "
                        f"({len(cohort)}, {n_classes})")
    missing = np.isnan(proba).any(axis=1)
    proba[missing] = np.nan
    if not embed:
        return proba, None
    if hasattr(branch, "transform"):
        emb = np.asarray(branch.transform(cohort), dtype=np.float64)
        if emb.ndim != 2 or emb.shape[0] != len(cohort):
            raise DataError(f"branch {name!r}: transform returned shape {emb.shape}; expected "
                            f"({len(cohort)}, n_features)")
    else:
        from lnfusion.fusion.heads import PROBA_FLOOR

        emb = np.log(np.clip(np.nan_to_num(proba, nan=1.0), PROBA_FLOOR, 1.0))
    emb = emb.copy()
    emb[missing | np.isnan(emb).any(axis=1)] = np.nan
    return proba, emb


def _fit_task(cohort: Any, y: np.ndarray, name: str, branch: Any, train: np.ndarray,
              test: np.ndarray | None, n_classes: int, embed: bool, part: str = "all",
              threads: int | None = None):
    model = clone(branch)
    shared = _checkpoint_dir(model)
    if shared is not None:
        model.set_params(checkpoint_dir=os.path.join(os.fspath(shared), name, part))
    share_cores = threads is not None and _leaves_threads_unset(model)
    if share_cores:
        model.set_params(n_threads=threads)
    model.fit(cohort.subset(train), y[train])
    if shared is not None:
        model.set_params(checkpoint_dir=shared)  # the fitted branch keeps the settings it was given
    if test is None:
        if share_cores:
            model.set_params(n_threads=None)
        return model, None, None
    proba, emb = branch_outputs(name, model, cohort.subset(test), n_classes, embed)
    return None, proba, emb


def _uses_gpu(model: Any) -> bool:
    """Whether a branch may train on a GPU (it has a ``device`` parameter: the image branch)."""
    get_params = getattr(model, "get_params", None)
    return get_params is not None and "device" in get_params(deep=False)


def _leaves_threads_unset(model: Any) -> bool:
    """True when the estimator has an ``n_threads`` parameter left at None (its default)."""
    get_params = getattr(model, "get_params", None)
    params = {} if get_params is None else get_params(deep=False)
    return "n_threads" in params and params["n_threads"] is None


def _checkpoint_dir(model: Any) -> Any:
    """The estimator's ``checkpoint_dir`` parameter, None when it has none or it is unset."""
    get_params = getattr(model, "get_params", None)
    return None if get_params is None else get_params(deep=False).get("checkpoint_dir")


def cross_fit(branches: Mapping[str, Any], cohort: Any, y: np.ndarray, n_classes: int,
              splits: Sequence[tuple[np.ndarray, np.ndarray]], embed: bool = False, n_jobs: int | None = 1,
              progress: bool = True, refit: bool = True, executor: Any = None) -> tuple[OutOfFold, dict[str, Any]]:
    """Out-of-fold outputs of every branch, and every branch refit on all nodes.

    For each split and branch a fresh ``clone`` is fitted on the split's
    training nodes and predicts its held-out nodes only, so the output for a
    patient always comes from a model that never saw that patient.

    Parameters
    ----------
    branches : dict of str to unfitted estimator
    cohort : Cohort
        The training cohort.
    y : ndarray of int (n_nodes,)
        Class index per node.
    n_classes : int
    splits : list of (train_idx, test_idx)
        From :func:`inner_splits`.
    embed : bool
        Also collect out-of-fold embeddings (for the MLP head).
    n_jobs : int or None
        Parallel tasks of the ``"processes"`` executor (joblib); with the
        default executor, 1 runs them in order in this process.  A branch whose
        ``n_threads`` is None fits with its share of the cores
        (:func:`lnfusion.models.hardware.default_threads` of the parallel fits;
        on Ray, the ``num_cpus`` each task reserves).
    progress : bool
        Show progress on stderr: a bar on a terminal, else one line per fit
        with the elapsed and remaining time (:mod:`lnfusion.progress`).
    refit : bool, default True
        Also fit every branch on all of ``cohort``.  False skips these fits
        (e.g. to get out-of-fold outputs for other ``splits`` when the refit
        branches already exist); ``splits`` may be empty when ``refit`` is True
        (refit only).
    executor : str, dict or ExecutorSpec, optional
        Where the fits run: ``"sequential"``, ``"processes"`` or ``"ray"``
        (see :mod:`lnfusion.fusion.executors`); default from ``n_jobs``.  Every
        executor gives the same outputs (bit for bit on CPU at the same number
        of threads).

    Returns
    -------
    OutOfFold
    dict of str to fitted estimator
        Every branch fitted on all of ``cohort`` (empty when ``refit`` is False).
    """
    n = len(cohort)
    names = list(branches)
    tasks: list[tuple[str, np.ndarray, np.ndarray | None, str]] = []
    for k, (train, test) in enumerate(splits):
        tasks += [(b, np.asarray(train), np.asarray(test), f"fold{k + 1}") for b in names]
    if refit:
        tasks += [(b, np.arange(n), None, "all") for b in names]      # refit on everyone
    if not tasks:
        raise DataError("cross_fit: nothing to fit (no splits and refit=False)")

    from lnfusion.fusion.executors import resolve_executor, run_tasks

    spec = resolve_executor(executor, n_jobs)
    if spec.kind == "ray":   # each task's share of the cores is what it reserves
        threads = max(1, int(spec.num_cpus))
    else:
        threads = default_threads(n_jobs if spec.kind == "processes" else 1)
    jobs = [(b, branches[b], train, test, n_classes, embed, part, threads)
            for b, train, test, part in tasks]
    labels = [f"{b}, {part}" for b, _, _, part in tasks]  # "bmode, fold3"; "bmode, all": the refit
    results = run_tasks(_fit_task, jobs, labels, shared=(cohort, y), executor=spec,
                        n_jobs=n_jobs, uses_gpu=[_uses_gpu(branches[b]) for b, *_ in tasks],
                        progress=progress)

    folds = np.full(n, -1, dtype=np.int64)
    for f, (_, test) in enumerate(splits):
        if np.any(folds[test] >= 0):
            raise DataError("inner splits overlap: a node is held out twice")
        folds[test] = f
    proba = {b: np.full((n, n_classes), np.nan) for b in names}
    embeddings: dict[str, np.ndarray] | None = {} if embed else None
    fitted: dict[str, Any] = {}
    for (b, _, test, _), (model, p, e) in zip(tasks, results):
        if test is None:
            fitted[b] = model
            continue
        proba[b][test] = p
        if embed:
            if b not in embeddings:
                embeddings[b] = np.full((n, e.shape[1]), np.nan)
            elif embeddings[b].shape[1] != e.shape[1]:
                raise DataError(f"branch {b!r}: embedding width changed between folds "
                                f"({embeddings[b].shape[1]} vs {e.shape[1]})")
            embeddings[b][test] = e
    return OutOfFold(proba=proba, embeddings=embeddings, folds=folds, splits=list(splits)), fitted
