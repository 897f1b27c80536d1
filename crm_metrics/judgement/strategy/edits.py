"""Edits of goals, segments, channels and settings: one validated, audited transaction each; the
change history and its revert."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from crm_metrics.data import values
from crm_metrics.data.audit import (
    CHANGE_COLUMNS,
    columns,
    current_user,
    ensure_tables,
    json_form,
    key_column,
    read_row,
    record,
)
from crm_metrics.data.schema import TABLES
from crm_metrics.data.store import Store
from crm_metrics.judgement.strategy.rules import (
    KINDS,
    STRATEGIES,
    StrategyError,
    known_channels,
    known_segments,
    normalise_goal,
    normalise_setting,
    parse_choice,
    resolve_name,
)


def editor(user: str | None) -> str:
    return user or current_user()


# -- transactions and the audit log ---------------------------------------------------------
@contextmanager
def _transaction(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    with store.transaction() as cur:
        ensure_tables(cur)
        yield cur


def _db_values(table: str, row: Mapping[str, Any]) -> list[Any]:
    vals = []
    for c in columns(table):
        v = row.get(c)
        if table != "settings" and v is not None and TABLES[table].column(c).type == "date":
            v = dt.date.fromisoformat(v) if isinstance(v, str) else v
        vals.append(v)
    return vals


def _write_row(cur: duckdb.DuckDBPyConnection, table: str, key: str, row: Mapping[str, Any] | None) -> None:
    cur.execute(f"DELETE FROM {table} WHERE {key_column(table)} = ?", [key])
    if row is not None:
        cols = columns(table)
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    _db_values(table, row))


Maker = Callable[[duckdb.DuckDBPyConnection, "dict[str, Any] | None"], "dict[str, Any] | None"]


def change(store: Store, table: str, key: str, make: Maker, user: str | None, source: str = "app") -> int | None:
    """One change in one transaction: before -> make(cur, before) -> write, audit, facts, version.

    Returns the change id, or None when the row already was as asked (nothing recorded)."""
    who = editor(user)
    with _transaction(store) as cur:
        before = read_row(cur, table, key)
        after = make(cur, before)
        if after is not None:
            after = json_form(table, after)
        if after == before:
            return None
        _write_row(cur, table, key, after)
        cid = record(cur, table, key, before, after, who, source)
        if table == "channels":
            store.refresh_facts(cur, Store.facts_for(["channels"]))
        store.bump_version(cur)
        return cid


def upsert_goal(store: Store, goal: Mapping[str, Any], user: str | None = None) -> int | None:
    """Insert a goal or update it (fields not given keep their stored value; give None or '' to
    clear one). Returns the change id, None when nothing changed."""
    goal_id = values.text(goal.get("goal_id"))
    if goal_id is None:
        raise StrategyError("goal_id: required (a short unique name for the goal)")
    return change(store, "goals", goal_id,
                   lambda cur, before: normalise_goal(cur, {**goal, "goal_id": goal_id}, before), user)


def delete_goal(store: Store, goal_id: str, user: str | None = None) -> int:
    return _delete(store, "goals", "goal", goal_id, user)


def _delete(store: Store, table: str, what: str, key: Any, user: str | None) -> int:
    k = values.text(key)

    def make(cur, before):
        if before is None:
            raise StrategyError(f"{key_column(table)}: there is no {what} {k!r} to delete")
        return None

    cid = change(store, table, k or "", make, user)
    assert cid is not None
    return cid


# -- segments and channels -----------------------------------------------------------------------
_KEEP = object()


def _known_name(store: Store, field: str, value: Any, known: Any, allow_new: bool) -> str:
    """A required segment or channel name, spelled as it is already in use (``known``: known_segments
    or known_channels)."""
    if values.text(value) is None:
        raise StrategyError(f"{field}: required")
    cur = store.cursor()
    try:
        data, table = known(cur)
    finally:
        cur.close()
    return resolve_name(field, value, data, table, table_first=True, allow_new=allow_new)


def set_segment_strategy(store: Store, segment: str, strategy: str, statement: Any = _KEEP,
                         user: str | None = None, *, allow_new: bool = False) -> int | None:
    """State a segment's strategy (relationship / transactional) and, optionally, its statement
    (not given: the stored statement is kept; None or '': cleared)."""
    strat = parse_choice("strategy", strategy, STRATEGIES)
    if strat is None:
        raise StrategyError(f"strategy: required, {' or '.join(STRATEGIES)}")
    name = _known_name(store, "segment", segment, known_segments, allow_new)

    def make(cur, before):
        stmt = (before or {}).get("statement") if statement is _KEEP else values.text(statement)
        return {"segment": name, "strategy": strat, "statement": stmt}

    return change(store, "segments", name, make, user)


def delete_segment(store: Store, segment: str, user: str | None = None) -> int:
    return _delete(store, "segments", "segment strategy for", segment, user)


def set_channel_kind(store: Store, channel: str, kind: str, user: str | None = None, *,
                     allow_new: bool = False) -> int | None:
    """Say whether a channel is assisted or self_service; rebuilds f_interactions in the same
    transaction, so every KPI that uses the kind (self_service_share, advisor_logged_rate, the
    continuity indices) follows."""
    k = parse_choice("kind", kind, KINDS)
    if k is None:
        raise StrategyError(f"kind: required, {' or '.join(KINDS)}")
    name = _known_name(store, "channel", channel, known_channels, allow_new)
    return change(store, "channels", name, lambda cur, before: {"channel": name, "kind": k}, user)


def delete_channel(store: Store, channel: str, user: str | None = None) -> int:
    """Remove a channel's row: its kind falls back to the default by name."""
    return _delete(store, "channels", "channel kind for", channel, user)


