"""Forecast of a goal in progress, pace, and the backtest (foresight.md).

    forecast_goal(store, kpi, period, span, scope, target, direction, settings) -> Forecast
    simulate(history, steps, grain)       -> (paths, method): the ETS model, in judgement.ets
    combine(kind, ...)                    -> the value over the period on every path
    pace(p_meet, settings)                -> on_track / at_risk / off_track
    backtest(store, kpi_id, grain, horizon, channel, segment) -> Backtest

Choices beyond the spec (docs/foresight.md):
- a history sub-period without any population (no contact in a month) counts 0 for ``sum`` KPIs
  and carries the previous value for the others;
- a constant history is not fitted (ETS has no likelihood at zero variance): its paths are that
  constant, so constant volumes give an exact forecast;
- simulated values of a % KPI are kept within 0..100 and counts at or above 0;
- ``distinct`` KPIs: the bootstrap over customers of a share (unit %) resamples the n customers'
  0/1 outcome, which is exactly a binomial draw of n with the observed share, so it needs no
  per-customer query; revenue_per_customer reads the customers' revenue (one grouped query);
  any other distinct KPI keeps its value to date with no interval (p_meet 0 or 1) and says so.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from crm_metrics.data.store import Store
from crm_metrics.judgement.ets import MIN_POINTS, REPETITIONS, SEASON, SEED, simulate
from crm_metrics.metrics.kpis import KPIS, KpiError, MissingDataError, compute
from crm_metrics.metrics.kpis.model import Kpi, next_period, trunc_date

Grain = Literal["month", "week"]
Pace = Literal["on_track", "at_risk", "off_track", "no_data"]
BOOTSTRAPS = 999
TOO_LITTLE = "too little history"
EPS = 1e-9


@dataclass(frozen=True)
class Forecast:
    forecast: float | None
    low: float | None
    high: float | None
    p_meet: float | None
    method: str


def grain_for(start: dt.date, end: dt.date) -> Grain:
    """Weeks for a period shorter than 90 days, else months."""
    return "week" if (end - start).days + 1 < 90 else "month"


def _sub_end(key: dt.date, grain: str) -> dt.date:
    return next_period(key, grain) - dt.timedelta(days=1)


def last_complete_end(last: dt.date, grain: str) -> dt.date:
    """The last day of the last complete sub-period on or before ``last``."""
    key = trunc_date(last, grain)
    return last if _sub_end(key, grain) == last else key - dt.timedelta(days=1)


def future_fractions(last: dt.date, end: dt.date, grain: str) -> list[float]:
    """Per sub-period after the history up to ``end``: the share of its days inside (last, end]."""
    out: list[float] = []
    key = trunc_date(last + dt.timedelta(days=1), grain)
    while key <= end:
        k_end = _sub_end(key, grain)
        days = (k_end - key).days + 1
        inside = (min(k_end, end) - max(key, last + dt.timedelta(days=1))).days + 1
        out.append(max(0, inside) / days)
        key = next_period(key, grain)
    return out


def _clip(kpi: Kpi, paths: np.ndarray) -> np.ndarray:
    if kpi.unit == "%":
        return np.clip(paths, 0.0, 100.0)
    if kpi.unit == "count":
        return np.maximum(paths, 0.0)
    return paths


def combine(kpi: Kpi, observed: list[tuple[float, float]], paths: np.ndarray, fractions: list[float],
            mean_n: float) -> np.ndarray:
    """The value over the whole period on every path: observed parts (value, n) + simulated rest.

    A step's fraction is the share of its sub-period still to come; the simulated value counts in
    proportion to it (foresight.md)."""
    f = np.asarray(fractions, dtype="float64")
    reps = paths.shape[0]
    obs = [(v, n) for v, n in observed if v is not None and not math.isnan(v)]
    if kpi.kind == "sum":
        return sum(v for v, _ in obs) + (paths * f).sum(axis=1)
    if kpi.kind == "ratio":
        num = sum(v * n for v, n in obs) + (paths * f * mean_n).sum(axis=1)
        den = sum(n for _, n in obs) + f.sum() * mean_n
        return num / den if den else np.full(reps, np.nan)
    if kpi.kind == "survival":
        churn_like = kpi.better == "lower"  # churn combines as itself; retention as 1 - churn

        def c(v):
            return v / 100.0 if churn_like else 1.0 - v / 100.0
        keep = np.prod([1.0 - c(v) for v, _ in obs]) if obs else 1.0
        keep = keep * np.prod(1.0 - np.clip(c(paths), 0.0, 1.0) * f, axis=1)
        return 100.0 * (1.0 - keep) if churn_like else 100.0 * keep
    if kpi.kind == "stock":
        if paths.shape[1]:
            return paths[:, -1]
        return np.full(reps, obs[-1][0] if obs else np.nan)
    raise KpiError(f"{kpi.id}: a {kpi.kind} KPI is not combined from sub-periods")


def meets(values: np.ndarray, target: float, direction: str) -> np.ndarray:
    slack = EPS * max(1.0, abs(target))
    return values >= target - slack if direction == "at_least" else values <= target + slack


def pace(p_meet: float | None, settings: Mapping[str, Any]) -> Pace:
    if p_meet is None:
        return "no_data"
    if p_meet >= float(settings.get("pace_on_track", 0.7)) - EPS:
        return "on_track"
    if p_meet < float(settings.get("pace_off_track", 0.3)) - EPS:
        return "off_track"
    return "at_risk"


def _summary(values: np.ndarray, target: float, direction: str, method: str) -> Forecast:
    v = values[~np.isnan(values)]
    if not len(v):
        return Forecast(None, None, None, None, method)
    return Forecast(float(np.median(v)), float(np.percentile(v, 10)), float(np.percentile(v, 90)),
                    float(meets(v, target, direction).mean()), method)


# -- data -----------------------------------------------------------------------------------------
def _scope(channel: str | None, segment: str | None) -> dict[str, Any]:
    return {"channels": [channel] if channel else (), "segments": [segment] if segment else ()}


def by_period(store: Store, kpi: Kpi, start: dt.date, end: dt.date, grain: str, channel: str | None,
              segment: str | None, settings: Mapping[str, Any]) -> dict[dt.date, tuple[float, float]]:
    """{sub-period key: (value, n)} over [start, end] (sub-periods clipped to it)."""
    df = compute(store, kpi.id, start=start, end=end, by=("period",), grain=grain, settings=settings,
                 **_scope(channel, segment))
    return {p: (float(v), float(n)) for p, v, n in zip(df["period"], df["value"], df["n"])}


def history(kpi: Kpi, rows: Mapping[dt.date, tuple[float, float]], first: dt.date, hist_end: dt.date,
            grain: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, n) per sub-period from the data's first day to ``hist_end``; gaps filled (see above)."""
    vals, ns = [], []
    key = trunc_date(first, grain)
    while key <= hist_end:
        v, n = rows.get(key, (math.nan, 0.0))
        if math.isnan(v) and kpi.kind == "sum":
            v = 0.0
        if math.isnan(v) and vals:
            v = vals[-1]
        if not math.isnan(v):
            vals.append(v)
            ns.append(n)
        key = next_period(key, grain)
    return np.asarray(vals, dtype="float64"), np.asarray(ns, dtype="float64")


