"""The Strategy page's editors: goals, segment strategies, channel kinds and settings (each
validated, recorded and revertible; import and export as CSV), and the change log with undo."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.data.ingest import LoadRefused
from crm_metrics.data.store import Store
from crm_metrics.delivery import output
from crm_metrics.judgement import strategy
from crm_metrics.judgement.strategy import StrategyError
from crm_metrics.metrics.kpis import KPIS, KpiError

from . import auth, filters, state
from .formatting import goal_text
from .widgets import download, flash, missing, set_flash, table


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
    if what == "goals":
        view = goals_view(df)
        st.dataframe(view, hide_index=True, width="stretch", lazy=False, height=35 * (min(len(view), 20) + 1) + 3,
                     column_config={
            "Id": st.column_config.TextColumn("Id", width=50),
            "Goal": st.column_config.TextColumn("Goal", width=370),
            "Tolerance": st.column_config.TextColumn(
                "Tolerance", width=110, help="How far from the target (a share of it) still counts as at risk "
                                             "rather than missed")})
    elif what == "settings_frame":
        view = df.assign(value=df["value"].map(_setting_text), default=df["default"].map(_setting_text),
                         changed=df["changed"].map({True: "changed", False: "default"}))
        table(view.rename(columns={"key": "Setting", "value": "Value", "default": "Default",
                                   "changed": "Status"}), lazy=False)
    else:
        table(df.rename(columns=lambda c: c.replace("_", " ").capitalize()), lazy=False)
    return df


def goals_view(df: pd.DataFrame) -> pd.DataFrame:
    """The goals in words (KPI label, target with its unit, scope and period), not the stored codes."""
    return pd.DataFrame({
        "Id": df["goal_id"],
        "Goal": [goal_text(g, prefix="") if g["kpi"] in KPIS else f"{g['kpi']} target {g['target']}"
                 for g in df.to_dict("records")],
        "Tolerance": [f"±{v * 100:g}%" if output.plain(v) is not None else "±5% (default)" for v in df["tolerance"]],
        "Objective": [output.plain(v) or "–" for v in df["objective"]],
        "Owner": [output.plain(v) or "–" for v in df["owner"]],
    })


def _setting_text(v: Any) -> str:
    v = output.plain(v)
    if v is None:
        return "–"
    return f"{v:g}" if isinstance(v, float) else str(v)


_GOAL_ERRORS = "_crm_goal_errors"
_GOAL_SAVED = "_crm_goal_saved"
_GOAL_FORM_FIELDS = ("goal_id", "kpi", "target", "direction", "channel", "segment", "period_start", "period_end",
                     "tolerance")


def _field_error(target: Any, errors: dict[str, str], field: str) -> None:
    """The validation message for ``field`` right under it ("" = a message about the whole goal)."""
    if field in errors:
        target.error(errors[field], icon=":material/error:")


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
    saved_id = st.session_state.pop(_GOAL_SAVED, None)
    if saved_id in ids:     # before the selectbox exists: a widget's state cannot change after
        st.session_state["goal_pick"] = saved_id
    pick = st.selectbox("Goal", ids, key="goal_pick")
    cur = df[df["goal_id"] == pick].iloc[0].to_dict() if pick != "(new goal)" else {}
    kpi_ids = list(KPIS)
    c = filters.choices()
    errors: dict[str, str] = st.session_state.pop(_GOAL_ERRORS, {})
    # Enter in a field does not submit: a goal is saved only by its button (a half-typed goal
    # saved on Enter, then again on every field, made one goal several change-log entries)
    with st.form("goal_form", enter_to_submit=False):
        a, b, d = st.columns(3)
        goal_id = a.text_input("Goal id", value=cur.get("goal_id", ""), disabled=pick != "(new goal)")
        _field_error(a, errors, "goal_id")
        kpi_id = b.selectbox("KPI", kpi_ids, index=kpi_ids.index(cur["kpi"]) if cur.get("kpi") in kpi_ids else 0,
                             format_func=lambda k: f"{KPIS[k].label} ({KPIS[k].unit}, better {KPIS[k].better})")
        _field_error(b, errors, "kpi")
        target = d.text_input("Target (in the KPI's unit)", value="" if output.plain(cur.get("target")) is None
                              else str(cur.get("target")))
        _field_error(d, errors, "target")
        a, b, d = st.columns(3)
        dirs = ["(from the KPI)", "at_least", "at_most"]
        direction = a.selectbox("Direction", dirs, index=dirs.index(cur["direction"]) if output.plain(
            cur.get("direction")) in dirs else 0)
        _field_error(a, errors, "direction")
        chs = ["(all)"] + c["channels"]
        channel = b.selectbox("Channel", chs, index=chs.index(cur["channel"]) if output.plain(cur.get("channel")) in chs else 0)
        _field_error(b, errors, "channel")
        segs = ["(all)"] + c["segments"]
        segment = d.selectbox("Segment", segs, index=segs.index(cur["segment"]) if output.plain(cur.get("segment")) in segs else 0)
        _field_error(d, errors, "segment")
        a, b, d = st.columns(3)
        period_start = a.text_input("Period start (YYYY-MM-DD; both empty = an annual goal, one row per year)",
                                    value=str(output.plain(cur.get("period_start")) or ""))
        _field_error(a, errors, "period_start")
        period_end = b.text_input("Period end", value=str(output.plain(cur.get("period_end")) or ""))
        _field_error(b, errors, "period_end")
        tolerance = d.text_input("Tolerance (fraction of |target|, default 0.05)",
                                 value=str(output.plain(cur.get("tolerance")) or ""))
        _field_error(d, errors, "tolerance")
        a, b = st.columns(2)
        objective = a.text_input("Strategic objective it serves", value=str(output.plain(cur.get("objective")) or ""))
        owner = b.text_input("Owner", value=str(output.plain(cur.get("owner")) or ""))
        _field_error(st, errors, "")
        saved = st.form_submit_button("Save goal", type="primary")
    if saved:
        goal = {"goal_id": goal_id if pick == "(new goal)" else pick, "kpi": kpi_id, "target": target,
                "direction": None if direction == "(from the KPI)" else direction,
                "channel": None if channel == "(all)" else channel, "segment": None if segment == "(all)" else segment,
                "period_start": period_start or None, "period_end": period_end or None,
                "tolerance": tolerance or None, "objective": objective or None, "owner": owner or None}
        try:
            change = strategy.upsert_goal(state.store(), goal, user=auth.user_name())
        except StrategyError as e:
            # the message goes beside the field it names ("target: must be a number ...")
            field = str(e).partition(": ")[0]
            key = field if field in _GOAL_FORM_FIELDS else ""
            st.session_state[_GOAL_ERRORS] = {key: str(e)}
        else:
            state.clear_caches()
            set_flash("success", f"Goal {goal['goal_id']} saved." if change is not None else "Nothing changed.")
            st.session_state[_GOAL_SAVED] = goal["goal_id"]     # show the saved goal next
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
    with st.form("segment_form", enter_to_submit=False):
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
    with st.form("settings_form", enter_to_submit=False):
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
    """The change log (newest 500) in sentences, and each change's label for the undo choice."""
    df = strategy.list_changes(state.store(), limit=500)
    if df.empty:
        missing("No changes recorded yet.")
        return None
    view = change_log_view(df)
    st.dataframe(view, hide_index=True, width="stretch", lazy=False, column_config={
        "Change": st.column_config.TextColumn("Change", width="large"),
        "#": st.column_config.NumberColumn("#", width="small", format="%d")})
    return df, {cid: _change_label(df, cid) for cid in df["change_id"]}


