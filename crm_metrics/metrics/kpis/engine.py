"""The compute API: resolve a request, build one SQL query from the KPI's declaration, run it."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from crm_metrics.data.schema import SETTINGS_DEFAULTS
from crm_metrics.metrics.kpis.model import DIMENSIONS, GRAINS, LOADED_CHECK, Kpi, KpiError, MissingDataError, Query
from crm_metrics.metrics.kpis.registry import KPIS, get_kpi  # noqa: F401  (re-exported)


def _as_date(value: Any, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError as e:
            raise KpiError(f"{name} must be a date (YYYY-MM-DD), got {value!r}.") from e
    raise KpiError(f"{name} must be a date, got {value!r}.")


def _as_tuple(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    return tuple(dict.fromkeys(str(v) for v in values))


def _kpi_name(kpi: Kpi) -> str:
    return f"{kpi.label} ({kpi.id})"


def resolve_request(kpi_id: str, *, by: Iterable[str] | str = (), grain: str = "month") -> tuple[Kpi, tuple[str, ...]]:
    """Validate the KPI, dimensions and grain; raise KpiError naming what is supported."""
    kpi = get_kpi(kpi_id)
    dims = _as_tuple(by)
    for d in dims:
        if d not in DIMENSIONS:
            raise KpiError(f"{_kpi_name(kpi)}: unknown dimension {d!r}; it can be split by: "
                           f"{', '.join(kpi.dimensions)}.")
        if d not in kpi.dimensions:
            raise KpiError(f"{_kpi_name(kpi)} cannot be split by {d}; it can be split by: "
                           f"{', '.join(kpi.dimensions)}.")
    if grain not in GRAINS:
        raise KpiError(f"{_kpi_name(kpi)}: unknown grain {grain!r}; use one of: {', '.join(GRAINS)}.")
    return kpi, dims


def _settings(store_settings: Mapping[str, Any] | None, override: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = dict(SETTINGS_DEFAULTS)
    out.update(store_settings or {})
    out.update(override or {})
    for key, default in SETTINGS_DEFAULTS.items():
        if isinstance(default, float):
            try:
                out[key] = float(out[key])
            except (TypeError, ValueError) as e:
                raise KpiError(f"Setting {key!r} needs a number, got {out[key]!r}.") from e
    return out


def build_sql(kpi_id: str, *, start: Any, end: Any, channels: Iterable[str] = (), segments: Iterable[str] = (),
              by: Iterable[str] | str = (), grain: str = "month",
              settings: Mapping[str, Any] | None = None, summaries: bool = False) -> tuple[str, dict[str, Any]]:
    """The SQL (DuckDB dialect, portable) and its named parameters for one request, without a store.

    ``summaries``: the KPI's summary query when it has one that answers the request (it reads the
    summary tables of a DuckDB store); else, and by default, its plain query."""
    kpi, dims = resolve_request(kpi_id, by=by, grain=grain)
    s, e = _as_date(start, "start"), _as_date(end, "end")
    if s is None or e is None:
        raise KpiError(f"{_kpi_name(kpi)}: build_sql needs both start and end.")
    if s > e:
        raise KpiError(f"{_kpi_name(kpi)}: the window starts ({s}) after it ends ({e}).")
    q = Query(start=s, end=e, channels=_as_tuple(channels), segments=_as_tuple(segments), by=dims,
              grain=grain, settings=_settings(None, settings))
    sql = _summary_sql(kpi, q) if summaries else None
    return sql or kpi.query(q), dict(q.params)


def _summary_sql(kpi: Kpi, q: Query) -> str | None:
    if kpi.summary is None:
        return None
    sql = kpi.summary(q)
    if sql is None:
        q.params.clear()  # the plain query binds its own
    return sql


def _missing_tables(cur, kpi: Kpi) -> tuple[tuple[str, ...], bool]:
    """The KPI's source tables that are empty, and whether its summary tables (if any) have rows."""
    tables = [LOADED_CHECK[t] for t in kpi.tables] + list(kpi.summary_tables)
    checks = [f"(SELECT COUNT(*) FROM (SELECT 1 FROM {t} LIMIT 1) x) AS c{i}" for i, t in enumerate(tables)]
    row = cur.execute(f"SELECT {', '.join(checks)}").fetchone()
    k = len(kpi.tables)
    missing = tuple(t for t, has in zip(kpi.tables, row[:k]) if not has)
    return missing, bool(kpi.summary is not None and all(row[k:]))


def _span(cur, store) -> tuple[date | None, date | None]:
    lo, hi = store.data_span()
    if lo is None:  # only customers loaded: their history is the span
        lo, hi = cur.execute(
            "SELECT MIN(joined_on), MAX(GREATEST(joined_on, COALESCE(left_on, joined_on))) FROM customers").fetchone()
    return _as_date(lo, "start"), _as_date(hi, "end")


def missing_message(kpi: Kpi, tables: tuple[str, ...]) -> str:
    files = [f"{t}.csv" for t in tables]
    names = files[0] if len(files) == 1 else ", ".join(files[:-1]) + " and " + files[-1]
    return f"Load {names} to see {kpi.label}."


