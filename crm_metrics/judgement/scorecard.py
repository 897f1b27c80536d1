"""Goals against actuals, the roll-up per strategic objective, and strategy alignment (strategy.md).

    scorecard(store, start=None, end=None)  -> one row per goal (SCORECARD_COLUMNS)
    objective_rollup(scorecard_df)          -> per objective: goals, met, at_risk, missed, no_data
    alignment(store, start=None, end=None)  -> per segment in `segments`: stated strategy vs the
                                               observed relationship mix, csat, nps, churn_rate

Every number comes from crm_metrics.metrics.kpis.compute. Choices beyond the spec (docs/strategy.md):
- the window defaults to the span of the loaded data (``store.data_span()``; only customers
  loaded: their joined/left span, as compute does);
- a goal with only one of period_start / period_end takes the other end from the window;
- ``previous`` is null when the previous period ends before the KPI's data begins (the first day
  of its tables): a period with no data at all is not a period in which the KPI was 0;
- comparisons with the target allow a relative 1e-9 for floating-point rounding, so a value that
  is exactly on the target (or exactly at the tolerance) counts as such;
- a goal that cannot be computed (its table is empty, or its KPI / scope is refused) is
  ``no_data``, never an error.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable, Mapping

import pandas as pd

from crm_metrics.metrics.kpis import KPIS, KpiError, MissingDataError, compute
from crm_metrics.data.store import Store
from crm_metrics.judgement import strategy

SCORECARD_COLUMNS = [
    "goal_id", "kpi", "label", "unit", "channel", "segment", "period_start", "period_end", "target",
    "direction", "actual", "n", "status", "attainment", "previous", "change", "low_confidence",
    "tolerance", "objective", "owner",
]
ROLLUP_COLUMNS = ["objective", "goals", "met", "at_risk", "missed", "no_data"]
ALIGNMENT_COLUMNS = [
    "segment", "strategy", "statement", "relationship_share", "pseudo_relationship_share",
    "encounter_share", "n", "misaligned", "csat", "nps", "churn_rate",
]
STATUSES = ("met", "at_risk", "missed", "no_data")
DEFAULT_TOLERANCE = strategy.DEFAULT_TOLERANCE
LOW_CONFIDENCE_N = 30
NO_OBJECTIVE = "(no objective)"
EPS = 1e-9

# The first day of data of each table a KPI can need (for "previous": is that period in the data?).
_FIRST_DAY_SQL = {
    "interactions": "SELECT min(day) FROM f_interactions",
    "transactions": "SELECT min(day) FROM f_transactions",
    "surveys": "SELECT min(day) FROM f_surveys",
    "customers": "SELECT min(joined_on) FROM customers",
}


# -- pure rules ---------------------------------------------------------------------------------
def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


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


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of equal length just before [start, end]."""
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def format_value(value: Any, unit: str | None, currency: str = "") -> str:
    """A KPI value for a sentence: 96.4%, 4.1, 1,234, 12.34 USD."""
    v = _num(value)
    if v is None:
        return "n/a"
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "currency":
        return f"{v:,.2f}{' ' + currency if currency else ''}"
    if unit == "seconds":
        return f"{v:,.1f} s"
    if unit == "ratio":
        return f"{v:.2f}"
    return f"{v:.1f}"


# -- window ---------------------------------------------------------------------------------------
def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def resolve_window(store: Store, start: Any = None, end: Any = None) -> tuple[dt.date | None, dt.date | None]:
    """The window viewed: the given days, else the span of the loaded data."""
    s, e = _as_date(start), _as_date(end)
    if s is None or e is None:
        lo, hi = store.data_span()
        if lo is None:
            lo, hi = store.cursor().execute(
                "SELECT min(joined_on), max(greatest(joined_on, coalesce(left_on, joined_on))) FROM customers"
            ).fetchone()
        lo, hi = _as_date(lo), _as_date(hi)
        s = s or lo
        e = e or hi
    if s is not None and e is not None and s > e:
        raise KpiError(f"the window starts ({s}) after it ends ({e})")
    return s, e


def _first_days(store: Store) -> dict[str, dt.date | None]:
    cur = store.cursor()
    try:
        return {t: _as_date(cur.execute(sql).fetchone()[0]) for t, sql in _FIRST_DAY_SQL.items()}
    finally:
        cur.close()


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
    """One row per goal, judged over its own period or the window (strategy.md, Scorecard)."""
    w_start, w_end = resolve_window(store, start, end)
    gl = strategy.goals(store)
    settings = store.settings()
    firsts = _first_days(store) if len(gl) else {}
    rows = []
    for g in gl.to_dict(orient="records"):
        g = {k: (None if _missing(v) else v) for k, v in g.items()}
        kpi = KPIS.get(g["kpi"])
        p_start = _as_date(g["period_start"]) or w_start
        p_end = _as_date(g["period_end"]) or w_end
        direction = direction_for(g["kpi"], g["direction"])
        tolerance = DEFAULT_TOLERANCE if _num(g["tolerance"]) is None else float(g["tolerance"])
        target = float(g["target"])
        actual, n, previous = None, 0, None
        if kpi is not None and p_start is not None and p_end is not None and p_start <= p_end:
            actual, n = _kpi_value(store, kpi.id, p_start, p_end, g["channel"], g["segment"], settings)
            prev_start, prev_end = previous_period(p_start, p_end)
            begins = [firsts.get(t) for t in kpi.tables]
            if all(b is not None for b in begins) and prev_end >= max(begins):
                previous, _ = _kpi_value(store, kpi.id, prev_start, prev_end, g["channel"], g["segment"], settings)
        rows.append({
            "goal_id": g["goal_id"], "kpi": g["kpi"],
            "label": kpi.label if kpi else g["kpi"], "unit": kpi.unit if kpi else None,
            "channel": g["channel"], "segment": g["segment"],
            "period_start": p_start, "period_end": p_end,
            "target": target, "direction": direction,
            "actual": actual, "n": int(n),
            "status": judge(actual, target, direction, tolerance),
            "attainment": attainment(actual, target, direction),
            "previous": previous,
            "change": None if actual is None or previous is None else actual - previous,
            "low_confidence": bool(n < LOW_CONFIDENCE_N),
            "tolerance": tolerance, "objective": g["objective"], "owner": g["owner"],
        })
    df = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    for c in ("target", "actual", "attainment", "previous", "change", "tolerance"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["n"] = df["n"].astype("int64")
    df["low_confidence"] = df["low_confidence"].astype(bool)
    return _none_for_missing(df, ("goal_id", "kpi", "label", "unit", "channel", "segment", "direction", "status",
                                  "objective", "owner"))


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
    """Per strategic objective: how many goals, and how many met / at_risk / missed / no_data.

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
    "previous_period", "resolve_window", "format_value", "SCORECARD_COLUMNS", "ROLLUP_COLUMNS",
    "ALIGNMENT_COLUMNS", "STATUSES", "DEFAULT_TOLERANCE", "LOW_CONFIDENCE_N", "NO_OBJECTIVE",
]
