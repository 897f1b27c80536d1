"""The report's sections, one function each, in reading order."""
from __future__ import annotations

from typing import Any

from crm_metrics.data import values
from crm_metrics.delivery.formatting import format_change, format_share, format_value
from crm_metrics.delivery.presentation import ALIGNMENT_STYLE, LOW_CONFIDENCE_N, SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.delivery.report.base import HALF_WIDTH_PX, LOW_CONFIDENCE_MARK, SOURCE_TABLES, SUBTITLE, TITLE
from crm_metrics.delivery.report.charts import Charts, initiative_chart, mix_chart, trend_chart
from crm_metrics.delivery.report.data import ReportData
from crm_metrics.delivery.report.summary import plain_words
from crm_metrics.delivery.report.text import (
    badge,
    esc,
    fmt_date,
    fmt_money,
    fmt_n,
    fmt_roi,
    goal_words,
    scope_text,
    table_html,
)
from crm_metrics.judgement import impact as impact_mod
from crm_metrics.judgement import scorecard as sc
from crm_metrics.metrics.kpis import KPIS


def section_header(d: ReportData) -> str:
    window = f"{d.start} – {d.end}" if d.start else "no data loaded"
    out = [f"<header><h1>{esc(TITLE)}</h1><p class='subtitle'>{esc(SUBTITLE)}</p>",
           f"<p class='meta'><b>Window:</b> {esc(window)} &nbsp;·&nbsp; <b>Prepared:</b> "
           f"{esc(fmt_date(d.generated_at))} &nbsp;·&nbsp; <b>Currency:</b> {esc(d.currency or '–')}</p></header>"]
    if d.sample:
        out.append("<div class='sample'>This report shows the <b>sample company</b> shipped with the product, "
                   "not your organisation's data. Load your own files on the Data page or with "
                   "<code>python -m crm_metrics load</code>.</div>")
    elif d.sample_mixed:
        out.append("<div class='sample'>This report mixes <b>your data with the sample company</b> shipped "
                   "with the product (Northwind Bank, fictional): its numbers are not your organisation's "
                   "alone. Remove the sample on the Data page or with "
                   "<code>python -m crm_metrics reset --sample</code>.</div>")
    if d.missing:
        items = "".join(f"<li>{esc(m)}</li>" for m in d.missing)
        out.append(f"<div class='missing'><b>Missing data — parts of this report are empty:</b><ul>{items}</ul></div>")
    return "".join(out)


def section_provenance(d: ReportData) -> str:
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
    return ("<section class='appendix'><h2>Appendix: load audit, the data behind this report</h2>"
            f"<p class='note intro'>Data span (first and last day with contacts, transactions or surveys): <b>{esc(span)}</b>. "
            f"Window of this report: <b>{esc(f'{d.start} – {d.end}' if d.start else 'none')}</b>.</p>"
            + table_html([("table", False), ("rows", True), ("last load", False), ("file", False), ("mode", False),
                          ("by", False)], rows, widths=(17, 12, 21, 24, 11, 15))
            + "</section>")


