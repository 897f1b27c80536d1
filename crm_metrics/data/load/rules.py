"""The careful path's checks: every column rule and the key's uniqueness on every staged row in one
SQL pass; then the caller's table rules (rules that span columns or know more than the contract,
such as the goals' KPI catalogue). Each problem is refused with its line in the file."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import duckdb

from crm_metrics.data.load.columns import ColumnPlan, raw_cell
from crm_metrics.data.load.reading import line_numbers, quoted_name
from crm_metrics.data.load.report import LoadReport, Problem, refuse_all
from crm_metrics.data.problems import MAX_KEPT, summaries_from_rows, summary_query
from crm_metrics.data.problems import summarise as summarise_columns
from crm_metrics.data.schema import Table
from crm_metrics.data.timeparse import no_such_day_sql

# A found problem on a staged row: (rowid, column, value, rule).
RowProblem = tuple[int, str, "str | None", str]
# Table rules: (cursor, staged table, table name, column -> SQL of its typed value over the staged
# text) -> the problems, in file order. The load never imports them: its caller passes them (the
# goals' rules need the KPI catalogue, a layer above the data; see crm_metrics.judgement.strategy).
TableRules = Callable[[duckdb.DuckDBPyConnection, str, str, Mapping[str, str]], list[RowProblem]]


def problems_at_rows(cur: duckdb.DuckDBPyConnection, stage: str, rows: Iterable[RowProblem], read_path: Path,
                     delimiter: str) -> list[Problem]:
    """Problems found on staged rows, with the line in the file where each row starts."""
    rows = list(rows)
    if not rows:
        return []
    # rowids of transaction-local rows start at an offset; the smallest is the first record.
    base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
    lines = line_numbers(read_path, delimiter, "utf-8", {int(r) - base for r, *_ in rows})
    return [Problem(lines.get(int(r) - base, int(r) - base + 2), col, val, rule) for r, col, val, rule in rows]


def validate(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
             report: LoadReport, read_path: Path, delimiter: str) -> None:
    """Every rule of the contract on every staged row; raises LoadRefused listing the problems."""
    column_problems = [p.problem for p in plans if p.problem]
    checks: list[str] = []
    for p in plans:
        if p.problem:
            continue
        raw = raw_cell(p.column.name)
        col_lit = "'" + p.column.name + "'"
        if p.column.required:
            checks.append(f"SELECT rowid AS r, {col_lit} AS col, NULL AS val, 'required value is empty' AS rule "
                          f"FROM {stage} WHERE {raw} IS NULL")
        if p.checked:
            rule = "'" + p.rule.replace("'", "''") + "'"
            if p.column.type in ("date", "timestamp"):
                # a well-formed date the calendar lacks (2025-02-30) is "no such day", not a format problem
                rule = f"coalesce({no_such_day_sql(raw)}, {rule})"
            checks.append(f"SELECT rowid AS r, {col_lit} AS col, {quoted_name(p.column.name)} AS val, {rule} AS rule "
                          f"FROM {stage} WHERE {raw} IS NOT NULL AND ({p.invalid})")
    key = tdef.key
    checks.append(
        f"SELECT r, '{key}' AS col, k AS val, 'duplicate key: the same ' || '{key}' || ' appears earlier in the file' "
        f"AS rule FROM (SELECT rowid AS r, {raw_cell(key)} AS k, row_number() OVER (PARTITION BY {raw_cell(key)} "
        f"ORDER BY rowid) AS rn FROM {stage}) WHERE k IS NOT NULL AND rn > 1")
    union = " UNION ALL ".join(checks)
    cur.execute(f"CREATE TEMP TABLE {stage}_problems AS {union}")
    try:
        count = int(cur.execute(f"SELECT count(*) FROM {stage}_problems").fetchone()[0])
        if not count and not column_problems:
            return
        rows = cur.execute(
            f"SELECT r, col, val, rule FROM {stage}_problems ORDER BY r, col LIMIT {MAX_KEPT}").fetchall()
        grouped = cur.execute(summary_query(f"{stage}_problems")).fetchall()
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {stage}_problems")
    base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
    wanted = {int(r) - base for r, *_ in rows} | {int(r) - base for g in grouped for r in g[3]}
    lines = line_numbers(read_path, delimiter, "utf-8", wanted)
    problems = column_problems + [Problem(lines.get(int(r) - base, int(r) - base + 2), col, val, rule)
                                  for r, col, val, rule in rows]
    summaries = summaries_from_rows(grouped, lambda r: lines.get(r - base, r - base + 2))
    summaries = summarise_columns(column_problems) + summaries
    raise refuse_all(report, problems, count + len(column_problems), summaries)


def check_table_rules(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
                      report: LoadReport, read_path: Path, delimiter: str, rules: TableRules | None) -> None:
    """The caller's rules beyond the contract (see :data:`TableRules`) on a strategy table (goals,
    segments, channels; only the careful path loads them), refused with line numbers like any other
    problem."""
    if rules is None or tdef.kind != "strategy":
        return
    found = rules(cur, stage, tdef.name, {p.column.name: p.expr for p in plans})
    if found:
        raise refuse_all(report, problems_at_rows(cur, stage, found[:MAX_KEPT], read_path, delimiter), len(found))
