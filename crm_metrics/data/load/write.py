"""Writing a load's typed rows: replace the table, or merge into it (new keys inserted, changed rows
replaced, equal rows left alone), telling the undo snapshot just before the table changes."""
from __future__ import annotations

from collections.abc import Callable

import duckdb

from crm_metrics.data.load.columns import ColumnPlan
from crm_metrics.data.load.report import LoadReport
from crm_metrics.data.schema import Table

# snapshot(kind, typed_table, same_sql): called just before the table changes (crm_metrics.data.undo)
Snapshot = Callable[[str, str, "str | None"], None]


def typed_select(tdef: Table, plans: list[ColumnPlan]) -> str:
    """The contract's columns, typed, from the staged text (the careful path; the fast path's
    typed columns come from its guarded select)."""
    exprs = {p.column.name: p.expr for p in plans}
    return ", ".join(f"{exprs.get(c.name, 'NULL')}::{c.sql_type} AS {c.name}" for c in tdef.columns)


def write_staged(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
                 report: LoadReport, snapshot: Snapshot | None = None) -> str | None:
    """Merge or replace from the staged text; ``snapshot(kind, typed_table, same_sql)`` is called just
    before the table changes so that the load can be undone (crm_metrics.data.undo)."""
    typed = f"{stage}_typed"
    cur.execute(f"CREATE TEMP TABLE {typed} AS SELECT {typed_select(tdef, plans)} FROM {stage}")
    try:
        return apply_rows(cur, typed, tdef, report, snapshot)
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {typed}")


def apply_rows(cur: duckdb.DuckDBPyConnection, typed: str, tdef: Table, report: LoadReport,
               snapshot: Snapshot | None = None) -> str | None:
    """Replace the table with, or merge into it, the typed rows of ``typed``. A merge into a table
    with customers returns the name of a temporary table listing the customers whose rows it
    inserted or changed (old and new ids), so their facts alone are refreshed; otherwise None."""
    cols = ", ".join(tdef.column_names)
    key = tdef.key
    existing = int(cur.execute(f"SELECT count(*) FROM {tdef.name}").fetchone()[0])
    if report.mode == "replace" or existing == 0:
        report.removed = existing if report.mode == "replace" else 0
        if snapshot is not None:
            snapshot("replace", typed, None)
        cur.execute(f"DELETE FROM {tdef.name}")
        cur.execute(f"INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed}")
        report.inserted = report.rows_read
        return None
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in tdef.column_names)
    row = cur.execute(f"""
        SELECT count(*) FILTER (WHERE t.{key} IS NULL),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND NOT ({same})),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND ({same}))
        FROM {typed} s LEFT JOIN {tdef.name} t ON t.{key} = s.{key}""").fetchone()
    report.inserted, report.updated, report.unchanged = int(row[0]), int(row[1]), int(row[2])
    touched = None
    # Every staged row is a new key (the nightly append): no row of the table changes, so nothing in
    # it needs reading -- the cost is the file's, not the store's.
    only_new = report.updated == 0 and report.unchanged == 0
    if report.inserted or report.updated:
        if tdef.has_customer:
            touched = f"{typed}_touched"
            cur.execute(f"CREATE TEMP TABLE {touched} AS SELECT DISTINCT customer_id FROM {typed}" if only_new else
                        f"""CREATE TEMP TABLE {touched} AS SELECT DISTINCT customer_id FROM (
                SELECT s.customer_id FROM {typed} s LEFT JOIN {tdef.name} t ON t.{key} = s.{key}
                WHERE t.{key} IS NULL OR NOT ({same})
                UNION ALL
                SELECT t.customer_id FROM {typed} s JOIN {tdef.name} t ON t.{key} = s.{key}
                WHERE NOT ({same})) u""")
        if snapshot is not None:
            snapshot("append" if only_new else "merge", typed, same)
        if report.updated:
            cur.execute(f"""DELETE FROM {tdef.name} t WHERE EXISTS (
                SELECT 1 FROM {typed} s WHERE s.{key} = t.{key} AND NOT ({same}))""")
        if only_new:
            cur.execute(f"INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed}")
        else:
            cur.execute(f"""INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed} s
                WHERE NOT EXISTS (SELECT 1 FROM {tdef.name} t WHERE t.{key} = s.{key})""")
    return touched


