"""Matching a file's columns to the contract, and each column's plan: the SQL that types a staged text
cell, the condition under which it breaks its rule, and the rule in words."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from crm_metrics.data.load.reading import quoted_name
from crm_metrics.data.load.report import Problem
from crm_metrics.data.schema import Column, Table, normalise_name


# -- column matching ---------------------------------------------------------------------------
def match_columns(table: Table, headers: Sequence[str], mapping: dict[str, str] | None = None
                  ) -> tuple[dict[str, int], list[str], list[Problem]]:
    """Target column -> header position. Explicit mapping wins, then the contract's name, then aliases."""
    problems: list[Problem] = []
    norm = [normalise_name(h) for h in headers]
    targets: dict[str, int] = {}
    used: set[int] = set()
    for src, dst in (mapping or {}).items():
        dst_n = normalise_name(dst)
        if dst_n not in table.column_names:
            problems.append(Problem(None, dst, None,
                                    f"mapping {src}={dst}: {table.name} has no column {dst!r} "
                                    f"(columns: {', '.join(table.column_names)})"))
            continue
        src_n = normalise_name(src)
        if src_n not in norm:
            problems.append(Problem(None, src, None,
                                    f"mapping {src}={dst}: the file has no column {src!r} "
                                    f"(headers: {', '.join(headers)})"))
            continue
        i = norm.index(src_n)
        targets[dst_n] = i
        used.add(i)
    for col in table.columns:
        if col.name in targets:
            continue
        for i, h in enumerate(norm):
            if i not in used and h == col.name:
                targets[col.name] = i
                used.add(i)
                break
    for col in table.columns:
        if col.name in targets:
            continue
        for i, h in enumerate(norm):
            if i not in used and h in col.aliases:
                targets[col.name] = i
                used.add(i)
                break
    for col in table.columns:
        if col.required and col.name not in targets:
            problems.append(Problem(1, col.name, None,
                                    f"required column {col.name!r} is missing (headers: {', '.join(headers)}); "
                                    f"rename it or map it, e.g. --map \"YOUR NAME={col.name}\""))
    extra = [headers[i] for i in range(len(headers)) if i not in used]
    return targets, extra, problems


def raw_cell(col: str) -> str:
    return f"nullif(trim({quoted_name(col)}), '')"


_BOOL_TRUE = ("true", "yes", "y", "t", "1")
_BOOL_FALSE = ("false", "no", "n", "f", "0")

_DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%Y.%m.%d")
_TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S")


def number_expr(raw: str, decimal_comma: bool) -> str:
    if decimal_comma:
        # '1 234,50' / '1.234,50' -> '1234.50'
        cleaned = (f"replace(replace(replace(replace({raw}, ' ', ''), chr(160), ''), '.', ''), ',', '.')")
    else:
        cleaned = f"replace(replace({raw}, ',', ''), ' ', '')"
    return f"TRY_CAST({cleaned} AS DOUBLE)"


def _iso_ts_expr(raw: str) -> str:
    """ISO 8601 dates and timestamps; a UTC offset ('Z', '+02:00', '-0500' after the date part) is
    converted to UTC, naive values are kept. String tests instead of regular expressions: this runs
    on every row of a 10-million-row file."""
    tail = f"substr({raw}, 11)"
    offset = (f"(strpos({tail}, '+') > 0 OR strpos({tail}, '-') > 0 OR right({raw}, 1) IN ('Z', 'z'))")
    return (f"CASE WHEN {offset} THEN CAST(timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ)) AS TIMESTAMP) "
            f"ELSE TRY_CAST({raw} AS TIMESTAMP) END")


@dataclass(frozen=True)
class ColumnPlan:
    column: Column
    expr: str          # SQL producing the typed value from the staged text
    invalid: str       # SQL condition: the staged text is present but not valid
    rule: str          # what the rule says, for the message
    problem: Problem | None = None  # a column-level refusal (ambiguous dates)
    # SQL parsing the staged text, shared by ``expr`` and ``invalid`` (None: text, used as is); the
    # fast path computes it once per cell and substitutes it in both
    parsed: str | None = None
    formats: tuple[str, ...] = ()  # date / timestamp columns: the non-ISO formats tried, in order


def _date_format_candidates(cur: duckdb.DuckDBPyConnection, stage: str, col: str, with_time: bool
                            ) -> tuple[str | None, list[str], bool]:
    """Pick the date format for a column: ISO if every value is ISO; else the formats that parse
    every value that is not ISO. Returns (None, formats that parse all, iso_all). The other
    formats are only tried on the rows ISO cannot read (usually none)."""
    raw = raw_cell(col)
    iso = _iso_ts_expr(raw)
    total, iso_ok = cur.execute(f"SELECT count({raw}), count({iso}) FROM {stage}").fetchone()
    if total == 0 or iso_ok == total:
        return None, [], True
    fmts = [f + s for f in _DATE_FORMATS for s in (_TIME_SUFFIXES if with_time else ("",))]
    sel = ", ".join(f"count(try_strptime({raw}, '{f}'))" for f in fmts)
    row = cur.execute(f"SELECT {sel} FROM {stage} WHERE {raw} IS NOT NULL AND ({iso}) IS NULL").fetchone()
    rest = total - iso_ok
    full = [fmts[i] for i in range(len(fmts)) if row[i] == rest]
    return None, full, False


