"""The embedded default engine: the store's DuckDB file."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.metrics.engines.base import Engine
from crm_metrics.metrics.window import as_date


class DuckDBEngine(Engine):
    """Queries on the DuckDB store it is given. Stateless: one instance serves every store."""

    name = "duckdb"
    reads_summaries = True

    @staticmethod
    def _store(store: Store | None) -> Store:
        if store is None:
            raise ValueError("the DuckDB engine needs a store (crm_metrics.data.store.open_store)")
        return store

    def has_rows(self, store: Store, tables: Sequence[str]) -> tuple[bool, ...]:
        # one query for all tables: LIMIT 1 keeps each count to at most one row read
        checks = [f"(SELECT COUNT(*) FROM (SELECT 1 FROM {t} LIMIT 1) x) AS c{i}" for i, t in enumerate(tables)]
        cur = self._store(store).cursor()
        try:
            row = cur.execute(f"SELECT {', '.join(checks)}").fetchone()
        finally:
            cur.close()
        return tuple(bool(v) for v in row)

    def data_span(self, store: Store | None = None) -> tuple[dt.date | None, dt.date | None]:
        st = self._store(store)
        lo, hi = st.data_span()
        if lo is None:  # only customers loaded: their history is the span
            cur = st.cursor()
            try:
                lo, hi = cur.execute("SELECT MIN(joined_on), MAX(GREATEST(joined_on, COALESCE(left_on, joined_on))) "
                                     "FROM customers").fetchone()
            finally:
                cur.close()
        return as_date(lo, "start"), as_date(hi, "end")

    def settings(self, store: Store | None = None) -> dict[str, Any]:
        return self._store(store).settings()

    def execute(self, store: Store, sql: str, params: Mapping[str, Any]) -> tuple[list[str], list[tuple]]:
        cur = self._store(store).cursor()
        try:
            res = cur.execute(sql, dict(params))
            return [d[0] for d in res.description], res.fetchall()
        finally:
            cur.close()

    def describe(self) -> str:
        return "duckdb (embedded store)"


DUCKDB = DuckDBEngine()

__all__ = ["DuckDBEngine", "DUCKDB"]
