"""Initiative impact: before / after go-live, difference-in-differences, incremental revenue, ROI.

strategy.md, "Initiative impact". For an initiative with go-live G, scope (channel and/or
segment), KPI k (its ``kpi``, default ``revenue_per_customer``) and a window of w days:

- before = [G - w, G - 1], after = [G, G + w - 1]; ``provisional`` when after_end is past the
  last day of the loaded data;
- treated = k over the scope; control = k over the complement scope (see :func:`scopes`);
- effect = (treated_after - treated_before) - (control_after - control_before), or
  treated_after - treated_before without a control group;
- incremental revenue = rev_after_treated - rev_before_treated x (rev_after_control /
  rev_before_control), or rev_after_treated - rev_before_treated without a control group;
- first-year ROI = (incremental revenue x 365 / w x margin - cost) / cost.

    impact(store, initiative_id=None, window_days=90) -> DataFrame (one row per initiative)
    weekly_series(store, initiative_id, window_days=90) -> DataFrame(period, group, phase, value, n)
    go_live(store, initiative_id) -> date

Every row also says how sure we are (strategy.md, "How sure are we?"): effect_se, the 95 % interval,
p_value, significant, uncertainty_method, pre_trend_p, placebo_effect / placebo_p, intervals for
incremental revenue and ROI, and a verdict in words (see :mod:`crm_metrics.judgement.impact_evidence`).
A KPI that cannot move in the initiative's own scope is refused (status ``refused``).

The initiative health checks live in :mod:`crm_metrics.judgement.impact_checks`. See docs/impact.md.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from crm_metrics.judgement import impact_evidence as evidence
from crm_metrics.judgement.impact_scope import (ImpactError, Scope, Scopes, UnknownInitiativeError, check_window,
                                                as_day, initiative_row, dimension_values, go_live, go_lives,
                                                initiatives, scopes)
from crm_metrics.metrics.kpis import KPIS, KpiError, MissingDataError, compute

DEFAULT_KPI = "revenue_per_customer"
DEFAULT_WINDOW_DAYS = 90
COST_CRITICAL_PCT = 25.0  # cost_underestimated: critical at >= 25 % over budget

COLUMNS = [
    "initiative_id", "name", "go_live", "channel", "segment", "kpi", "kpi_stated", "unit", "better",
    "objective", "window_days", "before_start", "before_end", "after_start", "after_end",
    "treated_before", "treated_after", "control_before", "control_after", "effect", "has_control",
    "control_channels", "control_segments",
    "n_treated_before", "n_treated_after", "n_control_before", "n_control_after",
    "revenue_before_treated", "revenue_after_treated", "revenue_before_control", "revenue_after_control",
    "incremental_revenue", "annual_incremental_revenue", "margin", "cost", "budget", "over_budget",
    "over_budget_pct", "roi", *evidence.FIELDS, "provisional", "status", "notes",
]

# A KPI that cannot move within its own scope: a share of the very group the scope picks. Within one
# channel, self-service share is 100 % (a self-service channel) or 0 % (an assisted one) by definition.
CANNOT_MOVE: dict[str, tuple[str, str]] = {
    "self_service_share": ("channel", "a channel is either self-service or assisted, so within one channel "
                                      "the share is 100 % or 0 % by definition"),
}

SERIES_COLUMNS = ["period", "group", "phase", "value", "n"]


# -- KPI values ------------------------------------------------------------------------------------
def _value(store, kpi_id: str, scope: Scope, start: dt.date, end: dt.date,
           settings: dict[str, Any]) -> tuple[float | None, int]:
    df = compute(store, kpi_id, start=start, end=end, channels=scope.channels, segments=scope.segments,
                 settings=settings)
    if df.empty:
        return None, 0
    v = df["value"].iloc[0]
    return (None if pd.isna(v) else float(v)), int(df["n"].iloc[0])


def _unsupported(kpi_id: str, channel: str | None, segment: str | None) -> str | None:
    kpi = KPIS[kpi_id]
    dims = [d for d, v in (("channel", channel), ("segment", segment)) if v and not kpi.supports(d)]
    if dims:
        return (f"{kpi.label} ({kpi_id}) cannot be filtered by {' or '.join(dims)}, the initiative's scope; "
                f"its before/after effect is not measured (it can be split by: {', '.join(kpi.dimensions) or 'nothing'})")
    return None


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def fmt_money(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def _fmt_num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def fmt_pct(p: float) -> str:
    """+45 %, +24.9 %: one decimal unless it is a whole number (so 24.9 never prints as 25)."""
    t = f"{p:+.1f}"
    return (t[:-2] if t.endswith(".0") else t) + " %"


# -- the analysis ----------------------------------------------------------------------------------
def _analyse(store, r: dict[str, Any], w: int, span: tuple[dt.date | None, dt.date | None],
             settings: dict[str, Any]) -> dict[str, Any]:
    g: dt.date = r["go_live"]
    before_start, before_end = g - dt.timedelta(days=w), g - dt.timedelta(days=1)
    after_start, after_end = g, g + dt.timedelta(days=w - 1)
    lo, hi = span
    notes: list[str] = []
    status = "ok"

    kpi_stated = r["kpi"]
    kpi_id = kpi_stated or DEFAULT_KPI
    if not kpi_stated:
        notes.append(f"no KPI stated: measured on {DEFAULT_KPI} (the default)")
    known_kpi = kpi_id in KPIS
    margin = float(settings.get("margin", 1.0))

    out: dict[str, Any] = {c: None for c in COLUMNS}
    out.update(
        initiative_id=r["initiative_id"], name=r["name"], go_live=g, channel=r["channel"],
        segment=r["segment"], kpi=kpi_id, kpi_stated=kpi_stated, objective=r["objective"],
        unit=KPIS[kpi_id].unit if known_kpi else None, better=KPIS[kpi_id].better if known_kpi else None,
        window_days=w, before_start=before_start, before_end=before_end, after_start=after_start,
        after_end=after_end, cost=r["cost"], budget=r["budget"], margin=margin,
        n_treated_before=0, n_treated_after=0, n_control_before=0, n_control_after=0,
    )

    # data coverage
    provisional = hi is None or after_end > hi
    out["provisional"] = bool(provisional)
    no_after_data = hi is None or after_start > hi
    no_before_data = lo is None or before_end < lo
    if hi is None:
        notes.append("no data loaded")
    else:
        if no_after_data:
            notes.append(f"the after-window starts after the last day of data ({hi}): nothing to measure yet")
        elif provisional:
            covered = (hi - after_start).days + 1
            notes.append(f"provisional: the after-window runs to {after_end}, past the last day of data ({hi}); "
                         f"{covered} of {w} days covered")
        if no_before_data:
            notes.append(f"the before-window ends before the first day of data ({lo}): no baseline")
        elif before_start < lo:
            covered = (before_end - lo).days + 1
            notes.append(f"the before-window starts before the first day of data ({lo}); {covered} of {w} days covered")

    sc = scopes(store, r["channel"], r["segment"])
    notes.extend(sc.notes)
    has_control = sc.control is not None
    out["has_control"] = has_control
    if has_control:
        out["control_channels"] = ", ".join(sc.control.channels) or None
        out["control_segments"] = ", ".join(sc.control.segments) or None
    elif not r["channel"] and not r["segment"]:
        notes.append("no scope (all channels, all segments): no control group")

    # -- the KPI, treated and control
    windows = (("before", before_start, before_end), ("after", after_start, after_end))
    if not known_kpi:
        status = "unknown_kpi"
        notes.append(f"{kpi_id!r} is not a KPI of the catalogue: no before/after effect")
    elif (why := _unsupported(kpi_id, r["channel"], r["segment"])) is not None:
        status = "unsupported_scope"
        notes.append(why)
    elif (why := cannot_move(kpi_id, r["channel"], r["segment"])) is not None:
        status = "refused"
        notes.append(why)
    else:
        try:
            groups = [("treated", sc.treated)] + ([("control", sc.control)] if has_control else [])
            for grp, scope in groups:
                for phase, a, b in windows:
                    v, n = _value(store, kpi_id, scope, a, b, settings)
                    out[f"{grp}_{phase}"], out[f"n_{grp}_{phase}"] = v, n
        except MissingDataError as e:
            status = "missing_data"
            notes.append(str(e))
        except KpiError as e:
            status = "error"
            notes.append(f"{kpi_id}: {e}")
        if status == "ok":
            if no_after_data or no_before_data:
                for grp in ("treated", "control"):
                    for phase in ("before", "after"):
                        if (phase == "after" and no_after_data) or (phase == "before" and no_before_data):
                            out[f"{grp}_{phase}"] = None
            d_t = _sub(out["treated_after"], out["treated_before"])
            if has_control:
                d_c = _sub(out["control_after"], out["control_before"])
                out["effect"] = _sub(d_t, d_c)
            else:
                out["effect"] = d_t
            if out["effect"] is None:
                status = "no_data"
                empty = [f"{grp} {phase}" for grp in ("treated", "control") for phase in ("before", "after")
                         if (grp == "treated" or has_control) and out[f"{grp}_{phase}"] is None]
                notes.append(f"{kpi_id} has no value for: {', '.join(empty)}")

    # -- revenue: incremental revenue and ROI
    # each customer's revenue in the scope before and after (the revenue totals are their sums; the
    # bootstrap of incremental revenue and ROI resamples them)
    plan = _plan(sc, kpi_id, g, w, settings)
    pairs: dict[str, tuple[Any, Any]] = {}
    try:
        pairs["treated"] = evidence.customer_revenue(store, plan, plan.treated)
        if has_control:
            pairs["control"] = evidence.customer_revenue(store, plan, plan.control)
        for grp, (before, after) in pairs.items():
            out[f"revenue_before_{grp}"], out[f"revenue_after_{grp}"] = float(before.sum()), float(after.sum())
        revenue_ok = True
    except MissingDataError as e:
        revenue_ok = False
        notes.append(f"no revenue, no ROI: {e}")
    if revenue_ok and (no_after_data or no_before_data):
        revenue_ok = False
        for k in ("revenue_before_treated", "revenue_after_treated", "revenue_before_control",
                  "revenue_after_control"):
            out[k] = None
        notes.append("no incremental revenue or ROI without data on both sides of the go-live")
    if revenue_ok:
        tb, ta = out["revenue_before_treated"], out["revenue_after_treated"]
        if has_control:
            cb, ca = out["revenue_before_control"], out["revenue_after_control"]
            if cb is None or ca is None or cb == 0:
                notes.append("the control group had no revenue before go-live: its growth cannot be measured, "
                             "so incremental revenue and ROI are not computed")
            else:
                out["incremental_revenue"] = ta - tb * (ca / cb)
        else:
            out["incremental_revenue"] = ta - tb
    inc = out["incremental_revenue"]
    if inc is not None:
        out["annual_incremental_revenue"] = inc * 365.0 / w
    cost = r["cost"]
    if inc is not None and cost is not None:
        if cost == 0:
            notes.append("cost is 0: ROI not defined")
        else:
            out["roi"] = (inc * 365.0 / w * margin - cost) / cost

    # -- how sure are we?
    if out["incremental_revenue"] is not None and pairs:
        t, c = pairs["treated"], pairs.get("control", (None, None))
        lo_, hi_, rlo, rhi = evidence.u.bootstrap_revenue(t[0], t[1], c[0], c[1], annual_factor=365.0 / w,
                                                         margin=margin, cost=cost if cost else None)
        out.update(incremental_revenue_low=lo_, incremental_revenue_high=hi_, roi_low=rlo, roi_high=rhi)
    measurable = status == "ok" and not (no_after_data or no_before_data)
    if measurable and (out["effect"] is not None or not has_control):
        extra = evidence.uncertainty(store, plan, effect=out["effect"], provisional=bool(provisional), notes=notes)
        if not has_control:
            if extra.get("effect") is not None:
                notes.append(f"no control group: effect = mean(actual − counterfactual) of an interrupted time "
                             f"series (after − before: {_fmt_num(out['effect'])})")
                out["effect"] = extra.pop("effect")
            else:
                notes.append("no control group and too short a series for an interrupted time series: "
                             "effect = after − before, without an interval")
        extra.pop("effect", None)
        out.update(extra)

    if provisional and out["verdict"] is None and status in ("ok", "no_data", "missing_data"):
        out["verdict"] = "provisional"  # the after window is incomplete: whatever was measured may still move

    # -- cost vs budget
    budget = r["budget"]
    if cost is not None and budget is not None:
        out["over_budget"] = cost - budget
        if budget > 0:
            out["over_budget_pct"] = (cost - budget) / budget * 100.0
        elif cost > 0:
            notes.append("budget is 0: over-budget percentage not defined")
        else:
            out["over_budget_pct"] = 0.0

    out["status"] = status
    out["notes"] = "; ".join(notes) if notes else None
    return out


def cannot_move(kpi_id: str, channel: str | None, segment: str | None) -> str | None:
    """Why the KPI cannot move within the initiative's scope, or None."""
    rule = CANNOT_MOVE.get(kpi_id)
    if rule is None:
        return None
    dim, why = rule
    value = channel if dim == "channel" else segment
    if not value:
        return None
    return (f"refused: {kpi_id} cannot move within the {dim} {value!r} — {why}; the initiative needs a KPI "
            f"it can move there (e.g. ces, fcr_rate or csat)")


