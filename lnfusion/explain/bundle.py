"""``explain()``: every explanation of a fitted late-fusion model, in one bundle.

:func:`explain` computes, for the nodes of a cohort:

* tabular SHAP values of the XGBoost clinical branch for every node and class
  (:func:`~lnfusion.explain.tabular.tabular_shap`);
* modality-level SHAP values of the fusion head for every node and class
  (:func:`~lnfusion.explain.fusion_head.fusion_shap`);

both as a :class:`~lnfusion.explain.explanation.ShapExplanation` (nodes x
  features x classes); and
* image attributions (Grad-CAM and/or SHAP) for the chosen patients
  (:class:`~lnfusion.explain.attribution.ImageAttribution`);
* the fused probabilities and the true labels,

and returns them as an :class:`ExplanationBundle`, which draws the
per-node cards and the global plots and saves its tables.
"""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError, check_fitted
from lnfusion.explain.attribution import ImageAttribution
from lnfusion.explain.explanation import ShapExplanation
from lnfusion.explain.fusion_head import fusion_shap, model_head_inputs
from lnfusion.explain.selection import node_labels, patient_rows
from lnfusion.io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ExplanationBundle", "explain", "IMAGE_METHODS"]

#: Accepted values of ``explain(image_method=...)``.
IMAGE_METHODS = ("gradcam", "shap", "both", "none")

