"""The fast path: one pass reads, checks and writes a clean file.

Most files are clean. For them one pass reads, checks and writes every row: the column plans come
from a sample, and every rule is checked on every row as it is written (a broken rule raises). If
anything at all goes wrong -- a broken rule, a duplicate key, a malformed line, a sample that
misjudged a column -- the transaction is rolled back and the careful path (stage as text, check
every rule, report every problem with its line) runs from the start. Both give the same result
for a clean file; only the careful path ever refuses one.
"""
from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from crm_metrics.data import undo as safety
from crm_metrics.data.load.columns import ColumnPlan, plan_column, raw_cell
from crm_metrics.data.load.reading import read_csv_sql
from crm_metrics.data.load.report import LoadReport, Progress
from crm_metrics.data.load.tail import drop_quietly, finish, next_load_id
from crm_metrics.data.load.write import apply_rows
from crm_metrics.data.schema import Table
from crm_metrics.data.store import Store

FAST_PATH_REFUSED = "crm-fast-path: a value breaks a rule"
FAST_SAMPLE_ROWS = 50_000
# DuckDB's memory while loading (spills to disk beyond it); env CRM_LOAD_MEMORY_LIMIT
DEFAULT_LOAD_MEMORY_LIMIT = "1200MB"


def fast_eligible(tdef: Table, delimiter: str) -> bool:
    # tab / pipe files decide decimal commas from the values; strategy tables have cross-row rules
    return tdef.kind == "fact" and delimiter in (",", ";")


def sample_plans_are_final(plans: list[ColumnPlan]) -> bool:
    """A plan made on the sample is the plan the whole file would get, provided every row passes:
    true for ISO or single-format date columns (a second format, or a non-ISO value, breaks the rule
    and sends the file to the careful path). Several candidate formats could be narrowed down by
    later rows: careful path."""
    return all(p.problem is None and len(p.formats) <= 1 for p in plans)


def guarded_select(tdef: Table, plans: list[ColumnPlan], src: str) -> str:
    """The fast path's single pass over ``src`` in three layers, so that each cell is trimmed and
    parsed once: the trimmed text (r), the parsed value (b), then the typed column, which raises
    when the value breaks a rule (a required value missing, or the plan's rule on a present value).
    Every expression comes from the plan, given the names of the layers below."""
    trimmed, parsed, typed = [], [], {}
    for i, p in enumerate(plans):
        r, b = f"r{i}", f"b{i}"
        trimmed.append(f"{raw_cell(p.column.name)} AS {r}")
        if p.parse is not None:
            parsed.append(f"{p.parse(r)} AS {b}")
        else:
            b = r
        expr = p.value_sql(r, b)
        bad = ([f"{r} IS NULL"] if p.column.required else []) + (
            [f"({r} IS NOT NULL AND ({p.invalid_sql(r, b)}))"] if p.checked else [])
        if bad:
            expr = f"CASE WHEN {' OR '.join(bad)} THEN error('{FAST_PATH_REFUSED}') ELSE {expr} END"
        typed[p.column.name] = expr
    cols = ", ".join(f"{typed.get(c.name, 'NULL')}::{c.sql_type} AS {c.name}" for c in tdef.columns)
    layer2 = f"SELECT *{', ' if parsed else ''}{', '.join(parsed)} FROM (SELECT {', '.join(trimmed)} FROM ({src}) s0) s1"
    return f"SELECT {cols} FROM ({layer2}) s2"


class NotFast(Exception):
    """The fast path gives the file to the careful path (its transaction rolled back)."""