def _plan(sc: Scopes, kpi_id: str, g: dt.date, w: int, settings: dict[str, Any]) -> evidence.Plan:
    control = (sc.control.channels, sc.control.segments) if sc.control is not None else None
    return evidence.Plan(kpi=kpi_id, treated=(sc.treated.channels, sc.treated.segments), control=control,
                         go_live=g, window_days=w, settings=settings)


def counterfactual(store, initiative_id: str, window_days: int = DEFAULT_WINDOW_DAYS) -> pd.DataFrame:
    """For an initiative without a control group: per full week after go-live, the KPI the before
    trend forecasts (``value``) and its 95 % band (``low``, ``high``); empty otherwise."""
    w = check_window(window_days)
    r = initiative_row(store, initiative_id)
    kpi_id = r["kpi"] or DEFAULT_KPI
    sc = scopes(store, r["channel"], r["segment"])
    plan = _plan(sc, kpi_id, r["go_live"], w, store.settings())
    if (sc.control is not None or kpi_id not in KPIS or _unsupported(kpi_id, r["channel"], r["segment"])
            or cannot_move(kpi_id, r["channel"], r["segment"])):
        return pd.DataFrame({"period": pd.Series(dtype=object), "value": pd.Series(dtype="float64"),
                             "low": pd.Series(dtype="float64"), "high": pd.Series(dtype="float64")})
    return evidence.counterfactual(store, plan)


