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

from crm_metrics.metrics.kpis import get_kpi
from crm_metrics.delivery.presentation import SERIES_COLOURS
from crm_metrics.metrics.views import cohort_retention, goals_in_view

from . import precompute, state
from .filters import Filters, cache_key
from .formatting import fmt, kpi_label
from .results import kpi
from .widgets import missing, plotly_chart


def plotly_layout(fig: Any, *, height: int = 360, title: str | None = None) -> Any:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=title, colorway=SERIES_COLOURS, legend=dict(orientation="h", y=-0.2),
                      plot_bgcolor="white", hovermode="x unified")
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#EEE")
    return fig


def goals_for(kpi_id: str, f: Filters) -> list[dict[str, Any]]:
    """Goals on this KPI whose scope fits the current filters (unscoped goals always fit)."""
    return goals_in_view(state.store(), kpi_id, f.channels, f.segments)


def trend_chart(kpi_id: str, f: Filters, *, by: str | None = None, title: str | None = None,
                height: int = 340) -> None:
    """The KPI over time (optionally one line per channel/segment), with goal lines and tolerance bands."""
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
    if by is None:
        fig.add_trace(go.Scatter(x=df["period"], y=df["value"], mode="lines+markers", name=k.label,
                                 customdata=df["n"], hovertemplate="%{y:.2f} (n=%{customdata:,})<extra></extra>"))
    else:
        for i, (key, part) in enumerate(df.groupby(by, sort=True)):
            fig.add_trace(go.Scatter(x=part["period"], y=part["value"], mode="lines+markers", name=str(key),
                                     customdata=part["n"],
                                     hovertemplate=f"{key}: %{{y:.2f}} (n=%{{customdata:,}})<extra></extra>",
                                     line=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)])))
    # Goals on KPIs whose value depends on the period's length (churn over the window, counts,
    # revenue totals) are judged on the whole window, so a line on a per-period trend would mislead.
    comparable = k.comparable_across_period_lengths
    for g in goals_for(kpi_id, f) if comparable else []:
        tol = g["tolerance"] if g["tolerance"] is not None else 0.05
        band = abs(g["target"]) * tol
        fig.add_hrect(y0=g["target"] - band, y1=g["target"] + band, fillcolor="#E69F00", opacity=0.12,
                      line_width=0)
        fig.add_hline(y=g["target"], line_dash="dash", line_color="#444",
                      annotation_text=f"goal {g['goal_id']}: {fmt(g['target'], k.unit)}",
                      annotation_position="top left")
    plotly_layout(fig, height=height, title=title or k.label)
    fig.update_yaxes(title=k.unit)
    plotly_chart(fig)


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
    parts = [("relationship_share", "Relationship", "#0072B2"),
             ("pseudo_relationship_share", "Pseudo-relationship", "#E69F00"),
             ("encounter_share", "Encounter", "#BBBBBB")]
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