def compute(store, kpi_id: str, *, start: Any = None, end: Any = None, channels: Iterable[str] = (),
            segments: Iterable[str] = (), by: Iterable[str] | str = (), grain: str = "month",
            settings: Mapping[str, Any] | None = None, engine: Any = None,
            use_summaries: bool = True) -> pd.DataFrame:
    """One KPI over a window, filtered and split by dimensions.

    Returns a DataFrame with one column per dimension in ``by`` (in that order; ``period`` holds
    ``datetime.date`` = first day of the calendar period), ``value`` (float64, NaN = null) and ``n``
    (int64), sorted by the dimensions. Without dimensions: exactly one row.

    ``engine`` (crm_metrics.metrics.engines): where the query runs; default the selected one
    (``use_engine`` / ``set_default_engine``), else this DuckDB store.

    ``use_summaries``: answer from the summary tables built at load time when the KPI declares a
    summary query that fits the request (same numbers, much faster); False runs the plain query.
    """
    eng = engine if engine is not None else _selected_engine()
    if eng is not None and not getattr(eng, "in_process", False):
        return eng.compute(store, kpi_id, start=start, end=end, channels=channels, segments=segments, by=by,
                           grain=grain, settings=settings)
    kpi, dims = resolve_request(kpi_id, by=by, grain=grain)
    cur = store.cursor()
    try:
        missing, summaries_ready = _missing_tables(cur, kpi)
        if missing:
            raise MissingDataError(missing_message(kpi, missing), missing, kpi.id)
        s, e = _as_date(start, "start"), _as_date(end, "end")
        if s is None or e is None:
            lo, hi = _span(cur, store)
            if s is None and e is None:
                s, e = lo or date.today(), hi or date.today()
            elif s is None:  # only the end given: from the data's first day (or the end itself)
                s = lo if lo is not None and lo <= e else e
            else:            # only the start given: to the data's last day (or the start itself)
                e = hi if hi is not None and hi >= s else s
        if s > e:
            raise KpiError(f"{_kpi_name(kpi)}: the window starts ({s}) after it ends ({e}).")
        q = Query(start=s, end=e, channels=_as_tuple(channels), segments=_as_tuple(segments), by=dims,
                  grain=grain, settings=_settings(store.settings(cur), settings))
        sql = (_summary_sql(kpi, q) if summaries_ready and use_summaries else None) or kpi.query(q)
        res = cur.execute(sql, q.params)
        names = [d[0] for d in res.description]
        data = res.fetchall()
    finally:
        cur.close()
    return _frame(kpi, dims, names, data)


def _selected_engine():
    from crm_metrics.metrics.engines.base import active_engine  # lazy: crm_metrics.metrics.engines imports this package
    return active_engine()


def _frame(kpi: Kpi, dims: tuple[str, ...], names: list[str], data: list[tuple]) -> pd.DataFrame:
    assert names == [*dims, "value", "n"], names
    k = len(dims)
    if dims:
        data = [r for r in data if r[k + 1]]  # a row per combination with a non-empty population
    nan = 0.0 if (not dims and kpi.additive) else float("nan")
    cols: dict[str, Any] = {d: [r[i] for r in data] for i, d in enumerate(dims)}
    cols["value"] = np.array([nan if r[k] is None else float(r[k]) for r in data], dtype="float64")
    cols["n"] = np.array([int(r[k + 1] or 0) for r in data], dtype="int64")
    return pd.DataFrame(cols)


__all__ = ["compute", "build_sql", "resolve_request", "missing_message", "KPIS"]


def units(store, kpi_id: str, *, start: Any, end: Any, channels: Iterable[str] = (), segments: Iterable[str] = (),
          settings: Mapping[str, Any] | None = None, hashed_customers: bool = False) -> dict[str, Any]:
    """The KPI's units (``Kpi.units``, explain.md "The records behind a number") over a window and
    scope, as numpy arrays: ``customer_id``, ``value`` and, for units that happen on a day (contacts,
    answers, transactions), ``day``. The KPI is the mean of ``value`` (its sum for additive KPIs).
    KpiError when the KPI has no units; MissingDataError when a table it needs is empty.
    ``hashed_customers``: customer_id as a 64-bit hash (cheap to fetch and group millions of units
    by; collisions are negligible at 2⁻⁶⁴) instead of the text."""
    kpi, _ = resolve_request(kpi_id)
    if kpi.units is None:
        raise KpiError(f"{_kpi_name(kpi)} has no unit-level records.")
    s, e = _as_date(start, "start"), _as_date(end, "end")
    if s is None or e is None or s > e:
        raise KpiError(f"{_kpi_name(kpi)}: units need a window with a start on or before its end.")
    cur = store.cursor()
    try:
        missing, _ = _missing_tables(cur, kpi)
        if missing:
            raise MissingDataError(missing_message(kpi, missing), missing, kpi.id)
        q = Query(start=s, end=e, channels=_as_tuple(channels), segments=_as_tuple(segments), grain="day",
                  settings=_settings(store.settings(cur), settings))
        sql = kpi.units(q)
        names = [d[0] for d in cur.execute(f"SELECT * FROM ({sql}) u LIMIT 0", q.params).description]
        when = next((c for c in ("occurred_at", "occurred_on", "day") if c in names), None)
        cust = "hash(customer_id)" if hashed_customers else "customer_id"
        day = f", CAST({when} AS DATE) AS day" if when else ""
        return dict(cur.execute(f"SELECT {cust} AS customer_id, value{day} FROM ({sql}) u", q.params).fetchnumpy())
    finally:
        cur.close()
