"""The compute API: resolve a request, build one SQL query from the KPI's declaration, run it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from crm_metrics.data.schema import SETTINGS_DEFAULTS
from crm_metrics.data.store import Store
from crm_metrics.metrics.engines.base import Engine, active_engine
from crm_metrics.metrics.engines.duckdb_engine import DUCKDB
from crm_metrics.metrics.kpis.model import DIMENSIONS, GRAINS, LOADED_CHECK, Kpi, KpiError, MissingDataError, Query
from crm_metrics.metrics.kpis.registry import KPIS, get_kpi  # noqa: F401  (re-exported)
from crm_metrics.metrics.window import WindowError, as_date, resolve_window


def kpi_date(value: Any, name: str) -> date | None:
    try:
        return as_date(value, name)
    except WindowError as e:
        raise KpiError(str(e)) from e


def as_tuple(values: Iterable[str] | str | None) -> tuple[str, ...]:
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
    dims = as_tuple(by)
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


def merged_settings(store_settings: Mapping[str, Any] | None, override: Mapping[str, Any] | None) -> dict[str, Any]:
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
    s, e = kpi_date(start, "start"), kpi_date(end, "end")
    if s is None or e is None:
        raise KpiError(f"{_kpi_name(kpi)}: build_sql needs both start and end.")
    if s > e:
        raise KpiError(f"{_kpi_name(kpi)}: the window starts ({s}) after it ends ({e}).")
    q = Query(start=s, end=e, channels=as_tuple(channels), segments=as_tuple(segments), by=dims,
              grain=grain, settings=merged_settings(None, settings))
    sql = _summary_sql(kpi, q) if summaries else None
    return sql or kpi.query(q), dict(q.params)


def _summary_sql(kpi: Kpi, q: Query) -> str | None:
    if kpi.summary is None:
        return None
    sql = kpi.summary(q)
    if sql is None:
        q.params.clear()  # the plain query binds its own
    return sql


def missing_message(kpi: Kpi, tables: tuple[str, ...]) -> str:
    files = [f"{t}.csv" for t in tables]
    names = files[0] if len(files) == 1 else ", ".join(files[:-1]) + " and " + files[-1]
    return f"Load {names} to see {kpi.label}."


def raise_if_missing(kpi: Kpi, has: Iterable[bool]) -> None:
    """MissingDataError naming the files to load when a table the KPI reads is empty (``has``: per
    table of ``kpi.tables``, whether it holds rows)."""
    missing = tuple(t for t, ok in zip(kpi.tables, has) if not ok)
    if missing:
        raise MissingDataError(missing_message(kpi, missing), missing, kpi.id)


def require_loaded(store: Store, kpi: Kpi) -> None:
    """The same check on this DuckDB store (unit-level records are read there)."""
    raise_if_missing(kpi, DUCKDB.has_rows(store, [LOADED_CHECK[t] for t in kpi.tables]))


def kpi_window(kpi: Kpi, start: Any, end: Any, span: Any) -> tuple[date, date]:
    """The request's window (crm_metrics.metrics.window.resolve_window), refused as a KpiError naming
    the KPI."""
    try:
        return resolve_window(start, end, span)
    except WindowError as err:
        raise KpiError(f"{_kpi_name(kpi)}: {err}") from err


def compute(store: Store | None, kpi_id: str, *, start: Any = None, end: Any = None, channels: Iterable[str] = (),
            segments: Iterable[str] = (), by: Iterable[str] | str = (), grain: str = "month",
            settings: Mapping[str, Any] | None = None, engine: Any = None,
            use_summaries: bool = True) -> pd.DataFrame:
    """One KPI over a window, filtered and split by dimensions.

    Returns a DataFrame with one column per dimension in ``by`` (in that order; ``period`` holds
    ``datetime.date`` = first day of the calendar period), ``value`` (float64, NaN = null) and ``n``
    (int64), sorted by the dimensions. Without dimensions: exactly one row.

    ``engine`` (crm_metrics.metrics.engines): where the query runs; default the selected one
    (``use_engine`` / ``set_default_engine``), else this DuckDB store. The request is resolved
    here the same for every engine (the window by crm_metrics.metrics.window.resolve_window, the
    SQL from the KPI's declaration); the engine runs it and supplies the data span and settings.

    ``use_summaries``: answer from the summary tables built at load time when the KPI declares a
    summary query that fits the request (same numbers, much faster); False runs the plain query.
    """
    eng: Engine = engine if engine is not None else (active_engine() or DUCKDB)
    kpi, dims = resolve_request(kpi_id, by=by, grain=grain)
    checks = [LOADED_CHECK[t] for t in kpi.tables]
    summaries = list(kpi.summary_tables) if eng.reads_summaries and kpi.summary is not None else []
    has = eng.has_rows(store, checks + summaries)
    raise_if_missing(kpi, has)
    summaries_ready = bool(summaries) and all(has[len(checks):])
    s, e = kpi_window(kpi, kpi_date(start, "start"), kpi_date(end, "end"), lambda: eng.data_span(store))
    q = Query(start=s, end=e, channels=as_tuple(channels), segments=as_tuple(segments), by=dims,
              grain=grain, settings=merged_settings(eng.settings(store), settings))
    sql = (_summary_sql(kpi, q) if summaries_ready and use_summaries else None) or kpi.query(q)
    names, data = eng.execute(store, sql, q.params)
    return _frame(kpi, dims, names, data)


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


__all__ = ["compute", "build_sql", "resolve_request", "missing_message", "raise_if_missing", "require_loaded",
           "kpi_window", "KPIS"]


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
    s, e = kpi_date(start, "start"), kpi_date(end, "end")
    if s is None or e is None or s > e:
        raise KpiError(f"{_kpi_name(kpi)}: units need a window with a start on or before its end.")
    cur = store.cursor()
    try:
        require_loaded(store, kpi)
        q = Query(start=s, end=e, channels=as_tuple(channels), segments=as_tuple(segments), grain="day",
                  settings=merged_settings(store.settings(cur), settings))
        sql = kpi.units(q)
        names = [d[0] for d in cur.execute(f"SELECT * FROM ({sql}) u LIMIT 0", q.params).description]
        when = next((c for c in ("occurred_at", "occurred_on", "day") if c in names), None)
        cust = "hash(customer_id)" if hashed_customers else "customer_id"
        day = f", CAST({when} AS DATE) AS day" if when else ""
        return dict(cur.execute(f"SELECT {cust} AS customer_id, value{day} FROM ({sql}) u", q.params).fetchnumpy())
    finally:
        cur.close()
