"""Charts: a KPI's trend with its goal lines, the mix over time, two KPIs on two axes, the
relationship mix by segment, cohort retention, and the Plotly layout they share. Each renders inside
a cached function keyed on the store, the data version and the view (see ``ui.cards``)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from crm_metrics.delivery import output
from crm_metrics.delivery.presentation import REFERENCE_COLOUR, RELATIONSHIP_MIX, SERIES_COLOURS, STATUS_STYLE
from crm_metrics.judgement import strategy
from crm_metrics.judgement.impact import go_lives
from crm_metrics.metrics.kpis import get_kpi
from crm_metrics.metrics.views import cohort_retention

from . import precompute, state
from .filters import Filters, cache_key, choices
from .formatting import as_date, fmt, goal_text, kpi_label, population, window_note
from .results import kpi
from .widgets import missing, plotly_chart


def plotly_layout(fig: Any, *, height: int = 360, title: str | None = None) -> Any:
    top = (64 if "<br>" in title else 40) if title else 10
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=top, b=10),
                      title=title, colorway=SERIES_COLOURS, legend=dict(orientation="h", y=-0.2),
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)", hovermode="x unified")
    # transparent backgrounds and a translucent grid: legible on the light and the dark theme
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="rgba(128,128,128,0.25)")
    return fig


def goals_for(kpi_id: str, f: Filters, by: str | None = None) -> list[tuple[dict[str, Any], str | None]]:
    """Goals on this KPI that the chart can show, each with the series it belongs to (None: every
    line / the only line). A channel (segment) goal fits a chart split by channel (segment) when
    its channel is drawn; otherwise only when exactly that channel (segment) is selected."""
    goals = strategy.goals(state.store())
    out: list[tuple[dict[str, Any], str | None]] = []
    for g in goals[goals["kpi"] == kpi_id].to_dict("records"):
        series, fits = None, True
        for dim, selected in (("channel", f.channels), ("segment", f.segments)):
            value = output.plain(g.get(dim))
            if value is None:
                continue
            if by == dim:
                fits = fits and (not selected or value in selected)
                series = str(value)
            else:
                fits = fits and tuple(selected) == (value,)
        if fits:
            out.append((g, series))
    return out


def _goal_lines(fig: Any, kpi_id: str, f: Filters, by: str | None, colours: dict[str, str]) -> None:
    """Each goal as a dashed segment over its own period only (clipped to the chart's window), in
    its series' colour, labelled with the goal in words, with its tolerance band."""
    for g, series in goals_for(kpi_id, f, by):
        target = output.plain(g.get("target"))
        if target is None:
            continue
        start = as_date(g.get("period_start")) or f.start
        end = as_date(g.get("period_end")) or f.end
        x0, x1 = max(start, f.start), min(end, f.end)
        if x0 > x1:
            continue  # the goal's period lies outside the window viewed
        tol = output.plain(g.get("tolerance"))
        band = abs(target) * (0.05 if tol is None else tol)
        colour = colours.get(series, REFERENCE_COLOUR) if series else REFERENCE_COLOUR
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=target - band, y1=target + band, fillcolor=colour,
                      opacity=0.10, line_width=0, layer="below")
        fig.add_shape(type="line", x0=x0, x1=x1, y0=target, y1=target, line=dict(color=colour, dash="dash"))
        # the text in the theme's colour on a translucent box framed in the series' colour: legible
        # over the lines, on the light and the dark theme
        fig.add_annotation(x=x0, y=target, text=goal_text(g), showarrow=False, xanchor="left", yanchor="bottom",
                           font=dict(size=11), bgcolor="rgba(128,128,128,0.18)", bordercolor=colour,
                           borderwidth=1, borderpad=2)


def trend_chart(kpi_id: str, f: Filters, *, by: str | None = None, title: str | None = None,
                height: int = 340) -> None:
    """The KPI over time (optionally one line per channel/segment), with goal lines and tolerance
    bands over each goal's own period. A KPI whose value depends on the window's length says in its
    title that each period is measured on its own (it is not the number on its card)."""
    _trend_view(*state.store_key(), kpi_id, *cache_key(f), by, title, int(height))


