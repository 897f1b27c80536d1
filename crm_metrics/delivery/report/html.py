"""The whole report as one self-contained HTML page."""
from __future__ import annotations

import re
from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.delivery.report.base import TITLE
from crm_metrics.delivery.report.charts import Charts
from crm_metrics.delivery.report.data import ReportData, collect
from crm_metrics.delivery.report.sections import (
    section_definitions,
    section_header,
    section_health,
    section_initiatives,
    section_mix,
    section_provenance,
    section_scorecard,
    section_trends,
)
from crm_metrics.delivery.report.summary import section_summary
from crm_metrics.delivery.report.text import esc, fmt_date

# -- HTML -------------------------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
       font-size: 10pt; color: #222; margin: 0 auto; max-width: 720px; padding: 16px; line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 4px; }
h2 { font-size: 15pt; margin: 0 0 8px; border-bottom: 2px solid #0072B2; padding-bottom: 3px; }
h3 { font-size: 11.5pt; margin: 14px 0 6px; }
p { margin: 4px 0 8px; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
/* Keep a heading with what follows it. Chromium does not honour break-after: avoid here, so the
   heading (with a section's introduction) is one unbreakable block made taller by an invisible
   padding that the next block's negative margin takes back: the block, and so the heading, moves
   to the next page unless that much room is left under it. */
div.lead, h3 { break-inside: avoid; page-break-inside: avoid; }
div.lead { padding-bottom: 260px; margin-bottom: -260px; }
h3 { padding-bottom: 90px; margin-bottom: -84px; }
.subtitle { color: #555; margin-bottom: 10px; }
.meta { color: #333; }
.note { color: #555; font-size: 9pt; }
section { margin-top: 26px; }
/* the one forced break: the detail starts after the one-page summary */
section.detail { break-before: page; page-break-before: always; }
section.summary { margin-top: 10px; }
section.summary h2 { font-size: 11.5pt; margin: 8px 0 3px; padding-bottom: 2px; }
section.summary p { margin: 2px 0 4px; }
section.summary table { margin-bottom: 4px; font-size: 8.2pt; }
section.summary th, section.summary td { padding: 2px 4px; }
ul.findings { margin: 4px 0; padding-left: 18px; }
ul.findings li { margin-bottom: 4px; break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; font-size: 8.8pt; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
table.fixed { table-layout: fixed; }
table.fixed td { overflow-wrap: anywhere; }
table.fixed td.num, table.fixed th { overflow-wrap: normal; white-space: normal; }
/* a header and its first rows stay together at a page's foot */
table { break-before: auto; }
thead tr { break-after: avoid; page-break-after: avoid; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
.badge { display: inline-block; color: #fff; font-weight: 600; border-radius: 3px; padding: 1px 5px;
         white-space: nowrap; font-size: 8.5pt; }
.low { color: #B35C00; font-weight: 700; }
.missing { border: 1px solid #E69F00; border-left: 5px solid #E69F00; background: #FFF8EC; padding: 6px 10px;
           margin: 10px 0; }
.missing ul { margin: 4px 0; padding-left: 18px; }
.sample { border-left: 5px solid #56B4E9; background: #EEF7FD; padding: 6px 10px; margin: 8px 0; }
.glance { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0; }
.glance div { border: 1px solid #ddd; border-top: 5px solid #8C8C8C; padding: 4px 10px; min-width: 120px; }
.glance b { font-size: 17pt; display: block; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 14px; }
.chart { break-inside: avoid; page-break-inside: avoid; max-width: 100%; }
.chart-box { break-inside: avoid; page-break-inside: avoid; }
.legend span { margin-right: 12px; white-space: nowrap; }
dl.defs dt { font-weight: 600; margin-top: 6px; }
dl.defs dd { margin: 0 0 0 12px; }
dl.defs dd code, td code { font-size: 8.5pt; }
@media print { body { max-width: none; padding: 0; } section { margin-top: 0; } }
"""


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


LEAD = re.compile(r"(<h2>(?:(?!</h2>).)*</h2>)(<p class='note intro'>(?:(?!</p>).)*</p>)", re.S)


def keep_with_next(body: str) -> str:
    """Each section's heading and its introduction in one block kept with what follows (CSS div.lead)."""
    return LEAD.sub(r"<div class='lead'>\1\2</div>", body)


def build_html(d: ReportData) -> str:
    """The report for collected data, as one self-contained HTML document."""
    charts = Charts()
    # page 1: the board summary; then the detail, flowing (no forced page breaks that would leave a page
    # near empty); the appendices last: the KPI definitions and the load audit
    sections = [
        section_header(d), section_summary(d), section_scorecard(d), section_health(d),
        section_trends(d, charts), section_mix(d, charts), section_initiatives(d, charts), section_definitions(d),
        section_provenance(d),
    ]
    script = f"<script>{plotly_js()}</script>" if charts.count else ""
    window = f"{d.start} – {d.end}" if d.start else "no data"
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(TITLE)} · {esc(window)}</title><style>{CSS}</style>{script}</head>"
            f"<body>{keep_with_next(''.join(sections))}<footer class='note' style='margin-top:20px'>{esc(TITLE)} · {esc(window)} · "
            f"prepared {esc(fmt_date(d.generated_at))} with crm_metrics.</footer></body></html>\n")


def render_html(store: Store, start: Any = None, end: Any = None) -> str:
    """The executive report over the window (default: the span of the loaded data) as self-contained HTML."""
    return build_html(collect(store, start, end))