def _per_customer_revenue(store: Store, start: dt.date, end: dt.date, channel: str | None,
                          segment: str | None) -> np.ndarray:
    from crm_metrics.metrics.kpis import sql
    from crm_metrics.metrics.kpis.model import Query
    q = Query(start=start, end=end, **{k: tuple(v) for k, v in _scope(channel, segment).items()})
    text = (f"SELECT SUM(amount) FROM f_transactions WHERE {sql.window(q, 'f_transactions')}"
            f"{sql.filters(q, 'f_transactions')} GROUP BY customer_id")
    cur = store.cursor()
    try:
        return np.asarray([float(r[0]) for r in cur.execute(text, q.params).fetchall()], dtype="float64")
    finally:
        cur.close()


def forecast_distinct(store: Store, kpi: Kpi, start: dt.date, last: dt.date, channel: str | None,
                      segment: str | None, actual: float, n: int, target: float, direction: str) -> Forecast:
    """Value over [start, last]; interval and p_meet from a bootstrap over customers."""
    rng = np.random.default_rng(SEED)
    if kpi.unit == "%" and n > 0:
        draws = 100.0 * rng.binomial(n, min(1.0, max(0.0, actual / 100.0)), size=BOOTSTRAPS) / n
    elif kpi.id == "revenue_per_customer":
        per = _per_customer_revenue(store, start, last, channel, segment)
        if not len(per):
            return Forecast(None, None, None, None, "value to date (no buying customer yet)")
        draws = np.concatenate([per[rng.integers(0, len(per), size=(k, len(per)))].mean(axis=1)
                                for k in _chunks(BOOTSTRAPS, max(1, 5_000_000 // len(per)))])
    else:
        met = bool(meets(np.asarray([actual]), target, direction)[0])
        return Forecast(actual, None, None, 1.0 if met else 0.0,
                        "value to date (per-customer KPI, not extrapolated; no bootstrap for this KPI)")
    f = _summary(draws, target, direction, "")
    return Forecast(actual, f.low, f.high, f.p_meet,
                    f"value to date (per-customer KPI, not extrapolated); bootstrap over {n:,} customers, "
                    f"{BOOTSTRAPS} resamples")


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - i) for i in range(0, total, size)]


# Forecasts by (store file, data version, request): the page's scorecard and the health checks list
# the same goal rows in progress under different windows; each row is fitted once per data version.
_MEMO: dict[tuple[Any, ...], Forecast] = {}
_MEMO_MAX = 512


def forecast_goal(store: Store, kpi: Kpi, start: dt.date, end: dt.date, first: dt.date, last: dt.date,
                  channel: str | None, segment: str | None, target: float, direction: str,
                  actual: float | None, n: int, settings: Mapping[str, Any]) -> Forecast:
    """The forecast of the KPI over [start, end] with the data ending on ``last`` (< end)."""
    if store.path == ":memory:":
        return _forecast_goal(store, kpi, start, end, first, last, channel, segment, target, direction, actual,
                              n, settings)
    key = (store.path, store.data_version(), kpi.id, start, end, first, last, channel, segment, target,
           direction, actual, n, tuple(sorted((k, str(v)) for k, v in settings.items())))
    hit = _MEMO.get(key)
    if hit is None:
        hit = _forecast_goal(store, kpi, start, end, first, last, channel, segment, target, direction, actual,
                             n, settings)
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = hit
    return hit


def _forecast_goal(store: Store, kpi: Kpi, start: dt.date, end: dt.date, first: dt.date, last: dt.date,
                   channel: str | None, segment: str | None, target: float, direction: str,
                   actual: float | None, n: int, settings: Mapping[str, Any]) -> Forecast:
    if actual is None:
        return Forecast(None, None, None, None, "no value so far")
    if kpi.kind == "distinct":
        return forecast_distinct(store, kpi, max(start, first), last, channel, segment, actual, n, target,
                                 direction)
    grain = grain_for(start, end)
    hist_end = last_complete_end(last, grain)
    try:
        rows = by_period(store, kpi, first, last, grain, channel, segment, settings)
    except (MissingDataError, KpiError) as e:
        return Forecast(None, None, None, None, f"no history: {e}")
    values, ns = history(kpi, rows, first, hist_end, grain) if hist_end >= first else (np.zeros(0), np.zeros(0))
    if len(values) < MIN_POINTS:
        return Forecast(None, None, None, None, TOO_LITTLE)
    lo = max(start, first)
    if lo == first or lo == trunc_date(lo, grain):
        observed = [rows[k] for k in sorted(rows) if k >= trunc_date(lo, grain)]
    else:  # a goal starting inside a sub-period: its observed parts clipped to the goal's start
        part = by_period(store, kpi, lo, last, grain, channel, segment, settings)
        observed = [part[k] for k in sorted(part)]
    fractions = future_fractions(last, end, grain)
    paths, method = simulate(values, len(fractions), grain)
    paths = _clip(kpi, paths)
    mean_n = float(ns[-3:].mean())
    return _summary(combine(kpi, observed, paths, fractions, mean_n), target, direction, method)


# -- backtest ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backtest:
    kpi: str
    grain: str
    horizon: int
    origins: list[dict[str, Any]]
    mape: float | None
    coverage: float | None
    method: str


def backtest(store: Store, kpi_id: str, grain: str = "month", horizon: int = 3, channel: str | None = None,
             segment: str | None = None, first: dt.date | None = None, last: dt.date | None = None) -> Backtest:
    """Rolling origins: at each origin, forecast the next ``horizon`` sub-periods' combined value from
    the history before it, and compare with the KPI computed over those sub-periods."""
    from crm_metrics.judgement.goals import data_span
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        raise KpiError(f"unknown KPI {kpi_id!r}; list them with `kpis`")
    if kpi.kind == "distinct":
        raise KpiError(f"{kpi_id} is a per-customer KPI (kind distinct): it is not extrapolated, so there is "
                       f"nothing to backtest")
    if grain not in SEASON:
        raise KpiError(f"grain must be month or week, got {grain!r}")
    if horizon < 1:
        raise KpiError(f"horizon must be at least 1, got {horizon}")
    if first is None or last is None:
        f0, l0 = data_span(store)
        first, last = first or f0, last or l0
    if first is None or last is None:
        raise KpiError("no data loaded: nothing to backtest")
    settings = store.settings()
    hist_end = last_complete_end(last, grain)
    rows = by_period(store, kpi, first, hist_end, grain, channel, segment, settings)
    keys = []
    key = trunc_date(first, grain)
    while key <= hist_end:
        keys.append(key)
        key = next_period(key, grain)
    origins, method = [], ""
    for i in range(MIN_POINTS, len(keys) - horizon + 1):
        h_end = keys[i] - dt.timedelta(days=1)
        values, ns = history(kpi, rows, first, h_end, grain)
        if len(values) < MIN_POINTS:
            continue
        p_start, p_end = keys[i], _sub_end(keys[i + horizon - 1], grain)
        truth = compute(store, kpi.id, start=p_start, end=p_end, settings=settings, **_scope(channel, segment))
        actual = float(truth["value"].iloc[0])
        if math.isnan(actual):
            continue
        paths, method = simulate(values, horizon, grain)
        combined = combine(kpi, [], _clip(kpi, paths), [1.0] * horizon, float(ns[-3:].mean()))
        f = _summary(combined, 0.0, "at_least", method)
        origins.append({"origin": p_start, "to": p_end, "actual": actual, "forecast": f.forecast,
                        "low": f.low, "high": f.high,
                        "inside": bool(f.low is not None and f.low - EPS <= actual <= f.high + EPS)})
    errors = [abs(o["forecast"] - o["actual"]) / abs(o["actual"]) for o in origins
              if o["forecast"] is not None and o["actual"] != 0]
    mape = 100.0 * float(np.mean(errors)) if errors else None
    coverage = 100.0 * float(np.mean([o["inside"] for o in origins])) if origins else None
    return Backtest(kpi.id, grain, horizon, origins, mape, coverage, method.split(",")[0] if method else "")


__all__ = [
    "Forecast", "Backtest", "forecast_goal", "forecast_distinct", "simulate", "combine", "pace", "meets",
    "backtest", "grain_for", "last_complete_end", "future_fractions", "history", "SEED", "REPETITIONS",
    "BOOTSTRAPS", "MIN_POINTS", "TOO_LITTLE",
]
