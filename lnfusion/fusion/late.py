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

from lnfusion.exceptions import DataError, check_fitted
from lnfusion.fusion.heads import FusionHead, available_rows, make_head
from lnfusion.fusion.oof import branch_outputs, cross_fit, inner_splits
from lnfusion.fusion.persistence import read_model, save_model

__all__ = ["LateFusionClassifier", "TABULAR_BRANCH", "load_model"]

#: Name of the clinical-descriptor branch.
TABULAR_BRANCH = "tabular"


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
        ``epochs``, ``pretrained``, ...).  ``random_state`` and ``progress``
        default to this model's.
    branches : dict of str to estimator, optional
        Explicit unfitted branches (name -> estimator following the branch
        contract).  Overrides ``modalities``, ``backbone``, ``image_params`` and
        ``tabular``.
    tabular : {"xgboost", "logistic"}, estimator or None, default "xgboost"
        The clinical branch (named ``"tabular"``): a
        :class:`~lnfusion.models.TabularClassifier` estimator name, a
        ``TabularClassifier`` or scikit-learn classifier instance, or None for
        no clinical branch.
    head : {"stacking", "mean", "weighted", "mlp"} or FusionHead, default "stacking"
        The fusion head (see :mod:`lnfusion.fusion.heads`).
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

    Examples
    --------
    >>> model = LateFusionClassifier(image_params={"image_size": 128, "epochs": 10})  # doctest: +SKIP
    >>> model.fit(train_cohort).predict_proba(test_cohort)                            # doctest: +SKIP
    """

    def __init__(self, modalities: Sequence[str] = ("bmode", "cdfi", "elasto"),
                 backbone: str | Mapping[str, str] = "resnet18",
                 image_params: Mapping[str, Any] | None = None,
                 branches: Mapping[str, Any] | None = None,
                 tabular: Any = "xgboost",
                 head: str | FusionHead = "stacking",
                 cv: int | str = 5,
                 holdout_size: float = 0.25,
                 random_state: int | None = 0,
                 n_jobs: int | None = 1,
                 progress: bool = True):
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

    # -- building -----------------------------------------------------------------------
    def _backbone_for(self, modality: str) -> str:
        if isinstance(self.backbone, str):
            return self.backbone
        if isinstance(self.backbone, Mapping):
            if modality in self.backbone:
                return self.backbone[modality]
            if "default" in self.backbone:
                return self.backbone["default"]
            raise DataError(f"backbone: no entry for modality {modality!r} and no 'default'; "
                            f"got keys {sorted(self.backbone)}")
        raise DataError(f"backbone must be a timm model name or a dict modality -> name, "
                        f"got {type(self.backbone).__name__}")

    def _make_tabular(self) -> Any:
        from lnfusion.models.tabular import TabularClassifier

        tab = self.tabular
        if isinstance(tab, str):
            return TabularClassifier(estimator=tab, random_state=self.random_state)
        if isinstance(tab, TabularClassifier):
            return clone(tab)
        if hasattr(tab, "fit") and hasattr(tab, "predict_proba"):
            return TabularClassifier(estimator=tab, random_state=self.random_state)
        raise DataError(f"tabular={tab!r}: expected 'xgboost', 'logistic', a classifier instance or None")

    def make_branches(self, cohort: Any = None) -> dict[str, Any]:
        """The unfitted branches this model trains (name -> estimator).

        Parameters
        ----------
        cohort : Cohort, optional
            When given, the modalities are checked against it.
        """
        if self.branches is not None:
            if not isinstance(self.branches, Mapping) or not self.branches:
                raise DataError("branches must be a non-empty dict name -> unfitted estimator")
            for name, est in self.branches.items():
                if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                    raise DataError(f"branch {name!r}: expected an estimator with fit/predict_proba, "
                                    f"got {type(est).__name__}")
            return {str(k): clone(v) for k, v in self.branches.items()}
        modalities = [self.modalities] if isinstance(self.modalities, str) else list(self.modalities or ())
        if cohort is not None:
            unknown = [m for m in modalities if m not in cohort.modalities]
            if unknown:
                raise DataError(f"modalities {unknown} are not in the cohort; its modalities are "
                                f"{list(cohort.modalities)}")
        out: dict[str, Any] = {}
        if modalities:
            from lnfusion.models import ImageBranchClassifier

            for m in modalities:
                params = dict(self.image_params or {})
                branch = ImageBranchClassifier(m, backbone=self._backbone_for(m), **params)
                accepted = branch.get_params()
                inherited = {"random_state": self.random_state, "progress": self.progress}
                branch.set_params(**{k: v for k, v in inherited.items() if k in accepted and k not in params})
                out[m] = branch
        if self.tabular is not None:
            if TABULAR_BRANCH in out:
                raise DataError(f"a modality is named {TABULAR_BRANCH!r}, which is the clinical "
                                "branch's name; rename the modality")
            if cohort is not None and cohort.descriptors.shape[1] == 0:
                raise DataError("the cohort has no descriptor columns for the tabular branch; "
                                "declare descriptors in the schema or pass tabular=None")
            out[TABULAR_BRANCH] = self._make_tabular()
        if not out:
            raise DataError("LateFusionClassifier needs at least one branch: no modalities and tabular=None")
        return out

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

        if not hasattr(cohort, "subset") or not hasattr(cohort, "groups"):
            raise DataError(f"LateFusionClassifier.fit expects a Cohort, got {type(cohort).__name__}")
        y_idx, classes = resolve_target(cohort, y)
        groups = np.asarray(cohort.groups)
        n_classes = len(classes)
        branches = self.make_branches(cohort)
        head = make_head(self.head, random_state=self.random_state)
        embed = head.input_kind == "embedding"

        splits = inner_splits(y_idx, groups, self.cv, self.holdout_size, self.random_state)
        oof, fitted = cross_fit(branches, cohort, y_idx, n_classes, splits, embed=embed,
                                n_jobs=self.n_jobs, progress=self.progress)
        rows = np.flatnonzero(oof.folds >= 0)
        Z = oof.embeddings if embed else oof.proba
        head.fit({b: Z[b][rows] for b in branches}, y_idx[rows], classes=list(classes))

        self.classes_ = np.asarray(classes, dtype=object)
        self.branch_names_ = list(branches)
        self.branches_ = fitted
        self.head_ = head
        self.oof_proba_ = oof.proba
        self.oof_embeddings_ = oof.embeddings
        self.oof_folds_ = oof.folds
        self.head_rows_ = rows
        self.missing_counts_ = {b: int((~available_rows(oof.proba[b][rows])).sum()) for b in branches}
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