@st.cache_data(show_spinner=False, max_entries=512)
def _trend_view(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date,
                channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
                by: str | None, title: str | None, height: int) -> None:
    f = Filters(start, end, channels, segments, grain)
    k = get_kpi(kpi_id)
    dims = ("period",) if by is None else (by, "period")
    df = kpi(kpi_id, f, by=dims)
    if isinstance(df, str):
        missing(df)
        return
    fig = go.Figure()
    colours: dict[str, str] = {}
    what = population(k)
    if by is None:
        fig.add_trace(go.Scatter(x=df["period"], y=df["value"], mode="lines+markers", name=k.label,
                                 customdata=df["n"],
                                 hovertemplate=f"%{{y:.2f}} (n=%{{customdata:,}} {what})<extra></extra>"))
    else:
        for i, (key, part) in enumerate(df.groupby(by, sort=True)):
            colours[str(key)] = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            fig.add_trace(go.Scatter(x=part["period"], y=part["value"], mode="lines+markers", name=str(key),
                                     customdata=part["n"],
                                     hovertemplate=f"{key}: %{{y:.2f}} (n=%{{customdata:,}} {what})<extra></extra>",
                                     line=dict(color=colours[str(key)])))
    # Goals on KPIs whose value depends on the period's length (churn over the window, counts,
    # revenue totals) are judged on the whole window, so a line on a per-period trend would mislead.
    if k.comparable_across_period_lengths:
        _goal_lines(fig, kpi_id, f, by, colours)
        _forecast_bands(fig, [str(g["goal_id"]) for g, _ in goals_for(kpi_id, f, by)], k.unit)
    mark_go_lives(fig, kpi_id, f)
    suffix, note = window_note(kpi_id, grain)
    heading = (title or k.label) + suffix + (f"<br><sup>({note})</sup>" if note else "")
    plotly_layout(fig, height=height, title=heading)
    fig.update_yaxes(title=k.unit)
    plotly_chart(fig)


def mark_go_lives(fig: Any, kpi_id: str, f: Filters) -> None:
    """Every initiative measured on this KPI whose scope the chart shows: its go-live as a marker."""
    for g in go_lives(state.store(), kpi_id, tuple(f.channels), tuple(f.segments)):
        if f.start <= g["go_live"] <= f.end:
            fig.add_vline(x=pd.Timestamp(g["go_live"]).timestamp() * 1000, line_dash="dot", line_color="#D55E00",
                          annotation_text=f"{g['initiative_id']} go-live", annotation_position="top right")


def _forecast_bands(fig: Any, goal_ids: list[str], unit: str) -> None:
    """Goals in progress on this KPI: the forecast's 80 % band from the data's last day to the period's
    end, and the forecast (median) at the end (foresight.md)."""
    from .scorecard import current_rows  # the cached scorecard rows (ui.scorecard does not import charts)
    rows = current_rows()
    last = choices()["last"]
    if rows is None or rows.empty or last is None:
        return
    for _, g in rows[rows["goal_id"].isin(goal_ids) & ~rows["final"] & rows["forecast"].notna()].iterrows():
        colour = STATUS_STYLE.get(g["status"], ("#8C8C8C",))[0]
        if pd.notna(g["forecast_low"]):
            fig.add_shape(type="rect", x0=last, x1=g["period_end"], y0=g["forecast_low"], y1=g["forecast_high"],
                          fillcolor=colour, opacity=0.18, line_width=0)
        fig.add_trace(go.Scatter(
            x=[g["period_end"]], y=[g["forecast"]], mode="markers", marker=dict(symbol="diamond", size=10,
                                                                             color=colour),
            name=f"forecast {g['goal_id']} ({g['period_start']:%Y})",
            hovertemplate=f"forecast {g['goal_id']}: {fmt(g['forecast'], unit)} over "
                          f"{g['period_start']} – {g['period_end']}<extra></extra>"))


def mix_chart(kpi_id: str, f: Filters, *, by: str, title: str) -> None:
    _mix_view(*state.store_key(), kpi_id, *cache_key(f), by, title)


@st.cache_data(show_spinner=False, max_entries=256)
def _mix_view(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date,
              channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
              by: str, title: str) -> None:
    f = Filters(start, end, channels, segments, grain)
    df = kpi(kpi_id, f, by=(by, "period"))
    if isinstance(df, str):
        missing(df)
        return
    fig = px.area(df, x="period", y="value", color=by, color_discrete_sequence=SERIES_COLOURS,
                  groupnorm="percent", labels={"value": "% of contacts", "period": "", by: ""})
    plotly_layout(fig, title=title)
    plotly_chart(fig)


