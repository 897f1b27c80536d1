"""The initiative health checks (strategy.md, "Health checks"): technology_before_strategy,
cost_underestimated, no_return and impact_in_doubt. They read :mod:`crm_metrics.judgement.impact`;
:mod:`crm_metrics.judgement.health` lists them in its CHECKS (this module never imports health).
"""
from __future__ import annotations

from typing import Any

from crm_metrics.data.values import number
from crm_metrics.judgement.finding import Check, CheckContext, Finding
from crm_metrics.judgement.impact import COST_CRITICAL_PCT, DEFAULT_WINDOW_DAYS, fmt_money, fmt_pct, impact
from crm_metrics.judgement.impact_scope import initiatives
from crm_metrics.metrics.kpis import KPIS


def _kpi_label(kpi: Any) -> str:
    """The KPI's label for people; an id the catalogue does not know, as it was written."""
    return KPIS[kpi].label if kpi in KPIS else str(kpi)


def _label(r: dict[str, Any]) -> str:
    return f"{r['name']} ({r['initiative_id']})"


def _inits(ctx: CheckContext) -> list[dict[str, Any]]:
    return ctx.shared("impact.initiatives", lambda: initiatives(ctx.store))


def check_technology_before_strategy(ctx: CheckContext) -> list[Finding]:
    c = TECHNOLOGY_BEFORE_STRATEGY
    rows = _inits(ctx)
    if not rows:
        return [c.finding("ok", "no initiatives recorded; nothing to check",
                          "Load initiatives.csv (cost, budget, go-live, scope, KPI, objective) to judge CRM projects.")]
    out = []
    for r in rows:
        gaps = []
        if not r["kpi"]:
            gaps.append("no KPI")
        elif r["kpi"] not in KPIS:
            gaps.append(f"KPI {r['kpi']!r} is not in the catalogue")
        if not r["objective"]:
            gaps.append("no strategic objective")
        if gaps:
            out.append(c.finding(
                "warning",
                f"{_label(r)}: {' and '.join(gaps)} — cost {fmt_money(r['cost'])}, live since {r['go_live']}; "
                f"nothing says which customer result it should move",
                "State the KPI the initiative must move and the strategic objective it serves (initiatives.csv), "
                "then judge it on the Initiatives page.", subject=r["initiative_id"]))
    if not out:
        out.append(c.finding(
            "ok", f"all {len(rows)} initiative{'s' if len(rows) != 1 else ''} state a KPI of the catalogue "
                  f"and a strategic objective", "Check each one's before/after on the Initiatives page."))
    return out


def check_cost_underestimated(ctx: CheckContext) -> list[Finding]:
    c = COST_UNDERESTIMATED
    rows = _inits(ctx)
    if not rows:
        return [c.finding("ok", "no initiatives recorded; nothing to check",
                          "Load initiatives.csv with cost and budget.")]
    out, within, no_budget = [], [], []
    for r in rows:
        cost, budget = r["cost"], r["budget"]
        if budget is None or cost is None:
            no_budget.append(r["initiative_id"])
            continue
        if cost <= budget:
            within.append(r["initiative_id"])
            continue
        if budget == 0:
            sev, pct_text = "critical", "budget 0"
        else:
            pct = (cost - budget) / budget * 100.0
            sev = "critical" if pct >= COST_CRITICAL_PCT - 1e-9 else "warning"
            pct_text = fmt_pct(pct)
        out.append(c.finding(
            sev, f"{r['name']}: cost {fmt_money(cost)} vs budget {fmt_money(budget)} ({pct_text})",
            "Find where the estimate went wrong (licences, integration, data migration, training, change effort) "
            "and re-plan the remaining initiatives with those costs included.", subject=r["initiative_id"]))
    if not out:
        text = f"{len(within)} of {len(rows)} initiatives within budget"
        if no_budget:
            text += f"; no budget stated for {', '.join(no_budget)}"
        out.append(c.finding("ok", text, "State a budget for every initiative so overruns show up."
                             if no_budget else "Keep cost and budget up to date in initiatives.csv."))
    return out


def _impact_rows(ctx: CheckContext) -> list[dict[str, Any]]:
    df = ctx.shared(("impact", DEFAULT_WINDOW_DAYS), lambda: impact(ctx.store, window_days=DEFAULT_WINDOW_DAYS))
    return df.to_dict(orient="records")


def _interval(lo: Any, hi: Any, fmt) -> str:
    lo, hi = number(lo), number(hi)
    return "no interval" if lo is None or hi is None else f"95 % interval {fmt(lo)} to {fmt(hi)}"


