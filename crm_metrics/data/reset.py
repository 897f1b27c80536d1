"""Own company first: tell the sample company's rows from the analyst's own, and remove the sample.

The sample (Northwind Bank, :mod:`crm_metrics.data.sample`) is loaded by
:func:`crm_metrics.data.bootstrap.load_sample` into an empty store. Right after, every row it put in
is remembered in ``sample_rows`` as (table, key, hash of the whole row). A row still equal to what
the sample loaded is the sample's; anything else (the analyst's files, a goal edited in the app, a
customer whose key happens to collide but whose row differs) is the analyst's. So:

- :func:`store_contents` says whether the store holds nothing, only the sample, only the analyst's
  own data, or both (the banner and the report word themselves on it);
- :func:`reset_sample` removes the sample's rows from every table in one transaction, recorded in
  the load history as one entry (mode ``reset``) per table it changed, each with a snapshot of the
  rows it removed; undoing any of the entries (:func:`crm_metrics.data.undo.undo_load`, the
  ``undo`` command, the Data page) puts every table back together.

Stores whose sample was loaded before ``sample_rows`` existed: while the load history shows no load
of the analyst's own, every row is the sample's and is remembered then (:func:`remember_legacy`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from crm_metrics.data import audit
from crm_metrics.data.schema import TABLES, Table
from crm_metrics.data.store import Store
from crm_metrics.data.undo import can_undo, prune, take_snapshot

SAMPLE_USER = "sample"   # the load history's loaded_by of the sample company's loads
RESET_FILE_NAME = "reset --sample"

Contents = Literal["empty", "sample", "own", "mixed"]
# The tables whose rows make up "the data": the strategy tables (goals, segments, channels) are
# settings an analyst edits on the sample as well, so they do not make a store "own".
CONTENT_TABLES: tuple[str, ...] = tuple(name for name, t in TABLES.items() if t.kind != "strategy")


class ResetError(ValueError):
    """A removal the store does not allow; the message says why."""


@dataclass(frozen=True)
class ResetReport:
    reset_id: int                        # the first of its load-history entries (undo it to undo all)
    removed: dict[str, int]              # table -> rows removed, in contract order
    load_ids: tuple[int, ...]

    def summary(self) -> str:
        parts = ", ".join(f"{n:,} {t}" for t, n in self.removed.items())
        return (f"removed the sample company (Northwind Bank): {parts}; recorded as load "
                f"{self.reset_id}{'' if len(self.load_ids) == 1 else f'–{self.load_ids[-1]}'}. "
                f"Undo with: python -m crm_metrics undo --load-id {self.reset_id} (or on the Data page).")


# -- which rows are the sample's --------------------------------------------------------------------
def _row_hash(tdef: Table, alias: str) -> str:
    return "hash(struct_pack(" + ", ".join(f"{c} := {alias}.{c}" for c in tdef.column_names) + "))"


def is_sample_row(tdef: Table, alias: str = "t") -> str:
    """SQL condition on ``alias`` (a row of ``tdef``): the row is still as the sample loaded it.
    The table name comes from the contract (an allow-list), never from the user."""
    return (f"EXISTS (SELECT 1 FROM sample_rows s WHERE s.table_name = '{tdef.name}' "
            f"AND s.key = CAST({alias}.{tdef.key} AS VARCHAR) AND s.row_hash = {_row_hash(tdef, alias)})")


def remember_sample(cur: duckdb.DuckDBPyConnection, tables: tuple[str, ...] | list[str]) -> None:
    """Remember every row of ``tables`` as the sample's (call right after the sample loaded them into
    an empty store, inside a transaction)."""
    for name in tables:
        tdef = TABLES[name]
        cur.execute("DELETE FROM sample_rows WHERE table_name = ?", [name])
        cur.execute(f"INSERT INTO sample_rows SELECT ?, CAST(t.{tdef.key} AS VARCHAR), {_row_hash(tdef, 't')} "
                    f"FROM {name} t", [name])


def _legacy_flag(cur: duckdb.DuckDBPyConnection) -> bool:
    row = cur.execute("SELECT value FROM meta WHERE key = 'sample'").fetchone()
    return bool(row and row[0] == "true")


def _has_sample_rows(cur: duckdb.DuckDBPyConnection) -> bool:
    return cur.execute("SELECT 1 FROM sample_rows LIMIT 1").fetchone() is not None


def own_loads(cur: duckdb.DuckDBPyConnection) -> int:
    """How many loads, not by the sample and not undone, changed a content table."""
    marks = ", ".join("?" for _ in CONTENT_TABLES)
    return int(cur.execute(
        f"""SELECT count(*) FROM load_history h
            WHERE h.loaded_by IS DISTINCT FROM ? AND h.mode IN ('merge', 'replace')
              AND h.table_name IN ({marks}) AND (h.inserted > 0 OR h.updated > 0 OR h.removed > 0)
              AND NOT EXISTS (SELECT 1 FROM load_history u WHERE u.undo_of = h.load_id)""",
        [SAMPLE_USER, *CONTENT_TABLES]).fetchone()[0])


def remember_legacy(cur: duckdb.DuckDBPyConnection) -> bool:
    """A store whose sample was loaded before the sample's rows were remembered: when nothing but the
    sample was ever loaded, every row is the sample's. Returns whether the rows are now known."""
    if _has_sample_rows(cur):
        return True
    if not _legacy_flag(cur) or own_loads(cur):
        return False
    remember_sample(cur, list(TABLES))
    return True


