"""The Scorecard page's panels: health checks (the known ways CRM programmes fail, checked on the
data), goals against actuals grouped by strategic objective, and the executive report download."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_metrics.delivery import output, report
from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.judgement.checks import run_checks
from crm_metrics.judgement.health import Finding
from crm_metrics.judgement.scorecard import chance_words, objective_rollup, scorecard
from crm_metrics.judgement.why import split_for
from crm_metrics.metrics.kpis import get_kpi

from . import precompute, state, why
from .filters import Filters, choices
from .formatting import as_date, fmt, fmt_change, goal_text, html_text, md, n_text, status_label
from .widgets import download, missing, plotly_chart


def health_panel(f: Filters) -> None:
    _health_view(*state.store_key(), f.start, f.end)


@precompute.remembered("health_checks")
@st.cache_data(show_spinner=False, max_entries=256)
def _run_checks(path: str, version: int, start: dt.date, end: dt.date) -> list[Finding]:
    return run_checks(state.store_at(path), start, end)


@precompute.remembered("scorecard")
@st.cache_data(show_spinner=False, max_entries=256)
def _scorecard(path: str, version: int, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
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
        f'{html_text(x.finding)}<br><span class="crm-muted">Next: {html_text(x.next_step)}</span></div>',
        unsafe_allow_html=True)


def scorecard_panel(f: Filters) -> None:
    df = _scorecard_view(*state.store_key(), *listing_window(f))
    if df is not None:
        download(df, "scorecard")


def listing_window(f: Filters) -> tuple[dt.date | None, dt.date | None]:
    """The window that lists goal rows. The sidebar's default (the whole data span) means "no window
    chosen": each goal's current row (strategy.md), not every year of every goal."""
    c = choices()
    if (f.start, f.end) == (c["first"], c["last"]):
        return None, None
    return f.start, f.end


def current_rows() -> pd.DataFrame:
    """Each goal's row containing the data's last day (else its latest), cached per data version."""
    return _scorecard(*state.store_key(), None, None)


STATUS_ORDER = ("met", "on_track", "at_risk", "off_track", "missed", "no_data")


@st.cache_data(show_spinner=False, max_entries=128)
def _scorecard_view(path: str, version: int, start: dt.date | None, end: dt.date | None) -> pd.DataFrame | None:
    df = _scorecard(path, version, start, end)
    st.subheader("Goals against actuals")
    if df is None or len(df) == 0:
        missing("No goals yet. State what the CRM should achieve on the **Strategy** page (or load goals.csv): "
                "without goals there is no way to judge success.")
        return None
    st.caption("Each goal is judged on its own period (a goal without one: each calendar year); the window "
               "only chooses which goals are listed. A period the data have not reached the end of is in "
               "progress: its status is the pace from a forecast, never missed before the period is over.")
    counts = df["status"].value_counts()
    cols = st.columns(len(STATUS_ORDER))
    for col, status in zip(cols, STATUS_ORDER):
        colour, icon, word = STATUS_STYLE[status]
        col.markdown(f'<div class="crm-finding" style="border-color:{colour}"><span style="font-size:1.6rem;'
                     f'font-weight:700">{int(counts.get(status, 0))}</span> {icon} {word}</div>',
                     unsafe_allow_html=True)
    rollup = objective_rollup(df)
    for _, obj in rollup.iterrows():
        name = obj["objective"] or "(no strategic objective)"
        goals = df[df["objective"].fillna("") == (obj["objective"] or "")]
        st.markdown(f"#### {md(name)}")
        owners = sorted({str(o) for o in goals["owner"] if output.plain(o)})
        # owners here, not in a column: the table then fits a laptop's width
        st.caption(f"{int(obj['goals'])} goal rows: {int(obj['met'])} met · {int(obj['on_track'])} on track · "
                   f"{int(obj['at_risk'])} at risk · {int(obj['off_track'])} off track · {int(obj['missed'])} "
                   f"missed · {int(obj['no_data'])} without data"
                   + (f" · owner{'s' if len(owners) > 1 else ''}: {md(', '.join(owners))}" if owners else ""))
        _goal_table(goals, start, end)
        for _, g in goals[~goals["final"]].iterrows():
            _in_progress(g)
    return df


def _goal_table(goals: pd.DataFrame, start: dt.date, end: dt.date) -> None:
    rows = []
    for _, g in goals.iterrows():
        k = get_kpi(g["kpi"])
        low = " ⚠" if bool(g.get("low_confidence")) else ""
        in_progress = not bool(g["final"])
        forecast = output.plain(g.get("forecast"))
        rows.append({
            "ID": g["goal_id"],
            "Status": status_label(g["status"]),
            # the goal in words, with its scope and period: "First-contact resolution ≥ 75.0% (phone, 2026)"
            # (a goal judged over the window viewed does not repeat the window: the sidebar says it)
            "Goal": goal_text(g, prefix="", with_period=not (_same_day(g["period_start"], start)
                                                            and _same_day(g["period_end"], end))),
            "Actual": fmt(g["actual"], k.unit) + low + (" to date" if in_progress else ""),
            "Forecast (80 %)": "–" if forecast is None else f"{fmt(forecast, k.unit)}{_band(g, k.unit)}",
            "Chance of meeting": chance_words(g["p_meet"]) if in_progress else "–",
            "Attainment": f"{g['attainment']:.0f}%" if output.plain(g.get("attainment")) is not None else "–",
            "Change": fmt_change(g.get("change"), k.unit),
            # two goals on the same KPI can count different people: n says whom
            "Measured over": n_text(g.get("n"), k),
            "Period": f"{g['period_start']} – {g['period_end']}" + (" (in progress)" if in_progress else ""),
            "Why": _why(g) or "",  # no link where the KPI cannot be split
        })
    view = pd.DataFrame(rows)

    def colour(v: str) -> str:
        for _status, (c, icon, _) in STATUS_STYLE.items():
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
                                                          "different people"),
                                "Forecast (80 %)": st.column_config.TextColumn(
                                    "Forecast (80 %)", help="the KPI over the whole period: median of 1,000 "
                                    "simulated paths, and the 10th–90th percentiles"),
                                "Why": st.column_config.LinkColumn("Why", display_text="why?",
                                                                   help="where the change against the previous "
                                                                        "period came from")})


