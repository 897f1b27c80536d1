"""The Data page's panels: uploads spooled to the store's folder, what stops a load (unmapped
required columns, a replace not confirmed), the load history, undoing a load, and the tables' row
counts."""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.data.undo import UndoError, undo_load, undoable_loads
from crm_metrics.metrics.views import load_marker

from . import auth, state
from .widgets import set_flash


def _session_spool() -> Path:
    folder = st.session_state.get("_crm_spool")
    if not folder or not Path(folder).exists():
        # inside the store's spool folder: the only place the locked-down DuckDB may read from
        folder = tempfile.mkdtemp(prefix="session-", dir=state.store().spool_dir)
        st.session_state["_crm_spool"] = folder
    return Path(folder)


def spool_upload(up: Any) -> str:
    """Streamlit uploads arrive in memory: write each to a file in this session's spool folder once
    (reruns reuse it) and load from the path. :func:`drop_spooled` removes it again."""
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = _session_spool() / f"{digest}.csv"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def drop_spooled(keep: Iterable[str] = ()) -> None:
    """Remove this session's spooled files except ``keep``: a file leaves the disk once it has been
    loaded or refused, or is no longer selected in the uploader."""
    folder = st.session_state.get("_crm_spool")
    if not folder or not Path(folder).exists():
        return
    keep_set = {str(Path(k)) for k in keep}
    for f in Path(folder).iterdir():
        if str(f) not in keep_set and f.is_file():
            f.unlink(missing_ok=True)


def upload_names(names: list[str]) -> list[str]:
    """Names that tell uploads apart: the second ``goals.csv`` becomes ``goals.csv (2)`` (widget
    keys are built from them, and Streamlit refuses two widgets with one key)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def load_blockers(plans: Sequence[Any], mode: str) -> list[str]:
    """Why Load must wait (empty: it may go): required columns still unmapped, and a replace that
    would remove rows until the analyst says yes to it."""
    out = [f"{p.name}: map {', '.join(p.missing)} first." for p in plans if p.missing]
    if mode != "replace":
        return out
    counts = _table_counts(*state.store_key())
    held = {p.table: counts.get(p.table, 0) for p in plans if counts.get(p.table, 0)}
    if held:
        what = "; ".join(f"the {n:,} rows {t} holds now" for t, n in held.items())
        sure = st.checkbox(f"Yes, replace: this removes {what} (the previous version is kept, the load can "
                           f"be undone)", key="replace_confirm")
        if not sure:
            out.append("Replace removes rows: tick the box above to go ahead.")
    return out


def _loads_key() -> tuple[str, int, int]:
    """(store path, data version, latest load id), read once per run: the key of the load caches."""
    m = state.memo()
    marker = m.get("loads")
    if marker is None:

        marker = m["loads"] = load_marker(state.store())
    return state.store().path, state.data_version(), marker


@st.cache_data(show_spinner=False, max_entries=16)
def _load_history(path: str, version: int, marker: int) -> list[dict[str, Any]]:
    return state.store().load_history()


@st.cache_data(show_spinner=False, max_entries=16)
def _undoable(path: str, version: int, marker: int) -> list[int]:
    return undoable_loads(state.store())


@st.cache_data(show_spinner=False, max_entries=16)
def _table_counts(path: str, version: int) -> dict[str, int]:
    return state.store().row_counts()


def load_history_frame() -> pd.DataFrame:
    rows = _load_history(*_loads_key())
    cols = ["load_id", "loaded_at", "table_name", "file_name", "mode", "rows_read", "inserted", "updated",
            "unchanged", "removed", "unmatched", "undo_of", "encoding", "loaded_by", "sha256"]
    return pd.DataFrame(rows, columns=cols)


def load_history_view(history: pd.DataFrame) -> pd.DataFrame:
    """The load history as read on screen: when, what, how many rows did what, by whom; the file's
    encoding and checksum stay in the CSV (a table wider than the screen hides its right side)."""
    return pd.DataFrame({
        "#": history["load_id"],
        "When": [f"{v:%Y-%m-%d %H:%M}" if hasattr(v, "strftime") else str(v)[:16] for v in history["loaded_at"]],
        "File": history["file_name"], "Table": history["table_name"], "Mode": history["mode"],
        "Read": history["rows_read"], "New": history["inserted"], "Changed": history["updated"],
        "Same": history["unchanged"], "Removed": history["removed"], "Unmatched": history["unmatched"],
        "Undo of": [f"#{int(v)}" if pd.notna(v) else "–" for v in history["undo_of"]],
        "By": history["loaded_by"],
    })


def table_counts_frame() -> pd.DataFrame:
    return pd.DataFrame([{"table": t, "rows": n} for t, n in _table_counts(*state.store_key()).items()])


def undo_panel(can_write: bool) -> None:
    """Undo a load (the previous version of the table is kept for the latest loads)."""
    if not can_write:
        return
    ids = _undoable(*_loads_key())
    if not ids:
        st.caption("No load can be undone right now (the previous versions of the last loads per table "
                   "are kept).")
        return
    history = {h["load_id"]: h for h in _load_history(*_loads_key())}
    with st.form("undo_load_form"):
        load_id = st.selectbox("Undo a load", ids, format_func=lambda i: (
            f"#{i} · {history[i]['mode']} {history[i]['file_name']} → {history[i]['table_name']} · "
            f"{history[i]['loaded_at']:%Y-%m-%d %H:%M}" if i in history else f"#{i}"))
        go = st.form_submit_button("Undo this load")
    if go:
        try:
            rep = undo_load(state.store(), int(load_id), user=auth.user_name())
        except UndoError as e:
            set_flash("error", str(e))
        else:
            state.clear_caches()
            set_flash("success", rep.summary())
        st.rerun()