def check_no_return(ctx: CheckContext) -> list[Finding]:
    """A warning only where the whole 95 % interval of the first-year ROI lies below zero (roi_high < 0):
    a negative point estimate whose interval reaches zero is not evidence of no return."""
    c = NO_RETURN
    if not _inits(ctx):
        return [c.finding("ok", "no initiatives recorded; nothing to check",
                          "Load initiatives.csv to judge what each CRM project returned.")]
    out, positive, unsure, unknown = [], [], [], []
    for r in _impact_rows(ctx):
        roi, high = number(r["roi"]), number(r.get("roi_high"))
        if roi is None:
            unknown.append(r["initiative_id"])
            continue
        if roi >= 0 or high is None or high >= 0:
            # not shown to lose money: positive, or an interval reaching zero, or no interval to judge by
            (positive if roi >= 0 else unsure).append(
                f"{r['initiative_id']} {roi:+.2f}" + ("" if roi >= 0 or high is not None else " (no interval)"))
            continue
        margin = number(r["margin"])
        prov = f"; provisional: the after-window runs to {r['after_end']}, past the data" if r["provisional"] else ""
        ctrl = "against the control group" if r["has_control"] else "no control group"
        out.append(c.finding(
            "warning",
            f"{r['name']}: first-year ROI (annualised) {roi:+.2f}, {_interval(r['roi_low'], high, lambda v: f'{v:+.2f}')} "
            f"— incremental revenue {fmt_money(r['incremental_revenue'])} in the {r['window_days']} days after "
            f"go-live {r['go_live']} ({ctrl}) × 365/{r['window_days']} × margin {margin:g} = "
            f"{fmt_money(number(r['annual_incremental_revenue']) * margin)} a year vs cost {fmt_money(r['cost'])}{prov}",
            "Check whether the initiative's own KPI moved (Initiatives page); if it did not, and revenue did not "
            "either, stop or rethink it before spending more.", subject=r["initiative_id"]))
    if not out:
        parts = []
        if positive:
            parts.append("first-year ROI (annualised, 90 days) ≥ 0: " + ", ".join(positive))
        if unsure:
            parts.append("negative but not shown to lose money (the 95 % interval reaches zero, or there is none): "
                         + ", ".join(unsure))
        if unknown:
            parts.append("ROI not computable for " + ", ".join(unknown) + " (see the Initiatives page notes)")
        out.append(c.finding("ok", "; ".join(parts) or "no ROI to judge",
                             "Compare each initiative's ROI with its own KPI's before/after on the Initiatives page."))
    return out


def check_impact_in_doubt(ctx: CheckContext) -> list[Finding]:
    """A warning for each initiative whose effect is doubtful (pre-trend or placebo p < 0.05) and for
    each whose KPI was refused because it cannot move in the initiative's scope."""
    c = IMPACT_IN_DOUBT
    if not _inits(ctx):
        return [c.finding("ok", "no initiatives recorded; nothing to check",
                          "Load initiatives.csv to judge what each CRM project changed.")]
    out, fine = [], []
    for r in _impact_rows(ctx):
        if r["status"] == "refused":
            out.append(c.finding(
                "warning", f"{r['name']}: {_kpi_label(r['kpi'])} is not measured — {r['notes']}",
                "Give the initiative a KPI it can move within its scope (initiatives.csv), then re-check its impact.",
                subject=r["initiative_id"]))
            continue
        if r.get("verdict") != "doubtful":
            fine.append(r["initiative_id"])
            continue
        why = []
        pt, pp = number(r.get("pre_trend_p")), number(r.get("placebo_p"))
        if pt is not None and pt < 0.05:
            why.append(f"treated and control already drifted apart before go-live (pre-trend p = {pt:.3f})")
        if pp is not None and pp < 0.05:
            why.append(f"a pretend go-live {r['window_days'] // 2} days earlier shows an effect of "
                       f"{number(r['placebo_effect']):+.3g} (placebo p = {pp:.3f})")
        unit = KPIS[r["kpi"]].unit if r["kpi"] in KPIS else ""
        out.append(c.finding(
            "warning", f"{r['name']}: effect on {_kpi_label(r['kpi'])} {number(r['effect']):+.3g} {unit} is doubtful — "
                       + "; ".join(why),
            "Do not credit the initiative with this change: look for what else moved the scope (seasonality, "
            "another project, a data change) or choose a control group that moved alike before go-live.",
            subject=r["initiative_id"]))
    if not out:
        out.append(c.finding("ok", f"no doubtful effect and no refused KPI among {len(fine)} initiative"
                                   f"{'s' if len(fine) != 1 else ''} (pre-trend and placebo p ≥ 0.05)",
                             "Read each verdict on the Initiatives page."))
    return out


TECHNOLOGY_BEFORE_STRATEGY = Check(
    "technology_before_strategy", "Technology before strategy",
    "projects driven by technology, not by customer strategy", check_technology_before_strategy)
COST_UNDERESTIMATED = Check(
    "cost_underestimated", "Cost underestimated",
    "cost, time and effort underestimated", check_cost_underestimated)
NO_RETURN = Check("no_return", "No return", "money spent, no measured benefit", check_no_return)
IMPACT_IN_DOUBT = Check(
    "impact_in_doubt", "Impact in doubt",
    "an effect credited to an initiative that the data cannot support", check_impact_in_doubt)

INITIATIVE_CHECKS: tuple[Check, ...] = (TECHNOLOGY_BEFORE_STRATEGY, COST_UNDERESTIMATED, NO_RETURN, IMPACT_IN_DOUBT)

__all__ = ["INITIATIVE_CHECKS", "TECHNOLOGY_BEFORE_STRATEGY", "COST_UNDERESTIMATED", "NO_RETURN", "IMPACT_IN_DOUBT"]
