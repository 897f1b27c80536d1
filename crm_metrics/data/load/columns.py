"""Matching a file's columns to the contract, and each column's plan: how its (trimmed) text is
parsed, the typed value made from it, the condition under which a present text breaks the column's
rule, and the rule in words. Both paths and the strategy rules build their SQL from these plans."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from crm_metrics.data.load.reading import quoted_name
from crm_metrics.data.load.report import Problem, clip, header_names
from crm_metrics.data.schema import Column, Table, normalise_name
from crm_metrics.data.timeparse import iso_timestamp_sql


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
                                    f"mapping {clip(src)}={clip(dst)}: {table.name} has no column {clip(dst)!r} "
                                    f"(columns: {', '.join(table.column_names)})"))
            continue
        src_n = normalise_name(src)
        if src_n not in norm:
            problems.append(Problem(None, src, None,
                                    f"mapping {clip(src)}={clip(dst)}: the file has no column {clip(src)!r} "
                                    f"(headers: {header_names(headers)})"))
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
                                    f"required column {col.name!r} is missing (headers: {header_names(headers)}); "
                                    f"rename it or map it, e.g. --map \"YOUR NAME={col.name}\""))
    extra = [headers[i] for i in range(len(headers)) if i not in used]
    return targets, extra, problems


# -- SQL per column type -------------------------------------------------------------------------
def raw_cell(col: str) -> str:
    """A staged cell's text, trimmed; NULL when empty."""
    return f"nullif(trim({quoted_name(col)}), '')"


BOOL_TRUE = ("true", "yes", "y", "t", "1")
BOOL_FALSE = ("false", "no", "n", "f", "0")

DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%Y.%m.%d")
TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S")


def number_expr(raw: str, decimal_comma: bool) -> str:
    if decimal_comma:
        # '1 234,50' / '1.234,50' -> '1234.50'
        cleaned = (f"replace(replace(replace(replace({raw}, ' ', ''), chr(160), ''), '.', ''), ',', '.')")
    else:
        cleaned = f"replace(replace({raw}, ',', ''), ' ', '')"
    return f"TRY_CAST({cleaned} AS DOUBLE)"


def iso_ts_expr(raw: str) -> str:
    """ISO 8601 dates and timestamps; a UTC offset in any common form (+0100, +01:00, Z, UTC, with
    or without a space) is converted to UTC, naive values are kept (crm_metrics.data.timeparse)."""
    return iso_timestamp_sql(raw)


# SQL builders of a plan. Each takes SQL expressions: ``text`` (the trimmed cell, NULL when empty) and
# ``parsed`` (the plan's parse of that text); a caller may pass the expressions themselves or the
# names of columns already holding them (the fast path computes each once per row).
Parse = Callable[[str], str]
FromParsed = Callable[[str, str], str]


def _text_value(text: str, parsed: str) -> str:
    return text


def _parsed_value(text: str, parsed: str) -> str:
    return parsed


@dataclass(frozen=True)
class ColumnPlan:
    """How one column's staged text becomes its typed value, and when a present text breaks the rule."""
    column: Column
    rule: str                          # what the rule says, for the message
    parse: Parse | None = None         # text -> parsed value (None: the value is made from the text alone)
    value: FromParsed = _text_value    # (text, parsed) -> the typed value (before the contract's cast)
    breaks: FromParsed | None = None   # (text, parsed) -> true when a present text breaks the rule
    formats: tuple[str, ...] = ()      # date / timestamp columns: the non-ISO formats tried, in order
    problem: Problem | None = None     # a column-level refusal (ambiguous dates)

    def parsed_sql(self, text: str) -> str:
        return self.parse(text) if self.parse is not None else text

    def value_sql(self, text: str, parsed: str | None = None) -> str:
        return "NULL" if self.problem else self.value(text, self.parsed_sql(text) if parsed is None else parsed)

    def invalid_sql(self, text: str, parsed: str | None = None) -> str:
        if self.breaks is None or self.problem:
            return "false"
        return self.breaks(text, self.parsed_sql(text) if parsed is None else parsed)

    @property
    def checked(self) -> bool:
        """The plan has a rule beyond 'required' to check on present values."""
        return self.breaks is not None and self.problem is None

    @property
    def expr(self) -> str:
        """SQL producing the typed value from the staged cell."""
        return self.value_sql(raw_cell(self.column.name))

    @property
    def invalid(self) -> str:
        """SQL condition: the staged cell is present but not valid."""
        return self.invalid_sql(raw_cell(self.column.name))


def date_format_candidates(cur: duckdb.DuckDBPyConnection, stage: str, col: str, with_time: bool
                           ) -> tuple[list[str], bool]:
    """Pick the date format for a column: ISO if every value is ISO; else the formats that parse
    every value that is not ISO. Returns (formats that parse all, iso_all). The other formats are
    only tried on the rows ISO cannot read (usually none)."""
    raw = raw_cell(col)
    iso = iso_ts_expr(raw)
    total, iso_ok = cur.execute(f"SELECT count({raw}), count({iso}) FROM {stage}").fetchone()
    if total == 0 or iso_ok == total:
        return [], True
    fmts = [f + s for f in DATE_FORMATS for s in (TIME_SUFFIXES if with_time else ("",))]
    sel = ", ".join(f"count(try_strptime({raw}, '{f}'))" for f in fmts)
    row = cur.execute(f"SELECT {sel} FROM {stage} WHERE {raw} IS NOT NULL AND ({iso}) IS NULL").fetchone()
    rest = total - iso_ok
    full = [fmts[i] for i in range(len(fmts)) if row[i] == rest]
    return full, False


