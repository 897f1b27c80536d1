"""The persistent DuckDB store: one connection per process, a cursor per thread or rerun.

The store keeps the tables of the data contract exactly as loaded, the load history, settings,
and *fact tables* (``f_interactions``, ``f_transactions``, ``f_surveys``) that carry the per-row
facts KPIs need (the customer's segment and region, whether the customer is known, the channel
kind, the time of the customer's next contact). Facts are rebuilt inside the load transaction, so
pages only ever aggregate.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from crm_metrics.data import facts
from crm_metrics.data.facts import FACT_SQL, FACTS_VERSION
from crm_metrics.data.schema import FACT_TABLES, SETTINGS_DEFAULTS, STRATEGY_TABLES, TABLES, parse_flag

DEFAULT_DB = "data/crm.duckdb"


def default_db_path() -> str:
    return os.environ.get("CRM_DB") or DEFAULT_DB


META_DDL = [
    """CREATE TABLE IF NOT EXISTS load_history (
        load_id BIGINT, table_name VARCHAR, file_name VARCHAR, sha256 VARCHAR, mode VARCHAR,
        rows_read BIGINT, inserted BIGINT, updated BIGINT, unchanged BIGINT, removed BIGINT,
        unmatched BIGINT, encoding VARCHAR, extra_columns VARCHAR, loaded_at TIMESTAMP,
        loaded_by VARCHAR, undo_of BIGINT)""",
    # stores created before undo existed: add the column (a row with mode 'undo' names the load it undid)
    "ALTER TABLE load_history ADD COLUMN IF NOT EXISTS undo_of BIGINT",
    # the preset a CRM export was read with (docs/presets.md); empty for contract-shaped files
    "ALTER TABLE load_history ADD COLUMN IF NOT EXISTS preset VARCHAR",
    "CREATE TABLE IF NOT EXISTS settings (key VARCHAR, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)",
    # the previous version of a table before a load, kept so the load can be undone (crm_metrics.data.undo)
    """CREATE TABLE IF NOT EXISTS load_snapshots (
        load_id BIGINT, table_name VARCHAR, snapshot VARCHAR, kind VARCHAR, rows BIGINT,
        created_at TIMESTAMP)""",
    # the sample company's rows as it loaded them (key and row hash), so that they can be told apart
    # from the analyst's own and removed (crm_metrics.data.reset)
    "CREATE TABLE IF NOT EXISTS sample_rows (table_name VARCHAR, key VARCHAR, row_hash UBIGINT)",
    # the load-history entries (one per table) of each removal of the sample, undone together
    "CREATE TABLE IF NOT EXISTS reset_loads (reset_id BIGINT, load_id BIGINT)",
]


def table_ddl(name: str) -> str:
    t = TABLES[name]
    cols = ", ".join(f"{c.name} {c.sql_type}" for c in t.columns)
    return f"CREATE TABLE IF NOT EXISTS {t.name} ({cols})"


class Store:
    """A DuckDB file with the contract's tables. Share one per process; use ``cursor()`` per thread."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = str(path or default_db_path())
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        self.write_lock = threading.RLock()
        # Data-version bumps made by this process (the only one writing the file): watchers compare
        # it, a Python int, instead of querying the version every second (ui.precompute).
        self.bumps = 0
        self.allowed_dirs: list[str] | None = None  # set by lock_down()
        self._spool: str | None = None
        self._ensure_schema()

    # -- files the store may touch -------------------------------------------------------------
    @property
    def spool_dir(self) -> str:
        """Where uploads are written before loading (``<db dir>/uploads``; created on first use).
        It stays readable by DuckDB after :meth:`lock_down`."""
        if self._spool is None:
            if self.path == ":memory:":
                import tempfile
                self._spool = tempfile.mkdtemp(prefix="crm-uploads-")
            else:
                self._spool = str(Path(self.path).resolve().parent / "uploads")
        Path(self._spool).mkdir(parents=True, exist_ok=True)
        return self._spool

    @property
    def inbox_dir(self) -> str:
        """``<db>.inbox``: where another process hands loads to this one (crm_metrics.data.inbox)."""
        base = self.spool_dir + "/inbox" if self.path == ":memory:" else str(Path(self.path).resolve())
        return base + ".inbox"

    @property
    def locked_down(self) -> bool:
        return self.allowed_dirs is not None

    def lock_down(self, allowed_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
        """From now on this process's DuckDB reads and writes no file outside ``allowed_dirs`` plus
        :attr:`spool_dir` and :attr:`inbox_dir` (its own database file aside): ``read_csv('/etc/passwd')``,
        ``COPY ... TO``, ``ATTACH``, ``INSTALL`` / ``LOAD`` fail with a permission error. It cannot be
        undone while the process runs (DuckDB refuses to re-enable external access). Returns the
        allowed folders. Calling it again with folders already allowed does nothing."""
        dirs = [self.spool_dir, self.inbox_dir, *map(str, allowed_dirs)]
        wanted = []
        for d in dirs:
            Path(d).mkdir(parents=True, exist_ok=True)
            r = str(Path(d).resolve()).rstrip(os.sep) + os.sep
            if r not in wanted:
                wanted.append(r)
        with self.write_lock:
            if self.allowed_dirs is not None:
                extra = [d for d in wanted if d not in self.allowed_dirs]
                if extra:
                    raise ValueError("the store is already locked down; cannot allow " + ", ".join(extra))
                return list(self.allowed_dirs)
            cur = self.cursor()
            try:
                listed = ", ".join("'" + d.replace("'", "''") + "'" for d in wanted)
                cur.execute(f"SET allowed_directories = [{listed}]")
                cur.execute("SET enable_external_access = false")
            finally:
                cur.close()
            self.allowed_dirs = wanted
        return list(wanted)

    def can_read(self, path: str | os.PathLike[str]) -> bool:
        """Whether DuckDB may read ``path`` (always, unless :meth:`lock_down` was called)."""
        if self.allowed_dirs is None:
            return True
        r = str(Path(path).resolve())
        return any(r.startswith(d) for d in self.allowed_dirs)

    # -- connections -------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()

    @contextlib.contextmanager
    def transaction(self, *, lock: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor inside BEGIN ... COMMIT: the block's writes commit together when it ends,
        and roll back when it raises (anything, KeyboardInterrupt included); the cursor is closed
        either way, so no transaction is left open.

        ``lock``: hold the store's write lock for the whole transaction (every writer does, so
        writes in this process never interleave); False for a read snapshot or a write that must
        not wait for the lock."""
        with self.write_lock if lock else contextlib.nullcontext():
            cur = self.cursor()
            try:
                cur.execute("BEGIN")
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # nothing open: DuckDB already ended it, or BEGIN itself failed
                raise
            finally:
                cur.close()

    # -- schema ------------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        cur = self.cursor()
        for name in TABLES:
            cur.execute(table_ddl(name))
        for ddl in META_DDL:
            cur.execute(ddl)
        existing = {r[0] for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        missing = [f for f in FACT_SQL if f not in existing]
        stored = self.facts_version(cur)
        outdated = stored is not None and stored != FACTS_VERSION
        if stored is None or outdated:
            missing = list(FACT_SQL)  # a store written by an older version: its facts lack columns
        cur.close()
        if missing:
            with self.transaction(lock=False) as tx:  # the constructor: nothing else sees the store yet
                self.refresh_facts(tx, missing)
                self._record_facts_version(tx)
                if outdated:  # facts computed another way: caches keyed on the data version must go
                    self.bump_version(tx)

    def facts_version(self, cur: duckdb.DuckDBPyConnection | None = None) -> str | None:
        """The FACTS_VERSION the store's fact tables were built with (None: never recorded). Checked
        when the store opens -- the only moment it can differ from this code's, since no other process
        writes the file while this one holds it -- and a difference rebuilds them all."""
        c = cur or self.cursor()
        row = c.execute("SELECT value FROM meta WHERE key = 'facts_version'").fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _record_facts_version(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("DELETE FROM meta WHERE key = 'facts_version'")
        cur.execute("INSERT INTO meta VALUES ('facts_version', ?)", [FACTS_VERSION])

    def rebuild_facts(self) -> dict[str, int]:
        """Rebuild every fact table, pair count and summary cube from the stored tables, in one
        transaction under the write lock (viewers keep reading the old ones until it commits);
        records the facts version and bumps the data version. Returns the rows of each rebuilt table.
        (The ``rebuild`` command caps DuckDB's memory around it as a load does.)"""
        with self.transaction() as tx:
            self.refresh_facts(tx, FACT_SQL)
            self._record_facts_version(tx)
            self.bump_version(tx)
            return {t: int(tx.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in FACT_SQL}

    def refresh_facts(self, cur: duckdb.DuckDBPyConnection, names: Iterable[str], touched: str | None = None) -> None:
        """Rebuild the named fact and summary tables (call inside the writing transaction): in full, or
        only for the customers listed in the table ``touched`` (column customer_id), which gives the
        same tables at the cost of those customers' rows (crm_metrics.data.facts)."""
        facts.refresh(cur, list(names), touched)

    @staticmethod
    def facts_for(tables: Iterable[str]) -> list[str]:
        return facts.facts_for(tables)

    # -- versions ----------------------------------------------------------------------------
    def data_version(self, cur: duckdb.DuckDBPyConnection | None = None) -> int:
        c = cur or self.cursor()
        row = c.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0

    def bump_version(self, cur: duckdb.DuckDBPyConnection) -> int:
        v = self.data_version(cur) + 1
        cur.execute("DELETE FROM meta WHERE key = 'data_version'")
        cur.execute("INSERT INTO meta VALUES ('data_version', ?)", [str(v)])
        self.bumps += 1
        return v

    # -- settings ----------------------------------------------------------------------------
    def settings(self, cur: duckdb.DuckDBPyConnection | None = None) -> dict[str, Any]:
        c = cur or self.cursor()
        out: dict[str, Any] = dict(SETTINGS_DEFAULTS)
        for key, value in c.execute("SELECT key, value FROM settings").fetchall():
            if key in SETTINGS_DEFAULTS and isinstance(SETTINGS_DEFAULTS[key], float):
                out[key] = float(value)
            elif key in SETTINGS_DEFAULTS and isinstance(SETTINGS_DEFAULTS[key], bool):
                out[key] = parse_flag(key, value)
            else:
                out[key] = value
        return out

    def set_setting(self, key: str, value: Any) -> None:
        if key not in SETTINGS_DEFAULTS:
            raise ValueError(f"Unknown setting {key!r}; known: {', '.join(SETTINGS_DEFAULTS)}")
        if isinstance(SETTINGS_DEFAULTS[key], bool):
            value = "true" if parse_flag(key, value) else "false"
        elif isinstance(SETTINGS_DEFAULTS[key], float):
            try:
                value = float(value)
            except (TypeError, ValueError) as e:
                raise ValueError(f"Setting {key!r} needs a number, got {value!r}") from e
            if value < 0:
                raise ValueError(f"Setting {key!r} must be >= 0, got {value}")
        with self.transaction() as cur:
            cur.execute("DELETE FROM settings WHERE key = ?", [key])
            cur.execute("INSERT INTO settings VALUES (?, ?)", [key, str(value)])
            self.bump_version(cur)

    # -- status ------------------------------------------------------------------------------
    def row_counts(self) -> dict[str, int]:
        cur = self.cursor()
        return {t: int(cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}

    def is_empty(self) -> bool:
        return all(v == 0 for v in self.row_counts().values())

    def data_span(self) -> tuple[Any, Any]:
        """First and last day with data in the fact tables (None, None when empty)."""
        cur = self.cursor()
        row = cur.execute("""
            SELECT min(d), max(d) FROM (
                SELECT min(day) d FROM f_interactions UNION ALL SELECT max(day) FROM f_interactions
                UNION ALL SELECT min(day) FROM f_transactions UNION ALL SELECT max(day) FROM f_transactions
                UNION ALL SELECT min(day) FROM f_surveys UNION ALL SELECT max(day) FROM f_surveys)
        """).fetchone()
        return row[0], row[1]

    def load_history(self) -> list[dict[str, Any]]:
        cur = self.cursor()
        res = cur.execute("SELECT * FROM load_history ORDER BY load_id DESC")
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r)) for r in res.fetchall()]


_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The process-wide store for ``path`` (one DuckDB connection per process and file)."""
    key = str(path or default_db_path())
    if key != ":memory:":
        key = str(Path(key).resolve())
    with _STORES_LOCK:
        st = _STORES.get(key)
        if st is None:
            st = Store(key)
            _STORES[key] = st
        return st


def close_all() -> None:
    with _STORES_LOCK:
        for st in _STORES.values():
            try:
                st.close()
            except Exception:
                pass
        _STORES.clear()


__all__ = ["Store", "open_store", "close_all", "default_db_path", "FACT_TABLES", "STRATEGY_TABLES"]
