"""The careful path's checks: every rule on every staged row in one SQL pass, refused with line
numbers; and the rules of the strategy tables that span columns or the KPI catalogue."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from crm_metrics.data.audit import table_auditor
from crm_metrics.data.load.columns import ColumnPlan, raw_cell
from crm_metrics.data.load.reading import line_numbers, quoted_name
from crm_metrics.data.load.report import MAX_PROBLEMS_SHOWN, LoadRefused, LoadReport, Problem
from crm_metrics.data.schema import Table


def strategy_rules(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
                   report: LoadReport, read_path: Path, delimiter: str) -> Callable[[str], None] | None:
    """Strategy tables (goals, segments, channels): the rules that span columns or the KPI
    catalogue (crm_metrics.judgement.strategy.staged_problems), refused with line numbers like any other
    problem. Returns the function that records the load's changes in the strategy audit log."""
    if tdef.kind != "strategy":
        return None
    from crm_metrics.judgement import strategy
    found = strategy.staged_problems(cur, stage, tdef.name, {p.column.name: p.expr for p in plans})
    if found:
        base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
        shown = found[:MAX_PROBLEMS_SHOWN]
        lines = line_numbers(read_path, delimiter, "utf-8", {int(r) - base for r, *_ in shown})
        report.problems = [Problem(lines.get(int(r) - base, int(r) - base + 2), col, val, rule)
                           for r, col, val, rule in shown]
        report.problem_count = len(found)
        raise LoadRefused(report)
    return table_auditor(cur, tdef.name, f"load {report.file_name}")


def validate(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
              report: LoadReport, read_path: Path, delimiter: str) -> None:
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
        if p.invalid != "false":
            rule = p.rule.replace("'", "''")
            checks.append(f"SELECT rowid AS r, {col_lit} AS col, {quoted_name(p.column.name)} AS val, '{rule}' AS rule "
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
        rows = cur.execute(
            f"SELECT r, col, val, rule FROM {stage}_problems ORDER BY r, col LIMIT {MAX_PROBLEMS_SHOWN}").fetchall()
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {stage}_problems")
    if not count and not column_problems:
        return
    # rowids of transaction-local rows start at an offset; the smallest is the first record.
    base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
    lines = line_numbers(read_path, delimiter, "utf-8", {int(r[0]) - base for r in rows})
    problems = list(column_problems)
    for r, col, val, rule in rows:
        idx = int(r) - base
        problems.append(Problem(lines.get(idx, idx + 2), col, val, rule))
    report.problems = problems[:MAX_PROBLEMS_SHOWN]
    report.problem_count = count + len(column_problems)
    raise LoadRefused(report)