def plan_column(cur: duckdb.DuckDBPyConnection, stage: str, col: Column, delimiter: str,
                file_name: str) -> ColumnPlan:
    raw = raw_cell(col.name)
    if col.type == "text":
        if col.choices:
            choices = ", ".join(f"'{c}'" for c in col.choices)
            return ColumnPlan(col, f"lower({raw})", f"lower({raw}) NOT IN ({choices})",
                              f"must be one of {', '.join(col.choices)}")
        return ColumnPlan(col, raw, "false", "")
    if col.type in ("number", "integer"):
        # ';' files are European spreadsheet exports (decimal comma); in ',' files a comma can only
        # be a quoted thousands separator. Only tab / pipe files need a look at the values.
        decimal_comma = delimiter == ";"
        if delimiter not in (";", ","):
            commas, dots = cur.execute(
                f"SELECT count(*) FILTER (WHERE contains({raw}, ',')), "
                f"count(*) FILTER (WHERE contains({raw}, '.')) FROM {stage}").fetchone()
            decimal_comma = commas > 0 and dots == 0
        num = number_expr(raw, decimal_comma)
        bounds = []
        rule = "must be a number" if col.type == "number" else "must be a whole number"
        if col.minimum is not None:
            bounds.append(f"{num} < {col.minimum}")
        if col.maximum is not None:
            bounds.append(f"{num} > {col.maximum}")
        if col.minimum is not None and col.maximum is not None:
            rule += f" from {col.minimum:g} to {col.maximum:g}"
        elif col.minimum is not None:
            rule += f" >= {col.minimum:g}"
        invalid = f"{num} IS NULL OR isnan({num}) OR isinf({num})"
        if col.type == "integer":
            # beyond 2^53 a double is no longer an exact whole number (and BIGINT would overflow)
            invalid += f" OR {num} <> round({num}) OR abs({num}) > 9007199254740992"
        if bounds:
            invalid += " OR " + " OR ".join(bounds)
        expr = num if col.type == "number" else f"CAST(round({num}) AS BIGINT)"
        return ColumnPlan(col, expr, invalid, rule, parsed=num)
    if col.type == "boolean":
        t = ", ".join(f"'{v}'" for v in _BOOL_TRUE)
        f = ", ".join(f"'{v}'" for v in _BOOL_FALSE)
        expr = f"CASE WHEN lower({raw}) IN ({t}) THEN true WHEN lower({raw}) IN ({f}) THEN false END"
        return ColumnPlan(col, expr, f"lower({raw}) NOT IN ({t}, {f})",
                          "must be a boolean (true/false, yes/no, y/n, t/f, 1/0)", parsed=expr)
    # dates and timestamps
    with_time = col.type == "timestamp"
    _, fmts, iso_all = _date_format_candidates(cur, stage, col.name, with_time)
    iso = _iso_ts_expr(raw)
    kind = "timestamp" if with_time else "date"
    if iso_all or not fmts:
        expr = iso
        rule = f"must be a {kind} (ISO 8601, e.g. 2026-03-31{' 14:05:00' if with_time else ''})"
        if not iso_all and not fmts:
            rule = (f"is not a {kind} this column's format can read (ISO 8601 such as 2026-03-31, "
                    f"or one consistent format such as 31.03.2026)")
    else:
        # Several formats parse everything: fine if they agree on every value (e.g. only one
        # date-part order is possible), otherwise the column is ambiguous.
        day_orders = {f.split(" ")[0] for f in fmts}
        if len(day_orders) > 1:
            first, second = sorted(day_orders)[:2]
            disagree = cur.execute(
                f"SELECT count(*) FROM {stage} WHERE try_strptime({raw}, '{first}') "
                f"IS DISTINCT FROM try_strptime({raw}, '{second}') "
                f"AND try_strptime({raw}, '{first}') IS NOT NULL").fetchone()[0]
            if disagree:
                return ColumnPlan(col, "NULL", "false", "", Problem(
                    None, col.name, None,
                    f"dates are ambiguous ({first} or {second}?, e.g. is 03/04 March or April?); "
                    f"write them as ISO dates (2026-03-04) or as dd.mm.yyyy"))
        parsed = " , ".join(f"try_strptime({raw}, '{f}')" for f in fmts)
        expr = f"coalesce({iso}, {parsed})"
        rule = f"must be a {kind} in the column's format ({fmts[0].split(' ')[0].replace('%', '')})"
    parsed = expr
    if not with_time:
        expr = f"CAST({parsed} AS DATE)"
    return ColumnPlan(col, expr, f"({expr}) IS NULL", rule, parsed=parsed,
                      formats=tuple(fmts) if not iso_all else ())
