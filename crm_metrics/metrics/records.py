"""The records behind a number (explain.md): a KPI's units in scope, with the columns that decide
their value.

    records(store, "fcr_rate", start=..., end=..., channels=[...], segments=[...], limit=50)
        -> Records(kpi, start, end, n, value, frame, truncated)

``n`` is the count of all the units (equal to the KPI's n), ``value`` the KPI recomputed from them
(``mean(value)``, or ``sum(value)`` for additive KPIs), ``frame`` the first ``limit`` units from
``offset`` (all when ``limit`` is None). Customer ids are real here: the caller decides whether the
person may see them (crm_metrics.data.pseudonyms) and applies :func:`mask_customer_ids`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from crm_metrics.data.pseudonyms import pseudonymise
from crm_metrics.metrics.engines.duckdb_engine import DUCKDB
from crm_metrics.metrics.kpis.engine import as_tuple, kpi_date, kpi_window, merged_settings, require_loaded
from crm_metrics.metrics.kpis.model import Kpi, KpiError, Query
from crm_metrics.metrics.kpis.registry import get_kpi


@dataclass(frozen=True)
class Records:
    kpi: Kpi
    start: date
    end: date
    n: int
    value: float | None
    frame: pd.DataFrame
    offset: int = 0

    @property
    def truncated(self) -> bool:
        """Fewer rows in ``frame`` than units in scope (a page, or a row limit)."""
        return self.offset + len(self.frame) < self.n or self.offset > 0


def no_records_reason(kpi: Kpi) -> str | None:
    """Why the KPI has no unit-level records (None when it has)."""
    if kpi.units is not None:
        return None
    return (f"{kpi.label} ({kpi.id}) has no unit-level records: its value ({kpi.formula}) is built from many "
            f"rows per {kpi.unit_of_count} (pairs of contacts, product holdings, a cohort or several tables), so "
            f"no list of one row per unit shows what decides it. "
            f"KPIs with records: {', '.join(k for k in _with_units())}.")


def _with_units() -> list[str]:
    from crm_metrics.metrics.kpis.registry import KPIS
    return [k.id for k in KPIS.values() if k.units is not None]


def records(store, kpi_id: str, *, start: Any = None, end: Any = None, channels: Iterable[str] = (),
            segments: Iterable[str] = (), limit: int | None = None, offset: int = 0,
            settings: Mapping[str, Any] | None = None) -> Records:
    """The KPI's units over the window (default: the data's span, as in ``compute``) and filters."""
    kpi = get_kpi(kpi_id)
    reason = no_records_reason(kpi)
    if reason:
        raise KpiError(reason)
    if limit is not None and limit < 0 or offset < 0:
        raise KpiError("limit and offset must be 0 or more.")
    cur = store.cursor()
    try:
        require_loaded(store, kpi)
        # the window as compute resolves it (crm_metrics.metrics.window)
        s, e = kpi_window(kpi, kpi_date(start, "start"), kpi_date(end, "end"), lambda: DUCKDB.data_span(store))
        q = Query(start=s, end=e, channels=as_tuple(channels), segments=as_tuple(segments),
                  settings=merged_settings(store.settings(cur), settings))
        assert kpi.units is not None
        units = kpi.units(q)
        agg = "SUM" if kpi.additive else "AVG"
        n, value = cur.execute(f"SELECT COUNT(*), {agg}(value) FROM ({units}) u", q.params).fetchone()
        # ordered by the unit's id (the first column): stable pages, and a top-N rather than a sort
        page = (f"SELECT * FROM ({units}) u ORDER BY 1" + (f" LIMIT {int(limit)}" if limit is not None else "")
                + (f" OFFSET {int(offset)}" if offset else ""))
        frame = cur.execute(page, q.params).df()
    finally:
        cur.close()
    if kpi.additive and value is None:
        value = 0.0
    return Records(kpi, s, e, int(n), None if value is None else float(value), frame, offset)


def mask_customer_ids(store, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its customer_id column replaced by the store's pseudonyms."""
    if "customer_id" not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    out["customer_id"] = pseudonymise(store, out["customer_id"].tolist())
    return out


__all__ = ["Records", "records", "no_records_reason", "mask_customer_ids"]
