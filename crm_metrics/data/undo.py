"""Nothing lost: every load that changes a table keeps the table's previous version, so the load can
be undone.

How it works (see docs/operations.md):

- Inside the load's transaction, just before the table changes, :func:`take_snapshot` copies what
  the load is about to overwrite into a table ``history_<table>_<load_id>`` and registers it in
  ``load_snapshots``. A ``replace`` load (or the first load into an empty table) keeps the whole
  previous table; a ``merge`` load keeps only the previous version of the rows it updates plus the
  keys it inserts (``_existed`` false), so a nightly merge of a few changed rows costs a few rows.
- :func:`after_load` drops the snapshot of a load that changed nothing and keeps only the last
  ``CRM_KEEP_SNAPSHOTS`` (default 3) snapshots per table, so the file does not grow without bound.
- :func:`undo_load` puts the table back as it was before the load, in one transaction under the
  store's write lock: restores the rows, rebuilds the fact tables, bumps the data version, records
  the undo in ``load_history`` (mode ``undo``, ``undo_of`` = the load) and, for the strategy tables,
  every row it changes in the strategy audit log. Loads are undone newest first: a load can be
  undone when no later, not undone, load changed the same table.
- A removal of the sample company (:mod:`crm_metrics.data.reset`) is recorded as one history entry
  (mode ``reset``) per table it changed, grouped in ``reset_loads``; undoing any of them undoes the
  whole removal in one transaction.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import duckdb

from crm_metrics.data import audit
from crm_metrics.data.schema import TABLES, Table
from crm_metrics.data.store import Store

DEFAULT_KEEP = 3
SNAPSHOT_PREFIX = "history_"


class UndoError(ValueError):
    """An undo the history does not allow; the message says why and what to do instead."""


def keep_snapshots() -> int:
    """How many snapshots (undoable loads) are kept per table: env CRM_KEEP_SNAPSHOTS, default 3."""
    raw = os.environ.get("CRM_KEEP_SNAPSHOTS", "").strip()
    try:
        v = int(raw) if raw else DEFAULT_KEEP
    except ValueError:
        v = DEFAULT_KEEP
    return max(v, 0)


def snapshot_name(table: str, load_id: int) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    return f"{SNAPSHOT_PREFIX}{table}_{int(load_id)}"


# -- taken by ingest, inside the load's transaction -------------------------------------------------
def take_snapshot(cur: duckdb.DuckDBPyConnection, tdef: Table, load_id: int, kind: str,
                  typed: str | None = None, same: str | None = None, where: str | None = None) -> None:
    """Keep what the load is about to change. ``kind`` 'replace': the whole table. ``kind`` 'append':
    the keys of a merge that only inserts (undone like a merge). ``kind`` 'merge':
    the previous rows of the keys the load updates, and the keys it inserts (``_existed`` false);
    ``typed`` is the load's typed staging table (alias ``s``), ``same`` the SQL saying a staged row
    equals the stored one (alias ``t``). ``kind`` 'remove': the rows matching ``where`` (alias ``t``),
    which the change is about to delete (undone like a merge: they are put back)."""
    name = snapshot_name(tdef.name, load_id)
    cols = tdef.column_names
    cur.execute(f"DROP TABLE IF EXISTS {name}")
    if kind == "replace":
        cur.execute(f"CREATE TABLE {name} AS SELECT {', '.join(cols)}, true AS _existed FROM {tdef.name}")
    elif kind == "remove":
        if where is None:
            raise ValueError("a remove snapshot needs the condition naming the rows")
        kept = ", ".join(f"t.{c}" for c in cols)
        cur.execute(f"CREATE TABLE {name} AS SELECT {kept}, true AS _existed FROM {tdef.name} t WHERE {where}")
    elif kind == "append":
        # a merge that only adds new keys (the nightly append): nothing existed, no join with the table
        if typed is None:
            raise ValueError("an append snapshot needs the staged rows")
        new_keys = ", ".join(f"s.{c.name}" if c.name == tdef.key else f"CAST(NULL AS {c.sql_type}) AS {c.name}"
                             for c in tdef.columns)
        cur.execute(f"CREATE TABLE {name} AS SELECT {new_keys}, false AS _existed FROM {typed} s")
    elif kind == "merge":
        if typed is None or same is None:
            raise ValueError("a merge snapshot needs the staged rows and the equality condition")
        key = tdef.key
        kept = ", ".join(f"t.{c}" for c in cols)
        new_keys = ", ".join(f"s.{c.name}" if c.name == key else f"CAST(NULL AS {c.sql_type}) AS {c.name}"
                             for c in tdef.columns)
        cur.execute(f"""
            CREATE TABLE {name} AS
            SELECT {kept}, true AS _existed FROM {tdef.name} t
            WHERE EXISTS (SELECT 1 FROM {typed} s WHERE s.{key} = t.{key} AND NOT ({same}))
            UNION ALL
            SELECT {new_keys}, false AS _existed FROM {typed} s
            WHERE NOT EXISTS (SELECT 1 FROM {tdef.name} t WHERE t.{key} = s.{key})""")
    else:
        raise ValueError(f"snapshot kind must be replace, merge, append or remove, not {kind!r}")
    rows = int(cur.execute(f"SELECT count(*) FROM {name} WHERE _existed").fetchone()[0])
    cur.execute("DELETE FROM load_snapshots WHERE load_id = ?", [int(load_id)])
    cur.execute("INSERT INTO load_snapshots VALUES (?, ?, ?, ?, ?, CAST(timezone('UTC', now()) AS TIMESTAMP))",
                [int(load_id), tdef.name, name, kind, rows])


def _drop(cur: duckdb.DuckDBPyConnection, load_id: int) -> None:
    for (name,) in cur.execute("SELECT snapshot FROM load_snapshots WHERE load_id = ?", [int(load_id)]).fetchall():
        if name.startswith(SNAPSHOT_PREFIX):
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
    cur.execute("DELETE FROM load_snapshots WHERE load_id = ?", [int(load_id)])


def prune(cur: duckdb.DuckDBPyConnection, table: str, keep: int | None = None) -> list[int]:
    """Drop all but the newest ``keep`` snapshots of ``table``; returns the load ids dropped."""
    keep = keep_snapshots() if keep is None else max(int(keep), 0)
    old = [int(r[0]) for r in cur.execute(
        "SELECT load_id FROM load_snapshots WHERE table_name = ? ORDER BY load_id DESC OFFSET ?",
        [table, keep]).fetchall()]
    for load_id in old:
        _drop(cur, load_id)
    return old


def after_load(cur: duckdb.DuckDBPyConnection, table: str, load_id: int, *, changed: bool) -> None:
    """Called by ingest after the write: a load that changed nothing keeps no snapshot; then prune."""
    if not changed:
        _drop(cur, load_id)
    prune(cur, table)


# -- undo ------------------------------------------------------------------------------------------
@dataclass
class UndoReport:
    load_id: int          # the undo's own entry in load_history
    undone: int           # the load it undid
    table: str
    file_name: str
    mode: str             # the undone load's mode
    removed: int          # rows the undo took out (what the load had put in)
    restored: int         # rows the undo put back (what the load had replaced)
    rows: int             # the table's rows afterwards

    def summary(self) -> str:
        def n(k: int) -> str:
            return f"{k:,} row{'' if k == 1 else 's'}"
        return (f"load {self.undone} ({self.file_name}, {self.mode}) undone: {self.table} "
                f"{'are' if ', ' in self.table else 'is'} back as it was "
                f"before it ({n(self.removed)} taken out, {n(self.restored)} restored, {n(self.rows)} now); "
                f"recorded as load {self.load_id}.")


def _check(cur: duckdb.DuckDBPyConnection, load_id: int) -> tuple[dict[str, Any], tuple[str, str]]:
    """The load's history row and its snapshot (name, kind), or UndoError saying why not."""
    res = cur.execute("SELECT * FROM load_history WHERE load_id = ?", [int(load_id)])
    cols = [d[0] for d in res.description]
    row = res.fetchone()
    if row is None:
        raise UndoError(f"there is no load {load_id} (see the load history: python -m crm_metrics status)")
    h = dict(zip(cols, row))
    if h["mode"] == "undo":
        raise UndoError(f"load {load_id} is itself an undo (of load {h.get('undo_of')}); "
                        f"to redo that load, load its file again")
    done = cur.execute("SELECT min(load_id) FROM load_history WHERE undo_of = ?", [int(load_id)]).fetchone()[0]
    if done is not None:
        raise UndoError(f"load {load_id} was already undone (by load {done})")
    later = [int(r[0]) for r in cur.execute(
        """SELECT h.load_id FROM load_history h
           WHERE h.table_name = ? AND h.load_id > ? AND h.mode IN ('merge', 'replace', 'reset')
             -- a later load that changed nothing (the same file again) left the table as it was,
             -- so it does not stand in the way of undoing an earlier one
             AND (h.inserted > 0 OR h.updated > 0 OR h.removed > 0)
             AND NOT EXISTS (SELECT 1 FROM load_history u WHERE u.undo_of = h.load_id)
           ORDER BY h.load_id DESC""", [h["table_name"], int(load_id)]).fetchall()]
    if later:
        listed = ", ".join(map(str, later))
        raise UndoError(f"{h['table_name']} was loaded again after load {load_id} (load{'s' if len(later) > 1 else ''} "
                        f"{listed}); loads are undone newest first: undo load {later[0]} first")
    snap = cur.execute("SELECT snapshot, kind FROM load_snapshots WHERE load_id = ?", [int(load_id)]).fetchone()
    if snap is None:
        if not (h["inserted"] or h["updated"] or h["removed"]):
            raise UndoError(f"load {load_id} changed nothing in {h['table_name']}; there is nothing to undo")
        raise UndoError(f"the version of {h['table_name']} before load {load_id} is no longer kept (the store "
                        f"keeps it for the last {keep_snapshots()} loads per table, env CRM_KEEP_SNAPSHOTS); "
                        f"load the earlier file again instead")
    return h, (snap[0], snap[1])