def change_log_view(df: pd.DataFrame) -> pd.DataFrame:
    """The audit rows as a reader wants them: when, who, what changed in a sentence, and from where."""
    return pd.DataFrame({
        "#": df["change_id"].astype("int64"),
        "When": [f"{v:%Y-%m-%d %H:%M}" if hasattr(v, "strftime") else str(v)[:16] for v in df["changed_at"]],
        "Who": [str(v) if v else "–" for v in df["changed_by"]],
        "Change": [change_sentence(r) for r in df.to_dict("records")],
        "Source": [_source(v) for v in df["source"]],
    })


_FIELD_WORDS = {"kpi": "KPI", "period_start": "period start", "period_end": "period end", "goal_id": "goal id"}


def _value_words(field: str, v: Any) -> str:
    if v is None or v == "":
        return "none"
    if field == "kpi" and v in KPIS:
        return KPIS[v].label
    if isinstance(v, float):
        return f"{v:g}"
    return str(v).replace("_", " ") if field in ("direction", "kind", "strategy") else str(v)


def change_sentence(row: Mapping[str, Any]) -> str:
    """One audit row in a sentence, e.g. "Changed goal G02: target 72 → 74"."""
    before = json.loads(row["before"]) if row.get("before") else None
    after = json.loads(row["after"]) if row.get("after") else None
    table, key, action = row["table_name"], row["key"], row["action"]
    if table == "goals":
        if action == "insert" and after:
            return f"Added goal {key}: {_goal_words(after)}"
        if action == "delete" and before:
            return f"Deleted goal {key} ({_goal_words(before)})"
        return f"Changed goal {key}: {_diff(before or {}, after or {})}"
    if table == "segments":
        if after is None:
            return f"Removed the stated strategy of segment {key}"
        stmt = f' ("{after["statement"]}")' if after.get("statement") else ""
        if before is None:
            return f"Stated segment {key}'s strategy: {after['strategy']}{stmt}"
        return f"Changed segment {key}'s strategy: {_diff(before, after)}"
    if table == "channels":
        if after is None:
            return f"Channel {key} back to its default kind"
        return f"Channel {key} is now {_value_words('kind', after.get('kind'))}"
    if table == "settings":
        if after is None:
            return f"Setting {key} back to its default"
        was = f" (was {before['value']})" if before else " (was the default)"
        return f"Setting {key} set to {after.get('value')}{was}"
    return f"{action.capitalize()} {table} {key}"


def _goal_words(g: Mapping[str, Any]) -> str:
    try:
        return goal_text(g, prefix="")
    except KpiError:        # a KPI no longer in the catalogue
        return f"{g.get('kpi')} target {g.get('target')}"


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    parts = [f"{_FIELD_WORDS.get(f, f.replace('_', ' '))} {_value_words(f, before.get(f))} → "
             f"{_value_words(f, after.get(f))}"
             for f in after if before.get(f) != after.get(f)]
    return "; ".join(parts) or "no field changed"


def _source(source: Any) -> str:
    s = str(source or "")
    if s == "app":
        return "Strategy page"
    if s.startswith("load "):
        return f"loaded from {s[5:]}"
    if s.startswith("revert of change "):
        return f"undo of change #{s.removeprefix('revert of change ')}"
    return s or "–"


def _change_label(df: pd.DataFrame, change_id: Any) -> str:
    r = df[df["change_id"] == change_id].iloc[0]
    return f"#{change_id} · {change_sentence(r.to_dict())} · {r['changed_by']} · {str(r['changed_at'])[:16]}"