@dataclass(frozen=True, eq=False)
class ExplanationBundle:
    """Explanations of a fitted model for the nodes of one cohort.

    Attributes
    ----------
    classes : tuple of str
    node_ids : tuple of str
        One label per explained node (``patient`` or ``patient/node``).
    patients : tuple of str
        Patient id per node.
    proba : DataFrame (n_nodes x classes)
        Fused probabilities, indexed by node label.
    branch_proba : dict of str to ndarray (n_nodes, n_classes)
        Each branch's probabilities (NaN rows where a modality is missing).
    y_true : ndarray of str or None
        True class name per node; None for an unlabelled cohort (new patients).
    modality : ShapExplanation
        Modality-level SHAP values of the fusion head (every node; features
        are the branches).
    tabular : ShapExplanation or None
        TreeSHAP values of the clinical branch (every node, labelled by node;
        features are the descriptors); None when the model has no XGBoost
        clinical branch.
    images : tuple of ImageAttribution
        Image attributions of the selected nodes.
    selected : ndarray of int
        Positions of the nodes chosen for image attributions and cards.
    image_modalities : tuple of str
        The model's image branches.
    image_paths : dict of str to list
        Per image modality, the images of every node as the image branch reads them
        (paths, or frame references for the frames of a multi-frame file).
    settings : dict
        The arguments of :func:`explain` that shaped the result.
    """

    classes: tuple[str, ...]
    node_ids: tuple[str, ...]
    patients: tuple[str, ...]
    proba: pd.DataFrame
    branch_proba: dict[str, np.ndarray]
    y_true: np.ndarray | None
    modality: ShapExplanation
    tabular: ShapExplanation | None
    images: tuple[ImageAttribution, ...]
    selected: np.ndarray
    image_modalities: tuple[str, ...] = ()
    image_paths: dict[str, list] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    # -- look-ups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.node_ids)

    @property
    def predicted(self) -> np.ndarray:
        """Predicted (most probable) class name per node."""
        return np.asarray(self.classes, dtype=object)[np.argmax(self.proba.to_numpy(), axis=1)]

    def row(self, node: int | str) -> int:
        """Position of a node given its position, its label or its patient id (first node)."""
        if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
            if not -len(self) <= int(node) < len(self):
                raise DataError(f"node position {node} out of range for {len(self)} nodes")
            return int(node) % len(self)
        key = str(node)
        if key in self.node_ids:
            return self.node_ids.index(key)
        if key in self.patients:
            return self.patients.index(key)
        raise DataError(f"node or patient {key!r} is not in this explanation; "
                        f"e.g. {list(self.node_ids[:5])}")

    def images_for(self, node: int | str) -> list[ImageAttribution]:
        """The image attributions of one node."""
        r = self.row(node)
        return [a for a in self.images if a.row == r]

    # -- global summaries -----------------------------------------------------------------
    def descriptor_importance(self) -> pd.DataFrame | None:
        """Mean ``|SHAP|`` per descriptor and class (``"all"`` = sum; two classes: the positive
        class alone), most important first (:meth:`ShapExplanation.mean_abs`)."""
        return None if self.tabular is None else self.tabular.mean_abs()

    def modality_importance(self) -> pd.DataFrame:
        """Mean ``|SHAP|`` per branch and class (``"all"`` = sum; two classes: the positive
        class alone), most important first (:meth:`ShapExplanation.mean_abs`)."""
        return self.modality.mean_abs()

    def plot_descriptor_importance(self, **kwargs: Any) -> Figure:
        """Bar chart of :meth:`descriptor_importance` (see :func:`~lnfusion.explain.plot_descriptor_importance`)."""
        from lnfusion.explain.global_plots import plot_descriptor_importance

        return plot_descriptor_importance(self, **kwargs)

    def plot_modality_importance(self, **kwargs: Any) -> Figure:
        """Bar chart of :meth:`modality_importance` (see :func:`~lnfusion.explain.plot_modality_importance`)."""
        from lnfusion.explain.global_plots import plot_modality_importance

        return plot_modality_importance(self, **kwargs)

    # -- cards ----------------------------------------------------------------------------
    def card(self, node: int | str, **kwargs: Any) -> Figure:
        """One node's explanation card as a matplotlib figure (see :func:`~lnfusion.explain.plot_card`)."""
        from lnfusion.explain.cards import plot_card

        return plot_card(self, node, **kwargs)

    def card_html(self, node: int | str, **kwargs: Any) -> str:
        """One node's card as a self-contained HTML page."""
        from lnfusion.explain.cards import card_html

        return card_html(self, node, **kwargs)

    def write_cards(self, out_dir: str | os.PathLike, nodes: Sequence[int | str] | None = None,
                    **kwargs: Any) -> list[Path]:
        """Write ``<node>.png`` and ``<node>.html`` cards (default: the selected nodes)."""
        from lnfusion.explain.cards import write_cards

        return write_cards(self, out_dir, nodes, **kwargs)

    # -- tables ---------------------------------------------------------------------------
    def predictions_frame(self) -> pd.DataFrame:
        """One row per node: ``node``, ``patient``, ``true``, ``predicted`` and ``p_<class>``."""
        out = pd.DataFrame({"node": list(self.node_ids), "patient": list(self.patients),
                            "true": (list(self.y_true) if self.y_true is not None
                                     else [None] * len(self)),
                            "predicted": list(self.predicted)})
        for c in self.classes:
            out[f"p_{c}"] = self.proba[c].to_numpy()
        return out

    def save(self, out_dir: str | os.PathLike, *, plots: bool = True) -> list[Path]:
        """Write the tables (CSV) and global plots (PNG) to ``out_dir``.

        Files: ``predictions.csv``, ``modality_shap.csv`` (long: node, branch,
        class, shap), ``modality_base_values.csv``, ``modality_importance.csv``
        and, with a clinical branch, ``tabular_shap.csv``,
        ``tabular_base_values.csv``, ``descriptor_importance.csv``; with
        ``plots``: ``modality_importance.png`` and ``descriptor_importance.png``;
        ``explanation.json`` records the settings.  Nothing is pickled.

        Returns
        -------
        list of Path
        """
        out = Path(out_dir)
        written = [
            atomic_write_text(out / "predictions.csv", self.predictions_frame().to_csv(index=False)),
            atomic_write_text(out / "modality_shap.csv", self.modality.to_frame().to_csv(index=False)),
            atomic_write_text(out / "modality_base_values.csv", self.modality.base_frame().to_frame()
                              .rename_axis("class").to_csv()),
            atomic_write_text(out / "modality_importance.csv", self.modality_importance().to_csv()),
        ]
        if self.tabular is not None:
            written += [
                atomic_write_text(out / "tabular_shap.csv", self.tabular.to_frame().to_csv(index=False)),
                atomic_write_text(out / "tabular_base_values.csv", self.tabular.base_frame().to_frame()
                                  .rename_axis("class").to_csv()),
                atomic_write_text(out / "descriptor_importance.csv",
                                  self.descriptor_importance().to_csv()),
            ]
        meta = {"settings": self.settings, "classes": list(self.classes), "n_nodes": len(self),
                "selected_nodes": [self.node_ids[i] for i in self.selected],
                "modality_shap": {"output": self.modality.output, "method": self.modality.method},
                "modality_ranking": self.modality.ranking(),
                "importance_classes": list(self.modality.reported_outputs),
                "tabular_shap": None if self.tabular is None else {"output": self.tabular.output}}
        written.append(atomic_write_text(out / "explanation.json", json.dumps(meta, indent=2) + "\n"))
        if plots:
            from lnfusion.explain.cards import figure_png

            figures = [("modality_importance.png", self.plot_modality_importance())]
            if self.tabular is not None:
                figures.append(("descriptor_importance.png", self.plot_descriptor_importance()))
            for name, fig in figures:
                written.append(atomic_write_bytes(out / name, figure_png(fig)))
        return written