def can_undo(store: Store, load_id: int) -> str | None:
    """None when :func:`undo_load` would undo ``load_id``; otherwise the reason it would refuse."""
    cur = store.cursor()
    try:
        for i in reset_group(cur, load_id):
            _check(cur, i)
        return None
    except UndoError as e:
        return str(e)
    finally:
        cur.close()


def undoable_loads(store: Store) -> list[int]:
    """The loads that can be undone now (the latest effective load per table, if its snapshot is kept);
    a removal of the sample is listed once, by its first entry."""
    cur = store.cursor()
    try:
        ids = [int(r[0]) for r in cur.execute(
            "SELECT load_id FROM load_snapshots s WHERE NOT EXISTS (SELECT 1 FROM reset_loads a "
            "JOIN reset_loads b ON a.reset_id = b.reset_id WHERE a.load_id = s.load_id AND b.load_id < s.load_id) "
            "ORDER BY load_id DESC").fetchall()]
    finally:
        cur.close()
    return [i for i in ids if can_undo(store, i) is None]


def reset_group(cur: duckdb.DuckDBPyConnection, load_id: int) -> list[int]:
    """The history entries of the removal of the sample that ``load_id`` belongs to (just
    ``[load_id]`` for an ordinary load)."""
    ids = [int(r[0]) for r in cur.execute(
        "SELECT load_id FROM reset_loads WHERE reset_id = (SELECT min(reset_id) FROM reset_loads WHERE load_id = ?) "
        "ORDER BY load_id", [int(load_id)]).fetchall()]
    return ids or [int(load_id)]


