"""The change log of the strategy tables (goals, segments, channels, settings): who changed which
row, when, from what to what, and through which path (app, CSV load, undo).

It lives in the data layer because loads and undos write it as well as the editors of
crm_metrics.judgement.strategy; every write goes through :func:`record` in the writer's own
transaction, so a change and its log entry commit (or roll back) together.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable, Mapping
from typing import Any

import duckdb

from crm_metrics.data.schema import TABLES
from crm_metrics.data.values import is_blank

CHANGES_DDL = """CREATE TABLE IF NOT EXISTS strategy_changes (
    change_id BIGINT, changed_at TIMESTAMP, changed_by VARCHAR, table_name VARCHAR, key VARCHAR,
    action VARCHAR, before VARCHAR, after VARCHAR, source VARCHAR)"""
CHANGE_COLUMNS = ("change_id", "changed_at", "changed_by", "table_name", "key", "action", "before",
                  "after", "source")

Row = dict[str, Any]


def current_user() -> str:
    """The operating-system user running this process ("unknown" when it cannot be told)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def ensure_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the change log if it does not exist (called on first use)."""
    cur.execute(CHANGES_DDL)


def key_column(table: str) -> str:
    return "key" if table == "settings" else TABLES[table].key


def columns(table: str) -> tuple[str, ...]:
    return ("key", "value") if table == "settings" else TABLES[table].column_names


def json_form(table: str, row: Mapping[str, Any]) -> Row:
    """A row as JSON-ready values in column order: dates ISO text, numbers float, empties None."""
    out: Row = {}
    for c in columns(table):
        v = row.get(c)
        if is_blank(v):
            v = None
        elif isinstance(v, (dt.date, dt.datetime)):
            v = (v.date() if isinstance(v, dt.datetime) else v).isoformat()
        elif hasattr(v, "item") and not isinstance(v, str):
            v = v.item()
        if isinstance(v, int) and not isinstance(v, bool) and table != "settings":
            v = float(v)
        out[c] = v
    return out


def read_row(cur: duckdb.DuckDBPyConnection, table: str, key: str) -> Row | None:
    """One row of ``table`` in its JSON form (None when absent)."""
    cols = columns(table)
    row = cur.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {key_column(table)} = ? LIMIT 1",
                      [key]).fetchone()
    return json_form(table, dict(zip(cols, row))) if row else None


def read_all(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, Row]:
    """Every row of ``table`` in its JSON form, by key."""
    cols = columns(table)
    k = key_column(table)
    out = {}
    for row in cur.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall():
        r = json_form(table, dict(zip(cols, row)))
        out[r[k]] = r
    return out


def record(cur: duckdb.DuckDBPyConnection, table: str, key: str, before: Row | None, after: Row | None,
           user: str, source: str) -> int:
    """Log one row's change (insert when ``before`` is None, delete when ``after`` is None);
    returns the change id."""
    action = "insert" if before is None else ("delete" if after is None else "update")
    cid = int(cur.execute("SELECT coalesce(max(change_id), 0) + 1 FROM strategy_changes").fetchone()[0])
    cur.execute(
        "INSERT INTO strategy_changes VALUES (?, CAST(timezone('UTC', now()) AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)",
        [cid, user, table, key, action,
         None if before is None else json.dumps(before, ensure_ascii=False),
         None if after is None else json.dumps(after, ensure_ascii=False), source])
    return cid


def record_differences(cur: duckdb.DuckDBPyConnection, table: str, before: Mapping[str, Row],
                       after: Mapping[str, Row], user: str, source: str) -> None:
    """Log every row that differs between two :func:`read_all` snapshots, in key order."""
    for key in sorted(set(before) | set(after), key=str):
        b, a = before.get(key), after.get(key)
        if a != b:
            record(cur, table, key, b, a, user, source)


def table_auditor(cur: duckdb.DuckDBPyConnection, table: str, source: str) -> Callable[[str], None]:
    """Snapshot ``table`` now; the returned function, called after the writes in the same
    transaction, logs each inserted / updated / deleted row as done by its ``user`` argument."""
    ensure_tables(cur)
    before = read_all(cur, table)

    def done(user: str) -> None:
        record_differences(cur, table, before, read_all(cur, table), user, source)

    return done


__all__ = ["CHANGES_DDL", "CHANGE_COLUMNS", "current_user", "ensure_tables", "key_column", "columns",
           "json_form", "read_row", "read_all", "record", "record_differences", "table_auditor"]
