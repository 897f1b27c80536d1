"""The executive report: one self-contained file an executive can read offline (HTML or PDF).

    render_html(store, start=None, end=None) -> str        # the app's download button, and .html
    write_report(store, out_path, start=None, end=None)   # .html or .pdf by extension -> Path
    html_to_pdf(html, out_path)                           # headless Chromium print-to-PDF

Contents (docs/report.md): the window and the data behind it (tables, rows, last load, data span),
what is missing, the scorecard grouped by strategic objective, the health checks, a monthly trend
per goal with its target, the relationship mix by segment, each initiative's before/after with ROI
and its weekly treated/control series, and the definitions of every KPI shown.

Every number comes from the engine's APIs (scorecard, health, impact, compute), so the report shows
what the app shows. The health context is shared with the report, so the scorecard, the alignment
table and the impact analysis are computed once. The HTML embeds plotly.js once and its styles; it
loads nothing from the network. Statuses carry colour (Okabe-Ito), an icon and a word.
"""
from __future__ import annotations

import datetime as dt
import html
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.judgement import checks, health
from crm_metrics.judgement import impact as impact_mod
from crm_metrics.judgement import scorecard as sc
from crm_metrics.judgement.why import goal_explanations
from crm_metrics.metrics.kpis import KPIS, KpiError
from crm_metrics.metrics.kpis.engine import missing_message
from crm_metrics.data.store import Store

TITLE = "What did our CRM bring us?"
SUBTITLE = ("Executive report: the goals set for customer relationship management, measured on the "
            "organisation's own data, the known ways CRM programmes fail, and what each initiative changed.")
EXTENSIONS = (".html", ".pdf")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_FALLBACKS = ("/usr/bin/chromium",)
INSTALL_CHROMIUM = ("apt-get install chromium (Debian/Ubuntu; as root), or set CRM_CHROMIUM to a Chromium "
                    "or Chrome executable")

LOW_CONFIDENCE_MARK = "⚠"
MIX_KPIS = ("relationship_share", "pseudo_relationship_share", "encounter_share")
MIX_STYLE = {  # label, colour
    "relationship_share": ("Relationship", "#0072B2"),
    "pseudo_relationship_share": ("Pseudo-relationship", "#56B4E9"),
    "encounter_share": ("Encounter", "#E69F00"),
}
TREATED_COLOUR, CONTROL_COLOUR, TARGET_COLOUR = "#0072B2", "#7F7F7F", "#000000"
SOURCE_TABLES = ("customers", "interactions", "transactions", "surveys", "initiatives", "goals", "segments",
                 "channels")
PAGE_WIDTH_PX = 680          # A4 portrait minus the page margins, in CSS pixels
HALF_WIDTH_PX = 332


class ReportError(ValueError):
    """The report cannot be written (bad file name, no Chromium for PDF); the message says what to do."""


# -- formatting -------------------------------------------------------------------------------------
def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text(v: Any) -> str | None:
    if _missing(v):
        return None
    s = str(v).strip()
    return s or None


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def fmt_value(value: Any, unit: str | None, currency: str) -> str:
    """A KPI value in its unit (the scorecard's formatting; currency from the settings)."""
    return sc.format_value(value, unit, currency)


def fmt_change(value: Any, unit: str | None, currency: str) -> str:
    v = _num(value)
    if v is None:
        return "–"
    if unit == "%":
        return f"{v:+.1f} pts"
    sign = "+" if v > 0 else ("-" if v < 0 else "±")
    return sign + sc.format_value(abs(v), unit, currency)


def fmt_pct(value: Any, digits: int = 1) -> str:
    v = _num(value)
    return "–" if v is None else f"{v:.{digits}f}%"


def fmt_money(value: Any, currency: str) -> str:
    v = _num(value)
    if v is None:
        return "–"
    return f"{v:,.0f} {currency}".rstrip()


def fmt_roi(value: Any) -> str:
    """First-year ROI as a percentage of the cost: 0.45 -> +45%."""
    v = _num(value)
    return "–" if v is None else f"{v * 100:+,.0f}%"


def fmt_n(n: Any, low: bool | None = None) -> str:
    v = _num(n)
    if v is None:
        return "–"
    low = v < sc.LOW_CONFIDENCE_N if low is None else low
    text = f"{v:,.0f}"
    return f'{text} <span class="low" title="fewer than {sc.LOW_CONFIDENCE_N} observations: low confidence">' \
           f'{LOW_CONFIDENCE_MARK}</span>' if low else text


def fmt_date(v: Any) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def badge(status: str, styles: dict[str, tuple[str, str, str]] = STATUS_STYLE) -> str:
    colour, icon, word = styles.get(status, ("#8C8C8C", "?", status))
    return f'<span class="badge" style="background:{colour}">{icon} {esc(word)}</span>'


def status_word(status: str) -> str:
    return STATUS_STYLE.get(status, ("", "", status))[2]


def _scope(channel: Any, segment: Any) -> str:
    parts = [p for p in (_text(channel), _text(segment)) if p]
    return " · ".join(parts) if parts else "all customers"


def _target(target: Any, direction: Any, unit: str | None, currency: str) -> str:
    sym = {"at_least": "≥ ", "at_most": "≤ "}.get(str(direction), "")
    return sym + fmt_value(target, unit, currency)


# -- the data of the report ---------------------------------------------------------------------------
@dataclass
class Trend:
    kpi: str
    channel: str | None
    segment: str | None
    goals: list[dict[str, Any]]
    frame: pd.DataFrame | None = None
    note: str | None = None


@dataclass
class Initiative:
    row: dict[str, Any]
    series: pd.DataFrame | None
    note: str | None = None


