"""The careful path: stage every cell as text, check every rule (reporting each problem with its line),
then merge or replace."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb

from crm_metrics.data import undo
from crm_metrics.data.audit import current_user
from crm_metrics.data.load.columns import ColumnPlan, plan_column
from crm_metrics.data.load.reading import csv_error, read_csv_sql
from crm_metrics.data.load.report import LoadRefused, LoadReport, Problem, Progress
from crm_metrics.data.load.rules import strategy_rules, validate
from crm_metrics.data.load.tail import drop_quietly, finish, next_load_id
from crm_metrics.data.schema import Table
from crm_metrics.data.store import Store


def load_careful(store: Store, tdef: Table, read_path: Path, orig_path: Path, report: LoadReport,
                 targets: dict[str, int], headers: list[str], delimiter: str,
                 loaded_by: str | None, say: Progress) -> LoadReport:
    stage = f"_stage_{uuid.uuid4().hex[:12]}"
    with store.transaction() as cur:
        try:
            say(0.10, f"{report.file_name}: reading rows")
            try:
                cur.execute(f"CREATE TEMP TABLE {stage} AS {read_csv_sql(headers, targets)}",
                            [str(read_path), delimiter])
            except duckdb.Error as e:
                report.problems = [csv_error(e)]
                report.problem_count = 1
                raise LoadRefused(report) from None
            try:
                report.rows_read = int(cur.execute(f"SELECT count(*) FROM {stage}").fetchone()[0])
                say(0.35, f"{report.file_name}: validating {report.rows_read:,} rows")
                plans = [plan_column(cur, stage, tdef.column(c), delimiter, report.file_name)
                         for c in targets]
                validate(cur, stage, tdef, plans, report, read_path, delimiter)
                audit = strategy_rules(cur, stage, tdef, plans, report, read_path, delimiter)
                say(0.55, f"{report.file_name}: writing {tdef.name}")
                load_id = next_load_id(cur)
                _write(cur, stage, tdef, plans, report,
                       snapshot=lambda kind, typed, same: undo.take_snapshot(
                           cur, tdef, load_id, kind, typed, same))
            except duckdb.Error as e:
                # Data no rule foresaw: a refusal with DuckDB's reason, never a traceback; rolled back.
                report.problems = [Problem(None, None, None, "the file could not be loaded: "
                                           + (str(e).strip().splitlines() or ["unknown error"])[0][:300])]
                report.problem_count = 1
                raise LoadRefused(report) from None
            if audit is not None:
                audit(loaded_by or current_user())
            finish(store, cur, tdef, report, load_id, loaded_by, say, 0.75, rows=stage,
                    customer_id="trim(s.customer_id)")
        finally:
            drop_quietly(cur, stage)  # a temp table: dropped in the transaction, whatever its outcome
    say(1.0, f"{report.file_name}: done")
    return report


def _typed_select(tdef: Table, plans: list[ColumnPlan]) -> str:
    """The contract's columns, typed, from the staged text (the careful path; the fast path's
    typed columns come from crm_metrics.data.load.fast)."""
    exprs = {p.column.name: p.expr for p in plans}
    return ", ".join(f"{exprs.get(c.name, 'NULL')}::{c.sql_type} AS {c.name}" for c in tdef.columns)


def _write(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
           report: LoadReport, snapshot: Callable[[str, str, str | None], None] | None = None) -> None:
    """Merge or replace; ``snapshot(kind, typed_table, same_sql)`` is called just before the table
    changes so that the load can be undone (crm_metrics.data.undo)."""
    typed = f"{stage}_typed"
    cur.execute(f"CREATE TEMP TABLE {typed} AS SELECT {_typed_select(tdef, plans)} FROM {stage}")
    try:
        apply_rows(cur, typed, tdef, report, snapshot)
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {typed}")


def apply_rows(cur: duckdb.DuckDBPyConnection, typed: str, tdef: Table, report: LoadReport,
           snapshot: Callable[[str, str, str | None], None] | None = None) -> None:
    """Replace the table with, or merge into it, the typed rows of ``typed``."""
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
        return
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in tdef.column_names)
    row = cur.execute(f"""
        SELECT count(*) FILTER (WHERE t.{key} IS NULL),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND NOT ({same})),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND ({same}))
        FROM {typed} s LEFT JOIN {tdef.name} t ON t.{key} = s.{key}""").fetchone()
    report.inserted, report.updated, report.unchanged = int(row[0]), int(row[1]), int(row[2])
    if report.inserted or report.updated:
        if snapshot is not None:
            snapshot("merge", typed, same)
        cur.execute(f"""DELETE FROM {tdef.name} t WHERE EXISTS (
            SELECT 1 FROM {typed} s WHERE s.{key} = t.{key} AND NOT ({same}))""")
        cur.execute(f"""INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed} s
            WHERE NOT EXISTS (SELECT 1 FROM {tdef.name} t WHERE t.{key} = s.{key})""")
