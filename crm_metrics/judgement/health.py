"""Health checks: the known ways CRM programmes fail, turned into checks on the data (strategy.md).

This module's checks are listed in ``HEALTH_CHECKS``; the list of every check (these and the
initiative checks of crm_metrics.judgement.impact_checks) is crm_metrics.judgement.checks.CHECKS.
Neither impact nor impact_checks imports this module (the types are in judgement.finding; the
context in judgement.findings), and this module imports neither. A check is a function of a :class:`HealthContext`
(the store, the window, the settings, and shared values computed once on first use: goals,
initiatives, the scorecard, the alignment table, KPI values) returning at least one
:class:`Finding`; ``ok`` findings say what was checked, with the numbers.

    run_checks(store, start=None, end=None) -> list[Finding]
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_metrics.data import values
from crm_metrics.data.store import Store
from crm_metrics.judgement.findings import (  # noqa: F401  (re-exported: the checks' vocabulary)
    FINDING_FIELDS,
    SEVERITIES,
    Check,
    Finding,
    HealthContext,
    Severity,
    context,
    findings_frame,
    run_in,
    worst,
)
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.metrics.unit_format import SENTENCE, format_value


def run_checks(store: Store, start: Any = None, end: Any = None,
               checks: Iterable[Check] | None = None) -> list[Finding]:
    """``checks`` (default ``HEALTH_CHECKS``; every check: crm_metrics.judgement.checks.run_checks) over
    the window (default: the span of the loaded data)."""
    return run_in(context(store, start, end), checks if checks is not None else HEALTH_CHECKS)


# -- helpers --------------------------------------------------------------------------------------
def _names(names: Iterable[str], limit: int = 8) -> str:
    vals = list(names)
    return ", ".join(vals[:limit]) + (f" and {len(vals) - limit} more" if len(vals) > limit else "")


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


# -- no_measurement -----------------------------------------------------------------------------------
def check_no_measurement(ctx: HealthContext) -> list[Finding]:
    c = NO_MEASUREMENT
    goals, inits = ctx.goals, ctx.initiatives
    init_objectives = sorted({o for o in (values.text(v) for v in inits.get("objective", [])) if o})
    if goals.empty:
        return [c.finding(
            "critical",
            f"no goals are set: nothing says what the CRM should achieve "
            f"({_plural(len(inits), 'initiative')} and {_plural(len(init_objectives), 'strategic objective')} "
            f"have no target to be judged against)",
            "State goals (KPI, target, scope, period, objective, owner) on the Strategy page or load goals.csv.")]
    out: list[Finding] = []
    goal_objectives = {o for o in (values.text(v) for v in goals["objective"]) if o}
    goal_kpis = set(goals["kpi"])
    for obj in init_objectives:
        if obj not in goal_objectives:
            served = [str(r["initiative_id"]) for r in inits.to_dict(orient="records") if values.text(r["objective"]) == obj]
            out.append(c.finding(
                "warning", f"strategic objective {obj!r} has no goal (served by initiative{'s' if len(served) > 1 else ''} "
                           f"{_names(served)})",
                f"Add a goal with objective {obj!r}: which KPI should move, by how much, by when.", subject=obj))
    for r in inits.to_dict(orient="records"):
        kpi, obj = values.text(r.get("kpi")), values.text(r.get("objective"))
        if (kpi and kpi in goal_kpis) or (obj and obj in goal_objectives):
            continue
        out.append(c.finding(
            "warning", f"initiative {r['name']} ({r['initiative_id']}) has no goal on its KPI "
                       f"({_label(kpi) if kpi else 'none stated'}) or its objective ({obj or 'none stated'})",
            "Add a goal for the KPI this initiative is meant to move, or tie it to an objective that has goals.",
            subject=str(r["initiative_id"])))
    card = ctx.scorecard
    # A goal row without any measurement (actual null). A period in progress that is no_data only
    # because its history is too short to forecast is measured: it is not reported here.
    for r in card[card["actual"].isna()].to_dict(orient="records"):
        scope = ", ".join(x for x in (values.text(r["channel"]), values.text(r["segment"])) if x) or "all customers"
        period = f"{r['period_start']}..{r['period_end']}" if r["period_start"] is not None else "no period"
        why = _missing_reason(ctx, r["kpi"]) or f"no {KPIS[r['kpi']].tables[0] if r['kpi'] in KPIS else 'data'} " \
                                                  f"in its scope and period (n = {r['n']})"
        out.append(c.finding(
            "warning", f"goal {r['goal_id']} ({_label(r['kpi'])}, {scope}, {period}) has no data: {why}",
            "Load the data the KPI needs, or check the goal's scope (channel / segment) and period.",
            subject=str(r["goal_id"])))
    if not out:
        n_obj = len(goal_objectives | set(init_objectives))
        out.append(c.finding(
            "ok", f"{_plural(len(goals), 'goal')} on {_plural(n_obj, 'strategic objective')}, all with data; "
                  f"{_plural(len(inits), 'initiative')}, each tied to a goal by KPI or objective",
            "Review the scorecard: which goals are at risk or missed."))
    return out


def _missing_reason(ctx: HealthContext, kpi_id: str) -> str | None:
    if kpi_id not in KPIS:
        return f"{kpi_id!r} is not a KPI of the catalogue"
    ctx.kpi(kpi_id)
    return ctx.missing(kpi_id)


# -- siloed_customer_data ---------------------------------------------------------------------------
SILO_WARN = {"customer_match_rate": 98.0, "advisor_logged_rate": 90.0}
SILO_CRIT = {"customer_match_rate": 90.0, "advisor_logged_rate": 75.0}


def check_siloed_customer_data(ctx: HealthContext) -> list[Finding]:
    c = SILOED
    parts, level, unknown = [], 0, []
    for k in ("customer_match_rate", "advisor_logged_rate"):
        v, n = ctx.value(k)
        if v is None:
            unknown.append(f"{_label(k)} cannot be computed ({ctx.missing(k) or f'no rows in {ctx.window_text}'})")
            continue
        if v < SILO_CRIT[k]:
            level = max(level, 2)
            parts.append(f"{_label(k)} {v:.1f}% (< {SILO_CRIT[k]:g})")
        elif v < SILO_WARN[k]:
            level = max(level, 1)
            parts.append(f"{_label(k)} {v:.1f}% (< {SILO_WARN[k]:g})")
        else:
            parts.append(f"{_label(k)} {v:.1f}%")
    text = "; ".join(parts + unknown)
    if level == 0:
        if not parts:
            return [c.finding("ok", f"nothing to check: {text}",
                              "Load customers.csv and interactions.csv to check that customer data is shared.")]
        return [c.finding("ok", f"{text} (thresholds: warning below 98 / 90, critical below 90 / 75)",
                          "Keep watching the Data page's data-quality KPIs after each load.")]
    return [c.finding(
        "critical" if level == 2 else "warning", text,
        "Find where unmatched customer_ids come from (Data page: unmatched rows per file) and which "
        "channels leave advisor_id empty on assisted contacts; fix the exports or the CRM's mandatory fields.")]


# -- work_shifted_to_customer ---------------------------------------------------------------------------
SHIFT_POINTS = 5.0


def check_work_shifted_to_customer(ctx: HealthContext) -> list[Finding]:
    c = WORK_SHIFTED
    prev = ctx.previous_window
    if prev is None:
        return [c.finding("ok", "nothing to check: no data loaded",
                          "Load interactions.csv to compare self-service with effort and resolution.")]
    ps, pe = prev
    cur = {k: ctx.value(k)[0] for k in ("self_service_share", "ces", "fcr_rate", "repeat_contact_rate")}
    old = {k: ctx.value(k, start=ps, end=pe)[0] for k in cur}
    where = f"{ctx.start}..{ctx.end} vs {ps}..{pe}"
    if cur["self_service_share"] is None or old["self_service_share"] is None:
        miss = ctx.missing("self_service_share")
        why = miss or (f"no contacts in the previous period {ps}..{pe}" if old["self_service_share"] is None
                       else f"no contacts in {ctx.start}..{ctx.end}")
        return [c.finding("ok", f"cannot compare self-service share: {why}",
                          "Choose a window with data in the period of equal length before it (e.g. the last "
                          "quarter) to compare.")]
    rise = cur["self_service_share"] - old["self_service_share"]
    worse = []
    signs = {"ces": -1, "fcr_rate": -1, "repeat_contact_rate": +1}
    details = []
    for k, sign in signs.items():
        a, b = cur[k], old[k]
        if a is None or b is None:
            details.append(f"{_label(k)} n/a")
            continue
        moved = (a - b) * sign > 0
        verb = ("rose" if a > b else "fell") if a != b else "unchanged"
        details.append(f"{_label(k)} {ctx.fmt(k, a)} vs {ctx.fmt(k, b)} ({verb})")
        if moved:
            worse.append(k)
    head = (f"{_label('self_service_share')} {cur['self_service_share']:.1f}% vs {old['self_service_share']:.1f}% "
            f"({rise:+.1f} points, {where})")
    text = head + "; " + "; ".join(details)
    if rise >= SHIFT_POINTS - 1e-9 and worse:
        return [c.finding(
            "warning", text,
            "Self-service grew while the customer's experience got worse: look at what customers now do "
            "themselves (Channels page: self-service vs effort, repeat contacts by channel) and whether "
            "matters come back to assisted channels.")]
    reason = (f"self-service share rose by less than {SHIFT_POINTS:g} points" if rise < SHIFT_POINTS - 1e-9
              else "effort, resolution and repeat contacts did not get worse")
    return [c.finding("ok", f"{text} — {reason}",
                      "Re-check after the next self-service change goes live.")]


# -- relationship_strategy_on_encounters -----------------------------------------------------------------
def check_relationship_strategy_on_encounters(ctx: HealthContext) -> list[Finding]:
    c = RELATIONSHIP_ON_ENCOUNTERS
    al = ctx.alignment
    threshold = float(ctx.settings["alignment_threshold"])
    if al.empty:
        return [c.finding("ok", "no segment strategies are stated (the segments table is empty); nothing to compare",
                          "State each segment's strategy (relationship / transactional) on the Strategy page.")]
    rel = al[al["strategy"] == "relationship"]
    bad = rel[rel["misaligned"]]
    if bad.empty:
        if rel.empty:
            return [c.finding("ok", f"no segment has a relationship strategy ({_plural(len(al), 'segment')} "
                                    f"transactional)", "-")]
        shares = "; ".join(f"{r['segment']} {_share(r['relationship_share'])} of {r['n']:,}"
                           for r in rel.to_dict(orient="records"))
        return [c.finding("ok", f"every relationship-strategy segment has {_label('relationship_share')} ≥ {threshold:g}%: "
                                f"{shares}", "Watch the Relationships page's mix over time.")]
    aligned = [str(s) for s in al.loc[~al["misaligned"], "segment"]]
    comp = ""
    if aligned:
        parts = [f"{_label(k)} {ctx.fmt(k, ctx.value(k, segments=aligned)[0])}" for k in ("csat", "nps", "churn_rate")]
        comp = f" — aligned segments ({_names(aligned)}): " + ", ".join(parts)
    out = []
    for r in bad.to_dict(orient="records"):
        mine = ", ".join(f"{_label(k)} {ctx.fmt(k, r[k])}" for k in ("csat", "nps", "churn_rate"))
        out.append(c.finding(
            "critical",
            f"segment {r['segment']!r}: strategy relationship, {_label('relationship_share')} "
            f"{_share(r['relationship_share'])} (< {threshold:g}%) of {r['n']:,} customers with advisor contacts (pseudo-relationship "
            f"{_share(r['pseudo_relationship_share'])}, encounter {_share(r['encounter_share'])}); "
            f"{mine}{comp}",
            "Give these customers a usual advisor (assignment, routing to the same advisor, callbacks) or "
            "restate the segment's strategy; see the Relationships page for advisors' continuity.",
            subject=str(r["segment"])))
    return out


def _label(kpi_id: str) -> str:
    """A KPI's label for a finding's text (readers see words, not internal ids)."""
    return KPIS[kpi_id].label if kpi_id in KPIS else str(kpi_id)


def _share(v: Any) -> str:
    return format_value(v, "%", style=SENTENCE)


# -- the checks of this module, listed once ----------------------------------------------------------------
NO_MEASUREMENT = Check(
    "no_measurement", "No measurement", "no reporting, no way to judge success", check_no_measurement)
SILOED = Check(
    "siloed_customer_data", "Siloed customer data",
    "customer information not shared across the organisation", check_siloed_customer_data)
WORK_SHIFTED = Check(
    "work_shifted_to_customer", "Work shifted to the customer",
    'the "work" pushed onto the customer', check_work_shifted_to_customer)
RELATIONSHIP_ON_ENCOUNTERS = Check(
    "relationship_strategy_on_encounters", "Relationship strategy on encounters",
    "relationship strategy, transactional behaviour", check_relationship_strategy_on_encounters)

HEALTH_CHECKS: tuple[Check, ...] = (NO_MEASUREMENT, SILOED, WORK_SHIFTED, RELATIONSHIP_ON_ENCOUNTERS)


__all__ = [
    "Finding", "Check", "Severity", "HealthContext", "HEALTH_CHECKS", "run_checks", "run_in", "context", "findings_frame",
    "worst", "SEVERITIES", "FINDING_FIELDS",
]