@dataclass
class ReportData:
    start: dt.date | None
    end: dt.date | None
    generated_at: dt.datetime
    currency: str
    settings: dict[str, Any]
    sample: bool
    counts: dict[str, int]
    span: tuple[Any, Any]
    last_loads: dict[str, dict[str, Any]]
    card: pd.DataFrame
    rollup: pd.DataFrame
    findings: list[health.Finding]
    alignment: pd.DataFrame
    mix: pd.DataFrame | None
    mix_note: str | None
    trends: list[Trend]
    initiatives: list[Initiative]
    initiatives_note: str | None
    missing: list[str] = field(default_factory=list)
    kpis_shown: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # goal_id -> its two largest contributions


def _missing_tables(counts: dict[str, int], kpi_id: str) -> tuple[str, ...]:
    kpi = KPIS.get(kpi_id)
    return tuple(t for t in kpi.tables if counts.get(t, 0) == 0) if kpi else ()


def collect(store: Store, start: Any = None, end: Any = None) -> ReportData:
    """Everything the report shows, computed with the engine's APIs (a modest number of queries:
    one per goal scope for the trends, one per mix KPI split by segment, the scorecard, the health
    checks, the impact analysis once, and the weekly series of each initiative)."""
    s, e = sc.resolve_window(store, start, end)
    ctx = health.HealthContext(store=store, start=s, end=e, settings=store.settings(), goal_window=(start, end))
    settings = ctx.settings
    currency = str(settings.get("currency", "") or "")
    counts = store.row_counts()
    last_loads: dict[str, dict[str, Any]] = {}
    for h in store.load_history():  # newest first
        last_loads.setdefault(str(h.get("table_name")), h)
    from crm_metrics.data.bootstrap import showing_sample

    findings = health.run_in(ctx, checks.CHECKS)
    card = ctx.scorecard
    rollup = sc.objective_rollup(card)
    alignment = ctx.alignment

    # what is missing: each KPI the report would show whose tables are empty
    kpis_shown: list[str] = []

    def shown(kpi_id: Any) -> None:
        k = _text(kpi_id)
        if k and k in KPIS and k not in kpis_shown:
            kpis_shown.append(k)

    for k in card["kpi"]:
        shown(k)
    for k in MIX_KPIS:
        shown(k)

    # relationship mix by segment. With stated segment strategies it is the alignment table's (the
    # health checks computed it already); without, one query per share, split by segment.
    mix, mix_note = None, None
    if s is None:
        mix_note = "No data loaded."
    elif counts.get("interactions", 0) == 0:
        mix_note = missing_message(KPIS["relationship_share"], ("interactions",))
    elif not alignment.empty:
        mix = alignment[alignment["n"] > 0][["segment", *MIX_KPIS, "n"]].reset_index(drop=True)
    else:
        parts = []
        for k in MIX_KPIS:
            df = ctx.kpi(k, by=("segment",))
            if df is None:
                mix_note = ctx.missing(k) or f"no {k} over the window"
                parts = []
                break
            parts.append(df[["segment", "value", "n"]].rename(columns={"value": k, "n": f"n_{k}"}))
        if parts:
            mix = parts[0]
            for p in parts[1:]:
                mix = mix.merge(p, on="segment", how="outer")
            mix = mix.rename(columns={"n_relationship_share": "n"})[["segment", *MIX_KPIS, "n"]]
    if mix is not None:
        mix = mix.sort_values("segment", kind="stable", ignore_index=True)
        if mix.empty:
            mix, mix_note = None, f"no customer had an assisted contact with an advisor in {s} – {e}"

    # monthly trend per goal KPI and scope: one query per distinct (kpi, channel, segment)
    trends: dict[tuple[str, str | None, str | None], Trend] = {}
    for g in card.to_dict(orient="records"):
        key = (g["kpi"], _text(g["channel"]), _text(g["segment"]))
        trends.setdefault(key, Trend(*key, goals=[])).goals.append(g)
    for t in trends.values():
        if t.kpi not in KPIS:
            t.note = f"{t.kpi!r} is not a KPI of the catalogue"
            continue
        if s is None:
            t.note = "No data loaded."
            continue
        try:
            df = ctx.kpi(t.kpi, channels=[t.channel] if t.channel else (),
                         segments=[t.segment] if t.segment else (), by=("period",))
        except KpiError as err:
            t.note = str(err)
            continue
        if df is None:
            t.note = ctx.missing(t.kpi) or "no data"
        elif df.empty:
            t.note = f"no data for {_scope(t.channel, t.segment)} in {s} – {e}"
        else:
            t.frame = df

    # initiatives: the impact analysis (shared with the no_return check) and the weekly series
    inits: list[Initiative] = []
    inits_note = None
    if counts.get("initiatives", 0) == 0:
        inits_note = "Load initiatives.csv to see each CRM initiative's before/after, cost and ROI."
    else:
        w = impact_mod.DEFAULT_WINDOW_DAYS
        imp = ctx.shared(("impact", w), lambda: impact_mod.impact(store, window_days=w))
        for r in imp.to_dict(orient="records"):
            shown(r.get("kpi"))
            try:
                series = impact_mod.weekly_series(store, r["initiative_id"], window_days=w)
                note = series.attrs.get("note")
            except (KpiError, ValueError) as err:
                series, note = None, str(err)
            inits.append(Initiative(r, series if series is not None and not series.empty else None, note))
        shown("revenue")

    missing: list[str] = []
    for table, what in (("goals", "Load goals.csv (or set goals on the Strategy page) to see the scorecard."),
                        ("segments", "Load segments.csv to compare each segment's stated strategy with how "
                                     "its customers are served.")):
        if counts.get(table, 0) == 0:
            missing.append(what)
    if inits_note:
        missing.append(inits_note)
    for k in kpis_shown:
        tables = _missing_tables(counts, k)
        if tables:
            msg = missing_message(KPIS[k], tables)
            if msg not in missing:
                missing.append(msg)
    for t in ("customers", "interactions", "transactions", "surveys"):
        if counts.get(t, 0) == 0:
            labels = [k.label for k in KPIS.values() if t in k.tables]
            more = len(labels) > 4
            names = ", ".join(labels[:4]) + (" and more" if more else "")
            if not more and len(labels) > 1:
                names = ", ".join(labels[:-1]) + " and " + labels[-1]
            msg = f"Load {t}.csv to see {names}."
            if msg not in missing:
                missing.append(msg)
    order = {k: i for i, k in enumerate(KPIS)}
    kpis_shown.sort(key=lambda k: order.get(k, len(order)))

    return ReportData(
        start=s, end=e, generated_at=dt.datetime.now().replace(microsecond=0), currency=currency,
        settings=settings, sample=showing_sample(store), counts=counts, span=store.data_span(),
        last_loads=last_loads, card=card, rollup=rollup, findings=findings, alignment=alignment,
        mix=mix, mix_note=mix_note, trends=list(trends.values()), initiatives=inits,
        initiatives_note=inits_note, missing=missing, kpis_shown=kpis_shown,
        why=goal_explanations(store, card, currency))