def plan_column(cur: duckdb.DuckDBPyConnection, stage: str, col: Column, delimiter: str,
                file_name: str) -> ColumnPlan:
    """The plan of one column of the staged rows in ``stage`` (a file's sample, or all of it)."""
    raw = raw_cell(col.name)
    if col.type == "text":
        return _text_plan(col)
    if col.type in ("number", "integer"):
        # ';' files are European spreadsheet exports (decimal comma); in ',' files a comma can only
        # be a quoted thousands separator. Only tab / pipe files need a look at the values.
        decimal_comma = delimiter == ";"
        if delimiter not in (";", ","):
            commas, dots = cur.execute(
                f"SELECT count(*) FILTER (WHERE contains({raw}, ',')), "
                f"count(*) FILTER (WHERE contains({raw}, '.')) FROM {stage}").fetchone()
            decimal_comma = commas > 0 and dots == 0
        return _number_plan(col, decimal_comma)
    if col.type == "boolean":
        return _boolean_plan(col)
    return _date_plan(cur, stage, col)


def _text_plan(col: Column) -> ColumnPlan:
    if not col.choices:
        return ColumnPlan(col, "")
    choices = ", ".join(f"'{c}'" for c in col.choices)
    return ColumnPlan(col, f"must be one of {', '.join(col.choices)}",
                      value=lambda text, parsed: f"lower({text})",
                      breaks=lambda text, parsed: f"lower({text}) NOT IN ({choices})")


def _number_plan(col: Column, decimal_comma: bool) -> ColumnPlan:
    rule = "must be a number" if col.type == "number" else "must be a whole number"
    if col.minimum is not None and col.maximum is not None:
        rule += f" from {col.minimum:g} to {col.maximum:g}"
    elif col.minimum is not None:
        rule += f" >= {col.minimum:g}"

    def breaks(text: str, num: str) -> str:
        invalid = f"{num} IS NULL OR isnan({num}) OR isinf({num})"
        if col.type == "integer":
            # beyond 2^53 a double is no longer an exact whole number (and BIGINT would overflow)
            invalid += f" OR {num} <> round({num}) OR abs({num}) > 9007199254740992"
        bounds = ([f"{num} < {col.minimum}"] if col.minimum is not None else []) + (
            [f"{num} > {col.maximum}"] if col.maximum is not None else [])
        if bounds:
            invalid += " OR " + " OR ".join(bounds)
        return invalid

    value = _parsed_value if col.type == "number" else (lambda text, num: f"CAST(round({num}) AS BIGINT)")
    return ColumnPlan(col, rule, parse=lambda text: number_expr(text, decimal_comma), value=value, breaks=breaks)


def _boolean_plan(col: Column) -> ColumnPlan:
    t = ", ".join(f"'{v}'" for v in BOOL_TRUE)
    f = ", ".join(f"'{v}'" for v in BOOL_FALSE)
    return ColumnPlan(col, "must be a boolean (true/false, yes/no, y/n, t/f, 1/0)",
                      parse=lambda text: (f"CASE WHEN lower({text}) IN ({t}) THEN true "
                                          f"WHEN lower({text}) IN ({f}) THEN false END"),
                      value=_parsed_value,
                      breaks=lambda text, parsed: f"lower({text}) NOT IN ({t}, {f})")


def _date_plan(cur: duckdb.DuckDBPyConnection, stage: str, col: Column) -> ColumnPlan:
    """Dates and timestamps: ISO 8601, or the one format (or several that agree) every other value has."""
    raw = raw_cell(col.name)
    with_time = col.type == "timestamp"
    fmts, iso_all = date_format_candidates(cur, stage, col.name, with_time)
    kind = "timestamp" if with_time else "date"
    if iso_all or not fmts:
        def parse(text: str) -> str:
            return iso_ts_expr(text)
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
                return ColumnPlan(col, "", problem=Problem(
                    None, col.name, None,
                    f"dates are ambiguous ({first} or {second}?, e.g. is 03/04 March or April?); "
                    f"write them as ISO dates (2026-03-04) or as dd.mm.yyyy"))

        def parse(text: str) -> str:
            parsed = " , ".join(f"try_strptime({text}, '{f}')" for f in fmts)
            return f"coalesce({iso_ts_expr(text)}, {parsed})"
        rule = f"must be a {kind} in the column's format ({fmts[0].split(' ')[0].replace('%', '')})"

    def value(text: str, parsed: str) -> str:
        return parsed if with_time else f"CAST({parsed} AS DATE)"

    return ColumnPlan(col, rule, parse=parse, value=value,
                      breaks=lambda text, parsed: f"({value(text, parsed)}) IS NULL",
                      formats=() if iso_all or not fmts else tuple(fmts))
