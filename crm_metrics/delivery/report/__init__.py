"""The executive report: one self-contained file an executive can read offline (HTML or PDF).

    render_html(store, start=None, end=None) -> str        # the app's download button, and .html
    write_report(store, out_path, start=None, end=None)   # .html or .pdf by extension -> Path
    html_to_pdf(html, out_path)                           # headless Chromium print-to-PDF

Contents (docs/report.md): page 1 is the board summary (the verdict per strategic objective, the
goals off track, the top three health findings, the initiatives' verdicts), then the detail: the
scorecard grouped by strategic objective, the health checks, a monthly trend per goal with its
target, the relationship mix by segment, each initiative's before/after with ROI and its weekly
treated/control series; the appendices define every KPI shown and list the data loads (load audit).

Every number comes from the engine's APIs (scorecard, health, impact, compute), so the report shows
what the app shows. The health context is shared with the report, so the scorecard, the alignment
table and the impact analysis are computed once. The HTML embeds plotly.js once and its styles; it
loads nothing from the network. Statuses carry colour (Okabe-Ito), an icon and a word.

One module per concern: base (constants), data (collect), text (small HTML pieces), charts,
summary (page 1), sections (the detail), html (the page), pdf (Chromium and writing the file).
"""
from __future__ import annotations

from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.delivery.report.base import (
    CHROMIUM_ARGS,
    EXTENSIONS,
    LOW_CONFIDENCE_MARK,
    MIX_KPIS,
    SUBTITLE,
    TITLE,
    ReportError,
)
from crm_metrics.delivery.report.data import ReportData, collect
from crm_metrics.delivery.report.html import build_html, render_html
from crm_metrics.delivery.report.pdf import WAIT_JS, check_extension, chromium_path, html_to_pdf, write_report
from crm_metrics.delivery.report.text import status_word

__all__ = ["render_html", "write_report", "html_to_pdf", "collect", "build_html", "chromium_path", "ReportError",
           "ReportData", "check_extension", "STATUS_STYLE", "SEVERITY_STYLE", "TITLE", "SUBTITLE", "EXTENSIONS",
           "CHROMIUM_ARGS", "LOW_CONFIDENCE_MARK", "MIX_KPIS", "WAIT_JS", "status_word"]
