"""Self-contained HTML reports.

:func:`build_demo_report` writes the report of a whole run (what ``lnfusion
demo`` produces); :mod:`lnfusion.report.html` holds the small document model
(sections, inline figures) that result objects use to render themselves.
Nothing here imports torch.
"""
from __future__ import annotations

from lnfusion.report.demo import REPORT_FILENAME, REPORT_SECTIONS, build_demo_report
from lnfusion.report.html import HtmlDocument, Section

__all__ = ["build_demo_report", "REPORT_SECTIONS", "REPORT_FILENAME", "HtmlDocument", "Section"]
