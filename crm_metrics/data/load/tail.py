"""The load's tail, shared by both paths, inside the load's transaction: derived facts, the undo
snapshot's bookkeeping, unmatched customers, the load history; and the load's temporary tables."""
from __future__ import annotations

import duckdb

from crm_metrics.data import undo as safety
from crm_metrics.data.audit import current_user
from crm_metrics.data.load.memory import refresh_memory
from crm_metrics.data.load.report import LoadReport, Progress
from crm_metrics.data.load_warnings import after_load
from crm_metrics.data.schema import Table
from crm_metrics.data.store import Store


def finish(store: Store, cur: duckdb.DuckDBPyConnection, tdef: Table, report: LoadReport, load_id: int,
           loaded_by: str | None, say: Progress, at: float, *, rows: str, customer_id: str,
           touched: str | None = None, memory_cap: str | None = None) -> None:
    """After the write, in the load's transaction: facts (when rows changed), snapshots, the
    unmatched-customer count over the file's ``rows`` (a table; ``customer_id`` its key as SQL over
    alias ``s``), the load history. The caller's ``store.transaction()`` commits them. ``touched``
    (a merge's changed customers) makes the facts refresh for those customers only
    (crm_metrics.data.facts), under a memory limit sized to them; ``memory_cap`` is the load's own
    limit, restored afterwards (None: DuckDB's default)."""
    changed = bool(report.inserted or report.updated or report.removed)
    if changed:
        say(at, f"{report.file_name}: computing derived facts")
        with refresh_memory(cur, touched, memory_cap):
            store.refresh_facts(cur, Store.facts_for([tdef.name]), touched)
        store.bump_version(cur)
    safety.after_load(cur, tdef.name, load_id, changed=changed)
    if tdef.has_customer and tdef.name != "customers":
        report.unmatched = int(cur.execute(
            f"SELECT count(*) FROM {rows} s WHERE NOT EXISTS (SELECT 1 FROM customers c "
            f"WHERE c.customer_id = {customer_id})").fetchone()[0])
    # what should still stop the plain success: unknown customers, a replace, units, currency
    report.warnings = after_load(cur, tdef, report, load_id, rows, customer_id.replace("customer_id", tdef.key),
                                 store.settings(cur))
    report.load_id = record_load(cur, report, loaded_by, load_id)


def drop_quietly(cur: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Drop the load's temporary tables, whatever state the transaction was left in."""
    for t in tables:
        try:
            cur.execute(f"DROP TABLE IF EXISTS {t}")
        except duckdb.Error:
            pass


def next_load_id(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])


def record_load(cur: duckdb.DuckDBPyConnection, report: LoadReport, loaded_by: str | None,
                load_id: int | None = None) -> int:
    load_id = load_id or next_load_id(cur)
    who = loaded_by or current_user()
    cur.execute(
        "INSERT INTO load_history (load_id, table_name, file_name, sha256, mode, rows_read, inserted, "
        "updated, unchanged, removed, unmatched, encoding, extra_columns, loaded_at, loaded_by, preset) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(timezone('UTC', now()) AS TIMESTAMP), ?, ?)",
        [load_id, report.table, report.file_name, report.sha256, report.mode, report.rows_read,
         report.inserted, report.updated, report.unchanged, report.removed, report.unmatched,
         report.encoding, ", ".join(report.extra_columns), who, report.preset])
    return load_id
