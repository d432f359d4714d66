"""Late fusion of per-modality image branches and the clinical branch.

:class:`LateFusionClassifier` follows scikit-learn's StackingClassifier, with
patient-grouped inner splits: the head trains only on out-of-fold branch
predictions, and the branches are refit on all training patients for
inference.  See ``docs/modelling.md``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from lnfusion.exceptions import DataError, LnfusionError, ParameterError, check_fitted
from lnfusion.fusion.heads import HEADS, FusionHead, available_rows, make_head
from lnfusion.fusion.oof import OutOfFold, branch_outputs, cross_fit, inner_splits
from lnfusion.fusion.persistence import read_model, save_model
from lnfusion.models.hardware import check_threads

__all__ = ["LateFusionClassifier", "TABULAR_BRANCH", "TABULAR_NAMES", "load_model"]

#: Name of the clinical-descriptor branch.
TABULAR_BRANCH = "tabular"
#: The ``tabular`` values naming a :class:`~lnfusion.models.TabularClassifier` estimator.
TABULAR_NAMES = ("xgboost", "logistic")


class LateFusionClassifier(ClassifierMixin, BaseEstimator):
    """One image branch per modality plus a clinical branch, fused by a head.

    Parameters
    ----------
    modalities : sequence of str, default ("bmode", "cdfi", "elasto")
        One :class:`~lnfusion.models.ImageBranchClassifier` per modality
        (branch name = modality name).  Empty for a tabular-only model.
    backbone : str or dict, default "resnet18"
        timm backbone of every image branch, or a dict modality -> backbone
        (key ``"default"`` for the modalities not listed).
    image_params : dict, optional
        Keyword arguments for every ``ImageBranchClassifier`` (``image_size``,
        ``epochs``, ``pretrained``, ...).  ``random_state``, ``progress`` and
        ``n_threads`` default to this model's.
    branches : list of (str, estimator) pairs or dict, optional
        Explicit unfitted branches (name -> estimator following the branch
        contract), as scikit-learn's ``StackingClassifier(estimators=...)``.
        When set it decides the branches: ``modalities``, ``backbone``,
        ``image_params`` and ``tabular`` no longer apply.  Names must not
        contain ``"__"`` nor be another parameter's name (``"tabular"`` is the
        clinical branch's).
    tabular : {"xgboost", "logistic"}, estimator or None, default "xgboost"
        The clinical branch (named ``"tabular"``): a
        :class:`~lnfusion.models.TabularClassifier` estimator name, a
        ``TabularClassifier`` or scikit-learn classifier instance, or None for
        no clinical branch.
    head : {"shrunk", "stacking", "shrunk_weighted", "mean", "weighted", "mlp"} or FusionHead, default "shrunk"
        The fusion head (see :mod:`lnfusion.fusion.heads`).  The default,
        :class:`~lnfusion.fusion.heads.ShrunkStackingHead`, is the stacking head
        shrunk toward equal branch weights by inner CV on the training patients
        (see ``docs/modelling.md`` for why and for the evidence).
    cv : int or "holdout", default 5
        Inner patient-grouped, class-stratified K-fold that produces the
        out-of-fold predictions the head learns from; ``"holdout"`` holds out
        ``holdout_size`` of the patients once (K times cheaper; the head learns
        from those patients only).
    holdout_size : float, default 0.25
    random_state : int, default 0
        Seed of the inner splits, the branches and the head.
    n_jobs : int, default 1
        Parallel branch fits (joblib).
    n_threads : int or None, default None
        CPU threads of each branch fit (torch's for image branches, XGBoost's
        for the clinical branch), given to every branch that does not set its
        own.  None: the cores available to the process (its CPU affinity,
        capped by ``OMP_NUM_THREADS``) divided by the number of parallel fits
        (``n_jobs``), so parallel fits never ask for more threads than there
        are cores.
    progress : bool, default True
        Show progress bars.

    Attributes
    ----------
    classes_ : ndarray of str
        Class names in the column order of :meth:`predict_proba`.
    branch_names_ : list of str
    branches_ : dict of str to fitted estimator
        Each branch refit on all training patients.
    head_ : FusionHead
        Fitted on out-of-fold predictions.
    oof_proba_ : dict of str to ndarray (n_train_nodes, n_classes)
        Out-of-fold probabilities of every branch (NaN where the branch could
        not see the node, or, with ``cv="holdout"``, the node was never held out).
    oof_embeddings_ : dict of str to ndarray or None
        Out-of-fold embeddings (MLP head only).
    oof_folds_ : ndarray of int (n_train_nodes,)
        Inner split that held each training node out (-1: never held out).
    head_rows_ : ndarray of int
        Training node positions the head was fitted on.
    missing_counts_ : dict of str to int
        Per branch: head-training nodes the branch could not see (NaN
        predictions); these nodes were kept, the head handled them.
    modality_missing_counts_ : dict of str to int
        Per modality: training nodes without an image of it.
    schema_ : CohortSchema or None
        Schema of the training cohort (saved with the model, used by
        ``lnfusion predict``).

    Notes
    -----
    **Branch parameters.**  ``modalities``, ``backbone``, ``image_params`` and
    ``tabular`` are shorthands that describe the branches
    (:meth:`named_branches`); every branch's parameters are reachable in
    scikit-learn's nested form, so ``get_params()`` lists ``bmode__epochs``,
    ``tabular__estimator``..., ``set_params(bmode__epochs=5)`` changes one
    branch, and ``GridSearchCV``-style grids over branch parameters work.  The
    first ``set_params`` of a branch parameter makes the branches explicit
    (``branches`` becomes the list the shorthands describe, with the change
    applied); from then on ``branches`` decides.  Precedence, highest first:
    ``branches``; for an image branch, ``modality`` and ``backbone`` from
    ``modalities``/``backbone``, then ``image_params``, then ``random_state``
    ``progress`` and ``n_threads`` inherited from this model.

    **Validation.**  The constructor only stores; ``fit`` (and ``lnfusion
    train``, before reading any data) checks every parameter, the branches'
    included, and raises :class:`~lnfusion.exceptions.ParameterError` naming
    it (``bmode__epochs=0: expected a positive integer``).

    Examples
    --------
    >>> model = LateFusionClassifier(image_params={"image_size": 128, "epochs": 10})  # doctest: +SKIP
    >>> model.set_params(elasto__epochs=20)                                          # doctest: +SKIP
    >>> model.fit(train_cohort).predict_proba(test_cohort)                            # doctest: +SKIP
    """

    def __init__(self, modalities: Sequence[str] = ("bmode", "cdfi", "elasto"),
                 backbone: str | Mapping[str, str] = "resnet18",
                 image_params: Mapping[str, Any] | None = None,
                 branches: Mapping[str, Any] | None = None,
                 tabular: Any = "xgboost",
                 head: str | FusionHead = "shrunk",
                 cv: int | str = 5,
                 holdout_size: float = 0.25,
                 random_state: int | None = 0,
                 n_jobs: int | None = 1,
                 progress: bool = True,
                 n_threads: int | None = None):
        self.modalities = modalities
        self.backbone = backbone
        self.image_params = image_params
        self.branches = branches
        self.tabular = tabular
        self.head = head
        self.cv = cv
        self.holdout_size = holdout_size
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress
        self.n_threads = n_threads

    # -- parameters -----------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this model; with ``deep``, every branch's too (``<branch>__<param>``).

        The branches are those :meth:`named_branches` lists: ``branches`` when it
        is set, else the ones ``modalities``, ``backbone``, ``image_params`` and
        ``tabular`` describe.  Every branch's parameters appear as
        ``<branch>__<param>``; the estimators themselves appear under their names
        (``"bmode"``) when ``branches`` holds them (as in scikit-learn's
        ``StackingClassifier``), and the clinical branch's name is also the
        ``tabular`` parameter's, which keeps that key.
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        try:
            pairs = self.named_branches()
        except LnfusionError:  # invalid settings: fit says so; show the plain parameters
            return out
        for name, est in pairs:
            if name not in out and self.branches is not None:
                out[name] = est
            if hasattr(est, "get_params"):
                out.update((f"{name}__{k}", v) for k, v in est.get_params(deep=True).items())
        return out

    def set_params(self, **params: Any) -> LateFusionClassifier:
        """Set parameters of this model and of its branches (scikit-learn's ``<branch>__<param>``).

        ``set_params(bmode__epochs=5)`` or ``set_params(tabular__estimator="logistic")``
        set a branch's parameter; ``set_params(bmode=other_estimator)`` replaces a
        branch.  When ``branches`` is None, the first such call makes the branches
        explicit: ``branches`` becomes :meth:`named_branches` (what ``modalities``,
        ``backbone``, ``image_params`` and ``tabular`` describe) with the change
        applied, and from then on ``branches`` decides (see the class docstring).
        Plain parameters are set first, so ``set_params(image_params=..., bmode__lr=...)``
        builds the branches from the new ``image_params``.
        """
        if not params:
            return self
        own = set(self._get_param_names())
        plain = {k: params.pop(k) for k in list(params) if k in own}
        super().set_params(**plain)
        nested: dict[str, dict[str, Any]] = {}
        replace: dict[str, Any] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                replace[name] = value
        # parameters of a plain parameter's estimator (head__C, or tabular__* while the
        # branches are implicit and ``tabular`` holds an estimator): scikit-learn's rule
        for name in [n for n in nested if n in own]:
            value = getattr(self, name)
            if hasattr(value, "set_params") and (name != TABULAR_BRANCH or self.branches is None):
                value.set_params(**nested.pop(name))
        if not nested and not replace:
            return self
        pairs = self.named_branches()
        names = [n for n, _ in pairs]
        unknown = sorted((set(nested) | set(replace)) - set(names))
        if unknown:
            raise ValueError(f"Invalid parameter(s) {unknown} for estimator {type(self).__name__}: "
                             f"not a parameter and not a branch; branches: {names}, parameters: "
                             f"{sorted(own)}. Check the list of available parameters with "
                             "`estimator.get_params().keys()`.")
        pairs = [(n, replace.get(n, est)) for n, est in pairs]
        for n, est in pairs:
            if n in nested:
                est.set_params(**nested[n])
        if isinstance(self.branches, Mapping):
            self.branches = dict(pairs)
        else:
            self.branches = pairs
        return self

    # -- building -----------------------------------------------------------------------
    def _backbone_for(self, modality: str) -> str:
        if isinstance(self.backbone, str):
            return self.backbone
        if isinstance(self.backbone, Mapping):
            if modality in self.backbone:
                return self.backbone[modality]
            if "default" in self.backbone:
                return self.backbone["default"]
            raise ParameterError("backbone", self.backbone, f"an entry for modality {modality!r} "
                                 "or a 'default' entry", type(self).__name__)
        raise ParameterError("backbone", self.backbone, "a timm model name or a dict modality -> name",
                             type(self).__name__)

    def _make_tabular(self) -> Any:
        from lnfusion.models.tabular import TabularClassifier

        tab = self.tabular
        if isinstance(tab, TabularClassifier):
            return clone(tab)
        if (isinstance(tab, str) and tab in TABULAR_NAMES) or (
                not isinstance(tab, str) and hasattr(tab, "fit") and hasattr(tab, "predict_proba")):
            return TabularClassifier(estimator=tab, random_state=self.random_state,
                                     n_threads=self.n_threads)
        raise ParameterError("tabular", tab, f"one of {list(TABULAR_NAMES)}, a classifier instance "
                             "or None", type(self).__name__)

    def _modalities(self) -> list[str]:
        mods = self.modalities
        mods = [mods] if isinstance(mods, str) else mods
        if mods is None:
            return []
        if not isinstance(mods, Sequence) or not all(isinstance(m, str) and m for m in mods) \
                or len(set(mods)) != len(mods):
            raise ParameterError("modalities", self.modalities, "a list of distinct modality names",
                                 type(self).__name__)
        return list(mods)

    def named_branches(self) -> list[tuple[str, Any]]:
        """The unfitted branches as ``(name, estimator)`` pairs, in scikit-learn's composition style.

        ``branches`` itself when it is set (the same estimator objects, so
        ``set_params`` reaches them), else new estimators built from
        ``modalities``, ``backbone``, ``image_params`` and ``tabular``.
        """
        owner = type(self).__name__
        if self.branches is not None:
            items = list(self.branches.items()) if isinstance(self.branches, Mapping) else self.branches
            if not isinstance(items, (list, tuple)) or not items or not all(
                    isinstance(p, (list, tuple)) and len(p) == 2 for p in items):
                raise ParameterError("branches", self.branches, "a non-empty list of (name, unfitted "
                                     "estimator) pairs or a dict name -> estimator", owner)
            names = [p[0] for p in items]
            own = set(self._get_param_names()) - {TABULAR_BRANCH}
            for name, est in items:
                if not isinstance(name, str) or not name or "__" in name or name in own:
                    raise ParameterError("branches", names, "distinct branch names without '__' that "
                                         f"are not parameter names; {name!r} is not", owner)
                if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                    raise ParameterError("branches", self.branches, f"branch {name!r}: an estimator "
                                         f"with fit/predict_proba, got {type(est).__name__}", owner)
            if len(set(names)) != len(names):
                raise ParameterError("branches", names, "distinct branch names", owner)
            return [(str(n), e) for n, e in items]
        out: list[tuple[str, Any]] = []
        modalities = self._modalities()
        if modalities:
            from lnfusion.models import ImageBranchClassifier

            params = self.image_params or {}
            if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
                raise ParameterError("image_params", params, "None or a dict of "
                                     "ImageBranchClassifier parameters", owner)
            accepted = set(ImageBranchClassifier._get_param_names()) - {"modality", "backbone"}
            bad = sorted(set(params) - accepted)
            if bad:
                raise ParameterError("image_params", dict(params), f"ImageBranchClassifier "
                                     f"parameters; {bad} are not among {sorted(accepted)} "
                                     "(modality and backbone are set by modalities and backbone)",
                                     owner)
            inherited = {"random_state": self.random_state, "progress": self.progress,
                         "n_threads": self.n_threads}
            for m in modalities:
                settings = {**inherited, **params}
                out.append((m, ImageBranchClassifier(m, backbone=self._backbone_for(m), **settings)))
        if self.tabular is not None:
            if TABULAR_BRANCH in modalities:
                raise ParameterError("modalities", self.modalities, f"modality names other than "
                                     f"{TABULAR_BRANCH!r}, the clinical branch's name", owner)
            out.append((TABULAR_BRANCH, self._make_tabular()))
        if not out:
            raise ParameterError("modalities", self.modalities, "at least one branch: no modalities "
                                 "and tabular=None leave none", owner)
        return out

    def _validate_params(self) -> None:
        """Check every parameter, the branches' included; :class:`ParameterError` names the first bad one.

        Called by :meth:`fit`, and by ``lnfusion train`` before anything is read.
        """
        owner = type(self).__name__
        try:
            make_head(self.head, random_state=None)
        except DataError as exc:
            raise ParameterError("head", self.head, f"one of {sorted(HEADS)} or a FusionHead "
                                 "instance", owner) from exc
        cv = self.cv
        if cv != "holdout" and (isinstance(cv, bool) or not isinstance(cv, (int, np.integer))
                                or cv < 2):
            raise ParameterError("cv", cv, "an integer >= 2 or 'holdout'", owner)
        hs = self.holdout_size
        if isinstance(hs, bool) or not isinstance(hs, (int, float)) or not 0.0 < hs < 1.0:
            raise ParameterError("holdout_size", hs, "a fraction in (0, 1)", owner)
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))):
            raise ParameterError("random_state", rs, "None or an integer", owner)
        nj = self.n_jobs
        if nj is not None and (isinstance(nj, bool) or not isinstance(nj, (int, np.integer)) or nj == 0):
            raise ParameterError("n_jobs", nj, "None, a positive integer or -1 (all cores)", owner)
        if not isinstance(self.progress, (bool, np.bool_)):
            raise ParameterError("progress", self.progress, "True or False", owner)
        check_threads(self.n_threads, owner)
        for name, est in self.named_branches():
            # lnfusion's branches validate themselves; scikit-learn's own
            # BaseEstimator._validate_params is left to the branch's fit
            check = getattr(type(est), "_validate_params", None)
            if check is None or check is BaseEstimator._validate_params:
                continue
            try:
                est._validate_params()
            except ParameterError as exc:
                raise exc.within(owner, f"{name}__") from None

    def make_branches(self, cohort: Any = None) -> dict[str, Any]:
        """The unfitted branches this model trains (name -> a clone of :meth:`named_branches`' estimator).

        Parameters
        ----------
        cohort : Cohort, optional
            When given, the modalities are checked against it.
        """
        pairs = self.named_branches()
        if cohort is not None and self.branches is None:
            modalities = self._modalities()
            unknown = [m for m in modalities if m not in cohort.modalities]
            if unknown:
                raise DataError(f"modalities {unknown} are not in the cohort; its modalities are "
                                f"{list(cohort.modalities)}")
            if self.tabular is not None and cohort.descriptors.shape[1] == 0:
                raise DataError("the cohort has no descriptor columns for the tabular branch; "
                                "declare descriptors in the schema or pass tabular=None")
        return {name: clone(est) for name, est in pairs}

    # -- fitting ------------------------------------------------------------------------
    def fit(self, cohort: Any, y: Any = None) -> LateFusionClassifier:
        """Out-of-fold predictions, head fit, branch refit (see the class docstring).

        Parameters
        ----------
        cohort : Cohort
            Training nodes.  Only these patients are used; keep the evaluation
            patients out of it.
        y : array-like, optional
            Class indices or names; default ``cohort.y``.

        Returns
        -------
        self
        """
        from lnfusion.data.labels import resolve_target

        self._check_cohort(cohort)
        y_idx, classes = resolve_target(cohort, y)
        branches = self.make_branches(cohort)
        embed = make_head(self.head).input_kind == "embedding"
        splits = inner_splits(y_idx, np.asarray(cohort.groups), self.cv, self.holdout_size, self.random_state)
        oof, fitted = cross_fit(branches, cohort, y_idx, len(classes), splits, embed=embed,
                                n_jobs=self.n_jobs, progress=self.progress)
        return self.fit_from_oof(cohort, oof, fitted, y)

    def _check_cohort(self, cohort: Any) -> None:
        if not hasattr(cohort, "subset") or not hasattr(cohort, "groups"):
            raise DataError(f"LateFusionClassifier.fit expects a Cohort, got {type(cohort).__name__}")
        self._validate_params()

    def fit_from_oof(self, cohort: Any, oof: OutOfFold, branches: Mapping[str, Any],
                     y: Any = None) -> LateFusionClassifier:
        """Fit the head on out-of-fold outputs computed already; keep the given refit branches.

        :meth:`fit` is ``cross_fit`` followed by this.  Use it directly to compare
        heads (or ``cv`` settings) on one set of branch fits: the branches are
        the expensive part, the heads are cheap.

        Parameters
        ----------
        cohort : Cohort
            The training nodes ``oof`` was computed on.
        oof : OutOfFold
            From :func:`~lnfusion.fusion.oof.cross_fit` on ``cohort`` (with
            embeddings when the head is the MLP head).
        branches : dict of str to fitted estimator
            Every branch fitted on all of ``cohort`` (``cross_fit``'s second output).
        y : array-like, optional
            Class indices or names; default ``cohort.y``.

        Returns
        -------
        self
        """
        from lnfusion.data.labels import resolve_target

        self._check_cohort(cohort)
        y_idx, classes = resolve_target(cohort, y)
        head = make_head(self.head, random_state=self.random_state)
        embed = head.input_kind == "embedding"
        names = list(oof.proba)
        if sorted(names) != sorted(branches):
            raise DataError(f"fit_from_oof: out-of-fold branches {sorted(names)} differ from the fitted "
                            f"branches {sorted(branches)}")
        if embed and oof.embeddings is None:
            raise DataError(f"fit_from_oof: the {head.kind!r} head needs out-of-fold embeddings; "
                            "call cross_fit with embed=True")
        if len(oof.folds) != len(cohort):
            raise DataError(f"fit_from_oof: out-of-fold outputs cover {len(oof.folds)} nodes; the cohort "
                            f"has {len(cohort)}")
        rows = np.flatnonzero(oof.folds >= 0)
        Z = oof.embeddings if embed else oof.proba
        head.fit({b: Z[b][rows] for b in names}, y_idx[rows], classes=list(classes))

        self.classes_ = np.asarray(classes, dtype=object)
        self.branch_names_ = names
        self.branches_ = {b: branches[b] for b in names}
        self.head_ = head
        self.oof_proba_ = oof.proba
        self.oof_embeddings_ = oof.embeddings
        self.oof_folds_ = oof.folds
        self.head_rows_ = rows
        self.missing_counts_ = {b: int((~available_rows(oof.proba[b][rows])).sum()) for b in names}
        mask = cohort.modality_mask() if hasattr(cohort, "modality_mask") else None
        self.modality_missing_counts_ = ({} if mask is None else
                                         {str(m): int((~mask[m].to_numpy()).sum()) for m in mask.columns})
        self.schema_ = getattr(cohort, "schema", None)
        self.n_train_nodes_ = len(cohort)
        return self

    # -- prediction ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_fitted(self, "head_")

    def _outputs(self, cohort: Any, embed: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        self._check_fitted()
        proba, emb = {}, {}
        for b in self.branch_names_:
            proba[b], e = branch_outputs(b, self.branches_[b], cohort, len(self.classes_), embed)
            if embed:
                emb[b] = e
        return proba, emb

    def predict_branch_proba(self, cohort: Any) -> dict[str, np.ndarray]:
        """Each fitted branch's probabilities, ``name -> (n_nodes, n_classes)`` (NaN rows = unseen)."""
        return self._outputs(cohort, embed=False)[0]

    def transform_branches(self, cohort: Any) -> dict[str, np.ndarray]:
        """Each fitted branch's embedding (``transform``, or log-probabilities without it)."""
        return self._outputs(cohort, embed=True)[1]

    def head_inputs(self, cohort: Any) -> dict[str, np.ndarray]:
        """What the head sees for ``cohort``: branch probabilities or embeddings."""
        self._check_fitted()
        embed = self.head_.input_kind == "embedding"
        proba, emb = self._outputs(cohort, embed)
        return emb if embed else proba

    def predict_with_branches(self, cohort: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Fused probabilities and each branch's, from one pass over the branches.

        Returns
        -------
        proba : ndarray (n_nodes, n_classes)
            As :meth:`predict_proba`.
        branch_proba : dict of str to ndarray
            As :meth:`predict_branch_proba`.
        """
        self._check_fitted()
        embed = self.head_.input_kind == "embedding"
        proba, emb = self._outputs(cohort, embed)
        return self.head_.predict_proba(emb if embed else proba), proba

    def predict_proba(self, cohort: Any) -> np.ndarray:
        """Fused class probabilities, ``(n_nodes, n_classes)`` in :attr:`classes_` order."""
        return self.predict_with_branches(cohort)[0]

    def predict(self, cohort: Any) -> np.ndarray:
        """Most probable class name per node."""
        return self.classes_[np.argmax(self.predict_proba(cohort), axis=1)]

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the fitted model to a folder (see :mod:`lnfusion.fusion.persistence`)."""
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LateFusionClassifier:
        """Read a model written by :meth:`save`; verifies versions and file hashes, never unpickles."""
        return read_model(path, cls)


def load_model(path: str | os.PathLike) -> LateFusionClassifier:
    """Read a :class:`LateFusionClassifier` written by :func:`~lnfusion.fusion.save_model`.

    Same as :meth:`LateFusionClassifier.load`: verifies the format version and
    every file's SHA-256 first, never unpickles anything.
    """
    return LateFusionClassifier.load(path)
