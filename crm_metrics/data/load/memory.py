"""The memory of a load's incremental refresh, sized to the customers it touched.

An incremental refresh (crm_metrics.data.facts) reads the touched customers' rows out of the big
tables. Those rows are spread over the whole table, so DuckDB decompresses blocks of nearly all of
it and keeps them cached up to its memory limit: a nightly append of 11,000 contacts into ten
million held 700 MB, most of it cache of a table it needed a few rows of. The work itself is
proportional to the touched customers, so the limit during the refresh is too; cached blocks are
evicted, never refused. Afterwards the load's own limit (or DuckDB's default) is restored.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import duckdb

REFRESH_BASE_MB = 256           # DuckDB's fixed needs and the small tables a refresh builds
REFRESH_KB_PER_CUSTOMER = 2     # ~10 contacts of ~200 bytes per touched customer, as temp tables


def refresh_limit_mb(touched_customers: int) -> int:
    """The memory limit, in MB, for a refresh touching this many customers."""
    return REFRESH_BASE_MB + math.ceil(max(touched_customers, 0) * REFRESH_KB_PER_CUSTOMER / 1024)


@contextlib.contextmanager
def refresh_memory(cur: duckdb.DuckDBPyConnection, touched: str | None, restore: str | None) -> Iterator[None]:
    """Within: DuckDB's memory limit sized to the customers listed in the table ``touched``.
    Afterwards: ``restore`` (the load's cap, as DuckDB reads it) or DuckDB's default. A full refresh
    (``touched`` None) keeps the load's limit."""
    if touched is None:
        yield
        return
    n = int(cur.execute(f"SELECT count(*) FROM {touched}").fetchone()[0])
    try:
        cur.execute(f"SET memory_limit = '{refresh_limit_mb(n)}MB'")
    except duckdb.Error:
        yield  # DuckDB could not lower it now: the load's limit stays, nothing else changes
        return
    try:
        yield
    finally:
        cur.execute(f"SET memory_limit = '{restore}'" if restore else "RESET memory_limit")
