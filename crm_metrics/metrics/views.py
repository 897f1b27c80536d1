"""Compositions the pages and the report show: several KPIs side by side, the cohort retention
matrix. Kept here (not in pages) so the app stays thin and the report shows the same numbers."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from crm_metrics.data.store import Store
from crm_metrics.metrics.kpis import KpiError, compute, get_kpi


def kpi_matrix(store: Store, kpi_ids: Sequence[str], by: str, *, start: dt.date | None = None,
               end: dt.date | None = None, channels: Sequence[str] = (), segments: Sequence[str] = ()
               ) -> pd.DataFrame:
    """One row per value of ``by``, one column per KPI (its label). KPIs that cannot be split by
    ``by`` or whose data is missing are left out."""
    merged: pd.DataFrame | None = None
    for kpi_id in kpi_ids:
        k = get_kpi(kpi_id)
        try:
            df = compute(store, kpi_id, start=start, end=end, channels=channels, segments=segments, by=[by])
        except KpiError:
            continue
        part = df[[by, "value"]].astype({"value": "float64"}).rename(columns={"value": k.label})
        merged = part if merged is None else merged.merge(part, on=by, how="outer")
    if merged is None:
        return pd.DataFrame({by: []})
    return merged.sort_values(by).reset_index(drop=True)


def cohort_retention(store: Store, *, start: dt.date | None = None, end: dt.date | None = None,
                     segments: Sequence[str] = (), channels: Sequence[str] = (), max_months: int = 24
                     ) -> pd.DataFrame:
    """Monthly join cohorts (joined inside the window) and the % of each still a customer at the
    end of each following month (month 0 = the joining month), up to the window's end.

    Columns: cohort (first day of the joining month), month (0, 1, ...), customers (cohort size),
    retained (%)."""
    first, last = store.data_span()
    start = start or first
    end = end or last
    if start is None or end is None:
        return pd.DataFrame(columns=["cohort", "month", "customers", "retained"])
    params: dict[str, object] = {"start": start, "end": end, "max_months": max_months}
    where = ["joined_on BETWEEN $start AND $end"]
    if segments:
        where.append("segment IN (" + ", ".join(f"$seg{i}" for i in range(len(segments))) + ")")
        params.update({f"seg{i}": s for i, s in enumerate(segments)})
    if channels:
        where.append("coalesce(acquisition_channel, '(unknown)') IN ("
                     + ", ".join(f"$ch{i}" for i in range(len(channels))) + ")")
        params.update({f"ch{i}": c for i, c in enumerate(channels)})
    sql = f"""
        WITH c AS (
            SELECT CAST(DATE_TRUNC('month', joined_on) AS DATE) AS cohort, left_on
            FROM customers WHERE {' AND '.join(where)}
        ),
        offsets AS (SELECT range AS month FROM range(0, $max_months + 1)),
        grid AS (
            SELECT c.cohort, o.month, c.left_on,
                   CAST(DATE_TRUNC('month', c.cohort + to_months(CAST(o.month AS INTEGER))) + INTERVAL 1 MONTH
                        - INTERVAL 1 DAY AS DATE) AS month_end
            FROM c CROSS JOIN offsets o
        )
        SELECT cohort, month, count(*) AS customers,
               100.0 * count(*) FILTER (WHERE left_on IS NULL OR left_on > month_end) / count(*) AS retained
        FROM grid
        WHERE month_end <= CAST($end AS DATE) OR month = 0
        GROUP BY cohort, month
        ORDER BY cohort, month
    """
    df = store.cursor().execute(sql, params).df()
    df["cohort"] = pd.to_datetime(df["cohort"]).dt.date  # calendar dates, as every other period key
    return df


def filter_choices(store: Store) -> dict[str, object]:
    """What the shared filters offer: the data span, every channel and every segment."""
    first, last = store.data_span()
    cur = store.cursor()
    channels = [r[0] for r in cur.execute(
        "SELECT DISTINCT channel FROM f_interactions UNION SELECT DISTINCT channel FROM f_transactions "
        "UNION SELECT DISTINCT channel FROM f_surveys ORDER BY 1").fetchall()]
    segments = [r[0] for r in cur.execute(
        "SELECT DISTINCT segment FROM customers UNION SELECT segment FROM segments ORDER BY 1").fetchall()]
    return {"first": first, "last": last, "channels": channels, "segments": segments}


def goals_in_view(store: Store, kpi_id: str, channels: Sequence[str] = (), segments: Sequence[str] = ()
                  ) -> list[dict[str, object]]:
    """Goals on a KPI whose scope matches the filters: unscoped goals always; a channel (segment)
    goal only when exactly that one channel (segment) is selected."""
    rows = store.cursor().execute(
        "SELECT goal_id, target, direction, channel, segment, tolerance FROM goals WHERE kpi = ? ORDER BY goal_id",
        [kpi_id]).fetchall()
    out: list[dict[str, object]] = []
    for gid, target, direction, channel, segment, tol in rows:
        if channel and tuple(channels) != (channel,):
            continue
        if segment and tuple(segments) != (segment,):
            continue
        out.append({"goal_id": gid, "target": target, "direction": direction, "tolerance": tol})
    return out


def load_marker(store: Store) -> int:
    """The latest load's id (0 before any load). The load history and what can be undone change
    with every load, also one that changed no data (and so left the data version alone): caches of
    them are keyed on this as well as on the data version."""
    row = store.cursor().execute("SELECT coalesce(max(load_id), 0) FROM load_history").fetchone()
    return int(row[0])
