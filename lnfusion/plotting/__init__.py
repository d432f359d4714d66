"""Matplotlib figures from lnfusion result objects.

Every function takes a result (e.g. :class:`lnfusion.evaluation.EvaluationResult`)
and returns a :class:`matplotlib.figure.Figure` built without pyplot, so it works
under any backend (Agg included), never opens a window and leaves no global state.
Save with ``fig.savefig(path)``.
"""
from __future__ import annotations

from lnfusion.plotting.calibration import plot_calibration
from lnfusion.plotting.confusion import plot_confusion
from lnfusion.plotting.roc import plot_roc

__all__ = ["plot_calibration", "plot_confusion", "plot_roc"]
