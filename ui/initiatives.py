"""The Initiatives page's panels: each CRM project's impact (difference-in-differences against a
control with its 95 % interval and verdict, pre-trend and placebo tests, incremental revenue, cost
against budget, first-year ROI annualised with its interval) and one initiative in detail."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery.presentation import REFERENCE_COLOUR, SERIES_COLOURS
from crm_metrics.judgement.impact import counterfactual, impact, weekly_series
from crm_metrics.metrics.kpis import KPIS

from . import precompute, state
from .charts import plotly_layout
from .formatting import fmt, kpi_label, md, window_note
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
            "Effect [95 %]": effect_text(r, unit),
            "Verdict": verdict_text(r),
            "Pre-trend p": _p(r.get("pre_trend_p")),
            "Placebo p": _p(r.get("placebo_p")),
            f"Incremental revenue ({window_days} days)": fmt(r["incremental_revenue"], "currency"),
            "Cost": fmt(r["cost"], "currency"),
            "Budget": fmt(r["budget"], "currency"),
            "Over budget": "–" if over is None else (f"✖ +{over:.0f}%" if over >= 25 else
                                                      (f"▲ +{over:.0f}%" if over > 0 else f"✔ {over:.0f}%")),
            "First-year ROI (annualised)": "–" if roi is None else
            f"{'✔' if roi >= 0 else '✖'} {roi * 100:+.0f}%{_roi_interval(r)}",
            "Provisional": "⏳ yes" if bool(r["provisional"]) else "",
            "Notes": output.plain(r["notes"]) or "",
        })
    view = pd.DataFrame(rows)
    # the verdict columns fit a laptop's width; scope, before -> after, pre-trend and placebo, cost,
    # budget and notes are in the initiative's detail below (and in the CSV)
    shown = ["Initiative", "Go-live", "KPI", "Effect [95 %]", "Verdict", f"Incremental revenue ({window_days} days)",
             "First-year ROI (annualised)", "Over budget", "Provisional"]
    st.dataframe(view, hide_index=True, width="stretch", column_order=shown, column_config={
        "Initiative": st.column_config.TextColumn("Initiative", width=250, pinned=True),
        "Go-live": st.column_config.Column("Go-live", width=85),
        "Effect [95 %]": st.column_config.TextColumn(
            help="(treated after − before) − (control after − before), with its 95 % interval; without a "
                 "control group: the after weeks against the trend forecast before go-live"),
        "Verdict": st.column_config.TextColumn(
            help="improved / worsened: the interval excludes no change · no detectable effect · doubtful: "
                 "pre-trend or placebo p < 0.05 · provisional: the after-window runs past the data"),
        "First-year ROI (annualised)": st.column_config.TextColumn(
            help=f"The {window_days} days' incremental revenue scaled to a year: (incremental revenue × 365 ÷ "
                 f"{window_days} × margin − cost) ÷ cost, with its 95 % bootstrap interval; currency {cur_code}"),
        "Provisional": st.column_config.TextColumn(help="the after-window runs past the data"),
    }, lazy=False)
    return df


@precompute.remembered("impact")
@st.cache_data(show_spinner=False, max_entries=32)
def _impact_cached(path: str, version: int, window_days: int) -> pd.DataFrame:
    return impact(state.store_at(path), window_days=window_days)


def _impact(window_days: int) -> pd.DataFrame:
    return _impact_cached(*state.store_key(), int(window_days))


VERDICT_ICON = {"improved": "✔", "worsened": "✖", "doubtful": "⚠", "provisional": "⏳",
                "no detectable effect": "○", "changed": "↕"}


def _change(v, unit: str) -> str:
    return fmt(v, unit) if unit != "%" or output.plain(v) is None else f"{v:+.1f} pts"


def effect_text(r, unit: str) -> str:
    """The effect with its 95 % interval: "+9.8 pts [+6.1, +13.5]"."""
    lo, hi = output.plain(r.get("effect_ci_low")), output.plain(r.get("effect_ci_high"))
    text = _change(r["effect"], unit)
    if lo is None or hi is None:
        return text
    return f"{text} [{_change(lo, unit)}, {_change(hi, unit)}]"


def verdict_text(r) -> str:
    v = output.plain(r.get("verdict"))
    if v is None:
        return "refused" if r.get("status") == "refused" else "–"
    return f"{VERDICT_ICON.get(v, '')} {v}".strip()


def _p(v) -> str:
    v = output.plain(v)
    return "–" if v is None else ("< 0.001" if v < 0.001 else f"{v:.3f}")


def _roi_interval(r) -> str:
    lo, hi = output.plain(r.get("roi_low")), output.plain(r.get("roi_high"))
    return "" if lo is None or hi is None else f" [{lo * 100:+.0f}%, {hi * 100:+.0f}%]"


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
    scope = " · ".join(str(x) for x in (output.plain(r["channel"]), output.plain(r["segment"])) if x) or "all"
    st.caption(f"Scope: {scope} · go-live {r['go_live']} · budget {fmt(r['budget'], 'currency')}")
    c1, c2, c3, c4, c5 = st.columns(5)
    lo, hi = output.plain(r.get("effect_ci_low")), output.plain(r.get("effect_ci_high"))
    c1.metric("Effect", _change(r["effect"], unit),
              help=None if lo is None else f"95 % interval {_change(lo, unit)} to {_change(hi, unit)} "
                                           f"({output.plain(r.get('uncertainty_method'))})")
    c2.metric("Verdict", verdict_text(r))
    c3.metric(f"Incremental revenue ({window_days} days)", fmt(r["incremental_revenue"], "currency"),
              help=f"Over the {window_days} days after go-live, against the control")
    roi = output.plain(r["roi"])
    c4.metric("First-year ROI (annualised)", "–" if roi is None else f"{roi * 100:+.0f}%",
              help=f"The {window_days} days' incremental revenue scaled to a year (× 365 ÷ {window_days}), times "
                   f"the margin, less the cost, over the cost; 95 % interval{_roi_interval(r) or ': none'}")
    c5.metric("Cost vs budget", fmt(r["cost"], "currency"),
              delta=None if output.plain(r["over_budget_pct"]) is None else f"{r['over_budget_pct']:+.0f}% vs budget",
              delta_color="inverse")
    st.caption(f"Effect {effect_text(r, unit)} · pre-trend p {_p(r.get('pre_trend_p'))} · placebo (go-live "
               f"{window_days // 2} days earlier) {_change(r.get('placebo_effect'), unit)}, p {_p(r.get('placebo_p'))}")
    left, right = st.columns([3, 2])
    with left:
        if series.empty:
            missing(series.attrs.get("note") or "No weekly data around this go-live.")
        else:
            fig = go.Figure()
            for _i, (group, part) in enumerate(series.groupby("group", sort=False)):
                fig.add_trace(go.Scatter(x=part["period"], y=part["value"], name=str(group).capitalize(),
                                         mode="lines+markers", customdata=part["n"],
                                         line=dict(color=SERIES_COLOURS[0 if group == "treated" else 1],
                                                   dash="solid" if group == "treated" else "dot"),
                                         hovertemplate="%{y:.2f} (n=%{customdata:,})<extra></extra>"))
            band = _counterfactual(path, version, initiative_id, window_days)
            if not band.empty:
                x = list(band["period"]) + list(band["period"])[::-1]
                fig.add_trace(go.Scatter(x=x, y=list(band["high"]) + list(band["low"])[::-1], fill="toself",
                                         fillcolor="rgba(0,114,178,0.15)", line=dict(width=0),
                                         name="Counterfactual 95 %", hoverinfo="skip"))
                fig.add_trace(go.Scatter(x=band["period"], y=band["value"], name="Counterfactual",
                                         mode="lines", line=dict(color="#555", dash="dash")))
            g = series.attrs.get("go_live")
            if g is not None:
                fig.add_vline(x=pd.Timestamp(g).timestamp() * 1000, line_dash="dash", line_color=REFERENCE_COLOUR,
                              annotation_text="go-live", annotation_position="top")
            # a window-sensitive KPI (e.g. relationship share) reads lower per week than over the
            # before/after windows of the bars: the title says so
            note = window_note(r["kpi"], "week", "the bars measure whole windows")[1] if r["kpi"] in _kpi_ids() else ""
            plotly_layout(fig, title=f"{label}, weekly: treated vs control" + (f"<br><sup>({note})</sup>" if note else ""))
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
    effect_chart(r, unit, label)
    note = output.plain(r["notes"])
    if note:
        st.caption(f"Note: {md(note)}")
    if bool(r["provisional"]):
        st.warning("Provisional: the after-window runs past the data; the effect may still change.",
                   icon=":material/hourglass_top:")


@precompute.remembered("initiative_counterfactual")
@st.cache_data(show_spinner=False, max_entries=64)
def _counterfactual(path: str, version: int, initiative_id: str, window_days: int) -> pd.DataFrame:
    return counterfactual(state.store_at(path), initiative_id, window_days=window_days)


def effect_chart(r, unit: str, label: str) -> None:
    """The effect as a point with its 95 % interval as an error bar, beside the placebo effect, and
    the line of no change."""
    effect = output.plain(r["effect"])
    if effect is None:
        return
    lo, hi = output.plain(r.get("effect_ci_low")), output.plain(r.get("effect_ci_high"))
    fig = go.Figure()
    err = None if lo is None else dict(type="data", symmetric=False, array=[hi - effect],
                                        arrayminus=[effect - lo], color=SERIES_COLOURS[0], thickness=2, width=10)
    fig.add_trace(go.Scatter(x=[effect], y=["Effect"], mode="markers", error_x=err, name="Effect, 95 % interval",
                             marker=dict(size=12, color=SERIES_COLOURS[0])))
    placebo = output.plain(r.get("placebo_effect"))
    if placebo is not None:
        fig.add_trace(go.Scatter(x=[placebo], y=["Placebo"], mode="markers", name="Placebo (pretend go-live)",
                                 marker=dict(size=10, color="#999", symbol="diamond")))
    fig.add_vline(x=0, line_color="#444", line_dash="dot")
    plotly_layout(fig, height=200, title=f"{label}: effect with its 95 % interval — {verdict_text(r)}")
    fig.update_layout(hovermode="closest")
    plotly_chart(fig)
