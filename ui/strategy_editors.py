"""The Strategy page's editors: goals, segment strategies, channel kinds and settings (each
validated, recorded and revertible; import and export as CSV), and the change log with undo."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.judgement import strategy
from crm_metrics.data.ingest import LoadRefused
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.data.store import Store
from crm_metrics.judgement.strategy import StrategyError

from . import auth, filters, state
from .widgets import download, flash, missing, set_flash


def _strategy_action(fn: Any, *args: Any, success: str, **kwargs: Any) -> None:
    """Run an edit; show the validation message on refusal; refresh caches on success."""
    try:
        change = fn(state.store(), *args, user=auth.user_name(), **kwargs)
    except StrategyError as e:
        set_flash("error", str(e))
    else:
        state.clear_caches()
        set_flash("success", success if change is not None else "Nothing changed.")


# The strategy tables the editors show, by the name their cached view is keyed on.
_TABLES: dict[str, Callable[[Store], pd.DataFrame]] = {
    "goals": strategy.goals,
    "segments": strategy.segments,
    "channel_kinds": strategy.channel_kinds,
    "settings_frame": strategy.settings_frame,
}


@st.cache_data(show_spinner=False, max_entries=64)
def _strategy_table_view(path: str, version: int, what: str) -> pd.DataFrame:
    """A strategy table (one of ``_TABLES``) shown as a table; every strategy edit bumps the data
    version, so it is cached on it like the KPIs."""
    df = _TABLES[what](state.store())
    st.dataframe(df, hide_index=True, width="stretch", lazy=False)
    return df


def goals_editor(can_write: bool) -> None:
    flash()
    df = _strategy_table_view(*state.store_key(), "goals")
    c1, c2 = st.columns(2)
    with c1:
        download(df, "goals", "Export goals (CSV)")
    if not can_write:
        return
    with c2:
        up = st.file_uploader("Import goals (CSV, merged by goal_id)", type=["csv"], key="goals_import")
        if up is not None and st.button("Import", key="goals_import_btn"):
            _import(up, "goals")
    st.markdown("#### Add or edit a goal")
    ids = ["(new goal)"] + list(df["goal_id"])
    pick = st.selectbox("Goal", ids, key="goal_pick")
    cur = df[df["goal_id"] == pick].iloc[0].to_dict() if pick != "(new goal)" else {}
    kpi_ids = list(KPIS)
    c = filters.choices()
    with st.form("goal_form"):
        a, b, d = st.columns(3)
        goal_id = a.text_input("Goal id", value=cur.get("goal_id", ""), disabled=pick != "(new goal)")
        kpi_id = b.selectbox("KPI", kpi_ids, index=kpi_ids.index(cur["kpi"]) if cur.get("kpi") in kpi_ids else 0,
                             format_func=lambda k: f"{KPIS[k].label} ({k}, {KPIS[k].unit}, better {KPIS[k].better})")
        target = d.text_input("Target (in the KPI's unit)", value="" if output.plain(cur.get("target")) is None
                              else str(cur.get("target")))
        a, b, d = st.columns(3)
        dirs = ["(from the KPI)", "at_least", "at_most"]
        direction = a.selectbox("Direction", dirs, index=dirs.index(cur["direction"]) if output.plain(
            cur.get("direction")) in dirs else 0)
        chs = ["(all)"] + c["channels"]
        channel = b.selectbox("Channel", chs, index=chs.index(cur["channel"]) if output.plain(cur.get("channel")) in chs else 0)
        segs = ["(all)"] + c["segments"]
        segment = d.selectbox("Segment", segs, index=segs.index(cur["segment"]) if output.plain(cur.get("segment")) in segs else 0)
        a, b, d = st.columns(3)
        period_start = a.text_input("Period start (YYYY-MM-DD, empty = the window viewed)",
                                    value=str(output.plain(cur.get("period_start")) or ""))
        period_end = b.text_input("Period end", value=str(output.plain(cur.get("period_end")) or ""))
        tolerance = d.text_input("Tolerance (fraction of |target|, default 0.05)",
                                 value=str(output.plain(cur.get("tolerance")) or ""))
        a, b = st.columns(2)
        objective = a.text_input("Strategic objective it serves", value=str(output.plain(cur.get("objective")) or ""))
        owner = b.text_input("Owner", value=str(output.plain(cur.get("owner")) or ""))
        saved = st.form_submit_button("Save goal", type="primary")
    if saved:
        goal = {"goal_id": goal_id if pick == "(new goal)" else pick, "kpi": kpi_id, "target": target,
                "direction": None if direction == "(from the KPI)" else direction,
                "channel": None if channel == "(all)" else channel, "segment": None if segment == "(all)" else segment,
                "period_start": period_start or None, "period_end": period_end or None,
                "tolerance": tolerance or None, "objective": objective or None, "owner": owner or None}
        _strategy_action(strategy.upsert_goal, goal, success=f"Goal {goal['goal_id']} saved.")
        st.rerun()
    if pick != "(new goal)" and st.button(f"Delete goal {output.plain_text_markdown(pick)}", key="goal_delete"):
        _strategy_action(strategy.delete_goal, pick, success=f"Goal {pick} deleted (undo in the change log).")
        st.rerun()


def _import(up: Any, table: str) -> None:
    try:
        strategy.import_csv(state.store(), table, up.getvalue(), user=auth.user_name())
    except LoadRefused as e:
        set_flash("error", e.report.summary())
    except ValueError as e:
        set_flash("error", str(e))
    else:
        state.clear_caches()
        set_flash("success", f"{up.name} imported into {table}.")
    st.rerun()


def segments_editor(can_write: bool) -> None:
    flash()
    df = _strategy_table_view(*state.store_key(), "segments")
    download(df, "segments", "Export segment strategies (CSV)")
    if not can_write:
        return
    up = st.file_uploader("Import segment strategies (CSV)", type=["csv"], key="seg_import")
    if up is not None and st.button("Import", key="seg_import_btn"):
        _import(up, "segments")
    segs = sorted(set(filters.choices()["segments"]) | set(df["segment"]))
    with st.form("segment_form"):
        a, b = st.columns(2)
        segment = a.selectbox("Segment", segs)
        strategy_value = b.radio("Strategy", ["relationship", "transactional"], horizontal=True,
                                 help="relationship: the customer should come back to the same advisor; "
                                      "transactional: whoever is available is fine")
        statement = st.text_input("The strategy in one sentence")
        saved = st.form_submit_button("Save segment strategy", type="primary")
    if saved:
        _strategy_action(strategy.set_segment_strategy, segment, strategy_value, statement or None,
                         success=f"Strategy for {segment} saved.")
        st.rerun()


def channels_editor(can_write: bool) -> None:
    flash()
    df = _strategy_table_view(*state.store_key(), "channel_kinds")
    download(df, "channel_kinds", "Export channel kinds (CSV)")
    if not can_write:
        return
    with st.form("channel_form"):
        a, b = st.columns(2)
        channel = a.selectbox("Channel", list(df["channel"]))
        kind = b.radio("Kind", ["assisted", "self_service"], horizontal=True)
        saved = st.form_submit_button("Save channel kind", type="primary")
    if saved:
        _strategy_action(strategy.set_channel_kind, channel, kind, success=f"{channel} is now {kind}.")
        st.rerun()


def settings_editor(can_write: bool) -> None:
    flash()
    df = _strategy_table_view(*state.store_key(), "settings_frame")
    download(df, "settings", "Export settings (CSV)")
    if not can_write:
        return
    with st.form("settings_form"):
        a, b = st.columns(2)
        key = a.selectbox("Setting", list(df["key"]))
        value = b.text_input("New value (empty = back to the default)")
        saved = st.form_submit_button("Save setting", type="primary")
    if saved:
        _strategy_action(strategy.set_setting, key, value or None, success=f"{key} saved.")
        st.rerun()


def change_log(can_write: bool) -> None:
    flash()
    view = _changes_view(*state.store_key())
    if view is None:
        return
    df, labels = view
    download(df, "strategy_changes")
    if not can_write:
        return
    with st.form("revert_form"):
        change_id = st.selectbox("Undo change", list(df["change_id"]),
                                 format_func=lambda i: labels.get(i) or _change_label(df, i))
        undo = st.form_submit_button("Undo this change")
    if undo:
        _strategy_action(strategy.revert_change, int(change_id), success=f"Change {change_id} undone.")
        st.rerun()


@st.cache_data(show_spinner=False, max_entries=16)
def _changes_view(path: str, version: int) -> tuple[pd.DataFrame, dict[Any, str]] | None:
    """The change log (newest 500) as a table, and each change's label for the undo choice."""
    df = strategy.list_changes(state.store(), limit=500)
    if df.empty:
        missing("No changes recorded yet.")
        return None
    st.dataframe(df, hide_index=True, width="stretch", lazy=False)
    return df, {cid: _change_label(df, cid) for cid in df["change_id"]}


def _change_label(df: pd.DataFrame, change_id: Any) -> str:
    r = df[df["change_id"] == change_id].iloc[0]
    return f"#{change_id} · {r['action']} {r['table_name']} {r['key']} · {r['changed_by']} · {r['changed_at']}"
