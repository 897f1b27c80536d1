"""Session state and caching: the store handle, the per-run memo, the data version that keys every
cached result, the store's settings, and clearing the caches after a change."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from crm_metrics.data.bootstrap import ensure_sample
from crm_metrics.data.inbox import inbox_dir, is_lock_error, worker_alive
from crm_metrics.data.store import Store, default_db_path, open_store
from crm_metrics.delivery import remote
from crm_metrics.judgement.strategy import staged_problems
from crm_metrics.metrics.engines import configure_from_env

from . import precompute


@st.cache_resource(show_spinner=False)
def _store_for(path: str) -> Store:
    store = open_store(path)
    if os.environ.get("CRM_ENGINE", "duckdb").lower() != "duckdb":
        configure_from_env()  # CRM_ENGINE=spark: every KPI of every page runs on Spark
    ensure_sample(store, table_rules=staged_problems)
    remote.serve(store)  # take loads and other commands handed over by `python -m crm_metrics` while the app holds the store
    # From here on DuckDB may only touch the store's own folders (uploads are spooled there).
    store.lock_down()
    clean_spool(store.spool_dir, _process_start())
    precompute.start(store)  # after each load, recompute what the pages last asked for
    return store


def _process_start() -> float:
    """When this process started (epoch seconds): from /proc where there is one, else this module's
    import, which happens as the app starts."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED_AT


_IMPORTED_AT = time.time()


def clean_spool(spool_dir: str, before: float) -> None:
    """Remove uploads spooled before ``before`` (a previous run of the app that stopped before it
    could remove them): sessions of this process have not started yet, nothing else writes there
    (the inbox has its own folder next to the store)."""
    for entry in Path(spool_dir).iterdir():
        if entry.name == "inbox":  # an in-memory store keeps its inbox here
            continue
        try:
            if entry.lstat().st_mtime >= before:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:
            pass  # gone already, or not ours to remove: the next start tries again


# -- per-run memo --------------------------------------------------------------------------------
# The store handle, the data version, the settings and the filter choices are read once per script
# run (every page calls ``page.page_setup`` first, which starts a fresh memo), not once per card or
# chart: each read is a DuckDB query or a cache lookup that costs a few milliseconds on every rerun.
_MEMO = "_crm_memo"


class _RunMemo(dict):
    """The per-run memo. It holds the store handle, which cannot be serialised; nothing in it is
    worth keeping beyond the run, so it pickles as an empty memo."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_RunMemo, ())


def new_run() -> None:
    """Start this script run with a fresh memo (store, data version, settings, choices)."""
    st.session_state[_MEMO] = _RunMemo()


def memo() -> dict[str, Any]:
    m = st.session_state.get(_MEMO)
    if m is None:
        m = _RunMemo()
        st.session_state[_MEMO] = m
    return m


def _forget(*keys: str) -> None:
    m = memo()
    for k in keys or tuple(m):
        m.pop(k, None)


def store() -> Store:
    m = memo()
    s = m.get("store")
    if s is not None:
        return s
    path = os.environ.get("CRM_DB") or default_db_path()
    try:
        s = _store_for(path)
    except duckdb.IOException as e:  # another process holds the file; failures are not cached
        if not is_lock_error(e):
            raise
        other = worker_alive(inbox_dir(path))
        if other is not None and other.get("pid") != os.getpid():
            # A second app process on the same store: DuckDB lets one process hold the file.
            st.error(f"Another app process (pid {other.get('pid')}) already serves this store, and a store "
                     "file can be open in one process only. Open that app instead, or give this one its "
                     "own store (CRM_DB); docs/operations.md says how to serve many viewers.",
                     icon=":material/block:")
        else:
            st.warning("The data is being updated by a load running outside the app. This page will be "
                       "available as soon as it has finished — reload in a moment.",
                       icon=":material/hourglass_top:")
        st.stop()
        raise
    m["store"] = s
    return s


def data_version() -> int:
    """The store's data version, read once per run: every cached result is keyed on it."""
    m = memo()
    v = m.get("version")
    if v is None:
        v = m["version"] = store().data_version()
    return v


def store_at(path: str) -> Store:
    """The store at ``path`` (the process's one store for that file): for cached functions, which
    get the path as an argument and may run outside a page (ui.precompute)."""
    return open_store(path)


def store_key() -> tuple[str, int]:
    """(store path, data version): the first two arguments of every cached function."""
    return store().path, data_version()


def settings() -> dict[str, Any]:
    """The store's settings, read once per run."""
    m = memo()
    v = m.get("settings")
    if v is None:
        v = m["settings"] = store().settings()
    return v


def currency() -> str:
    return str(settings().get("currency", "USD"))


def clear_caches() -> None:
    """After a change made in this session: drop every cached result and re-read the version."""
    st.cache_data.clear()
    _forget("version", "settings", "choices", "loads")