def _why(g: Any) -> str | None:
    """The why view of a goal's KPI over its period and scope, split by what the scope leaves open."""
    channel, segment = output.plain(g.get("channel")), output.plain(g.get("segment"))
    by = split_for(str(g["kpi"]), channel, segment)
    if by is None:
        return None
    return why.why_url(str(g["kpi"]), g["period_start"], g["period_end"], (channel,) if channel else (),
                       (segment,) if segment else (), by=by)


def _band(g: Any, unit: str) -> str:
    lo, hi = output.plain(g.get("forecast_low")), output.plain(g.get("forecast_high"))
    return "" if lo is None or hi is None else f" ({fmt(lo, unit)} – {fmt(hi, unit)})"


def _in_progress(g: Any) -> None:
    """A goal in progress: the sentence (actual to date, forecast, interval, chance) and a bullet chart
    (target, actual to date, forecast band)."""
    k = get_kpi(g["kpi"])
    scope = " · ".join(str(x) for x in (g.get("channel"), g.get("segment")) if output.plain(x)) or "all"
    share = output.plain(g.get("elapsed_share")) or 0.0
    head = (f"**{g['goal_id']}** {k.label} ({scope}), {g['period_start']} – {g['period_end']}, "
            f"{100 * share:.0f} % elapsed: {fmt(g['actual_to_date'], k.unit)} to date")
    if output.plain(g.get("forecast")) is None:
        st.markdown(f"{head}; no forecast: {g['forecast_method'] or 'no data'}.")
        return
    st.markdown(f"{head}; forecast {fmt(g['forecast'], k.unit)}{_band(g, k.unit).replace(' (', ' (80 %: ')} "
                f"against a target of {fmt(g['target'], k.unit)}; meeting it is "
                f"**{chance_words(g['p_meet'])}** — {status_label(g['status'])}.")
    st.caption(f"Forecast: {g['forecast_method']}.")
    plotly_chart(bullet_chart(g, k.unit), key=f"bullet-{g['goal_id']}-{g['period_start']}", static=True)


def bullet_chart(g: Any, unit: str) -> go.Figure:
    """Target (black line), actual to date (dark bar), forecast band (light band, median marked)."""
    lo = output.plain(g.get("forecast_low"))
    hi = output.plain(g.get("forecast_high"))
    fc, actual, target = float(g["forecast"]), output.plain(g.get("actual_to_date")), float(g["target"])
    colour = STATUS_STYLE.get(g["status"], ("#8C8C8C",))[0]
    fig = go.Figure()
    if lo is not None and hi is not None:
        fig.add_trace(go.Bar(x=[hi - lo], base=[lo], y=[""], orientation="h", marker_color=colour, opacity=0.3,
                             width=0.8, name="forecast, 80 % interval", hoverinfo="skip"))
    if actual is not None:
        fig.add_trace(go.Bar(x=[actual], y=[""], orientation="h", marker_color="#555", width=0.3,
                             name="actual to date", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[fc], y=[""], mode="markers", marker=dict(symbol="diamond", size=12, color=colour),
                             name="forecast"))
    fig.add_vline(x=target, line_color="black", line_width=3, annotation_text=f"target {fmt(target, unit)}",
                  annotation_position="top")
    values = [v for v in (lo, hi, fc, actual, target) if v is not None]
    span = max(values) - min(0.0, min(values))
    fig.update_layout(height=100, margin=dict(l=10, r=10, t=25, b=10), barmode="overlay", showlegend=True,
                      legend=dict(orientation="v", x=1.01, y=0.5, font=dict(size=10)), plot_bgcolor="white")
    fig.update_xaxes(range=[min(0.0, min(values)), max(values) + 0.08 * span], showgrid=False)
    return fig



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
            report_html = report.render_html(state.store(), start=f.start, end=f.end)
            try:
                pdf = _pdf_bytes(report_html)
            except report.ReportError as e:
                pdf = None
                st.warning(f"The PDF cannot be made here: {e} The HTML is below.", icon=":material/warning:")
        a, b = st.columns(2)
        if pdf is not None:
            a.download_button("Download PDF", pdf, file_name=f"crm-report-{f.start}-{f.end}.pdf",
                              mime="application/pdf", key="dl_report_pdf", type="primary")
        b.download_button("Download HTML", report_html.encode("utf-8"), file_name=f"crm-report-{f.start}-{f.end}.html",
                          mime="text/html", key="dl_report")


def _pdf_bytes(html_text: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.pdf"
        report.html_to_pdf(html_text, out)
        return out.read_bytes()
