"""Page 1 of the report: the board summary, read in a minute.

Four parts, in words and labels (no goal, initiative or KPI ids): the verdict per strategic
objective, the goals off track (each judged on its own period), the three most serious health
findings, and each initiative's verdict with its annualised first-year ROI. Everything comes from
the collected data (the same scorecard, findings and impact rows the detail pages show)."""
from __future__ import annotations

import re
from typing import Literal

from crm_metrics.data import values
from crm_metrics.delivery.formatting import format_change, format_value
from crm_metrics.delivery.presentation import INITIATIVE_STYLE, OBJECTIVE_STYLE, SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.delivery.report.data import ReportData
from crm_metrics.delivery.report.text import badge, esc, fmt_roi, goal_words, table_html
from crm_metrics.judgement import scorecard as sc
from crm_metrics.metrics.kpis import KPIS

SUMMARY_HEADINGS = ("Strategic objectives", "Goals off track", "Top health findings", "Initiatives")
MAX_OFF_TRACK = 6      # more would push the summary past one page; the rest are counted, not listed
TOP_FINDINGS = 3
UNSURE_MARK = "†"
MAX_INITIATIVES = 6

ObjectiveVerdict = Literal["on_track", "at_risk", "partly_off_track", "off_track", "no_data"]
BEHIND = ("off_track", "missed")   # a goal in progress off its pace, or a finished goal not met


def objective_verdict(statuses: list[str]) -> ObjectiveVerdict:
    """On track when every goal with data is met or on track; off track when every one is off
    track or missed; partly off track when some are; at risk when none is behind but one is at risk."""
    judged = [s for s in statuses if s != "no_data"]
    if not judged:
        return "no_data"
    behind = sum(1 for s in judged if s in BEHIND)
    if behind == len(judged):
        return "off_track"
    if behind:
        return "partly_off_track"
    return "at_risk" if "at_risk" in judged else "on_track"


def plain_words(text: str, d: ReportData) -> str:
    """A finding's text with internal ids replaced by names: initiatives by their name, KPI ids by
    their label (the checks write "initiative INI-03 (New CRM …)" and "effect on cross_sell_rate")."""
    for it in d.initiatives:
        iid, name = values.text(it.row.get("initiative_id")), values.text(it.row.get("name"))
        if not iid or not name:
            continue
        text = text.replace(f"initiative {iid} ({name})", f"“{name}”").replace(f"{name} ({iid})", name)
        text = re.sub(rf"\b{re.escape(iid)}\b", name, text)
    return re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b", lambda m: KPIS[m.group(0)].label.lower() if m.group(0) in KPIS
                  else m.group(0), text)


def _objectives(d: ReportData) -> str:
    rows = []
    for obj in d.rollup.to_dict(orient="records"):
        name = obj["objective"]
        if name == sc.NO_OBJECTIVE:
            goals = d.card[d.card["objective"].isna()]
            name = "Goals without a strategic objective"
        else:
            goals = d.card[d.card["objective"].map(lambda v, n=name: values.text(v) == n)]
        statuses = list(goals["status"])
        behind = sum(1 for s in statuses if s in BEHIND)
        goals_n = f"{len(statuses)} goal{'s' if len(statuses) != 1 else ''}"
        rest = ", ".join(f"{obj[s]} {STATUS_STYLE[s][2].lower()}" for s in STATUS_STYLE if obj[s] and s not in BEHIND)
        words = f"{behind} of {goals_n} behind" if behind else goals_n
        if rest:
            words += f"; {rest}" if behind else f": {rest}"
        rows.append([f"<b>{esc(name)}</b>", badge(objective_verdict(statuses), OBJECTIVE_STYLE), esc(words)])
    return table_html([("objective", False), ("verdict", False), ("goals", False)], rows, widths=(46, 19, 35))


def _off_track(d: ReportData) -> str:
    behind = d.card[d.card["status"].isin(BEHIND)]
    if behind.empty:  # say so: an empty list could be read as "not computed"
        at_risk = int((d.card["status"] == "at_risk").sum())
        return (f"<p>No goal is off track or missed{f'; {at_risk} at risk (see the scorecard)' if at_risk else ''}."
                "</p>")
    # finished and missed first, then the least likely to be met
    rows_in = sorted(behind.to_dict(orient="records"),
                     key=lambda g: (g["status"] != "missed", values.number(g["p_meet"]) or 0.0))
    rows = []
    for g in rows_in[:MAX_OFF_TRACK]:
        unit, cur = g["unit"], d.currency
        if g["final"]:  # the period is over: the goal was missed
            where, chance = f"{format_value(g['actual'], unit, cur)} over the period", "missed"
        else:
            where = f"{format_value(g['actual_to_date'], unit, cur)} → {format_value(g['forecast'], unit, cur)}"
            chance = sc.chance_words(g["p_meet"])
        # no break inside "very unlikely (5 %)": a lone "%)" on the next line reads as a new value
        rows.append([esc(goal_words(g, cur)), esc(where), esc(chance.replace(" (", "\u00a0(").replace(" %", "\u00a0%")),
                     esc(values.text(g["owner"]) or "–")])
    out = table_html([("goal (judged on its own period)", False), ("to date → forecast", False),
                      ("chance of meeting", False), ("owner", False)], rows, widths=(45, 16, 18, 21))
    more = len(rows_in) - MAX_OFF_TRACK
    at_risk = int((d.card["status"] == "at_risk").sum())
    tail = ([f"{more} more behind"] if more > 0 else []) + ([f"{at_risk} at risk"] if at_risk else [])
    if tail:
        out += f"<p class='note'>Also {' and '.join(tail)}: see the scorecard.</p>"
    return out