def section_scorecard(d: ReportData) -> str:
    out = ["<section class='detail'><h2>Scorecard: goals against actuals</h2>"]
    if d.card.empty:
        out.append("<p class='missing'>No goals are set. State goals (KPI, target, scope, period, objective, "
                   "owner) on the Strategy page or load goals.csv.</p></section>")
        return "".join(out)
    # -- goals in progress (foresight.md): actual to date, forecast, 80 % interval, chance in words --
    out.append("<p class='note intro'>Each goal is judged over its own period (a goal without one: each calendar "
               "year); the report's window only chooses which goals are listed. A period the data has not "
               "reached the end of is <i>in progress</i>: it shows the actual to date, the forecast for the "
               "whole period with its 80 % interval and the chance of meeting the target, and its status is the "
               "pace (on track, at risk, off track), never missed. Attained = actual (in progress: forecast) ÷ "
               "target (at least) or target ÷ it (at most). Change = actual − the same KPI over the period of "
               "equal length just before, – when the data does not cover that period whole. "
               f"{LOW_CONFIDENCE_MARK} = fewer than {LOW_CONFIDENCE_N} observations (n): low confidence.</p>")
    cur = d.currency
    for obj in d.rollup.to_dict(orient="records"):
        name = obj["objective"]
        if name == sc.NO_OBJECTIVE:
            goals = d.card[d.card["objective"].isna()]
        else:
            goals = d.card[d.card["objective"].map(lambda v, name=name: values.text(v) == name)]
        summary = ", ".join(f"{obj[s]} {STATUS_STYLE[s][2].lower()}" for s in STATUS_STYLE if obj[s])
        out.append(f"<h3>{esc(name)} <span class='note'>— {obj['goals']} goal{'s' if obj['goals'] != 1 else ''}: "
                   f"{esc(summary)}</span></h3>")
        rows, attrs = [], []
        for g in goals.to_dict(orient="records"):
            unit = g["unit"]
            progress = "" if g["final"] else \
                f"<br><span class='note'>in progress, {esc(format_share(100 * (g['elapsed_share'] or 0), 0))} elapsed</span>"
            rows.append([
                # the goal in words; its id (goals.csv) small, to find it on the Strategy page
                f"{esc(goal_words(g, cur))}{progress}<br><span class='note'>ref. {esc(g['goal_id'])}</span>",
                _actual_cell(g, unit, cur),
                badge(g["status"]),
                esc(format_share(g["attainment"], 0)),
                esc(format_change(g["change"], unit, cur)),
                fmt_n(g["n"], bool(g["low_confidence"])),
                esc(g["owner"] or "–"),
            ])
            attrs.append(f'data-goal="{esc(g["goal_id"])}" data-status="{esc(g["status"])}" '
                         f'data-period="{esc(str(g["period_start"]))}"')
        # widths in % of the page: every header word fits its column (tests/test_report_pages.py)
        out.append(table_html([("goal (its own period)", False), ("actual", False), ("status", False),
                               ("attained", True), ("change", True), ("n", True), ("owner", False)], rows, attrs,
                              widths=(28, 23, 13, 9, 9, 7, 11)))
        why = [(g, d.why[g]) for g in dict.fromkeys(goals["goal_id"]) if g in d.why]
        if why:  # missed goals: where the change came from (explain.md)
            words = {g["goal_id"]: goal_words(g, cur) for g in goals.to_dict(orient="records")}
            out.append("<ul class='why'>" + "".join(f"<li data-why='{esc(g)}'><b>{esc(words[g])}</b>: {esc(t)}</li>"
                                                     for g, t in why) + "</ul>")
    out.append("</section>")
    return "".join(out)


def _actual_cell(g: dict[str, Any], unit: Any, cur: str) -> str:
    """Final: the actual. In progress: actual to date, then the forecast with its 80 % interval, then the
    chance of meeting the target, one per line (a sentence wrapped in a narrow column reads as noise)."""
    if g["final"]:
        return f"<b>{esc(format_value(g['actual'], unit, cur))}</b>"
    cell = f"<b>{esc(format_value(g['actual_to_date'], unit, cur))}</b> <span class='note'>to date</span>"
    if g["forecast"] is None or g["forecast"] != g["forecast"]:
        return cell + f"<br><span class='note'>no forecast: {esc(g['forecast_method'] or 'no data')}</span>"
    band = "" if g["forecast_low"] != g["forecast_low"] else \
        f" ({format_value(g['forecast_low'], unit, cur)} – {format_value(g['forecast_high'], unit, cur)})"
    return (cell + f"<br><span class='note'>forecast {esc(format_value(g['forecast'], unit, cur))}{esc(band)}"
            f"<br>meeting the target: {esc(sc.chance_words(g['p_meet']))}</span>")


def section_health(d: ReportData) -> str:
    out = ["<section><h2>Health checks: the known ways CRM programmes fail</h2>",
           "<p class='note intro'>Each check looks for one way CRM programmes fail, with the numbers behind it and "
           "what to look at next. Most serious first.</p>"]
    order = list(SEVERITY_STYLE)
    findings = sorted(d.findings, key=lambda f: order.index(f.severity) if f.severity in order else len(order))
    rows = []
    for f in findings:
        subject = f" <span class='note'>({esc(plain_words(f.subject, d))})</span>" if f.subject else ""
        rows.append([badge(f.severity, SEVERITY_STYLE), f"<b>{esc(f.title)}</b>{subject}", esc(plain_words(f.finding, d)),
                     esc(plain_words(f.next_step, d) if f.next_step != "-" else "–")])
    out.append(table_html([("severity", False), ("check", False), ("finding", False), ("next step", False)], rows,
                      widths=(15, 17, 41, 27)))
    out.append("</section>")
    return "".join(out)