# --------------------------------------------------------------------------------------
# explain()
# --------------------------------------------------------------------------------------
def _as_cohort(model: Any, data: Any) -> Any:
    """A Cohort from a Cohort, a manifest path or a DataFrame of manifest rows."""
    if hasattr(data, "groups") and hasattr(data, "subset"):
        return data
    if isinstance(data, (str, os.PathLike, pd.DataFrame)):
        from lnfusion.data import Cohort

        return Cohort.from_manifest(data, schema=getattr(model, "schema_", None),
                                    allow_empty_classes=True)
    raise DataError(f"explain: expected a Cohort, a manifest path or a DataFrame of manifest rows, "
                    f"got {type(data).__name__}")


def _tabular_branch(model: Any) -> Any | None:
    """The fitted XGBoost TabularClassifier of the model, or None."""
    from lnfusion.fusion.late import TABULAR_BRANCH

    branch = getattr(model, "branches_", {}).get(TABULAR_BRANCH)
    if branch is None or not hasattr(branch, "feature_frame"):
        return None
    try:
        has_booster = branch.booster_ is not None
    except (NotImplementedError, AttributeError):  # logistic / sklearn estimator
        return None
    return branch if has_booster else None


def _is_image_branch(branch: Any) -> bool:
    """A fitted ImageBranchClassifier (a torch network with its input configuration)."""
    return all(hasattr(branch, a) for a in ("model_", "data_config_", "image_size", "modality"))


