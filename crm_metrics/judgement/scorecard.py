"""Goals against actuals, the roll-up per strategic objective, and strategy alignment (strategy.md).

    scorecard(store, start=None, end=None)  -> one row per goal and period (SCORECARD_COLUMNS)
    objective_rollup(scorecard_df)          -> per objective: goals and how many per status
    alignment(store, start=None, end=None)  -> per segment in `segments`: stated strategy vs the
                                               observed relationship mix, csat, nps, churn_rate

A goal's row belongs to the goal and its own period (periods, the data's span and the previous
period rule: crm_metrics.judgement.goals; forecasts of periods in progress:
crm_metrics.judgement.forecast). The viewed window only chooses which rows are listed.
Every number comes from crm_metrics.metrics.kpis.compute. Choices beyond the spec (docs/foresight.md):
- comparisons with the target allow a relative 1e-9 for floating-point rounding, so a value that
  is exactly on the target (or exactly at the tolerance) counts as such;
- a goal that cannot be computed (its table is empty, or its KPI / scope is refused) is
  ``no_data``, never an error; ``forecast_method`` says why for a period in progress.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

import pandas as pd

from crm_metrics.metrics.kpis import KPIS, KpiError, MissingDataError, compute
from crm_metrics.data import values
from crm_metrics.data.store import Store
from crm_metrics.judgement import forecast as forecast_mod
from crm_metrics.judgement import goals as goals_mod
from crm_metrics.judgement import strategy

SCORECARD_COLUMNS = [
    "goal_id", "kpi", "label", "unit", "channel", "segment", "period_start", "period_end", "target",
    "direction", "actual", "n", "status", "attainment", "previous", "change", "low_confidence",
    "tolerance", "objective", "owner", "final", "elapsed_share", "actual_to_date", "forecast", "forecast_low",
    "forecast_high", "p_meet", "forecast_method",
]
# Final periods: met / at_risk / missed; periods in progress: on_track / at_risk / off_track (pace).
STATUSES = ("met", "on_track", "at_risk", "off_track", "missed", "no_data")
ROLLUP_COLUMNS = ["objective", "goals", *STATUSES]
ALIGNMENT_COLUMNS = [
    "segment", "strategy", "statement", "relationship_share", "pseudo_relationship_share",
    "encounter_share", "n", "misaligned", "csat", "nps", "churn_rate",
]
DEFAULT_TOLERANCE = strategy.DEFAULT_TOLERANCE
LOW_CONFIDENCE_N = 30
NO_OBJECTIVE = "(no objective)"
EPS = 1e-9

# -- pure rules ---------------------------------------------------------------------------------
_num = values.number  # a finite float, or None


def _slack(target: float) -> float:
    return EPS * max(1.0, abs(target))


def direction_for(kpi_id: str, direction: str | None) -> str | None:
    """The goal's direction, else the KPI's better direction (None for a neutral KPI)."""
    if direction:
        return direction
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        return None
    return {"higher": "at_least", "lower": "at_most"}.get(kpi.better)


def judge(actual: float | None, target: float, direction: str | None, tolerance: float | None = None) -> str:
    """met / at_risk / missed / no_data (strategy.md, Scorecard)."""
    a, t = _num(actual), float(target)
    tol = DEFAULT_TOLERANCE if _num(tolerance) is None else float(tolerance)
    if a is None or direction not in ("at_least", "at_most"):
        return "no_data"
    met = a >= t - _slack(t) if direction == "at_least" else a <= t + _slack(t)
    if met:
        return "met"
    if abs(a - t) <= tol * abs(t) + _slack(t):
        return "at_risk"
    return "missed"


def attainment(actual: float | None, target: float, direction: str | None) -> float | None:
    """actual ÷ target (at_least) or target ÷ actual (at_most), in %; None where it would divide by 0."""
    a, t = _num(actual), _num(target)
    if a is None or t is None or direction not in ("at_least", "at_most"):
        return None
    num, den = (a, t) if direction == "at_least" else (t, a)
    if den == 0:
        return None
    return 100.0 * num / den


def chance_words(p_meet: Any) -> str:
    """The chance of meeting the target in words, with the share of simulated paths: "likely (73 %)"."""
    p = _num(p_meet)
    if p is None:
        return "cannot be said yet"
    for bound, words in ((0.9, "very likely"), (0.7, "likely"), (0.3, "uncertain"), (0.1, "unlikely")):
        if p >= bound - EPS:
            return f"{words} ({100 * p:.0f} %)"
    return f"very unlikely ({100 * p:.0f} %)"


# -- window ---------------------------------------------------------------------------------------
_as_date = goals_mod.as_date


def resolve_window(store: Store, start: Any = None, end: Any = None) -> tuple[dt.date | None, dt.date | None]:
    """The window viewed: the given days, else the span of the loaded data."""
    s, e = _as_date(start), _as_date(end)
    if s is None or e is None:
        lo, hi = goals_mod.data_span(store)
        s = s or lo
        e = e or hi
    if s is not None and e is not None and s > e:
        raise KpiError(f"the window starts ({s}) after it ends ({e})")
    return s, e


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of equal length just before [start, end] (a calendar year: the year before)."""
    return goals_mod.previous_period(start, end)