# -- charts ---------------------------------------------------------------------------------------------
# Figures are plain plotly dicts (plotly.io.to_html without validation: graph_objects validation costs
# ~0.3 s a chart); plotly.js is embedded once, in the page head.
FONT = "DejaVu Sans, Arial, sans-serif"


def _vals(values: Iterable[Any]) -> list[float | None]:
    return [_num(v) for v in values]


class _Charts:
    def __init__(self) -> None:
        self.count = 0

    def render(self, data: list[dict[str, Any]], layout: dict[str, Any], width: int, height: int) -> str:
        import plotly.io as pio

        self.count += 1
        base: dict[str, Any] = {
            "width": width, "height": height, "autosize": False,
            "font": {"family": FONT, "size": 10, "color": "#222"},
            "paper_bgcolor": "white", "plot_bgcolor": "white",
            "margin": {"l": 48, "r": 12, "t": 34, "b": 36},
            "xaxis": {"showgrid": False, "linecolor": "#999", "showline": True, "ticks": "outside",
                      "tickcolor": "#999", "zeroline": False},
            "yaxis": {"gridcolor": "#e5e5e5", "zeroline": False, "linecolor": "#999", "showline": True},
        }
        for k, v in layout.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                base[k] = {**base[k], **v}
            else:
                base[k] = v
        div = pio.to_html({"data": data, "layout": base}, include_plotlyjs=False, full_html=False, validate=False,
                          div_id=f"chart-{self.count}", default_width=f"{width}px", default_height=f"{height}px",
                          config={"displayModeBar": False, "displaylogo": False, "responsive": False,
                                  "staticPlot": False})
        return f'<div class="chart" style="width:{width}px;height:{height}px">{div}</div>'


def _unit_axis(unit: str | None, currency: str) -> dict[str, Any]:
    if unit == "%":
        return {"ticksuffix": "%"}
    if unit == "currency":
        return {"title": {"text": currency}}
    if unit == "seconds":
        return {"ticksuffix": " s"}
    return {}


def _title(text: str) -> dict[str, Any]:
    return {"text": esc(text), "x": 0.01, "xanchor": "left", "font": {"size": 11}}


def _trend_chart(charts: _Charts, t: Trend, d: ReportData) -> str:
    kpi = KPIS[t.kpi]
    df = t.frame
    x = [fmt_date(p) for p in df["period"]]
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines+markers", "name": "monthly value", "x": x, "y": _vals(df["value"]),
        "line": {"color": TREATED_COLOUR, "width": 2}, "marker": {"size": 5},
        "customdata": [int(n) for n in df["n"]],
        "hovertemplate": "%{x|%b %Y}: %{y:.2f} (n = %{customdata:,})<extra></extra>"}]
    x0, x1 = x[0], x[-1]
    for g in t.goals:
        target = _num(g["target"])
        if target is None:
            continue
        data.append({"type": "scatter", "mode": "lines", "name": esc(f"{g['goal_id']} target"), "x": [x0, x1],
                     "y": [target, target], "line": {"color": TARGET_COLOUR, "dash": "dash", "width": 1.5},
                     "hovertemplate": esc(f"{g['goal_id']} target {_target(target, g['direction'], kpi.unit, d.currency)}")
                     + "<extra></extra>"})
        actual = _num(g["actual"])
        a0 = max(x0, fmt_date(g["period_start"])) if g["period_start"] is not None else x0
        a1 = min(x1, fmt_date(g["period_end"])) if g["period_end"] is not None else x1
        if actual is not None and a0 <= a1:
            colour = STATUS_STYLE.get(g["status"], STATUS_STYLE["no_data"])[0]
            data.append({"type": "scatter", "mode": "lines", "name": esc(f"{g['goal_id']} over its period"),
                         "x": [a0, a1], "y": [actual, actual], "line": {"color": colour, "dash": "dot", "width": 2},
                         "hovertemplate": esc(f"{g['goal_id']} over {g['period_start']} – {g['period_end']}: "
                                              f"{fmt_value(actual, kpi.unit, d.currency)}") + "<extra></extra>"})
    layout = {"title": _title(f"{kpi.label} · {_scope(t.channel, t.segment)}"),
              "legend": {"orientation": "h", "y": -0.22, "x": 0, "font": {"size": 9}},
              "margin": {"b": 58}, "yaxis": _unit_axis(kpi.unit, d.currency), "xaxis": {"type": "date"}}
    return charts.render(data, layout, HALF_WIDTH_PX, 250)