def dual_trend_chart(left_kpi: str, right_kpi: str, f: Filters, *, title: str) -> None:
    _dual_view(*state.store_key(), left_kpi, right_kpi, *cache_key(f), title)


@st.cache_data(show_spinner=False, max_entries=256)
def _dual_view(path: str, version: int, left_kpi: str, right_kpi: str, start: dt.date, end: dt.date,
               channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
               title: str) -> None:
    f = Filters(start, end, channels, segments, grain)
    a, b = kpi(left_kpi, f, by=("period",)), kpi(right_kpi, f, by=("period",))
    if isinstance(a, str) or isinstance(b, str):
        missing(a if isinstance(a, str) else str(b))
        return
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=a["period"], y=a["value"], name=kpi_label(left_kpi), mode="lines+markers",
                             line=dict(color=SERIES_COLOURS[0])), secondary_y=False)
    fig.add_trace(go.Scatter(x=b["period"], y=b["value"], name=kpi_label(right_kpi), mode="lines+markers",
                             line=dict(color=SERIES_COLOURS[1], dash="dot")), secondary_y=True)
    plotly_layout(fig, title=title)
    fig.update_yaxes(title_text=kpi_label(left_kpi), secondary_y=False)
    fig.update_yaxes(title_text=kpi_label(right_kpi), secondary_y=True, showgrid=False)
    plotly_chart(fig)


def relationship_mix_chart(f: Filters) -> None:
    """Stacked bars: relationship / pseudo-relationship / encounter share of customers per segment."""
    _relationship_mix_view(*state.store_key(), *cache_key(f))


@st.cache_data(show_spinner=False, max_entries=256)
def _relationship_mix_view(path: str, version: int, start: dt.date, end: dt.date,
                           channels: tuple[str, ...], segments: tuple[str, ...], grain: str) -> None:
    f = Filters(start, end, channels, segments, grain)
    parts = RELATIONSHIP_MIX        # the report draws the mix in the same colours
    fig = go.Figure()
    for kpi_id, name, colour in parts:
        df = kpi(kpi_id, f, by=("segment",))
        if isinstance(df, str):
            missing(df)
            return
        fig.add_trace(go.Bar(y=df["segment"], x=df["value"], name=name, orientation="h", marker_color=colour,
                             customdata=df["n"], hovertemplate=f"{name}: %{{x:.1f}}% of %{{customdata:,}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    # a short title: the long one was cut off in a half-width column; the axis says what 100 % is
    plotly_layout(fig, title="Relationship mix by segment")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[0, 100], title="% of customers with an advisor contact")
    plotly_chart(fig)


@precompute.remembered("cohorts")
@st.cache_data(show_spinner=False, max_entries=64)
def _cohorts(path: str, version: int, start: dt.date, end: dt.date, segments: tuple[str, ...],
             channels: tuple[str, ...]) -> pd.DataFrame:
    return cohort_retention(state.store_at(path), start=start, end=end, segments=segments, channels=channels)


def cohort_heatmap(f: Filters) -> None:
    _cohort_view(*state.store_key(), f.start, f.end, tuple(f.segments), tuple(f.channels))


@st.cache_data(show_spinner=False, max_entries=64)
def _cohort_view(path: str, version: int, start: dt.date, end: dt.date, segments: tuple[str, ...],
                 channels: tuple[str, ...]) -> None:
    df = _cohorts(path, version, start, end, segments, channels)
    if df.empty:
        missing("Load customers.csv with join and leave dates to see cohort retention.")
        return
    pivot = df.pivot(index="cohort", columns="month", values="retained")
    sizes = df[df["month"] == 0].set_index("cohort")["customers"]
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[f"M{m}" for m in pivot.columns], y=[f"{c:%Y-%m} (n={sizes.get(c, 0):,})" for c in pivot.index],
        colorscale="Blues", zmin=max(0, float(df["retained"].min()) - 5), zmax=100,
        hovertemplate="cohort %{y}, %{x}: %{z:.1f}% retained<extra></extra>", colorbar=dict(title="% retained")))
    plotly_layout(fig, height=max(320, 22 * len(pivot.index) + 80))
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed")
    plotly_chart(fig)
    st.caption("Each row is the customers who joined in a month; each column the share of them still a "
               "customer at the end of the n-th month after joining.")