def _kpi_value(store: Store, kpi_id: str, start: dt.date, end: dt.date, channel: str | None,
               segment: str | None, settings: Mapping[str, Any]) -> tuple[float | None, int]:
    """(value, n) of one KPI over one scope and period; (None, 0) when it cannot be computed."""
    try:
        df = compute(store, kpi_id, start=start, end=end, channels=[channel] if channel else (),
                     segments=[segment] if segment else (), settings=settings)
    except (MissingDataError, KpiError):
        return None, 0
    if df.empty:
        return None, 0
    return _num(df["value"].iloc[0]), int(df["n"].iloc[0])


# -- the scorecard ----------------------------------------------------------------------------------
def scorecard(store: Store, start: Any = None, end: Any = None) -> pd.DataFrame:
    """One row per goal and period, judged on the goal's own period (strategy.md, Scorecard).

    ``start`` / ``end`` (the viewed window) only choose which rows are listed: those whose period
    overlaps it; without them, the period containing the data's last day, else the latest."""
    window = (_as_date(start), _as_date(end))
    if window[0] is not None and window[1] is not None and window[0] > window[1]:
        raise KpiError(f"the window starts ({window[0]}) after it ends ({window[1]})")
    gl = strategy.goals(store)
    settings = store.settings()
    first, last = goals_mod.data_span(store) if len(gl) else (None, None)
    rows = []
    for g in gl.to_dict(orient="records"):
        g = {k: (None if _missing(v) else v) for k, v in g.items()}
        periods = goals_mod.goal_periods(g["period_start"], g["period_end"], first, last)
        for p_start, p_end in goals_mod.listed(periods, window, last):
            rows.append(_row(store, g, p_start, p_end, first, last, settings))
    df = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    for c in ("target", "actual", "attainment", "previous", "change", "tolerance", "elapsed_share",
              "actual_to_date", "forecast", "forecast_low", "forecast_high", "p_meet"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["n"] = df["n"].astype("int64")
    df["low_confidence"] = df["low_confidence"].astype(bool)
    df["final"] = df["final"].astype(bool)
    return _none_for_missing(df, ("goal_id", "kpi", "label", "unit", "channel", "segment", "direction", "status",
                                  "objective", "owner", "forecast_method"))


def _row(store: Store, g: dict[str, Any], p_start: dt.date, p_end: dt.date, first: dt.date | None,
         last: dt.date | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """One scorecard row: actual over the period clipped to the data, status or pace, previous."""
    kpi = KPIS.get(g["kpi"])
    direction = direction_for(g["kpi"], g["direction"])
    tolerance = DEFAULT_TOLERANCE if _num(g["tolerance"]) is None else float(g["tolerance"])
    target = float(g["target"])
    final = last is not None and last >= p_end
    actual, n, previous = None, 0, None
    lo = max(p_start, first) if first is not None else None
    hi = min(p_end, last) if last is not None else None
    if kpi is not None and lo is not None and hi is not None and lo <= hi:
        actual, n = _kpi_value(store, kpi.id, lo, hi, g["channel"], g["segment"], settings)
    prev = goals_mod.covered_previous(p_start, p_end, first)
    if kpi is not None and prev is not None:
        previous, _ = _kpi_value(store, kpi.id, prev[0], prev[1], g["channel"], g["segment"], settings)
    fc = None
    if final:
        status = judge(actual, target, direction, tolerance)
        shown = actual
    else:
        fc = _forecast(store, kpi, g, p_start, p_end, first, last, target, direction, actual, n, settings)
        status = forecast_mod.pace(fc.p_meet, settings) if direction in ("at_least", "at_most") else "no_data"
        shown = fc.forecast
    return {
        "goal_id": g["goal_id"], "kpi": g["kpi"],
        "label": kpi.label if kpi else g["kpi"], "unit": kpi.unit if kpi else None,
        "channel": g["channel"], "segment": g["segment"],
        "period_start": p_start, "period_end": p_end,
        "target": target, "direction": direction,
        "actual": actual, "n": int(n),
        "status": status,
        "attainment": attainment(shown, target, direction),
        "previous": previous,
        "change": None if actual is None or previous is None else actual - previous,
        "low_confidence": bool(n < LOW_CONFIDENCE_N),
        "tolerance": tolerance, "objective": g["objective"], "owner": g["owner"],
        "final": final,
        "elapsed_share": None if final else goals_mod.elapsed_share(p_start, p_end, first, last),
        "actual_to_date": None if final else actual,
        "forecast": None if fc is None else fc.forecast,
        "forecast_low": None if fc is None else fc.low,
        "forecast_high": None if fc is None else fc.high,
        "p_meet": None if fc is None else fc.p_meet,
        "forecast_method": None if fc is None else fc.method,
    }


def _forecast(store: Store, kpi: Any, g: dict[str, Any], p_start: dt.date, p_end: dt.date,
              first: dt.date | None, last: dt.date | None, target: float, direction: str | None,
              actual: float | None, n: int, settings: Mapping[str, Any]) -> forecast_mod.Forecast:
    """The forecast of a period in progress, or why there is none (in plain words)."""
    none = forecast_mod.Forecast
    if kpi is None:
        return none(None, None, None, None, f"{g['kpi']!r} is not a KPI of the catalogue")
    if direction not in ("at_least", "at_most"):
        return none(None, None, None, None, f"{kpi.id} is neutral: the goal must state its direction")
    if first is None or last is None or last < p_start:
        return none(None, None, None, None, "the period has not started in the data yet")
    if actual is None:
        return none(None, None, None, None, f"no value so far (no {kpi.tables[0]} in its scope and period)")
    return forecast_mod.forecast_goal(store, kpi, p_start, p_end, first, last, g["channel"], g["segment"],
                                      target, direction, actual, n, settings)


def _none_for_missing(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """Text columns as objects with None (not NaN) where empty."""
    for c in cols:
        df[c] = pd.Series([None if _missing(v) else v for v in df[c]], index=df.index, dtype=object)
    return df


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def objective_rollup(df: pd.DataFrame, objectives: Iterable[str] = ()) -> pd.DataFrame:
    """Per strategic objective: how many goal rows, and how many per status (met, on track, ...).

    Goals without an objective are counted under "(no objective)" (listed last); ``objectives``
    adds objectives that have no goal (all counts 0)."""
    counts: dict[str, dict[str, int]] = {}
    for obj in objectives:
        if not _missing(obj) and str(obj).strip():
            counts.setdefault(str(obj).strip(), {s: 0 for s in ("goals", *STATUSES)})
    for row in df.to_dict(orient="records"):
        obj = row.get("objective")
        key = NO_OBJECTIVE if _missing(obj) or not str(obj).strip() else str(obj).strip()
        c = counts.setdefault(key, {s: 0 for s in ("goals", *STATUSES)})
        c["goals"] += 1
        c[row["status"]] += 1
    order = sorted(counts, key=lambda k: (k == NO_OBJECTIVE, k.lower()))
    return pd.DataFrame([{"objective": k, **counts[k]} for k in order], columns=ROLLUP_COLUMNS)


# -- strategy alignment ------------------------------------------------------------------------------
def _by_segment(store: Store, kpi_id: str, start, end, settings) -> dict[str, tuple[float | None, int]]:
    try:
        df = compute(store, kpi_id, start=start, end=end, by=("segment",), settings=settings)
    except MissingDataError:
        return {}
    return {r["segment"]: (_num(r["value"]), int(r["n"])) for r in df.to_dict(orient="records")}


def alignment(store: Store, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Per segment in `segments`: stated strategy vs observed relationship mix over the window.

    ``n`` = customers with at least one assisted contact with an advisor (N >= 1). ``misaligned``
    when the strategy is relationship and relationship_share < the alignment_threshold setting; a
    segment without any such customer (share null) cannot be judged and is not flagged."""
    seg = strategy.segments(store)
    if seg.empty:
        return pd.DataFrame(columns=ALIGNMENT_COLUMNS)
    s, e = resolve_window(store, start, end)
    settings = store.settings()
    threshold = float(settings["alignment_threshold"])
    vals = {k: _by_segment(store, k, s, e, settings) if s is not None else {}
            for k in ("relationship_share", "pseudo_relationship_share", "encounter_share", "csat", "nps",
                      "churn_rate")}
    rows = []
    for r in seg.to_dict(orient="records"):
        name = r["segment"]
        rel, n = vals["relationship_share"].get(name, (None, 0))
        rows.append({
            "segment": name, "strategy": r["strategy"],
            "statement": None if _missing(r["statement"]) else r["statement"],
            "relationship_share": rel,
            "pseudo_relationship_share": vals["pseudo_relationship_share"].get(name, (None, 0))[0],
            "encounter_share": vals["encounter_share"].get(name, (None, 0))[0],
            "n": n,
            "misaligned": bool(r["strategy"] == "relationship" and rel is not None
                               and rel < threshold - EPS * max(1.0, threshold)),
            "csat": vals["csat"].get(name, (None, 0))[0],
            "nps": vals["nps"].get(name, (None, 0))[0],
            "churn_rate": vals["churn_rate"].get(name, (None, 0))[0],
        })
    df = pd.DataFrame(rows, columns=ALIGNMENT_COLUMNS)
    for c in ("relationship_share", "pseudo_relationship_share", "encounter_share", "csat", "nps", "churn_rate"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["n"] = df["n"].astype("int64")
    df["misaligned"] = df["misaligned"].astype(bool)
    return _none_for_missing(df, ("segment", "strategy", "statement"))


__all__ = [
    "scorecard", "objective_rollup", "alignment", "judge", "attainment", "direction_for",
    "previous_period", "resolve_window", "chance_words", "SCORECARD_COLUMNS", "ROLLUP_COLUMNS",
    "ALIGNMENT_COLUMNS", "STATUSES", "DEFAULT_TOLERANCE", "LOW_CONFIDENCE_N", "NO_OBJECTIVE",
]