def set_setting(store: Store, key: str, value: Any, user: str | None = None) -> int | None:
    """Set a setting (None or '' resets it to its default)."""
    text = normalise_setting(key, value)
    if key in ("pace_on_track", "pace_off_track") and text is not None:
        other = "pace_off_track" if key == "pace_on_track" else "pace_on_track"
        low, high = (float(store.settings()[other]), float(text)) if key == "pace_on_track" \
            else (float(text), float(store.settings()[other]))
        if low > high:  # the pace bands would overlap: at_risk would be empty and on/off track ambiguous
            raise StrategyError(f"{key}: pace_off_track ({low:g}) must not exceed pace_on_track ({high:g})")
    return change(store, "settings", key,
                   lambda cur, before: None if text is None else {"key": key, "value": text}, user)


# -- revert and history ----------------------------------------------------------------------------
def list_changes(store: Store, table: str | None = None, key: str | None = None,
                 limit: int | None = None) -> pd.DataFrame:
    """The audit log, newest first."""
    cur = store.cursor()
    try:
        ensure_tables(cur)
        where, params = [], []
        if table:
            where.append("table_name = ?")
            params.append(table)
        if key is not None:
            where.append("key = ?")
            params.append(key)
        sql = f"SELECT {', '.join(CHANGE_COLUMNS)} FROM strategy_changes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY change_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        res = cur.execute(sql, params)
        df = pd.DataFrame(res.fetchall(), columns=list(CHANGE_COLUMNS), dtype=object)
        df["change_id"] = df["change_id"].astype("int64")
        return df
    finally:
        cur.close()


def revert_change(store: Store, change_id: int, user: str | None = None) -> int | None:
    """Put the row the change touched back as it was before it (a deleted row comes back, an
    inserted one goes, an updated one gets its previous values). Recorded as a change of its own;
    returns its id, or None when the row already is in that state."""
    cur = store.cursor()
    try:
        ensure_tables(cur)
        row = cur.execute("SELECT table_name, key, before FROM strategy_changes WHERE change_id = ?",
                          [int(change_id)]).fetchone()
    finally:
        cur.close()
    if row is None:
        raise StrategyError(f"change_id: there is no change {change_id}")
    table, key, before = row
    target = None if before is None else json.loads(before)
    return change(store, table, key, lambda cur, now: target, user, source=f"revert of change {int(change_id)}")