def _mix_chart(charts: _Charts, d: ReportData) -> str:
    mix = d.mix
    strategies = {r["segment"]: r["strategy"] for r in d.alignment.to_dict(orient="records")}
    # escaped: plotly draws a subset of HTML (links among it) in labels, and segments are data
    labels = [esc(f"{s} ({strategies[s]})" if s in strategies else str(s)) for s in mix["segment"]]
    data = []
    for k in MIX_KPIS:
        name, colour = MIX_STYLE[k]
        vals = [(_num(v) or 0.0) for v in mix[k]]
        data.append({"type": "bar", "orientation": "h", "name": name, "y": labels, "x": vals,
                     "marker": {"color": colour}, "text": [f"{v:.0f}%" if v >= 6 else "" for v in vals],
                     "textposition": "inside", "insidetextanchor": "middle",
                     "hovertemplate": f"{name}: %{{x:.1f}}%<extra></extra>"})
    shapes, annotations = [], []
    threshold = _num(d.settings.get("alignment_threshold"))
    if threshold is not None:
        shapes.append({"type": "line", "x0": threshold, "x1": threshold, "y0": 0, "y1": 1, "yref": "paper",
                       "line": {"color": "#000", "dash": "dot", "width": 1.5}})
        annotations.append({"x": threshold, "y": 1, "yref": "paper", "text": f"alignment threshold {threshold:g}%",
                            "showarrow": False, "yanchor": "bottom", "font": {"size": 9}})
    layout = {"barmode": "stack", "legend": {"orientation": "h", "y": -0.18, "x": 0, "traceorder": "normal"},
              "title": _title("Customers with advisor contacts, by relationship type"),
              "margin": {"l": 170, "t": 44, "b": 50}, "shapes": shapes, "annotations": annotations,
              "xaxis": {"range": [0, 100], "ticksuffix": "%"}, "yaxis": {"autorange": "reversed", "showgrid": False}}
    return charts.render(data, layout, PAGE_WIDTH_PX, 100 + 34 * max(len(labels), 2))


def _initiative_chart(charts: _Charts, it: Initiative, d: ReportData) -> str:
    r, df = it.row, it.series
    kpi = KPIS.get(str(r.get("kpi")))
    data = []
    for grp, colour, dash in (("treated", TREATED_COLOUR, "solid"), ("control", CONTROL_COLOUR, "dash")):
        part = df[df["group"] == grp]
        if part.empty:
            continue
        data.append({"type": "scatter", "mode": "lines+markers", "name": grp,
                     "x": [fmt_date(p) for p in part["period"]], "y": _vals(part["value"]),
                     "line": {"color": colour, "dash": dash, "width": 2}, "marker": {"size": 4},
                     "customdata": [int(n) for n in part["n"]],
                     "hovertemplate": f"{grp}, week of %{{x}}: %{{y:.2f}} (n = %{{customdata:,}})<extra></extra>"})
    g = fmt_date(r.get("go_live"))
    layout = {"title": _title(f"{r['initiative_id']} · {kpi.label if kpi else r.get('kpi')} per week"),
              "legend": {"orientation": "h", "y": -0.22, "x": 0, "font": {"size": 9}},
              "margin": {"b": 56, "t": 44}, "yaxis": _unit_axis(kpi.unit if kpi else None, d.currency),
              "xaxis": {"type": "date"},
              "shapes": [{"type": "line", "x0": g, "x1": g, "y0": 0, "y1": 1, "yref": "paper",
                          "line": {"color": "#000", "width": 1.5}}],
              "annotations": [{"x": g, "y": 1, "yref": "paper", "text": f"go-live {g}", "showarrow": False,
                               "xanchor": "left", "yanchor": "bottom", "font": {"size": 9}}]}
    return charts.render(data, layout, HALF_WIDTH_PX, 240)


# -- HTML -------------------------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
       font-size: 10pt; color: #222; margin: 0 auto; max-width: 720px; padding: 16px; line-height: 1.35; }