def _findings(d: ReportData) -> str:
    order = list(SEVERITY_STYLE)
    worst = sorted((f for f in d.findings if f.severity != "ok"), key=lambda f: order.index(f.severity))
    if not worst:
        return "<p>No health check found a problem.</p>"
    items = []
    for f in worst[:TOP_FINDINGS]:
        # the first clause: the rest (comparisons, thresholds) is in the health checks' detail
        finding = re.split(r" — |; ", plain_words(f.finding, d))[0]
        # the next step is in the health checks' detail: page 1 has room for what was found
        items.append(f"<li>{badge(f.severity, SEVERITY_STYLE)} <b>{esc(f.title)}</b>: {esc(finding)}</li>")
    more = len(worst) - TOP_FINDINGS
    tail = (f"<p class='note'>{more} more, and what to do next about each, in the health checks.</p>"
            if more > 0 else "<p class='note'>What to do next about each: in the health checks.</p>")
    return f"<ul class='findings'>{''.join(items)}</ul>{tail}"


def _initiatives(d: ReportData) -> str:
    if d.initiatives_note:
        return f"<p class='note'>{esc(d.initiatives_note)}</p>"
    rows, unsure = [], 0
    shown = d.initiatives
    if len(shown) > MAX_INITIATIVES:  # the largest spends; the rest are counted under the table
        shown = sorted(shown, key=lambda it: -(values.number(it.row.get("cost")) or 0.0))[:MAX_INITIATIVES]
    for it in shown:
        r = it.row
        kpi = KPIS.get(str(r.get("kpi")))
        verdict = values.text(r.get("verdict")) or "not_measured"
        effect = format_change(r.get("effect"), kpi.unit if kpi else None, d.currency)
        # a point estimate alone reads as certain: mark an ROI whose interval runs from a loss to a gain
        lo, hi = values.number(r.get("roi_low")), values.number(r.get("roi_high"))
        mark = UNSURE_MARK if lo is not None and hi is not None and lo < 0 < hi else ""
        unsure += bool(mark)
        rows.append([f"<b>{esc(r.get('name') or r.get('initiative_id'))}</b>",
                     f"{esc(kpi.label if kpi else '–')} <span class='note'>{esc(effect)}</span>",
                     badge(verdict, INITIATIVE_STYLE),
                     esc(format_value(r.get("cost"), "currency", d.currency, compact=True)),
                     f"<b>{esc(fmt_roi(r.get('roi')))}</b>{mark}"])
    out = table_html([("initiative", False), ("its KPI, effect", False), ("verdict", False), ("cost", True),
                      ("first-year ROI, annualised", True)], rows, widths=(26, 25, 22, 12, 15))
    if len(d.initiatives) > len(shown):
        out += (f"<p class='note'>The {len(shown)} largest by cost; {len(d.initiatives) - len(shown)} more in the "
                "initiatives' detail.</p>")
    if unsure:
        out += (f"<p class='note'>{UNSURE_MARK} its 95 % interval runs from a loss to a gain: the return is not "
                "established yet (intervals in the initiatives' detail).</p>")
    return out


def section_summary(d: ReportData) -> str:
    """The board summary (page 1): objectives, goals off track, top findings, initiatives."""
    if d.card.empty:
        goals = "<p>No goals are set, so nothing says what the CRM should achieve.</p>"
        objectives = goals
    else:
        goals, objectives = _off_track(d), _objectives(d)
    h = SUMMARY_HEADINGS
    return ("<section class='summary'>"
            f"<h2>{h[0]}</h2>{objectives}"
            f"<h2>{h[1]}</h2>{goals}"
            f"<h2>{h[2]}</h2>{_findings(d)}"
            f"<h2>{h[3]}</h2>{_initiatives(d)}</section>")


__all__ = ["section_summary", "objective_verdict", "plain_words", "SUMMARY_HEADINGS", "OBJECTIVE_STYLE",
           "INITIATIVE_STYLE"]