def _restore(store: Store, cur: duckdb.DuckDBPyConnection, h: dict[str, Any], snap: str, kind: str,
             who: str) -> UndoReport:
    """Put one table back from its snapshot and record the undo (inside the caller's transaction)."""
    load_id = int(h["load_id"])
    table = h["table_name"]
    tdef = TABLES[table]
    cols = ", ".join(tdef.column_names)
    audited = tdef.kind == "strategy"
    if audited:
        auditor = audit.table_auditor(cur, table, f"undo of load {load_id}")
    count = f"SELECT count(*) FROM {table}"
    n_before = int(cur.execute(count).fetchone()[0])
    if kind == "replace":
        cur.execute(f"DELETE FROM {table}")
    else:
        cur.execute(f"DELETE FROM {table} WHERE {tdef.key} IN (SELECT {tdef.key} FROM {snap})")
    removed = n_before - int(cur.execute(count).fetchone()[0])
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {snap} WHERE _existed")
    rows = int(cur.execute(count).fetchone()[0])
    restored = rows - (n_before - removed)
    if audited:
        auditor(who)
    new_id = int(cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])
    cur.execute(
        "INSERT INTO load_history (load_id, table_name, file_name, sha256, mode, rows_read, inserted, "
        "updated, unchanged, removed, unmatched, encoding, extra_columns, loaded_at, loaded_by, undo_of) "
        "VALUES (?, ?, ?, ?, 'undo', 0, ?, 0, 0, ?, 0, '', '', "
        "CAST(timezone('UTC', now()) AS TIMESTAMP), ?, ?)",
        [new_id, table, f"undo of load {load_id} ({h['file_name']})", h["sha256"],
         restored, removed, who, load_id])
    _drop(cur, load_id)  # consumed: the table is back to it
    return UndoReport(new_id, load_id, table, h["file_name"], h["mode"], removed, restored, rows)


def undo_load(store: Store, load_id: int, user: str | None = None) -> UndoReport:
    """Put the table a load changed back as it was before that load (see the module docstring).
    An entry of a removal of the sample undoes the whole removal (every table it changed).
    Raises UndoError (a ValueError) with the reason when the load cannot be undone."""
    who = user or audit.current_user()
    with store.transaction() as cur:
        group = reset_group(cur, load_id)
        checked = [_check(cur, i) for i in group]  # all or none: any refusal raises before a change
        reports = [_restore(store, cur, h, snap, kind, who) for h, (snap, kind) in checked]
        tables = [r.table for r in reports]
        store.refresh_facts(cur, Store.facts_for(tables))
        store.bump_version(cur)
    if len(reports) == 1:
        return reports[0]
    return UndoReport(reports[-1].load_id, int(load_id), ", ".join(tables), reports[0].file_name, "reset",
                      sum(r.removed for r in reports), sum(r.restored for r in reports),
                      sum(r.rows for r in reports))


__all__ = ["UndoError", "UndoReport", "undo_load", "reset_group", "can_undo", "undoable_loads", "keep_snapshots",
           "take_snapshot", "after_load", "prune", "snapshot_name"]
