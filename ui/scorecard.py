"""The Scorecard page's panels: health checks (the known ways CRM programmes fail, checked on the
data), goals against actuals grouped by strategic objective, and the executive report download."""
from __future__ import annotations

import datetime as dt
import html
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery import report
from crm_metrics.judgement.health import Finding, run_checks
from crm_metrics.metrics.kpis import get_kpi
from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.judgement.scorecard import objective_rollup, scorecard

from . import state
from .filters import Filters
from .formatting import as_date, fmt, fmt_change, goal_text, n_text, status_label
from .widgets import download, missing


def health_panel(f: Filters) -> None:
    _health_view(*state.store_key(), f.start, f.end)


@st.cache_data(show_spinner=False, max_entries=256)
def _run_checks(path: str, version: int, start: dt.date, end: dt.date) -> list[Finding]:
    return run_checks(state.store(), start, end)


@st.cache_data(show_spinner=False, max_entries=256)
def _scorecard(path: str, version: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    return scorecard(state.store(), start, end)


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
                st.markdown(f"✔ **{x.title}** — {x.finding}")


def _finding_box(x: Any) -> None:
    colour, icon, word = SEVERITY_STYLE[x.severity]
    subject = f" · {_html(x.subject)}" if x.subject else ""
    st.markdown(
        f'<div class="crm-finding" style="border-color:{colour}"><b>{icon} {word}: {_html(x.title)}{subject}</b><br>'
        f'{_html(x.finding)}<br><span class="crm-muted">Next: {_html(x.next_step)}</span></div>',
        unsafe_allow_html=True)


def _html(text: str) -> str:
    return html.escape(str(text))


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
        st.markdown(f"#### {name}")
        owners = sorted({str(o) for o in goals["owner"] if output.plain(o)})
        # owners here, not in a column: the table then fits a laptop's width
        st.caption(f"{int(obj['met'])} of {int(obj['goals'])} goals met · {int(obj['at_risk'])} at risk · "
                   f"{int(obj['missed'])} missed · {int(obj['no_data'])} without data"
                   + (f" · owner{'s' if len(owners) > 1 else ''}: {', '.join(owners)}" if owners else ""))
        _goal_table(goals, start, end)
    return df


def _goal_table(goals: pd.DataFrame, start: dt.date, end: dt.date) -> None:
    rows = []
    for _, g in goals.iterrows():
        k = get_kpi(g["kpi"])
        low = " ⚠" if bool(g.get("low_confidence")) else ""
        rows.append({
            "Status": status_label(g["status"]),
            # the goal in words, with its scope and period: "First-contact resolution ≥ 75.0% (phone, 2026)"
            # (a goal judged over the window viewed does not repeat the window: the sidebar says it)
            "Goal": goal_text(g, prefix="", with_period=not (_same_day(g["period_start"], start)
                                                            and _same_day(g["period_end"], end))),
            "Actual": fmt(g["actual"], k.unit) + low,
            "Attainment": f"{g['attainment']:.0f}%" if output.plain(g.get("attainment")) is not None else "–",
            "Change": fmt_change(g.get("change"), k.unit),
            # two goals on the same KPI can count different people: n says whom
            "Measured over": n_text(g.get("n"), k),
        })
    view = pd.DataFrame(rows)

    def colour(v: str) -> str:
        for status, (c, icon, _) in STATUS_STYLE.items():
            if v.startswith(icon):
                return f"color: white; background-color: {c}; font-weight: 600"
        return ""

    st.dataframe(view.style.map(colour, subset=["Status"]), hide_index=True, width="stretch",
                 column_config={"Status": st.column_config.TextColumn("Status", width=90),
                                "Goal": st.column_config.TextColumn(
                                    "Goal", width=340, help="The KPI's definition is on the KPI pages' cards "
                                                             "and in the report's definitions"),
                                "Actual": st.column_config.TextColumn("Actual", width=75,
                                                                      help="⚠ = low confidence (n < 30)"),
                                "Attainment": st.column_config.TextColumn("Attained", width=75),
                                "Change": st.column_config.TextColumn(
                                    "Change", width=85, help="Against the previous period of the same length"),
                                "Measured over": st.column_config.TextColumn(
                                    "Measured over", help="What n counts: two goals on the same KPI can count "
                                                          "different people")})


def _same_day(a: object, b: dt.date) -> bool:
    return as_date(a) == b


def report_download(f: Filters) -> None:
    """The board pack for the window viewed, as PDF (to print or send) and HTML (to open offline).
    Built when asked for: the PDF takes a headless browser a few seconds."""
    st.subheader("Board pack")
    st.caption(f"The report for {f.start} – {f.end}: page 1 is the summary a board member reads; the "
               "detail follows and the data-load audit is in the appendix.")
    if st.button("Prepare the board pack (PDF and HTML)", key="prep_report"):
        with st.spinner("Building the report"):
            html_text = report.render_html(state.store(), start=f.start, end=f.end)
            try:
                pdf = _pdf_bytes(html_text)
            except report.ReportError as e:
                pdf = None
                st.warning(f"The PDF cannot be made here: {e} The HTML is below.", icon=":material/warning:")
        a, b = st.columns(2)
        if pdf is not None:
            a.download_button("Download PDF", pdf, file_name=f"crm-report-{f.start}-{f.end}.pdf",
                              mime="application/pdf", key="dl_report_pdf", type="primary")
        b.download_button("Download HTML", html_text.encode("utf-8"), file_name=f"crm-report-{f.start}-{f.end}.html",
                          mime="text/html", key="dl_report")


def _pdf_bytes(html_text: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.pdf"
        report.html_to_pdf(html_text, out)
        return out.read_bytes()