def impact(store, *, initiative_id: str | None = None, window_days: int = DEFAULT_WINDOW_DAYS) -> pd.DataFrame:
    """One row per initiative (or only ``initiative_id``) with before/after, effect, revenue and ROI.

    Raises UnknownInitiativeError for an id that is not in the initiatives table and ImpactError for
    a window shorter than one day. Data problems never raise: ``status`` (ok, unknown_kpi,
    unsupported_scope, missing_data, no_data, error) and ``notes`` say what could not be measured."""
    w = check_window(window_days)
    rows = [initiative_row(store, initiative_id)] if initiative_id is not None else initiatives(store)
    lo, hi = store.data_span()
    span = (as_day(lo) if lo is not None else None, as_day(hi) if hi is not None else None)
    settings = store.settings()
    data = [_analyse(store, r, w, span, settings) for r in rows]
    df = pd.DataFrame(data, columns=COLUMNS)
    for c in ("has_control", "provisional"):
        df[c] = df[c].astype(bool)
    df["significant"] = df["significant"].astype(object)
    for c in ("n_treated_before", "n_treated_after", "n_control_before", "n_control_after", "window_days"):
        df[c] = df[c].astype("int64")
    return df


def weekly_series(store, initiative_id: str, window_days: int = DEFAULT_WINDOW_DAYS) -> pd.DataFrame:
    """The initiative's KPI per ISO week over before + after, for treated and (when any) control.

    Columns: period (the first day of the week's part inside its phase: weeks are cut at the window
    edges and at the go-live, so no point mixes before and after), group ('treated' / 'control'),
    phase ('before' / 'after'), value, n. Weeks without population are left out.
    ``df.attrs`` holds go_live, kpi, window_days, before_start, after_end and a note when the KPI
    cannot be plotted (unknown KPI, scope it cannot be filtered by, missing data)."""
    w = check_window(window_days)
    r = initiative_row(store, initiative_id)
    g = r["go_live"]
    kpi_id = r["kpi"] or DEFAULT_KPI
    attrs: dict[str, Any] = {"go_live": g, "kpi": kpi_id, "window_days": w,
                             "before_start": g - dt.timedelta(days=w), "after_end": g + dt.timedelta(days=w - 1),
                             "note": None}
    empty = pd.DataFrame({"period": pd.Series(dtype=object), "group": pd.Series(dtype=object),
                          "phase": pd.Series(dtype=object), "value": pd.Series(dtype="float64"),
                          "n": pd.Series(dtype="int64")})
    empty.attrs.update(attrs)
    if kpi_id not in KPIS:
        empty.attrs["note"] = f"{kpi_id!r} is not a KPI of the catalogue"
        return empty
    why = _unsupported(kpi_id, r["channel"], r["segment"])
    if why:
        empty.attrs["note"] = why
        return empty
    sc = scopes(store, r["channel"], r["segment"])
    settings = store.settings()
    parts = []
    groups = [("treated", sc.treated)] + ([("control", sc.control)] if sc.control is not None else [])
    phases = (("before", attrs["before_start"], g - dt.timedelta(days=1)), ("after", g, attrs["after_end"]))
    try:
        for grp, scope in groups:
            for phase, a, b in phases:
                df = compute(store, kpi_id, start=a, end=b, channels=scope.channels, segments=scope.segments,
                             by=("period",), grain="week", settings=settings)
                if df.empty:
                    continue
                df = df.assign(period=[max(p, a) for p in df["period"]], group=grp, phase=phase)
                parts.append(df[SERIES_COLUMNS])
    except KpiError as e:  # includes MissingDataError
        empty.attrs["note"] = str(e)
        return empty
    if not parts:
        empty.attrs["note"] = f"no {kpi_id} data between {attrs['before_start']} and {attrs['after_end']}"
        return empty
    out = pd.concat(parts, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out = out.sort_values(["group", "period"], kind="stable", ignore_index=True)
    out.attrs.update(attrs)
    return out


__all__ = [
    "impact", "weekly_series", "counterfactual", "go_lives", "cannot_move", "CANNOT_MOVE", "go_live", "initiatives", "scopes", "dimension_values", "ImpactError",
    "UnknownInitiativeError", "COLUMNS", "SERIES_COLUMNS", "DEFAULT_KPI", "DEFAULT_WINDOW_DAYS",
]
