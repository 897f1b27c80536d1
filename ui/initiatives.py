"""The Initiatives page's panels: each CRM project's impact (difference-in-differences against a
control, incremental revenue, cost against budget, first-year ROI) and one initiative in detail."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.judgement.impact import impact, weekly_series
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.delivery.presentation import SERIES_COLOURS

from . import precompute, state
from .charts import plotly_layout
from .formatting import fmt, kpi_label, md
from .widgets import download, missing, plotly_chart


def impact_table(window_days: int) -> pd.DataFrame | None:
    df = _impact_view(*state.store_key(), int(window_days))
    if df is not None:
        download(df, f"initiative_impact_{window_days}d")
    return df


@st.cache_data(show_spinner=False, max_entries=64)
def _impact_view(path: str, version: int, window_days: int) -> pd.DataFrame | None:
    df = _impact(window_days)
    if df is None or len(df) == 0:
        missing("Load initiatives.csv (each CRM project with its go-live date, cost, budget, scope and the "
                "KPI it was meant to move) to judge what it brought.")
        return None
    cur_code = state.currency()
    rows = []
    for _, r in df.iterrows():
        unit = r["unit"] if isinstance(r["unit"], str) else "ratio"
        roi = output.plain(r["roi"])
        over = output.plain(r["over_budget_pct"])
        rows.append({
            "Initiative": f"{r['initiative_id']} · {r['name']}",
            "Go-live": r["go_live"],
            "Scope": " · ".join(str(x) for x in (output.plain(r["channel"]), output.plain(r["segment"])) if x) or "all",
            "KPI": kpi_label(r["kpi"]) if r["kpi"] in _kpi_ids() else str(r["kpi"]),
            "Treated before → after": f"{fmt(r['treated_before'], unit)} → {fmt(r['treated_after'], unit)}",
            "Control before → after": (f"{fmt(r['control_before'], unit)} → {fmt(r['control_after'], unit)}"
                                       if bool(r["has_control"]) else "no control"),
            "Effect (DiD)": fmt(r["effect"], unit) if unit != "%" or output.plain(r["effect"]) is None
            else f"{r['effect']:+.1f} pts",
            "Incremental revenue": fmt(r["incremental_revenue"], "currency"),
            "Cost": fmt(r["cost"], "currency"),
            "Budget": fmt(r["budget"], "currency"),
            "Over budget": "–" if over is None else (f"✖ +{over:.0f}%" if over >= 25 else
                                                      (f"▲ +{over:.0f}%" if over > 0 else f"✔ {over:.0f}%")),
            "First-year ROI": "–" if roi is None else f"{'✔' if roi >= 0 else '✖'} {roi * 100:+.0f}%",
            "Provisional": "⏳ yes" if bool(r["provisional"]) else "",
            "Notes": output.plain(r["notes"]) or "",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "Effect (DiD)": st.column_config.TextColumn(help="(treated after − before) − (control after − before)"),
        "First-year ROI": st.column_config.TextColumn(
            help=f"(incremental revenue × 365 ÷ w × margin − cost) ÷ cost; currency {cur_code}"),
        "Provisional": st.column_config.TextColumn(help="the after-window runs past the data"),
    }, lazy=False)
    return df


@precompute.remembered("impact")
@st.cache_data(show_spinner=False, max_entries=32)
def _impact_cached(path: str, version: int, window_days: int) -> pd.DataFrame:
    return impact(state.store_at(path), window_days=window_days)


def _impact(window_days: int) -> pd.DataFrame:
    return _impact_cached(*state.store_key(), int(window_days))


def _kpi_ids() -> set[str]:
    return set(KPIS)


def initiative_name(table: pd.DataFrame, initiative_id: str) -> str:
    return str(table.loc[table["initiative_id"] == initiative_id, "name"].iloc[0])


@precompute.remembered("initiative_weekly")
@st.cache_data(show_spinner=False, max_entries=64)
def _weekly(path: str, version: int, initiative_id: str, window_days: int) -> pd.DataFrame:
    return weekly_series(state.store_at(path), initiative_id, window_days=window_days)


def initiative_detail(table: pd.DataFrame, initiative_id: str, window_days: int) -> None:
    """Weekly KPI for treated and control with the go-live marked, and the before/after bars.
    ``table`` is :func:`impact_table`'s frame for the same ``window_days``."""
    _initiative_view(*state.store_key(), str(initiative_id), int(window_days))


@st.cache_data(show_spinner=False, max_entries=128)
def _initiative_view(path: str, version: int, initiative_id: str, window_days: int) -> None:
    table = _impact(window_days)
    r = table[table["initiative_id"] == initiative_id].iloc[0]
    series = _weekly(path, version, initiative_id, window_days)
    unit = r["unit"] if isinstance(r["unit"], str) else "ratio"
    label = kpi_label(r["kpi"]) if r["kpi"] in _kpi_ids() else str(r["kpi"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Effect (difference-in-differences)", fmt(r["effect"], unit) if unit != "%" or
              output.plain(r["effect"]) is None else f"{r['effect']:+.1f} pts")
    c2.metric("Incremental revenue", fmt(r["incremental_revenue"], "currency"))
    roi = output.plain(r["roi"])
    c3.metric("First-year ROI", "–" if roi is None else f"{roi * 100:+.0f}%")
    c4.metric("Cost vs budget", fmt(r["cost"], "currency"),
              delta=None if output.plain(r["over_budget_pct"]) is None else f"{r['over_budget_pct']:+.0f}% vs budget",
              delta_color="inverse")
    left, right = st.columns([3, 2])
    with left:
        if series.empty:
            missing(series.attrs.get("note") or "No weekly data around this go-live.")
        else:
            fig = go.Figure()
            for i, (group, part) in enumerate(series.groupby("group", sort=False)):
                fig.add_trace(go.Scatter(x=part["period"], y=part["value"], name=str(group).capitalize(),
                                         mode="lines+markers", customdata=part["n"],
                                         line=dict(color=SERIES_COLOURS[0 if group == "treated" else 1],
                                                   dash="solid" if group == "treated" else "dot"),
                                         hovertemplate="%{y:.2f} (n=%{customdata:,})<extra></extra>"))
            g = series.attrs.get("go_live")
            if g is not None:
                fig.add_vline(x=pd.Timestamp(g).timestamp() * 1000, line_dash="dash", line_color="#D55E00",
                              annotation_text="go-live", annotation_position="top")
            plotly_layout(fig, title=f"{label}, weekly: treated vs control")
            plotly_chart(fig)
    with right:
        fig = go.Figure()
        groups = [("Treated", r["treated_before"], r["treated_after"], SERIES_COLOURS[0])]
        if bool(r["has_control"]):
            groups.append(("Control", r["control_before"], r["control_after"], SERIES_COLOURS[1]))
        for name, before, after, colour in groups:
            fig.add_trace(go.Bar(x=["Before", "After"], y=[output.plain(before), output.plain(after)], name=name,
                                 marker_color=colour, text=[fmt(before, unit), fmt(after, unit)],
                                 textposition="outside"))
        plotly_layout(fig, title=f"{label}: {window_days} days before vs after")
        fig.update_layout(barmode="group", hovermode="closest")
        plotly_chart(fig)
    note = output.plain(r["notes"])
    if note:
        st.caption(f"Note: {md(note)}")
    if bool(r["provisional"]):
        st.warning("Provisional: the after-window runs past the data; the effect may still change.",
                   icon=":material/hourglass_top:")
