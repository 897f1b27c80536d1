"""The embedded default engine: the store's DuckDB file (crm_metrics.metrics.kpis.compute itself)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from crm_metrics.metrics.engines.base import Engine


class DuckDBEngine(Engine):
    """compute() on the DuckDB store it is given. Stateless: one instance serves every store."""

    name = "duckdb"
    in_process = True

    def compute(self, store: Any, kpi_id: str, *, start: Any = None, end: Any = None,
                channels: Iterable[str] = (), segments: Iterable[str] = (), by: Iterable[str] | str = (),
                grain: str = "month", settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
        from crm_metrics.metrics.kpis import compute
        if store is None:
            raise ValueError("the DuckDB engine needs a store (crm_metrics.data.store.open_store)")
        # engine=self: run here even inside a `use_engine(spark)` block
        return compute(store, kpi_id, start=start, end=end, channels=channels, segments=segments, by=by,
                       grain=grain, settings=settings, engine=self)

    def describe(self) -> str:
        return "duckdb (embedded store)"


DUCKDB = DuckDBEngine()

__all__ = ["DuckDBEngine", "DUCKDB"]