def explain(model: Any, cohort_or_rows: Any, patients: Iterable[str] | str | None = None, *,
            n_background: int = 16, image_method: str = "gradcam", shap_nsamples: int = 32,
            tabular_backend: str = "shap", random_state: int = 0) -> ExplanationBundle:
    """Explain a fitted :class:`~lnfusion.fusion.LateFusionClassifier` on a cohort.

    Parameters
    ----------
    model : LateFusionClassifier
        Fitted (or loaded with ``LateFusionClassifier.load``).
    cohort_or_rows : Cohort, path-like or DataFrame
        The nodes to explain: a Cohort, a manifest file, or manifest rows (read
        with the model's training schema; relative image paths of a DataFrame
        resolve against the current folder).  Not every class needs to be
        present, and labels are optional.
    patients : iterable of str or str, optional
        Patients (or ``patient/node`` labels) for image attributions and cards;
        a string is split on commas.  Default: every node.  Tabular and
        modality-level SHAP values are computed for every node either way (they
        are cheap and feed the global summaries).
    n_background : int, default 16
        Background images per modality for the SHAP image explainer, drawn from
        the cohort's images of that modality.
    image_method : {"gradcam", "shap", "both", "none"}, default "gradcam"
        Image attributions to compute for the selected nodes.
    shap_nsamples : int, default 32
        Samples per image of :class:`shap.GradientExplainer` (expected
        gradients).
    tabular_backend : {"shap", "xgboost"}
        See :func:`~lnfusion.explain.tabular.tabular_shap`.
    random_state : int, default 0
        Seeds the background draw and the SHAP image explainer.

    Returns
    -------
    ExplanationBundle

    Raises
    ------
    NotFittedError
        The model is not fitted.
    DataError
        A requested patient is not in the cohort.

    Examples
    --------
    >>> bundle = explain(model, test_cohort, patients=["P001", "P007"])  # doctest: +SKIP
    >>> bundle.modality_importance()                                    # doctest: +SKIP
    >>> bundle.write_cards("cards/")                                    # doctest: +SKIP
    """
    if image_method not in IMAGE_METHODS:
        raise ValueError(f"explain: image_method must be one of {IMAGE_METHODS}, got {image_method!r}")
    check_fitted(model, "head_")
    cohort = _as_cohort(model, cohort_or_rows)
    selected = patient_rows(cohort, patients)
    node_ids = tuple(node_labels(cohort))
    classes = tuple(str(c) for c in model.classes_)

    head_inputs = model_head_inputs(model, cohort)
    is_proba = getattr(model.head_, "input_kind", "proba") != "embedding"
    branch_proba = head_inputs if is_proba else model.predict_branch_proba(cohort)
    proba = np.asarray(model.head_.predict_proba(head_inputs), dtype=float)
    modality = fusion_shap(model, cohort, head_inputs=head_inputs, node_ids=node_ids)

    tabular = None
    tab_branch = _tabular_branch(model)
    if tab_branch is not None:
        from lnfusion.explain.tabular import tabular_shap

        tabular = dataclasses.replace(tabular_shap(tab_branch, cohort, backend=tabular_backend),
                                      instance_names=node_ids, axes=("node", "feature", "class"))

    image_modalities = tuple(b for b in model.branch_names_
                             if b in cohort.modalities and _is_image_branch(model.branches_[b]))
    targets = np.argmax(proba, axis=1)
    images: list[ImageAttribution] = []
    if image_method != "none":
        from lnfusion.explain.images import gradcam_attributions, image_shap

        for m in image_modalities:
            branch = model.branches_[m]
            if image_method in ("gradcam", "both"):
                images += gradcam_attributions(branch, cohort, selected, targets[selected],
                                               node_ids=node_ids)
            if image_method in ("shap", "both"):
                images += image_shap(branch, cohort, selected, targets[selected],
                                     n_background=n_background, nsamples=shap_nsamples,
                                     random_state=random_state, node_ids=node_ids)

    y_true = None
    if getattr(cohort, "is_labelled", True):
        y_true = np.asarray(cohort.classes, dtype=object)[cohort.y]
    settings = {"image_method": image_method, "n_background": int(n_background),
                "shap_nsamples": int(shap_nsamples), "tabular_backend": tabular_backend,
                "random_state": random_state,
                "patients": None if patients is None else sorted({node_ids[i] for i in selected}),
                "source": str(getattr(cohort, "source", ""))}
    return ExplanationBundle(
        classes=classes, node_ids=node_ids, patients=tuple(str(g) for g in cohort.groups),
        proba=pd.DataFrame(proba, index=pd.Index(node_ids, name="node"), columns=list(classes)),
        branch_proba={b: np.asarray(v, dtype=float) for b, v in branch_proba.items()},
        y_true=y_true, modality=modality, tabular=tabular, images=tuple(images),
        selected=np.asarray(selected, dtype=int), image_modalities=image_modalities,
        image_paths={m: _node_images(cohort, m) for m in image_modalities}, settings=settings)


def _node_images(cohort: Any, modality: str) -> list[list[str]]:
    """Per node, its images of ``modality`` as the image branch sees them (frames of cine files)."""
    from lnfusion.data.decode import modality_images

    paths, _, nodes = modality_images(cohort, modality)
    out: list[list[str]] = [[] for _ in range(len(cohort))]
    for path, node in zip(paths, nodes):
        out[int(node)].append(path)
    return out