def store_contents(store: Store) -> Contents:
    """What the store holds: nothing, only the sample company, only the analyst's own data, or both."""
    cur = store.cursor()
    try:
        known = _has_sample_rows(cur)
        sample = own = False
        for name in CONTENT_TABLES:
            n = int(cur.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            if n == 0:
                continue
            k = int(cur.execute(f"SELECT count(*) FROM {name} t WHERE {is_sample_row(TABLES[name])}")
                    .fetchone()[0]) if known else 0
            sample = sample or k > 0
            own = own or n > k
        if not known and own and _legacy_flag(cur):
            # an older store: its sample's rows were not remembered; the load history tells
            sample, own = True, own_loads(cur) > 0
    finally:
        cur.close()
    if sample and own:
        return "mixed"
    return "sample" if sample else ("own" if own else "empty")


def last_reset(store: Store) -> int | None:
    """The latest removal of the sample (its first load id) while it can still be undone, else None."""
    cur = store.cursor()
    try:
        row = cur.execute("SELECT max(reset_id) FROM reset_loads").fetchone()
    finally:
        cur.close()
    if row is None or row[0] is None:
        return None
    return int(row[0]) if can_undo(store, int(row[0])) is None else None


# -- removing the sample ----------------------------------------------------------------------------
def reset_sample(store: Store, user: str | None = None) -> ResetReport:
    """Remove the sample company's rows from every table (one transaction; undoable as a whole)."""
    who = user or audit.current_user()
    removed: dict[str, int] = {}
    ids: list[int] = []
    with store.transaction() as cur:
        if not remember_legacy(cur) and _legacy_flag(cur):
            raise ResetError("this store's sample rows cannot be told apart from your own (its sample was "
                             "loaded by an older version and your files were loaded since); start a new "
                             "store instead: set CRM_DB to a new file and load your files")
        for name, tdef in TABLES.items():
            cond = is_sample_row(tdef, "t")
            n = int(cur.execute(f"SELECT count(*) FROM {name} t WHERE {cond}").fetchone()[0])
            if n == 0:
                continue
            load_id = int(cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])
            reset_id = ids[0] if ids else load_id
            take_snapshot(cur, tdef, load_id, "remove", where=cond)
            auditor = audit.table_auditor(cur, name, "reset --sample") if tdef.kind == "strategy" else None
            cur.execute(f"DELETE FROM {name} WHERE {tdef.key} IN "
                        f"(SELECT t.{tdef.key} FROM {name} t WHERE {cond})")
            if auditor is not None:
                auditor(who)
            cur.execute(
                "INSERT INTO load_history (load_id, table_name, file_name, sha256, mode, rows_read, inserted, "
                "updated, unchanged, removed, unmatched, encoding, extra_columns, loaded_at, loaded_by, undo_of) "
                "VALUES (?, ?, ?, '', 'reset', 0, 0, 0, 0, ?, 0, '', '', "
                "CAST(timezone('UTC', now()) AS TIMESTAMP), ?, NULL)",
                [load_id, name, RESET_FILE_NAME, n, who])
            cur.execute("INSERT INTO reset_loads VALUES (?, ?)", [reset_id, load_id])
            prune(cur, name)
            removed[name] = n
            ids.append(load_id)
        if not ids:
            raise ResetError("the store holds no rows of the sample company; nothing to remove")
        store.refresh_facts(cur, Store.facts_for(list(removed)))
        store.bump_version(cur)
    return ResetReport(ids[0], removed, tuple(ids))


__all__ = ["CONTENT_TABLES", "Contents", "RESET_FILE_NAME", "ResetError", "ResetReport", "SAMPLE_USER",
           "is_sample_row", "last_reset", "own_loads", "remember_legacy", "remember_sample", "reset_sample",
           "store_contents"]
