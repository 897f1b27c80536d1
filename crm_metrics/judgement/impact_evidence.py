"""The evidence behind an initiative's effect: unit rows, weekly series and customers' revenue read
from the store, turned into the "How sure are we?" fields (strategy.md) with
:mod:`crm_metrics.judgement.impact_uncertainty`.

    uncertainty(store, plan) -> dict of the spec's fields (effect_se, effect_ci_low, ..., verdict)
    counterfactual(store, plan) -> DataFrame(period, value, low, high) for an initiative without control
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_metrics.judgement import impact_uncertainty as u
from crm_metrics.metrics.kpis import KPIS, KpiError, compute, units

FIELDS = ("effect_se", "effect_ci_low", "effect_ci_high", "p_value", "significant", "uncertainty_method",
          "pre_trend_p", "placebo_effect", "placebo_p", "incremental_revenue_low", "incremental_revenue_high",
          "roi_low", "roi_high", "verdict")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """One initiative's measurement: KPI, scopes (channels, segments) and windows."""
    kpi: str
    treated: tuple[tuple[str, ...], tuple[str, ...]]
    control: tuple[tuple[str, ...], tuple[str, ...]] | None
    go_live: dt.date
    window_days: int
    settings: dict[str, Any]

    @property
    def before(self) -> tuple[dt.date, dt.date]:
        return self.go_live - dt.timedelta(days=self.window_days), self.go_live - DAY

    @property
    def after(self) -> tuple[dt.date, dt.date]:
        return self.go_live, self.go_live + dt.timedelta(days=self.window_days - 1)

    @property
    def pretend(self) -> dt.date:
        """The placebo go-live G − ⌊w/2⌋."""
        return self.go_live - dt.timedelta(days=self.window_days // 2)

    @property
    def scale(self) -> float:
        """From a weekly value to the window's: totals sum w/7 weeks, everything else is a level or mean."""
        return self.window_days / 7.0 if KPIS[self.kpi].kind == "sum" else 1.0

    def groups(self) -> list[tuple[int, tuple[tuple[str, ...], tuple[str, ...]]]]:
        return [(1, self.treated)] + ([(0, self.control)] if self.control is not None else [])


def mean_of_units(kpi_id: str) -> bool:
    """Whether the KPI is the mean of its units' values (a ratio, share or per-customer mean): then
    the unit-level regression applies. Counts, totals and levels (additive KPIs: the sum of their
    units) and KPIs without units use the weekly series."""
    k = KPIS[kpi_id]
    return k.units is not None and not k.additive


# -- reading -------------------------------------------------------------------------------------
def unit_sample(store, plan: Plan, windows: list[tuple[int, dt.date, dt.date]]) -> dict[str, np.ndarray]:
    """y, after, treated and customer of every unit of the KPI in the given (after flag, start, end)
    windows, for treated and control."""
    return unit_samples(store, plan, [windows])[0]


def unit_samples(store, plan: Plan, sets: list[list[tuple[int, dt.date, dt.date]]]) -> list[dict[str, np.ndarray]]:
    """:func:`unit_sample` for several sets of windows (the main analysis and the placebo). Units
    with a day are read once per group over the span of every window and split by day in numpy;
    per-customer units (a customer's value over a window) are read per window."""
    parts = [{"y": [], "after": [], "treated": [], "customer": []} for _ in sets]
    every = [w for ws in sets for w in ws]
    lo, hi = min(w[1] for w in every), max(w[2] for w in every)
    for flag, (ch, sg) in plan.groups():
        got = units(store, plan.kpi, start=lo, end=hi, channels=ch, segments=sg, settings=plan.settings,
                    hashed_customers=True)
        days = np.asarray(got["day"]).astype("datetime64[D]") if "day" in got else None
        for out, ws in zip(parts, sets):
            for a_flag, a, b in ws:
                if days is not None:
                    m = (days >= np.datetime64(a)) & (days <= np.datetime64(b))
                    _add(out, got["value"][m], got["customer_id"][m], a_flag, flag)
                else:
                    g = units(store, plan.kpi, start=a, end=b, channels=ch, segments=sg, settings=plan.settings,
                              hashed_customers=True)
                    _add(out, g["value"], g["customer_id"], a_flag, flag)
    return [{k: (np.concatenate(v) if v else np.array([])) for k, v in p.items()} for p in parts]


def _add(parts: dict[str, list[np.ndarray]], y: np.ndarray, cust: np.ndarray, after: int, treated: int) -> None:
    y = np.asarray(y, dtype="float64")
    keep = np.isfinite(y)
    parts["y"].append(y[keep])
    parts["customer"].append(np.asarray(cust)[keep])
    parts["after"].append(np.full(int(keep.sum()), after, dtype="int8"))
    parts["treated"].append(np.full(int(keep.sum()), treated, dtype="int8"))


def weekly(store, plan: Plan, scope: tuple[tuple[str, ...], tuple[str, ...]], a: dt.date, b: dt.date) -> pd.Series:
    """The KPI per full ISO week inside [a, b] (weeks cut by the window's edges are left out: a part
    of a week is not comparable with a whole one for totals), indexed by the week's Monday."""
    ch, sg = scope
    df = compute(store, plan.kpi, start=a, end=b, channels=ch, segments=sg, by=("period",), grain="week",
                 settings=plan.settings)
    full = [(p >= a and p + dt.timedelta(days=6) <= b) for p in df["period"]]
    s = pd.Series(df["value"].to_numpy(dtype="float64"), index=list(df["period"]))[full]
    return s[np.isfinite(s.to_numpy())]


def customer_revenue(store, plan: Plan, scope: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's revenue in the scope before and after go-live (0 where none), aligned."""
    ch, sg = scope
    sides = []
    for a, b in (plan.before, plan.after):
        g = units(store, "revenue_per_customer", start=a, end=b, channels=ch, segments=sg, settings=plan.settings,
                  hashed_customers=True)
        sides.append(pd.Series(np.asarray(g["value"], dtype="float64"), index=np.asarray(g["customer_id"]))
                     .groupby(level=0).sum())
    both = pd.concat(sides, axis=1).fillna(0.0)
    return both.iloc[:, 0].to_numpy(dtype="float64"), both.iloc[:, 1].to_numpy(dtype="float64")


# -- the fields ------------------------------------------------------------------------------------
def empty() -> dict[str, Any]:
    return {f: None for f in FIELDS}


def uncertainty(store, plan: Plan, *, effect: float | None, provisional: bool, notes: list[str]) -> dict[str, Any]:
    """The spec's uncertainty fields of the KPI effect for one measured initiative (the revenue and
    ROI intervals are bootstrapped by the caller from :func:`customer_revenue`). ``effect`` is the
    four-group DiD (with control) or None (without: the ITS effect is returned in ``effect``);
    problems become ``notes``, never exceptions."""
    out = {f: None for f in FIELDS if not f.startswith(("incremental_revenue_", "roi_"))}
    kpi = KPIS[plan.kpi]
    try:
        if plan.control is not None:
            _with_control(store, plan, effect, out, notes)
        else:
            _without_control(store, plan, out, notes)
    except (KpiError, ValueError, np.linalg.LinAlgError) as e:
        notes.append(f"no uncertainty for the effect: {e}")
    e = out.get("effect", effect)
    out["verdict"] = u.verdict(provisional=provisional, pre_trend_p=out["pre_trend_p"], placebo_p=out["placebo_p"],
                               significant=out["significant"], effect=e, better=kpi.better)
    return out


def _fill(out: dict[str, Any], est: u.Estimate, method: str) -> None:
    out.update(effect_se=est.se, effect_ci_low=est.ci_low, effect_ci_high=est.ci_high, p_value=est.p_value,
               significant=est.significant, uncertainty_method=method)


def _diffs(t: pd.Series, c: pd.Series) -> pd.Series:
    """treated − control over the weeks both have."""
    both = pd.concat([t, c], axis=1, join="inner")
    return both.iloc[:, 0] - both.iloc[:, 1]


def _with_control(store, plan: Plan, effect: float | None, out: dict[str, Any], notes: list[str]) -> None:
    (b0, b1), (a0, a1) = plan.before, plan.after
    p = plan.pretend
    wt_b, wc_b = weekly(store, plan, plan.treated, b0, b1), weekly(store, plan, plan.control, b0, b1)
    d_before = _diffs(wt_b, wc_b)
    out["pre_trend_p"] = u.pre_trend(d_before.to_numpy())
    d_pb = d_before[[k >= b0 and k + dt.timedelta(days=6) < p for k in d_before.index]]
    d_pa = d_before[[k >= p for k in d_before.index]]
    if mean_of_units(plan.kpi):
        s, pl = unit_samples(store, plan, [[(0, b0, b1), (1, a0, a1)], [(0, b0, p - DAY), (1, p, b1)]])
        est = u.did_units(s["y"], s["after"], s["treated"], s["customer"])
        _fill(out, est, "units_cluster_cr1")
        try:
            pe = u.did_units(pl["y"], pl["after"], pl["treated"], pl["customer"])
            out.update(placebo_effect=pe.effect, placebo_p=pe.p_value)
        except ValueError as e:
            notes.append(f"no placebo test: {e}")
        return
    if effect is None:
        raise ValueError("no effect to put an interval around")
    d_after = _diffs(weekly(store, plan, plan.treated, a0, a1), weekly(store, plan, plan.control, a0, a1))
    _fill(out, u.did_weekly(effect, d_before.to_numpy(), d_after.to_numpy(), plan.scale), "weekly_hac")
    try:
        # the placebo in the weekly method: the same regression on the weekly differences with the
        # go-live moved to P (δ = mean after P − mean before P, HAC errors), in the window's units
        pscale = (plan.window_days // 2) / 7.0 if KPIS[plan.kpi].kind == "sum" else 1.0
        if len(d_pb) < u.MIN_WEEKS or len(d_pa) < u.MIN_WEEKS:
            raise ValueError(f"fewer than {u.MIN_WEEKS} full weeks on one side of the pretend go-live")
        coef, se = u.hac_mean_shift(d_pb.to_numpy(), d_pa.to_numpy())
        pe = u.did_weekly(coef * pscale, d_pb.to_numpy(), d_pa.to_numpy(), pscale)
        out.update(placebo_effect=pe.effect, placebo_p=pe.p_value)
    except ValueError as e:
        notes.append(f"no placebo test: {e}")


def _its_fit(store, plan: Plan, go: dt.date) -> tuple[u.Its, list[dt.date]]:
    """ITS on full weeks of the treated KPI: fitted on [G − w, go − 1], forecast over [go, go + w − 1]
    (only up to G − 1 for the placebo)."""
    b0 = plan.before[0]
    end = plan.after[1] if go == plan.go_live else plan.go_live - DAY
    yb = weekly(store, plan, plan.treated, b0, go - DAY)
    ya = weekly(store, plan, plan.treated, go, end)
    if ya.empty:
        raise ValueError("no full week after the go-live")
    last = max(yb.index) if len(yb) else go
    steps = np.array([max(1, (k - last).days // 7) for k in ya.index])
    return u.its(yb.to_numpy(), ya.to_numpy(), steps), list(ya.index)


def _without_control(store, plan: Plan, out: dict[str, Any], notes: list[str]) -> None:
    fit, _ = _its_fit(store, plan, plan.go_live)
    est = u.its_estimate(fit, plan.scale)
    _fill(out, est, "its_local_linear_trend")
    out["effect"] = est.effect
    try:
        pfit, _ = _its_fit(store, plan, plan.pretend)
        pe = u.its_estimate(pfit, plan.scale)
        out.update(placebo_effect=pe.effect, placebo_p=pe.p_value)
    except ValueError as e:
        notes.append(f"no placebo test: {e}")


def counterfactual(store, plan: Plan) -> pd.DataFrame:
    """The counterfactual band of an initiative without control: per after week, what the before
    trend forecasts (value) with its 95 % band (low, high). Empty when it cannot be fitted."""
    cols = {"period": pd.Series(dtype=object), "value": pd.Series(dtype="float64"),
            "low": pd.Series(dtype="float64"), "high": pd.Series(dtype="float64")}
    try:
        fit, weeks = _its_fit(store, plan, plan.go_live)
    except (KpiError, ValueError, np.linalg.LinAlgError):
        return pd.DataFrame(cols)
    return pd.DataFrame({"period": weeks, "value": fit.counterfactual, "low": fit.low, "high": fit.high})


__all__ = ["Plan", "FIELDS", "uncertainty", "counterfactual", "unit_sample", "unit_samples", "weekly", "customer_revenue", "empty"]