def section_trends(d: ReportData, charts: Charts) -> str:
    out = ["<section><h2>Goal trends: monthly value against the target</h2>"]
    if not d.trends:
        out.append("<p>No goals, no trends.</p></section>")
        return "".join(out)
    out.append("<p class='note intro'>The KPI per calendar month over the report's window, in each goal's scope. "
               "Dashed black: the target. Dotted: the value over the goal's whole period (what the goal is judged "
               "on), coloured by status, drawn over that period. KPIs that build up over time (churn, revenue, "
               "relationship shares, which need repeated contacts) are lower in a single month than over a longer "
               "period: judge the goal by the dotted line, read the monthly line for the direction.</p>")
    boxes, notes = [], []
    for t in d.trends:
        ids = ", ".join(str(g["goal_id"]) for g in t.goals)
        label = KPIS[t.kpi].label if t.kpi in KPIS else t.kpi
        if t.frame is None:
            notes.append(f"<li><b>{esc(ids)}</b> {esc(label)} · {esc(scope_text(t.channel, t.segment))}: "
                         f"{esc(t.note or 'no data')}</li>")
            continue
        boxes.append(trend_chart(charts, t, d))
    if boxes:
        out.append(f"<div class='charts'>{''.join(boxes)}</div>")
    if notes:
        out.append(f"<div class='missing'><b>No trend for:</b><ul>{''.join(notes)}</ul></div>")
    out.append("</section>")
    return "".join(out)


def section_mix(d: ReportData, charts: Charts) -> str:
    out = ["<section><h2>Relationship mix by segment</h2>",
           "<p class='note intro'>Of the customers with at least one assisted contact with an advisor in the window: "
           "<b>relationship</b> customers mostly see the same advisor (at least two contacts, usual-advisor "
           f"continuity ≥ {esc(d.settings.get('relationship_upc_threshold'))}), <b>pseudo-relationship</b> "
           "customers come back but to different advisors, <b>encounter</b> customers had one contact. A segment "
           "whose stated strategy is relationship is <b>misaligned</b> when its relationship share is below the "
           f"alignment threshold ({values.number(d.settings.get('alignment_threshold')) or 0:g}%). "
           + ("Segments with a stated strategy (segments.csv)." if not d.alignment.empty else
              "No segment strategies are stated (segments.csv): every segment in the data is shown.")
           + "</p>"]
    if d.mix is None:
        out.append(f"<div class='missing'>{esc(d.mix_note or 'No data.')}</div></section>")
        return "".join(out)
    out.append(mix_chart(charts, d))
    if not d.alignment.empty:
        cur = d.currency
        rows = []
        for r in d.alignment.to_dict(orient="records"):
            verdict = badge("misaligned", ALIGNMENT_STYLE) if r["misaligned"] else (
                badge("aligned", ALIGNMENT_STYLE) if r["strategy"] == "relationship"
                and values.number(r["relationship_share"]) is not None else "–")
            rows.append([esc(r["segment"]), esc(r["strategy"]), esc(format_share(r["relationship_share"])),
                         fmt_n(r["n"]), verdict, esc(format_value(r["csat"], "%", cur)),
                         esc(format_value(r["nps"], "score", cur)), esc(format_value(r["churn_rate"], "%", cur))])
        out.append("<h3>Stated strategy against observed behaviour</h3>")
        out.append(table_html([("segment", False), ("strategy", False), ("relationship share", True), ("n", True),
                           ("alignment", False), ("CSAT", True), ("NPS", True), ("churn", True)], rows))
    else:
        out.append("<p class='note'>No segment strategies are stated (segments.csv), so alignment is not judged.</p>")
    out.append("</section>")
    return "".join(out)


