"""After a load that succeeded: what should still stop the green tick.

- many rows whose customer is unknown (above the setting ``unknown_customer_warn_share``, default 5 %),
- a replace that removed the rows the table held,
- values that look like another unit (handle time in minutes where seconds are expected) or
  another currency (amounts a hundred times those already in the table).
The load is not refused for these: the data is valid, but it may not be what the analyst meant.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from crm_metrics.data.schema import Table

WarningKind = Literal["unknown_customers", "replaced_rows", "unit", "currency"]
DEFAULT_UNKNOWN_SHARE = 0.05
MIN_VALUES = 20            # fewer values say nothing about a unit
MINUTES_BELOW = 20.0       # a median handle time under 20 s is minutes, not seconds
MILLISECONDS_ABOVE = 36_000.0  # a median over 10 hours is milliseconds
AMOUNT_RATIO = 50.0        # a median amount 50 times larger or smaller than the table's


@dataclass(frozen=True)
class LoadWarning:
    kind: WarningKind
    message: str

    def __str__(self) -> str:
        return self.message


def unknown_customers(table: str, unmatched: int, rows: int, customers: int, limit: float) -> LoadWarning | None:
    if rows <= 0 or unmatched / rows <= limit:
        return None
    share = unmatched / rows
    why = ("the customers table is empty: load the customers file first" if customers == 0 else
           "check that the file's customer key is the one the customers file uses, or load the missing customers")
    return LoadWarning("unknown_customers",
                       f"{share:.1%} of the rows ({unmatched:,} of {rows:,}) have a customer_id that is not in "
                       f"customers (warning above {limit:.0%}): they count for no segment and no relationship "
                       f"measure; {why}.")


def replaced_rows(table: str, removed: int, loaded: int, load_id: int | None) -> LoadWarning | None:
    if removed <= 0:
        return None
    undo = f" (undo load {load_id} to get them back)" if load_id else ""
    return LoadWarning("replaced_rows",
                       f"replace removed the {removed:,} rows {table} held before and loaded {loaded:,}{undo}.")


def _median(cur: duckdb.DuckDBPyConnection, sql: str) -> tuple[float | None, int]:
    med, n = cur.execute(sql).fetchone()
    return (None if med is None else float(med)), int(n or 0)


def unit_warnings(cur: duckdb.DuckDBPyConnection, table: str, key: str, rows: str, key_expr: str) -> list[LoadWarning]:
    """Unit and currency look of the file's rows (``rows``: the file's rows, ``key_expr`` their key
    as SQL over alias ``s``) in the contract table ``table`` (keyed by ``key``)."""
    # Where the file's typed values are: the table itself when the load wrote straight into it
    # (empty or replaced); the fast path's typed rows (read directly: a nightly append must not scan
    # a 10-million-row table); the careful path's staged text, through the table by key.
    if rows == table:
        src, mine = f"{table} t", "true"
    elif rows.startswith("_stage_"):
        src, mine = f"{table} t", f"t.{key} IN (SELECT {key_expr} FROM {rows} s)"
    else:
        src, mine = f"{rows} t", "true"
    other = f"NOT (t.{key} IN (SELECT {key_expr} FROM {rows} s))"
    out: list[LoadWarning] = []
    if table == "interactions":
        for col in ("handle_seconds", "wait_seconds"):
            med, n = _median(cur, f"SELECT median({col}), count({col}) FROM {src} WHERE {mine}")
            if med is None or n < MIN_VALUES:
                continue
            if col == "handle_seconds" and med < MINUTES_BELOW:
                out.append(LoadWarning("unit", f"{col}: half the values are below {med:g} — that looks like "
                                               f"minutes, not seconds; if the file counts minutes, load it again "
                                               f"with a conversion (--convert {col}=minutes)."))
            elif med > MILLISECONDS_ABOVE:
                out.append(LoadWarning("unit", f"{col}: the median is {med:,.0f} seconds (over 10 hours) — that "
                                               f"looks like milliseconds; if so, load it again with a conversion "
                                               f"(--convert {col}=milliseconds)."))
    if table == "transactions":
        med, n = _median(cur, f"SELECT median(abs(amount)), count(amount) FROM {src} WHERE {mine}")
        # the table's other rows: a sample is enough for a median, and keeps a nightly load cheap
        rest, m = (None, 0) if rows == table else _median(
            cur, f"SELECT median(abs(amount)), count(amount) FROM (SELECT transaction_id, amount FROM transactions "
                 f"USING SAMPLE 100000 ROWS) t WHERE {other}")
        if med and rest and n >= MIN_VALUES and m >= MIN_VALUES:
            ratio = med / rest
            if ratio > AMOUNT_RATIO or ratio < 1 / AMOUNT_RATIO:
                out.append(LoadWarning("currency", f"amount: the file's median amount ({med:,.2f}) is "
                                                   f"{ratio:,.1f} times the median of the table's other rows "
                                                   f"({rest:,.2f}) — another currency, or cents instead of units?"))
    return out




def after_load(cur: duckdb.DuckDBPyConnection, tdef: Table, report: Any, load_id: int, rows: str, key_expr: str,
               settings: Mapping[str, Any]) -> list[LoadWarning]:
    """The warnings of a load that succeeded, inside its transaction (``rows``: the file's rows,
    ``key_expr`` their key as SQL over alias ``s``; ``report``: the load's LoadReport)."""
    out: list[LoadWarning] = []
    if tdef.has_customer and tdef.name != "customers":
        limit = float(settings.get("unknown_customer_warn_share", DEFAULT_UNKNOWN_SHARE))
        customers = int(cur.execute("SELECT count(*) FROM customers").fetchone()[0])
        w = unknown_customers(tdef.name, report.unmatched, report.rows_read, customers, limit)
        if w is not None:
            out.append(w)
    if report.mode == "replace" and (w := replaced_rows(tdef.name, report.removed, report.rows_read, load_id)):
        out.append(w)
    if tdef.name in ("interactions", "transactions") and report.rows_read:
        out += unit_warnings(cur, tdef.name, tdef.key, rows, key_expr)
    return out


__all__ = ["DEFAULT_UNKNOWN_SHARE", "LoadWarning", "WarningKind", "after_load", "replaced_rows", "unit_warnings",
           "unknown_customers"]
