"""The report's charts (plotly figures as HTML fragments; plotly.js is embedded once by html.py)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_metrics.data import values
from crm_metrics.delivery.formatting import format_value
from crm_metrics.delivery.presentation import STATUS_STYLE
from crm_metrics.delivery.report.base import (
    CONTROL_COLOUR,
    HALF_WIDTH_PX,
    MIX_KPIS,
    MIX_STYLE,
    PAGE_WIDTH_PX,
    TARGET_COLOUR,
    TREATED_COLOUR,
)
from crm_metrics.delivery.report.data import Initiative, ReportData, Trend
from crm_metrics.delivery.report.text import esc, fmt_date, period_words, scope_text, target_text
from crm_metrics.metrics.kpis import KPIS

# -- charts ---------------------------------------------------------------------------------------------
# Figures are plain plotly dicts (plotly.io.to_html without validation: graph_objects validation costs
# ~0.3 s a chart); plotly.js is embedded once, in the page head.
FONT = "DejaVu Sans, Arial, sans-serif"


def _vals(cells: Iterable[Any]) -> list[float | None]:
    return [values.number(v) for v in cells]


class Charts:
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


def trend_chart(charts: Charts, t: Trend, d: ReportData) -> str:
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
        target = values.number(g["target"])
        if target is None:
            continue
        # both lines only over the goal's own period (a 2026 goal is not a target for 2025), and named
        # by the goal's words, not its id
        a0 = max(x0, fmt_date(g["period_start"])) if g["period_start"] is not None else x0
        a1 = min(x1, fmt_date(g["period_end"])) if g["period_end"] is not None else x1
        if a0 > a1:
            continue
        period = period_words(g["period_start"], g["period_end"])
        goal = target_text(target, g["direction"], kpi.unit, d.currency)
        data.append({"type": "scatter", "mode": "lines", "name": esc(f"target {goal} ({period})"), "x": [a0, a1],
                     "y": [target, target], "line": {"color": TARGET_COLOUR, "dash": "dash", "width": 1.5},
                     "hovertemplate": esc(f"target {goal} over {period}") + "<extra></extra>"})
        actual = values.number(g["actual"])
        if actual is not None:
            colour = STATUS_STYLE.get(g["status"], STATUS_STYLE["no_data"])[0]
            data.append({"type": "scatter", "mode": "lines", "name": esc(f"value over {period}"),
                         "x": [a0, a1], "y": [actual, actual], "line": {"color": colour, "dash": "dot", "width": 2},
                         "hovertemplate": esc(f"{kpi.label} over {period}: "
                                              f"{format_value(actual, kpi.unit, d.currency)}") + "<extra></extra>"})
    layout = {"title": _title(f"{kpi.label} · {scope_text(t.channel, t.segment)}"),
              "legend": {"orientation": "h", "y": -0.22, "x": 0, "font": {"size": 9}},
              "margin": {"b": 58}, "yaxis": _unit_axis(kpi.unit, d.currency), "xaxis": {"type": "date"}}
    return charts.render(data, layout, HALF_WIDTH_PX, 250)


def mix_chart(charts: Charts, d: ReportData) -> str:
    mix = d.mix
    strategies = {r["segment"]: r["strategy"] for r in d.alignment.to_dict(orient="records")}
    # escaped: plotly draws a subset of HTML (links among it) in labels, and segments are data
    labels = [esc(f"{s} ({strategies[s]})" if s in strategies else str(s)) for s in mix["segment"]]
    data = []
    for k in MIX_KPIS:
        name, colour = MIX_STYLE[k]
        vals = [(values.number(v) or 0.0) for v in mix[k]]
        data.append({"type": "bar", "orientation": "h", "name": name, "y": labels, "x": vals,
                     "marker": {"color": colour}, "text": [f"{v:.0f}%" if v >= 6 else "" for v in vals],
                     "textposition": "inside", "insidetextanchor": "middle",
                     "hovertemplate": f"{name}: %{{x:.1f}}%<extra></extra>"})
    shapes, annotations = [], []
    threshold = values.number(d.settings.get("alignment_threshold"))
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


def initiative_chart(charts: Charts, it: Initiative, d: ReportData) -> str:
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
    # the initiative's name on its own line: a half-page chart has no room for name and KPI on one
    title = _title(f"{kpi.label if kpi else r.get('kpi')} per week")
    title["text"] = f"<b>{esc(r.get('name') or r['initiative_id'])}</b><br>{title['text']}"
    layout = {"title": title,
              "legend": {"orientation": "h", "y": -0.22, "x": 0, "font": {"size": 9}},
              "margin": {"b": 56, "t": 58}, "yaxis": _unit_axis(kpi.unit if kpi else None, d.currency),
              "xaxis": {"type": "date"},
              "shapes": [{"type": "line", "x0": g, "x1": g, "y0": 0, "y1": 1, "yref": "paper",
                          "line": {"color": "#000", "width": 1.5}}],
              "annotations": [{"x": g, "y": 1, "yref": "paper", "text": f"go-live {g}", "showarrow": False,
                               "xanchor": "left", "yanchor": "bottom", "font": {"size": 9}}]}
    return charts.render(data, layout, HALF_WIDTH_PX, 240)