def load_fast(store: Store, tdef: Table, read_path: Path, report: LoadReport, targets: dict[str, int],
              headers: list[str], delimiter: str, loaded_by: str | None, say: Progress,
              data_rows: int) -> LoadReport | None:
    """Load a clean file in one pass; None (nothing changed) when the careful path must run."""
    src = read_csv_sql(headers, targets)
    args = [str(read_path), delimiter]
    sample = f"_sample_{uuid.uuid4().hex[:12]}"
    typed = f"_typed_{uuid.uuid4().hex[:12]}"
    try:
        # the lock first: the memory cap is the database's, set and reset by one load at a time
        with store.write_lock, load_memory_cap(store) as cap, store.transaction() as cur:
            try:
                say(0.10, f"{report.file_name}: reading rows")
                cur.execute(f"CREATE TEMP TABLE {sample} AS {src} LIMIT {FAST_SAMPLE_ROWS}", args)
                plans = [plan_column(cur, sample, tdef.column(c), delimiter, report.file_name) for c in targets]
                cur.execute(f"DROP TABLE {sample}")
                if not sample_plans_are_final(plans):
                    raise NotFast
                # no row order to keep: DuckDB may write in parallel and hold less in memory
                cur.execute("SET preserve_insertion_order = false")
                select = guarded_select(tdef, plans, src)
                cols = ", ".join(tdef.column_names)
                existing = int(cur.execute(f"SELECT count(*) FROM {tdef.name}").fetchone()[0])
                load_id = next_load_id(cur)
                direct = report.mode == "replace" or existing == 0
                say(0.30, f"{report.file_name}: checking and writing rows")
                if direct:
                    # straight into the table: it holds exactly this file's rows afterwards
                    report.removed = existing if report.mode == "replace" else 0
                    safety.take_snapshot(cur, tdef, load_id, "replace")
                    cur.execute(f"DELETE FROM {tdef.name}")
                    report.rows_read = int(cur.execute(f"INSERT INTO {tdef.name} ({cols}) {select}", args).fetchone()[0])
                    report.inserted = report.rows_read
                    written = tdef.name
                else:
                    cur.execute(f"CREATE TEMP TABLE {typed} AS {select}", args)
                    report.rows_read = int(cur.execute(f"SELECT count(*) FROM {typed}").fetchone()[0])
                    written = typed
                if report.rows_read != data_rows:
                    raise NotFast  # the careful path reads the file again and refuses it if it still differs
                if report.rows_read == 0 or may_have_duplicates(cur, written, tdef.key):
                    raise NotFast  # the careful path says which lines repeat a key (or that the file is empty)
                touched = None
                if not direct:
                    touched = apply_rows(cur, typed, tdef, report, snapshot=lambda kind, t, same: safety.take_snapshot(
                        cur, tdef, load_id, kind, t, same))
                finish(store, cur, tdef, report, load_id, loaded_by, say, 0.60, rows=written,
                       customer_id="s.customer_id", touched=touched, memory_cap=cap)
            finally:
                drop_quietly(cur, sample, typed, f"{typed}_touched")
    except (NotFast, duckdb.Error):  # rolled back: the careful path loads the file
        report.reset_counts()
        return None
    say(1.0, f"{report.file_name}: done")
    return report


def may_have_duplicates(cur: duckdb.DuckDBPyConnection, table: str, key: str) -> bool:
    """False when every key is distinct. Distinct hashes prove distinct keys; equal hashes (a
    duplicate, or a collision) leave it to the careful path to decide and say which lines."""
    n, distinct = cur.execute(f"SELECT count(*), count(DISTINCT hash({key})) FROM {table}").fetchone()
    return int(n) != int(distinct)


@contextlib.contextmanager
def load_memory_cap(store: Store) -> Iterator[str | None]:
    """Cap DuckDB's memory for the load (yields the cap, None without); it spills to disk beyond it. The setting is the database's
    (any cursor sets it), so it is reset to DuckDB's default afterwards (the store sets no other limit)."""
    want = os.environ.get("CRM_LOAD_MEMORY_LIMIT", DEFAULT_LOAD_MEMORY_LIMIT)
    if not want:
        yield None
        return
    try:
        size = memory_text(want)
    except ValueError as e:
        raise ValueError(f"CRM_LOAD_MEMORY_LIMIT: {e}") from None
    cur = store.cursor()
    try:
        try:
            cur.execute(f"SET memory_limit = '{size}'")
            capped = True
        except duckdb.Error:
            capped = False
        yield size if capped else None
    finally:
        if capped:
            try:
                cur.execute("RESET memory_limit")
            except duckdb.Error:
                pass
        cur.close()


def memory_text(value: str) -> str:
    """A memory size as DuckDB reads it; anything else is refused (it is formatted into SQL)."""
    v = value.strip().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", v, re.IGNORECASE):
        raise ValueError(f"not a memory size: {value!r} (e.g. 1200MB or 2GB)")
    return v