def section_initiatives(d: ReportData, charts: Charts) -> str:
    w = impact_mod.DEFAULT_WINDOW_DAYS
    out = ["<section><h2>Initiatives: what moved after go-live</h2>"]
    if d.initiatives_note:
        out.append(f"<div class='missing'>{esc(d.initiatives_note)}</div></section>")
        return "".join(out)
    margin = values.number(d.settings.get("margin"))
    out.append(f"<p class='note intro'>Each initiative's KPI over the {w} days before and the {w} days after go-live, "
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
        ctrl = (f"{format_value(r.get('control_before'), unit, cur)} → {format_value(r.get('control_after'), unit, cur)}"
                if r.get("has_control") else "no control")
        over = values.number(r.get("over_budget_pct"))
        name = (f"<b>{esc(r.get('name') or r['initiative_id'])}</b><br><span class='note'>"
                f"{esc(scope_text(r.get('channel'), r.get('segment')))}"
                f"{' · provisional' if r.get('provisional') else ''} · ref. {esc(r['initiative_id'])}</span>")
        kpi_rows.append([
            name, esc(fmt_date(r.get("go_live"))), esc(kpi.label if kpi else r.get("kpi")),
            esc(f"{format_value(r.get('treated_before'), unit, cur)} → {format_value(r.get('treated_after'), unit, cur)}"),
            esc(ctrl), f"<b>{esc(format_change(r.get('effect'), unit, cur))}</b>{_effect_interval(r, unit, cur)}"
                       f"{_verdict(r.get('verdict'))}",
        ])
        money_rows.append([
            f"<b>{esc(r.get('name') or r['initiative_id'])}</b><br><span class='note'>ref. {esc(r['initiative_id'])}</span>",
            esc(fmt_money(r.get("cost"), cur)),
            esc(fmt_money(r.get("budget"), cur)),
            esc(f"{over:+.1f}%" if over is not None else "–"),
            esc(fmt_money(r.get("incremental_revenue"), cur)),
            f"<b>{esc(fmt_roi(r.get('roi')))}</b>" + (
                f"<br><span class='note'>95 %: {esc(fmt_roi(r.get('roi_low')))} to {esc(fmt_roi(r.get('roi_high')))}"
                "</span>" if values.number(r.get("roi_low")) is not None and values.number(r.get("roi_high")) is not None else ""),
        ])
        if values.text(r.get("notes")):
            notes.append(f"<li><b>{esc(r.get('name') or r['initiative_id'])}</b>: {esc(plain_words(str(r.get('notes')), d))}</li>")
    out.append("<h3>Effect on each initiative's KPI</h3>")
    out.append(table_html([("initiative", False), ("go-live", False), ("KPI", False), ("treated before → after", True),
                       ("control before → after", True), ("effect", True)], kpi_rows,
                      widths=(24, 11, 15, 16, 16, 18)))
    out.append(f"<h3>Cost and return <span class='note'>(incremental revenue in the {w} days after go-live)"
               "</span></h3>")
    out.append(table_html([("initiative", False), ("cost", True), ("budget", True), ("over budget", True),
                       ("incremental revenue", True), ("first-year ROI (annualised)", True)], money_rows,
                      widths=(28, 14, 14, 10, 17, 17)))
    if notes:
        out.append(f"<p class='note'><b>Notes</b></p><ul class='note'>{''.join(notes)}</ul>")
    out.append("<h3>Weekly KPI, treated and control, go-live marked</h3><div class='charts'>")
    for it in d.initiatives:
        if it.series is None:
            out.append(f"<div class='chart-box note' style='width:{HALF_WIDTH_PX}px'><b>"
                       f"{esc(it.row.get('name') or it.row['initiative_id'])}</b>: no weekly series ({esc(it.note or 'no data')}).</div>")
        else:
            out.append(initiative_chart(charts, it, d))
    out.append("</div></section>")
    return "".join(out)


def _effect_interval(r: dict[str, Any], unit: Any, cur: str) -> str:
    """The effect's 95 % interval under it, when there is one."""
    lo, hi = values.number(r.get("effect_ci_low")), values.number(r.get("effect_ci_high"))
    if lo is None or hi is None:
        return ""
    return f"<br><span class='note'>95 %: {esc(format_change(lo, unit, cur))} to {esc(format_change(hi, unit, cur))}</span>"


def _verdict(verdict: Any) -> str:
    """The verdict in words under the effect (strategy.md, "How sure are we?")."""
    v = values.text(verdict)
    return f"<br><span class='note'><b>{esc(v)}</b></span>" if v else ""


def section_definitions(d: ReportData) -> str:
    items = []
    for k in d.kpis_shown:
        kpi = KPIS[k]
        unit = d.currency if kpi.unit == "currency" and d.currency else kpi.unit
        items.append(f"<dt>{esc(kpi.label)} <span class='note'>({esc(kpi.id)})</span></dt>"
                     f"<dd>{esc(kpi.description)}<br><b>Formula:</b> <code>{esc(kpi.formula)}</code><br>"
                     f"<b>Unit:</b> {esc(unit)} · <b>Better:</b> {esc(kpi.better)}</dd>")
    body = f"<dl class='defs'>{''.join(items)}</dl>" if items else "<p>No KPI is shown.</p>"
    return f"<section><h2>Appendix: definitions of the KPIs shown</h2>{body}</section>"
