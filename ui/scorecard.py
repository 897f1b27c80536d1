"""The Scorecard page's panels: health checks (the known ways CRM programmes fail, checked on the
data), goals against actuals grouped by strategic objective, and the executive report download."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery import report
from crm_metrics.judgement.health import Finding, run_checks
from crm_metrics.metrics.kpis import get_kpi
from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.judgement.scorecard import objective_rollup, scorecard

from . import precompute, state
from .filters import Filters
from .formatting import fmt, html_text, md, status_label
from .widgets import download, missing


def health_panel(f: Filters) -> None:
    _health_view(*state.store_key(), f.start, f.end)


@precompute.remembered("health_checks")
@st.cache_data(show_spinner=False, max_entries=256)
def _run_checks(path: str, version: int, start: dt.date, end: dt.date) -> list[Finding]:
    return run_checks(state.store_at(path), start, end)


@precompute.remembered("scorecard")
@st.cache_data(show_spinner=False, max_entries=256)
def _scorecard(path: str, version: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    return scorecard(state.store_at(path), start, end)


@st.cache_data(show_spinner=False, max_entries=128)
def _health_view(path: str, version: int, start: dt.date, end: dt.date) -> None:
    findings = _run_checks(path, version, start, end)
    st.subheader("Health checks")
    counts = {s: sum(1 for x in findings if x.severity == s) for s in ("critical", "warning", "ok")}
    cols = st.columns(3)
    for col, sev in zip(cols, ("critical", "warning", "ok")):
        colour, icon, word = SEVERITY_STYLE[sev]
        col.markdown(f'<div class="crm-finding" style="border-color:{colour}"><b>{icon} {counts[sev]} {word}'
                     f'</b></div>', unsafe_allow_html=True)
    criticals = [x for x in findings if x.severity == "critical"]
    warnings = [x for x in findings if x.severity == "warning"]
    for x in criticals:
        _finding_box(x)
    if warnings:
        # Criticals stay in view; warnings fold away when there are criticals to read first.
        with st.expander(f"▲ {len(warnings)} warning{'s' if len(warnings) != 1 else ''}", expanded=not criticals):
            for x in warnings:
                _finding_box(x)
    oks = [x for x in findings if x.severity == "ok"]
    if oks:
        with st.expander(f"{len(oks)} checks passed"):
            for x in oks:
                st.markdown(f"✔ **{md(x.title)}** — {md(x.finding)}")


def _finding_box(x: Any) -> None:
    colour, icon, word = SEVERITY_STYLE[x.severity]
    subject = f" · {html_text(x.subject)}" if x.subject else ""
    st.markdown(
        f'<div class="crm-finding" style="border-color:{colour}"><b>{icon} {word}: {html_text(x.title)}{subject}</b><br>'
        f'{html_text(x.finding)}<br><span style="color:#555">Next: {html_text(x.next_step)}</span></div>',
        unsafe_allow_html=True)


def scorecard_panel(f: Filters) -> None:
    df = _scorecard_view(*state.store_key(), f.start, f.end)
    if df is not None:
        download(df, "scorecard")


@st.cache_data(show_spinner=False, max_entries=128)
def _scorecard_view(path: str, version: int, start: dt.date, end: dt.date) -> pd.DataFrame | None:
    df = _scorecard(path, version, start, end)
    st.subheader("Goals against actuals")
    if df is None or len(df) == 0:
        missing("No goals yet. State what the CRM should achieve on the **Strategy** page (or load goals.csv): "
                "without goals there is no way to judge success.")
        return None
    counts = df["status"].value_counts()
    cols = st.columns(4)
    for col, status in zip(cols, ("met", "at_risk", "missed", "no_data")):
        colour, icon, word = STATUS_STYLE[status]
        col.markdown(f'<div class="crm-finding" style="border-color:{colour}"><span style="font-size:1.6rem;'
                     f'font-weight:700">{int(counts.get(status, 0))}</span> {icon} {word}</div>',
                     unsafe_allow_html=True)
    rollup = objective_rollup(df)
    for _, obj in rollup.iterrows():
        name = obj["objective"] or "(no strategic objective)"
        goals = df[df["objective"].fillna("") == (obj["objective"] or "")]
        st.markdown(f"#### {md(name)}")
        st.caption(f"{int(obj['met'])} of {int(obj['goals'])} goals met · {int(obj['at_risk'])} at risk · "
                   f"{int(obj['missed'])} missed · {int(obj['no_data'])} without data")
        _goal_table(goals)
    return df


def _goal_table(goals: pd.DataFrame) -> None:
    rows = []
    for _, g in goals.iterrows():
        k = get_kpi(g["kpi"])
        scope = " · ".join(str(x) for x in (g.get("channel"), g.get("segment")) if output.plain(x)) or "all"
        arrow = "≥" if g["direction"] == "at_least" else "≤"
        low = " ⚠" if bool(g.get("low_confidence")) else ""
        change = output.plain(g.get("change"))
        rows.append({
            "Status": status_label(g["status"]),
            "Goal": f"{k.label} {arrow} {fmt(g['target'], k.unit)}",
            "Scope": scope,
            "Actual": fmt(g["actual"], k.unit) + low,
            "Attainment": f"{g['attainment']:.0f}%" if output.plain(g.get("attainment")) is not None else "–",
            "Change": ("–" if change is None else (f"{change:+.1f} pts" if k.unit == "%" else
                                                     ("+" if change >= 0 else "−") + fmt(abs(change), k.unit))),
            "n": int(g["n"]) if output.plain(g.get("n")) is not None else 0,
            "Period": f"{g['period_start']} – {g['period_end']}",
            "Owner": output.plain(g.get("owner")) or "",
            "Definition": k.formula,
        })
    view = pd.DataFrame(rows)

    def colour(v: str) -> str:
        for status, (c, icon, _) in STATUS_STYLE.items():
            if v.startswith(icon):
                return f"color: white; background-color: {c}; font-weight: 600"
        return ""

    st.dataframe(view.style.map(colour, subset=["Status"]), hide_index=True, width="stretch",
                 column_config={"Definition": st.column_config.TextColumn("Definition", width="medium"),
                                "Actual": st.column_config.TextColumn("Actual", help="⚠ = low confidence (n < 30)")})


def report_download(f: Filters) -> None:
    st.subheader("Executive report")
    if st.button("Prepare the report (HTML)", key="prep_report"):
        with st.spinner("Building the report"):
            html_text = report.render_html(state.store(), start=f.start, end=f.end)
        st.download_button("Download report", html_text.encode("utf-8"),
                           file_name=f"crm-report-{f.start}-{f.end}.html", mime="text/html", key="dl_report")