h1 { font-size: 22pt; margin: 0 0 4px; }
h2 { font-size: 15pt; margin: 0 0 8px; border-bottom: 2px solid #0072B2; padding-bottom: 3px; }
h3 { font-size: 11.5pt; margin: 14px 0 6px; }
p { margin: 4px 0 8px; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
.subtitle { color: #555; margin-bottom: 10px; }
.meta { color: #333; }
.note { color: #555; font-size: 9pt; }
section { margin-top: 26px; }
section.page { break-before: page; page-break-before: always; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; font-size: 8.8pt; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
table.fixed { table-layout: fixed; }
table.fixed td { overflow-wrap: anywhere; }
table.fixed td.num, table.fixed th { overflow-wrap: normal; white-space: normal; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
.badge { display: inline-block; color: #fff; font-weight: 600; border-radius: 3px; padding: 1px 6px;
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

_WAIT_JS = """() => {
  const plots = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return plots.every(d => d._fullLayout && d.querySelector('svg.main-svg'));
}"""


def _table(headers: Iterable[tuple[str, bool]], rows: Iterable[Iterable[str]], row_attrs: Iterable[str] | None = None,
           widths: Iterable[int] | None = None) -> str:
    hs = list(headers)
    cols = ""
    if widths is not None:
        cols = "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>"
    head = "".join(f'<th class="{"num" if num else ""}">{esc(h)}</th>' for h, num in hs)
    body = []
    attrs = list(row_attrs) if row_attrs is not None else None
    for i, r in enumerate(rows):
        cells = "".join(f'<td class="{"num" if num else ""}">{c}</td>' for c, (_, num) in zip(r, hs))
        body.append(f"<tr{(' ' + attrs[i]) if attrs else ''}>{cells}</tr>")
    cls = ' class="fixed"' if widths is not None else ""
    return f"<table{cls}>{cols}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section_header(d: ReportData) -> str:
    window = f"{d.start} – {d.end}" if d.start else "no data loaded"
    out = [f"<header><h1>{esc(TITLE)}</h1><p class='subtitle'>{esc(SUBTITLE)}</p>",
           f"<p class='meta'><b>Window:</b> {esc(window)} &nbsp;·&nbsp; <b>Prepared:</b> "
           f"{esc(fmt_date(d.generated_at))} &nbsp;·&nbsp; <b>Currency:</b> {esc(d.currency or '–')}</p></header>"]
    if d.sample:
        out.append("<div class='sample'>This report shows the <b>sample company</b> shipped with the product, "
                   "not your organisation's data. Load your own files on the Data page or with "
                   "<code>python -m crm_metrics load</code>.</div>")
    if d.missing:
        items = "".join(f"<li>{esc(m)}</li>" for m in d.missing)
        out.append(f"<div class='missing'><b>Missing data — parts of this report are empty:</b><ul>{items}</ul></div>")
    # at a glance
    counts = {s: int((d.card["status"] == s).sum()) for s in STATUS_STYLE} if len(d.card) else {}
    boxes = []
    for s, (colour, icon, word) in STATUS_STYLE.items():
        boxes.append(f"<div style='border-top-color:{colour}'><b>{counts.get(s, 0)}</b>{icon} {esc(word)}</div>")
    sev = {k: sum(1 for f in d.findings if f.severity == k) for k in SEVERITY_STYLE}
    out.append("<section><h2>At a glance</h2>")
    if len(d.card):
        out.append(f"<p>{len(d.card)} goal{'s' if len(d.card) != 1 else ''} judged over "
                   f"{esc(window)} (or each goal's own period):</p><div class='glance'>{''.join(boxes)}</div>")
    else:
        out.append("<p>No goals are set, so nothing says what the CRM should achieve.</p>")
    out.append(f"<p>Health checks: {sev['critical']} critical, {sev['warning']} warning, {sev['ok']} ok.</p>")
    worst = sorted((f for f in d.findings if f.severity != "ok"),
                   key=lambda f: list(SEVERITY_STYLE).index(f.severity))[:5]
    if worst:
        out.append("<ul>" + "".join(f"<li>{badge(f.severity, SEVERITY_STYLE)} <b>{esc(f.title)}</b>: "
                                     f"{esc(f.finding)}</li>" for f in worst) + "</ul>")
    if d.initiatives:
        rois = [(it.row["initiative_id"], _num(it.row.get("roi"))) for it in d.initiatives]
        known = [(i, r) for i, r in rois if r is not None]
        spent = sum(_num(it.row.get("cost")) or 0.0 for it in d.initiatives)
        out.append(f"<p>{len(d.initiatives)} initiative{'s' if len(d.initiatives) != 1 else ''} costing "
                   f"{esc(fmt_money(spent, d.currency))} in total; first-year ROI (annualised) measured for {len(known)}, "
                   f"positive for {sum(1 for _, r in known if r >= 0)}.</p>")
    out.append("</section>")
    return "".join(out)


def _section_provenance(d: ReportData) -> str:
    rows = []
    for t in SOURCE_TABLES:
        h = d.last_loads.get(t)
        n = d.counts.get(t, 0)
        rows.append([
            f"<code>{esc(t)}</code>", f"{n:,}" if n else "<b>not loaded</b>",
            esc(fmt_date(h.get("loaded_at"))) if h else "–",
            esc(h.get("file_name")) if h else "–",
            esc(h.get("mode")) if h else "–",
            esc(h.get("loaded_by") or "–") if h else "–",
        ])
    lo, hi = d.span
    span = f"{fmt_date(lo)} – {fmt_date(hi)}" if lo is not None else "no dated data"
    return ("<section><h2>The data behind this report</h2>"
            f"<p>Data span (first and last day with contacts, transactions or surveys): <b>{esc(span)}</b>. "
            f"Window of this report: <b>{esc(f'{d.start} – {d.end}' if d.start else 'none')}</b>.</p>"
            + _table([("table", False), ("rows", True), ("last load", False), ("file", False), ("mode", False),
                      ("by", False)], rows)
            + "</section>")


def _section_scorecard(d: ReportData) -> str:
    out = ["<section class='page'><h2>Scorecard: goals against actuals</h2>"]
    if d.card.empty:
        out.append("<p class='missing'>No goals are set. State goals (KPI, target, scope, period, objective, "
                   "owner) on the Strategy page or load goals.csv.</p></section>")
        return "".join(out)
    # -- goals in progress (foresight.md): actual to date, forecast, 80 % interval, chance in words --
    out.append("<p class='note'>Each goal is judged over its own period (a goal without one: each calendar "
               "year); the report's window only chooses which goals are listed. A period the data has not "
               "reached the end of is <i>in progress</i>: it shows the actual to date, the forecast for the "
               "whole period with its 80 % interval and the chance of meeting the target, and its status is the "
               "pace (on track, at risk, off track), never missed. Attainment = actual (in progress: forecast) ÷ "
               "target (at least) or target ÷ it (at most). Change = actual − the same KPI over the period of "
               "equal length just before, – when the data does not cover that period whole. "
               f"{LOW_CONFIDENCE_MARK} = fewer than {sc.LOW_CONFIDENCE_N} observations (n): low confidence.</p>")
    cur = d.currency
    for obj in d.rollup.to_dict(orient="records"):
        name = obj["objective"]
        if name == sc.NO_OBJECTIVE:
            goals = d.card[d.card["objective"].isna()]
        else:
            goals = d.card[d.card["objective"].map(lambda v: _text(v) == name)]
        summary = ", ".join(f"{obj[s]} {STATUS_STYLE[s][2].lower()}" for s in STATUS_STYLE if obj[s])
        out.append(f"<h3>{esc(name)} <span class='note'>— {obj['goals']} goal{'s' if obj['goals'] != 1 else ''}: "
                   f"{esc(summary)}</span></h3>")
        rows, attrs = [], []
        for g in goals.to_dict(orient="records"):
            unit = g["unit"]
            period = f"{fmt_date(g['period_start'])} – {fmt_date(g['period_end'])}"
            if not g["final"]:
                period += f", in progress ({fmt_pct(100 * (g['elapsed_share'] or 0))} elapsed)"
            rows.append([
                f"<b>{esc(g['goal_id'])}</b>",
                f"{esc(g['label'])}<br><span class='note'>{esc(_scope(g['channel'], g['segment']))} · "
                f"{esc(period)}</span>",
                esc(_target(g["target"], g["direction"], unit, cur)),
                _actual_cell(g, unit, cur),
                badge(g["status"]),
                esc(fmt_pct(g["attainment"])),
                esc(fmt_change(g["change"], unit, cur)),
                fmt_n(g["n"], bool(g["low_confidence"])),
                esc(g["owner"] or "–"),
            ])
            attrs.append(f'data-goal="{esc(g["goal_id"])}" data-status="{esc(g["status"])}" '
                         f'data-period="{esc(str(g["period_start"]))}"')
        out.append(_table([("goal", False), ("KPI · scope · period", False), ("target", True), ("actual", True),
                           ("status", False), ("attainment", True), ("change", True), ("n", True),
                           ("owner", False)], rows, attrs, widths=(5, 19, 9, 20, 10, 8, 9, 8, 12)))
        why = [(g, d.why[g]) for g in dict.fromkeys(goals["goal_id"]) if g in d.why]
        if why:  # missed goals: where the change came from (explain.md)
            out.append("<ul class='why'>" + "".join(f"<li data-why='{esc(g)}'><b>{esc(g)}</b>: {esc(t)}</li>"
                                                     for g, t in why) + "</ul>")
    out.append("</section>")
    return "".join(out)


def _actual_cell(g: dict[str, Any], unit: Any, cur: str) -> str:
    """Final: the actual. In progress: actual to date, forecast, its 80 % interval, chance of meeting."""
    if g["final"]:
        return f"<b>{esc(fmt_value(g['actual'], unit, cur))}</b>"
    cell = f"<b>{esc(fmt_value(g['actual_to_date'], unit, cur))}</b> <span class='note'>to date</span>"
    if g["forecast"] is None or g["forecast"] != g["forecast"]:
        return cell + f"<br><span class='note'>no forecast: {esc(g['forecast_method'] or 'no data')}</span>"
    band = "" if g["forecast_low"] != g["forecast_low"] else \
        f" (80 %: {fmt_value(g['forecast_low'], unit, cur)} – {fmt_value(g['forecast_high'], unit, cur)})"
    return (cell + f"<br><span class='note'>forecast {esc(fmt_value(g['forecast'], unit, cur))}{esc(band)}; "
            f"meeting the target: {esc(sc.chance_words(g['p_meet']))}</span>")


def _section_health(d: ReportData) -> str:
    out = ["<section class='page'><h2>Health checks: the known ways CRM programmes fail</h2>",
           "<p class='note'>Each check looks for one way CRM programmes fail, with the numbers behind it and "
           "what to look at next. Most serious first.</p>"]
    order = list(SEVERITY_STYLE)
    findings = sorted(d.findings, key=lambda f: order.index(f.severity) if f.severity in order else len(order))
    rows = []
    for f in findings:
        subject = f" <span class='note'>({esc(f.subject)})</span>" if f.subject else ""
        rows.append([badge(f.severity, SEVERITY_STYLE), f"<b>{esc(f.title)}</b>{subject}", esc(f.finding),
                     esc(f.next_step if f.next_step != "-" else "–")])
    out.append(_table([("severity", False), ("check", False), ("finding", False), ("next step", False)], rows,
                      widths=(12, 17, 43, 28)))
    out.append("</section>")
    return "".join(out)


def _section_trends(d: ReportData, charts: _Charts) -> str:
    out = ["<section class='page'><h2>Goal trends: monthly value against the target</h2>"]
    if not d.trends:
        out.append("<p>No goals, no trends.</p></section>")
        return "".join(out)
    out.append("<p class='note'>The KPI per calendar month over the report's window, in each goal's scope. "
               "Dashed black: the target. Dotted: the value over the goal's whole period (what the goal is judged "
               "on), coloured by status, drawn over that period. KPIs that build up over time (churn, revenue, "
               "relationship shares, which need repeated contacts) are lower in a single month than over a longer "
               "period: judge the goal by the dotted line, read the monthly line for the direction.</p>")
    boxes, notes = [], []
    for t in d.trends:
        ids = ", ".join(str(g["goal_id"]) for g in t.goals)
        label = KPIS[t.kpi].label if t.kpi in KPIS else t.kpi
        if t.frame is None:
            notes.append(f"<li><b>{esc(ids)}</b> {esc(label)} · {esc(_scope(t.channel, t.segment))}: "
                         f"{esc(t.note or 'no data')}</li>")
            continue
        boxes.append(_trend_chart(charts, t, d))
    if boxes:
        out.append(f"<div class='charts'>{''.join(boxes)}</div>")
    if notes:
        out.append(f"<div class='missing'><b>No trend for:</b><ul>{''.join(notes)}</ul></div>")
    out.append("</section>")
    return "".join(out)


def _section_mix(d: ReportData, charts: _Charts) -> str:
    out = ["<section class='page'><h2>Relationship mix by segment</h2>",
           "<p class='note'>Of the customers with at least one assisted contact with an advisor in the window: "
           "<b>relationship</b> customers mostly see the same advisor (at least two contacts, usual-advisor "
           f"continuity ≥ {esc(d.settings.get('relationship_upc_threshold'))}), <b>pseudo-relationship</b> "
           "customers come back but to different advisors, <b>encounter</b> customers had one contact. A segment "
           "whose stated strategy is relationship is <b>misaligned</b> when its relationship share is below the "
           f"alignment threshold ({_num(d.settings.get('alignment_threshold')) or 0:g}%). "
           + ("Segments with a stated strategy (segments.csv)." if not d.alignment.empty else
              "No segment strategies are stated (segments.csv): every segment in the data is shown.")
           + "</p>"]
    if d.mix is None:
        out.append(f"<div class='missing'>{esc(d.mix_note or 'No data.')}</div></section>")
        return "".join(out)
    out.append(_mix_chart(charts, d))
    if not d.alignment.empty:
        cur = d.currency
        rows = []
        for r in d.alignment.to_dict(orient="records"):
            verdict = badge("missed", {"missed": ("#D55E00", "✖", "Misaligned")}) if r["misaligned"] else (
                badge("met", {"met": ("#009E73", "✔", "Aligned")}) if r["strategy"] == "relationship"
                and _num(r["relationship_share"]) is not None else "–")
            rows.append([esc(r["segment"]), esc(r["strategy"]), esc(fmt_pct(r["relationship_share"])),
                         fmt_n(r["n"]), verdict, esc(fmt_value(r["csat"], "%", cur)),
                         esc(fmt_value(r["nps"], "score", cur)), esc(fmt_value(r["churn_rate"], "%", cur))])
        out.append("<h3>Stated strategy against observed behaviour</h3>")
        out.append(_table([("segment", False), ("strategy", False), ("relationship share", True), ("n", True),
                           ("alignment", False), ("CSAT", True), ("NPS", True), ("churn", True)], rows))
    else:
        out.append("<p class='note'>No segment strategies are stated (segments.csv), so alignment is not judged.</p>")
    out.append("</section>")
    return "".join(out)


def _section_initiatives(d: ReportData, charts: _Charts) -> str:
    w = impact_mod.DEFAULT_WINDOW_DAYS
    out = ["<section class='page'><h2>Initiatives: what moved after go-live</h2>"]
    if d.initiatives_note:
        out.append(f"<div class='missing'>{esc(d.initiatives_note)}</div></section>")
        return "".join(out)
    margin = _num(d.settings.get("margin"))
    out.append(f"<p class='note'>Each initiative's KPI over the {w} days before and the {w} days after go-live, "
               "for the initiative's scope (treated) and the rest (control). Effect = change of treated − change of "
               "control (difference-in-differences), with its 95 % interval; without a scope there is no control and "
               "the effect is the after-window's distance from the trend forecast before go-live. The verdict: "
               "<i>improved</i> / <i>worsened</i> (the interval excludes no change), <i>no detectable effect</i>, "
               "<i>doubtful</i> (treated and control drifted apart before go-live, or a pretend go-live shows an "
               "effect too), <i>provisional</i> (the after-window runs past the data). "
               f"First-year ROI, annualised = (incremental revenue × 365 ÷ {w} × margin "
               f"{margin if margin is not None else '–'} − cost) ÷ cost, with its 95 % bootstrap interval.</p>")
    cur = d.currency
    kpi_rows, money_rows, notes = [], [], []
    for it in d.initiatives:
        r = it.row
        kpi = KPIS.get(str(r.get("kpi")))
        unit = kpi.unit if kpi else None
        ctrl = (f"{fmt_value(r.get('control_before'), unit, cur)} → {fmt_value(r.get('control_after'), unit, cur)}"
                if r.get("has_control") else "no control")
        over = _num(r.get("over_budget_pct"))
        name = (f"<b>{esc(r['initiative_id'])}</b> {esc(r.get('name'))}<br><span class='note'>"
                f"{esc(_scope(r.get('channel'), r.get('segment')))}"
                f"{' · provisional' if r.get('provisional') else ''}</span>")
        kpi_rows.append([
            name, esc(fmt_date(r.get("go_live"))), esc(kpi.label if kpi else r.get("kpi")),
            esc(f"{fmt_value(r.get('treated_before'), unit, cur)} → {fmt_value(r.get('treated_after'), unit, cur)}"),
            esc(ctrl), f"<b>{esc(fmt_change(r.get('effect'), unit, cur))}</b>{_effect_interval(r, unit, cur)}"
                       f"{_verdict(r.get('verdict'))}",
        ])
        money_rows.append([
            f"<b>{esc(r['initiative_id'])}</b> {esc(r.get('name'))}",
            esc(fmt_money(r.get("cost"), cur)),
            esc(fmt_money(r.get("budget"), cur)),
            esc(f"{over:+.1f}%" if over is not None else "–"),
            esc(fmt_money(r.get("incremental_revenue"), cur)),
            f"<b>{esc(fmt_roi(r.get('roi')))}</b>" + (
                f"<br><span class='note'>95 %: {esc(fmt_roi(r.get('roi_low')))} to {esc(fmt_roi(r.get('roi_high')))}"
                "</span>" if _num(r.get("roi_low")) is not None and _num(r.get("roi_high")) is not None else ""),
        ])
        if _text(r.get("notes")):
            notes.append(f"<li><b>{esc(r['initiative_id'])}</b>: {esc(r.get('notes'))}</li>")
    out.append("<h3>Effect on each initiative's KPI</h3>")
    out.append(_table([("initiative", False), ("go-live", False), ("KPI", False), ("treated before → after", True),
                       ("control before → after", True), ("effect", True)], kpi_rows,
                      widths=(27, 12, 16, 17, 16, 12)))
    out.append(f"<h3>Cost and return <span class='note'>(incremental revenue in the {w} days after go-live)"
               "</span></h3>")
    out.append(_table([("initiative", False), ("cost", True), ("budget", True), ("over budget", True),
                       ("incremental revenue", True), ("first-year ROI (annualised)", True)], money_rows,
                      widths=(36, 13, 13, 10, 16, 12)))
    if notes:
        out.append(f"<p class='note'><b>Notes</b></p><ul class='note'>{''.join(notes)}</ul>")
    out.append(f"<h3>Weekly KPI, treated and control, go-live marked</h3><div class='charts'>")
    for it in d.initiatives:
        if it.series is None:
            out.append(f"<div class='chart-box note' style='width:{HALF_WIDTH_PX}px'><b>"
                       f"{esc(it.row['initiative_id'])}</b>: no weekly series ({esc(it.note or 'no data')}).</div>")
        else:
            out.append(_initiative_chart(charts, it, d))
    out.append("</div></section>")
    return "".join(out)


def _effect_interval(r: dict[str, Any], unit: Any, cur: str) -> str:
    """The effect's 95 % interval under it, when there is one."""
    lo, hi = _num(r.get("effect_ci_low")), _num(r.get("effect_ci_high"))
    if lo is None or hi is None:
        return ""
    return f"<br><span class='note'>95 %: {esc(fmt_change(lo, unit, cur))} to {esc(fmt_change(hi, unit, cur))}</span>"


def _verdict(verdict: Any) -> str:
    """The verdict in words under the effect (strategy.md, "How sure are we?")."""
    v = _text(verdict)
    return f"<br><span class='note'><b>{esc(v)}</b></span>" if v else ""


def _section_definitions(d: ReportData) -> str:
    items = []
    for k in d.kpis_shown:
        kpi = KPIS[k]
        unit = d.currency if kpi.unit == "currency" and d.currency else kpi.unit
        items.append(f"<dt>{esc(kpi.label)} <span class='note'>({esc(kpi.id)})</span></dt>"
                     f"<dd>{esc(kpi.description)}<br><b>Formula:</b> <code>{esc(kpi.formula)}</code><br>"
                     f"<b>Unit:</b> {esc(unit)} · <b>Better:</b> {esc(kpi.better)}</dd>")
    body = f"<dl class='defs'>{''.join(items)}</dl>" if items else "<p>No KPI is shown.</p>"
    return f"<section class='page'><h2>Appendix: definitions of the KPIs shown</h2>{body}</section>"


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def build_html(d: ReportData) -> str:
    """The report for collected data, as one self-contained HTML document."""
    charts = _Charts()
    sections = [
        _section_header(d), _section_provenance(d), _section_scorecard(d), _section_health(d),
        _section_trends(d, charts), _section_mix(d, charts), _section_initiatives(d, charts), _section_definitions(d),
    ]
    script = f"<script>{_plotlyjs()}</script>" if charts.count else ""
    window = f"{d.start} – {d.end}" if d.start else "no data"
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(TITLE)} · {esc(window)}</title><style>{CSS}</style>{script}</head>"
            f"<body>{''.join(sections)}<footer class='note' style='margin-top:20px'>{esc(TITLE)} · {esc(window)} · "
            f"prepared {esc(fmt_date(d.generated_at))} with crm_metrics.</footer></body></html>\n")


def render_html(store: Store, start: Any = None, end: Any = None) -> str:
    """The executive report over the window (default: the span of the loaded data) as self-contained HTML."""
    return build_html(collect(store, start, end))


# -- PDF -------------------------------------------------------------------------------------------------
def chromium_path() -> str:
    """The Chromium executable (env CRM_CHROMIUM, else chromium on PATH, else /usr/bin/chromium)."""
    for cand in (os.environ.get("CRM_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 *CHROMIUM_FALLBACKS):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise ReportError(f"a PDF report needs Chromium, which is not installed: {INSTALL_CHROMIUM}. "
                      "Or write the report as .html.")


def html_to_pdf(html_text: str, out_path: str | os.PathLike[str], *, footer: str = "", browser: Any = None) -> Path:
    """Print the HTML to an A4 PDF with headless Chromium: network blocked, every chart drawn first.

    ``browser``: an already launched playwright Browser to reuse (several reports in one run); by
    default Chromium is launched for this one PDF and closed. A script error while the charts are
    drawn is a ReportError (a PDF with missing charts is not written)."""
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError as e:  # pragma: no cover - a dependency of the project
        raise ReportError("a PDF report needs the playwright Python package: pip install playwright") from e
    out = Path(out_path)
    footer_html = ("<div style='font-size:8px;color:#666;width:100%;padding:0 13mm;display:flex;"
                   f"justify-content:space-between'><span>{esc(footer)}</span><span>page "
                   "<span class='pageNumber'></span> of <span class='totalPages'></span></span></div>")
    errors: list[str] = []

    def render(b: Any) -> None:
        context = b.new_context(offline=True)
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.abort())  # offline: nothing is fetched
            page.set_content(html_text, wait_until="load", timeout=180_000)
            page.wait_for_function(_WAIT_JS, timeout=180_000, polling=100)
            if errors:
                raise ReportError(f"the report's charts failed in Chromium: {errors[0]}")
            page.pdf(path=str(out), format="A4", print_background=True, prefer_css_page_size=True,
                     display_header_footer=True, header_template="<span></span>", footer_template=footer_html)
        finally:
            context.close()

    exe = "the given browser"
    try:
        if browser is not None:
            render(browser)
        else:
            exe = chromium_path()
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
                try:
                    render(b)
                finally:
                    b.close()
    except PlaywrightError as e:
        raise ReportError(f"Chromium could not print the report ({exe}): {str(e).splitlines()[0]}. "
                          f"If Chromium is broken or missing: {INSTALL_CHROMIUM}.") from e
    return out


def check_extension(out_path: str | os.PathLike[str]) -> str:
    ext = Path(out_path).suffix.lower()
    if ext not in EXTENSIONS:
        raise ReportError(f"cannot write the report to {str(out_path)!r}: the file name must end in .html "
                          f"(a web page that works offline) or .pdf (for print), got "
                          f"{repr(ext) if ext else 'no extension'}.")
    return ext


def write_report(store: Store, out_path: str | os.PathLike[str], start: Any = None, end: Any = None, *,
                 browser: Any = None) -> Path:
    """Write the report as HTML or PDF, chosen by the extension (.html / .pdf; anything else: ValueError).

    The file is written next to its final name and moved into place, so a failure leaves no partial file.
    ``browser``: a launched playwright Browser to print with (default: launch Chromium for this PDF)."""
    ext = check_extension(out_path)
    if ext == ".pdf" and browser is None:
        chromium_path()  # refuse before computing anything
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    d = collect(store, start, end)
    text = build_html(d)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=ext, dir=str(out.parent))
    os.close(fd)
    try:
        if ext == ".html":
            Path(tmp).write_text(text, encoding="utf-8")
        else:
            window = f"{d.start} – {d.end}" if d.start else "no data"
            html_to_pdf(text, tmp, footer=f"{TITLE} · {window}", browser=browser)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


__all__ = ["render_html", "write_report", "html_to_pdf", "collect", "build_html", "chromium_path", "ReportError",
           "STATUS_STYLE", "SEVERITY_STYLE", "TITLE", "fmt_value", "status_word"]
