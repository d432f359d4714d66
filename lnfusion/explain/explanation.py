"""One attribution record for every SHAP explanation lnfusion computes.

:class:`ShapExplanation` follows :class:`shap.Explanation`'s vocabulary
(``values``, ``base_values``, ``data``, ``display_data``, ``feature_names``,
``output_names``, ``instance_names``) with one fixed layout: ``values`` is
``(n_instances, n_features, n_outputs)`` and ``base_values`` ``(n_outputs,)``,
so that ``base_values + values.sum(axis=1)`` is the explained output of every
instance (local accuracy).  The clinical branch's TreeSHAP
(:func:`~lnfusion.explain.tabular.tabular_shap`: instances are nodes,
features are descriptors, outputs are classes, on XGBoost's margin) and the
fusion head's modality-level SHAP (:func:`~lnfusion.explain.fusion_head.fusion_shap`:
features are branches) both return it.  :meth:`ShapExplanation.to_shap` hands
it to shap's own plots; the global importance plots
(:mod:`lnfusion.explain.global_plots`) and the cards (:mod:`lnfusion.explain.cards`)
are free functions on it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lnfusion.exceptions import DataError

if TYPE_CHECKING:  # pragma: no cover
    import shap

__all__ = ["ShapExplanation", "ShapShapeError"]


class ShapShapeError(DataError):
    """SHAP values came back in a shape that cannot be mapped to (instances, features, outputs)."""


@dataclass(frozen=True, eq=False)
class ShapExplanation:
    """SHAP values of a model for every instance, feature and output.

    Attributes
    ----------
    values : ndarray of shape (n_instances, n_features, n_outputs)
        Contribution of each feature to each output for each instance.
    base_values : ndarray of shape (n_outputs,)
        Expected output (the same for every instance).
    feature_names : tuple of str
        Name per second axis position (descriptors, or branches).
    output_names : tuple of str
        Name per last axis position (the classes).
    instance_names : tuple or None
        Label per instance (default: the index of ``data``, else ``0..n-1``).
    data : DataFrame of shape (n_instances, n_features) or None
        The feature values exactly as fed to the model, when each feature has
        one (not for branches of a fusion head).
    display_data : DataFrame or None
        The feature values as a reader knows them (e.g. ordinal descriptors as
        their levels rather than the level index the model sees); default ``data``.
    output : str
        Scale of what is explained: ``"margin"`` (XGBoost raw margin, log-odds),
        ``"logit"`` (a linear head's decision function) or ``"probability"``.
    method : str
        How the values were computed: ``"treeshap"``, ``"linear"`` or ``"coalitions"``.
    axes : (str, str, str)
        What an instance, a feature and an output are, e.g. ``("node", "branch",
        "class")``; names the columns of :meth:`to_frame` and the index of the tables.
    groups : tuple of str or None
        For a finer-grained record, the coarser feature each feature belongs to.
    components : ShapExplanation or None
        The same attribution at a finer grain whose ``groups`` sum to these
        features (the stacking head: its design columns, summed per branch).
    positive_output : str or None
        Two outputs only (a two-class task): the positive class, the one output
        the importance tables report (the other output's values are its mirror
        image, ``-values``).  ``None``: the first output when the two outputs
        mirror each other (see :attr:`reported_outputs`).
    """

    values: np.ndarray
    base_values: np.ndarray
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    instance_names: tuple[Any, ...] | None = None
    data: pd.DataFrame | None = None
    display_data: pd.DataFrame | None = None
    output: str = "margin"
    method: str = "treeshap"
    axes: tuple[str, str, str] = ("sample", "feature", "class")
    groups: tuple[str, ...] | None = None
    components: ShapExplanation | None = None
    positive_output: str | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        base = np.asarray(self.base_values, dtype=float)
        if values.ndim != 3:
            raise ShapShapeError(f"ShapExplanation: values must be (instances, features, outputs), "
                                 f"got shape {values.shape}")
        n, f, k = values.shape
        names = self.instance_names
        if names is None:
            names = tuple(self.data.index) if self.data is not None else tuple(range(n))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "base_values", base)
        object.__setattr__(self, "feature_names", tuple(str(v) for v in self.feature_names))
        object.__setattr__(self, "output_names", tuple(str(v) for v in self.output_names))
        object.__setattr__(self, "instance_names", tuple(names))
        object.__setattr__(self, "axes", tuple(self.axes))
        problems = []
        if base.shape != (k,):
            problems.append(f"base_values {base.shape}")
        if len(self.feature_names) != f:
            problems.append(f"{len(self.feature_names)} feature names")
        if len(self.output_names) != k:
            problems.append(f"{len(self.output_names)} output names")
        if len(self.instance_names) != n:
            problems.append(f"{len(self.instance_names)} instance names")
        for name in ("data", "display_data"):
            frame = getattr(self, name)
            if frame is not None and frame.shape != (n, f):
                problems.append(f"{name} {frame.shape}")
        if self.groups is not None and len(self.groups) != f:
            problems.append(f"{len(self.groups)} groups")
        if self.components is not None and self.components.values.shape[::2] != (n, k):
            problems.append(f"components {self.components.values.shape}")
        if len(self.axes) != 3:
            problems.append(f"axes {self.axes!r}")
        if self.positive_output is not None and (
                k != 2 or str(self.positive_output) not in self.output_names):
            problems.append(f"positive_output {self.positive_output!r} (expected one of two "
                            f"outputs {list(self.output_names)})")
        if problems:
            raise ShapShapeError(f"ShapExplanation: inconsistent shapes: values {values.shape}, "
                                 + ", ".join(problems))

    # -- look-ups -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_instances, n_features, n_outputs)``."""
        return self.values.shape

    @property
    def unit(self) -> str:
        """The scale of the values for axis labels: ``"log-odds"``, ``"logit"`` or ``"probability"``."""
        return "log-odds" if self.output == "margin" else self.output

    @property
    def reported_outputs(self) -> tuple[str, ...]:
        """The outputs the importance tables report.

        Every output; for a two-class task -- two outputs with
        :attr:`positive_output` set, two logits of a head, or two outputs whose
        values are each other's negation (XGBoost's single margin as
        ``[-phi, phi]``, two probabilities summing to one) -- the positive one
        alone (:attr:`positive_output`, default the first), so that importance
        is reported once rather than twice (see :meth:`reported_values`).
        """
        if self.positive_output is not None:
            return (str(self.positive_output),)
        v = self.values
        if v.shape[2] == 2 and (self.output == "logit" or np.allclose(
                v[:, :, 0], -v[:, :, 1], rtol=1e-6,
                atol=1e-9 * max(float(np.abs(v).max(initial=0.0)), 1.0))):
            return (self.output_names[0],)
        return self.output_names

    @property
    def reported_unit(self) -> str:
        """The scale of :meth:`reported_values`: ``"log-odds"`` for a two-class logit head, else :attr:`unit`."""
        if self.output == "logit" and len(self.reported_outputs) == 1 and len(self.output_names) == 2:
            return "log-odds"
        return self.unit

    def reported_values(self) -> np.ndarray:
        """The values the importance tables summarise, ``(n_instances, n_features, n_reported)``.

        Every output's values; for a two-class task, one column for the positive
        class (:attr:`reported_outputs`): its values for a margin (XGBoost: the
        log-odds of the positive class) or a probability; for a head's softmax
        logits, the values of the positive minus the other class's logit, i.e.
        of the log-odds of the positive class -- two logits are defined only up
        to a common shift, their difference is not (the shrunk stacking head's
        two logits do not mirror each other).
        """
        outputs = [self.output_index(o) for o in self.reported_outputs]
        if len(outputs) == 1 and len(self.output_names) == 2 and self.output == "logit":
            pos = outputs[0]
            return (self.values[:, :, pos] - self.values[:, :, 1 - pos])[:, :, None]
        return self.values[:, :, outputs]

    def output_values(self) -> np.ndarray:
        """Base value plus the sum over features: the explained output, ``(n_instances, n_outputs)``."""
        return self.base_values[None, :] + self.values.sum(axis=1)

    def output_index(self, output: int | str) -> int:
        """Position of ``output`` (a name or an index) on the output axis."""
        if isinstance(output, (int, np.integer)) and not isinstance(output, bool):
            if not 0 <= int(output) < len(self.output_names):
                raise DataError(f"{self.axes[2]} index {output} out of range "
                                f"0..{len(self.output_names) - 1}")
            return int(output)
        try:
            return self.output_names.index(str(output))
        except ValueError:
            raise DataError(f"unknown {self.axes[2]} {output!r}; expected one of "
                            f"{list(self.output_names)}") from None

    def subset(self, rows: Sequence[int] | np.ndarray) -> ShapExplanation:
        """The explanation restricted to the instances at integer positions ``rows``."""
        rows = np.asarray(rows, dtype=int)
        return ShapExplanation(
            self.values[rows], self.base_values, self.feature_names, self.output_names,
            tuple(self.instance_names[i] for i in rows),
            None if self.data is None else self.data.iloc[rows],
            None if self.display_data is None else self.display_data.iloc[rows],
            self.output, self.method, self.axes, self.groups,
            None if self.components is None else self.components.subset(rows),
            self.positive_output)

    # -- tables ---------------------------------------------------------------------------
    def mean_abs(self) -> pd.DataFrame:
        """Global importance: mean ``|SHAP|`` per feature (rows) and output (columns).

        A column ``"all"`` holds the sum over outputs; rows are sorted by it,
        most important first.  With two outputs (a two-class task) the table has
        the positive class alone (:attr:`reported_outputs`, values as
        :meth:`reported_values`: the log-odds of the positive class for a logit
        head) and ``"all"`` equals it: the other output's values are its mirror
        image, and summing both would count every contribution twice.
        """
        table = pd.DataFrame(np.abs(self.reported_values()).mean(axis=0),
                             index=list(self.feature_names),
                             columns=list(self.reported_outputs))
        table["all"] = table.sum(axis=1)
        table.index.name = self.axes[1]
        return table.sort_values("all", ascending=False, kind="stable")

    def ranking(self, among: Sequence[str] | None = None) -> list[str]:
        """Features from most to least important (the ``"all"`` column of :meth:`mean_abs`).

        Parameters
        ----------
        among : sequence of str, optional
            Rank only these features, e.g. ``cohort.modalities`` to rank the
            image modalities of a fusion head without the clinical branch.
        """
        order = list(self.mean_abs().index)
        if among is None:
            return order
        unknown = sorted(set(among) - set(self.feature_names))
        if unknown:
            raise DataError(f"unknown {self.axes[1]} name(s) {unknown}; expected among "
                            f"{list(self.feature_names)}")
        return [b for b in order if b in set(among)]

    def contributions(self, i: int, output: int | str, *, sort: bool = True) -> pd.DataFrame:
        """One instance's contributions to one output.

        Returns a DataFrame with columns ``feature``, ``value`` (the feature's
        value for that instance, as in ``display_data``; None without data) and
        ``shap``, largest ``|shap|`` first unless ``sort=False``.  For a
        two-class head's logits, ``shap`` is that of the log-odds of ``output``
        (its logit minus the other's; see :meth:`reported_values`), in
        :attr:`reported_unit`.
        """
        c = self.output_index(output)
        shap_values = self.values[i, :, c]
        if self.output == "logit" and len(self.output_names) == 2:
            shap_values = shap_values - self.values[i, :, 1 - c]
        display = self.display_data if self.display_data is not None else self.data
        row = None if display is None else display.iloc[i]
        out = pd.DataFrame({"feature": list(self.feature_names),
                            "value": [None if row is None else row.iloc[j]
                                      for j in range(len(self.feature_names))],
                            "shap": shap_values})
        if not sort:
            return out
        order = np.argsort(-np.abs(out["shap"].to_numpy()), kind="stable")
        return out.iloc[order].reset_index(drop=True)

    def instance_frame(self, i: int) -> pd.DataFrame:
        """One instance's values as a feature x output table."""
        return pd.DataFrame(self.values[i], index=pd.Index(self.feature_names, name=self.axes[1]),
                            columns=list(self.output_names))

    def base_frame(self) -> pd.Series:
        """Base value per output."""
        return pd.Series(self.base_values, index=list(self.output_names), name="base_value")

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (instance, feature, output), columns ``*axes`` and ``shap``."""
        n, f, k = self.values.shape
        instance, feature, output = self.axes
        return pd.DataFrame({
            instance: np.repeat(np.asarray(self.instance_names, dtype=object), f * k),
            feature: np.tile(np.repeat(np.asarray(self.feature_names, dtype=object), k), n),
            output: np.tile(np.asarray(self.output_names, dtype=object), n * f),
            "shap": self.values.reshape(-1),
        })

    # -- shap -----------------------------------------------------------------------------
    def to_shap(self, output: int | str) -> shap.Explanation:
        """One output's values as a :class:`shap.Explanation` for shap's plots.

        ``shap.plots.beeswarm``, ``bar`` and ``waterfall`` (on one row) accept
        it as it is.  Categorical features are given as their category codes in
        ``data`` (NaN when missing, so colour scales work) and as their labels
        in ``display_data``.
        """
        import shap

        c = self.output_index(output)
        n, f, _ = self.values.shape
        display = self.display_data if self.display_data is not None else self.data
        return shap.Explanation(
            values=self.values[:, :, c].copy(),
            base_values=np.full(n, self.base_values[c]),
            data=None if self.data is None else _numeric_view(self.data),
            display_data=None if display is None else display.astype(object).to_numpy(),
            feature_names=list(self.feature_names),
            instance_names=[str(i) for i in self.instance_names],
            output_names=self.output_names[c],
        )


def _numeric_view(frame: pd.DataFrame) -> np.ndarray:
    """The features as floats: category codes for categorical columns (NaN when missing)."""
    numeric = np.empty(frame.shape, dtype=float)
    for j, col in enumerate(frame.columns):
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            numeric[:, j] = codes
        else:
            numeric[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return numeric
