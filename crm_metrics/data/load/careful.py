"""The careful path: stage every cell as text, check every rule (each problem reported with its
line), then merge or replace; all in one ``store.transaction()``, so a refused file changes nothing."""
from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from crm_metrics.data import undo as safety
from crm_metrics.data.audit import current_user, table_auditor
from crm_metrics.data.load.columns import plan_column
from crm_metrics.data.load.reading import csv_error, read_csv_sql
from crm_metrics.data.load.report import LoadRefused, LoadReport, Problem, Progress, refuse, refuse_all
from crm_metrics.data.load.rules import TableRules, check_table_rules, validate
from crm_metrics.data.load.tail import drop_quietly, finish, next_load_id
from crm_metrics.data.load.write import write_staged
from crm_metrics.data.schema import Table
from crm_metrics.data.store import Store


def lost_rows(report: LoadReport, data_rows: int) -> LoadRefused:
    """DuckDB's reader returned another number of rows than the file has records: never load a
    file with rows silently missing (or invented)."""
    return refuse(report, f"the file has {data_rows:,} data row{'s' if data_rows != 1 else ''} but the CSV "
                          f"reader read {report.rows_read:,}; nothing was loaded rather than a partial file "
                          f"(check the end of the file and any very long line)")


def load_careful(store: Store, tdef: Table, read_path: Path, report: LoadReport, targets: dict[str, int],
                 headers: list[str], delimiter: str, loaded_by: str | None, say: Progress, data_rows: int,
                 table_rules: TableRules | None = None) -> LoadReport:
    stage = f"_stage_{uuid.uuid4().hex[:12]}"
    with store.transaction() as cur:
        try:
            say(0.10, f"{report.file_name}: reading rows")
            try:
                cur.execute(f"CREATE TEMP TABLE {stage} AS {read_csv_sql(headers, targets)}",
                            [str(read_path), delimiter])
            except duckdb.Error as e:
                raise refuse_all(report, [csv_error(e)]) from None
            try:
                report.rows_read = int(cur.execute(f"SELECT count(*) FROM {stage}").fetchone()[0])
                if report.rows_read != data_rows:
                    raise lost_rows(report, data_rows)
                say(0.35, f"{report.file_name}: validating {report.rows_read:,} rows")
                plans = [plan_column(cur, stage, tdef.column(c), delimiter, report.file_name)
                         for c in targets]
                validate(cur, stage, tdef, plans, report, read_path, delimiter)
                check_table_rules(cur, stage, tdef, plans, report, read_path, delimiter, table_rules)
                # strategy tables keep an audit log of every change (crm_metrics.data.audit)
                audit = table_auditor(cur, tdef.name, f"load {report.file_name}") if tdef.kind == "strategy" else None
                say(0.55, f"{report.file_name}: writing {tdef.name}")
                load_id = next_load_id(cur)
                touched = write_staged(cur, stage, tdef, plans, report,
                                       snapshot=lambda kind, typed, same: safety.take_snapshot(
                                           cur, tdef, load_id, kind, typed, same))
            except duckdb.Error as e:
                # Data no rule foresaw: a refusal with DuckDB's reason, never a traceback; rolled back.
                raise refuse_all(report, [Problem(None, None, None, "the file could not be loaded: "
                                                  + (str(e).strip().splitlines() or ["unknown error"])[0][:300])]
                                 ) from None
            if audit is not None:
                audit(loaded_by or current_user())
            finish(store, cur, tdef, report, load_id, loaded_by, say, 0.75, rows=stage,
                   customer_id="trim(s.customer_id)", touched=touched)
        finally:
            drop_quietly(cur, stage, f"{stage}_typed_touched")
    say(1.0, f"{report.file_name}: done")
    return report
