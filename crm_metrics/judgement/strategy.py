"""Goals, segment strategies, channel kinds and settings: read, edit, import and export.

Every edit is validated (a clear message naming the field), runs as one transaction under the
store's write lock, bumps the data version and is recorded in the audit table
``strategy_changes`` with the row before and after as JSON, so any change can be reverted
(the revert being a change in its own right). CSV imports go through :func:`ingest.load_file`,
so the data contract's rules apply; ingest calls :func:`staged_problems` for the rules that span
columns or the KPI catalogue and :func:`load_auditor` to record what a load changed.

Choices (see docs/strategy.md):
- An unknown KPI id is refused (the message lists the known ones). A goal on a neutral KPI must
  state its direction.
- A goal's channel / segment must have been seen somewhere: in the data (customers, interactions,
  transactions, surveys) or in the channels / segments tables. A name that differs only in case
  or surrounding spaces is stored with the spelling already in use. A name never seen anywhere is
  refused (it is almost always a typo, and the goal would silently show no data). CSV loads do
  not apply this rule, because files may arrive in any order.
- ``set_segment_strategy`` / ``set_channel_kind`` refuse a name never seen anywhere unless
  ``allow_new=True`` (declaring a strategy before the segment's customers are loaded).
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import duckdb
import pandas as pd

from crm_metrics.data.schema import SETTINGS_DEFAULTS, TABLES, parse_flag
from crm_metrics.data.store import Store

EDITABLE_TABLES = ("goals", "segments", "channels", "settings")
CONTRACT_TABLES = ("goals", "segments", "channels")
ACTIONS = ("insert", "update", "delete")
DEFAULT_TOLERANCE = 0.05
DIRECTIONS = ("at_least", "at_most")
STRATEGIES = ("relationship", "transactional")
KINDS = ("assisted", "self_service")

CHANGES_DDL = """CREATE TABLE IF NOT EXISTS strategy_changes (
    change_id BIGINT, changed_at TIMESTAMP, changed_by VARCHAR, table_name VARCHAR, key VARCHAR,
    action VARCHAR, before VARCHAR, after VARCHAR, source VARCHAR)"""
CHANGE_COLUMNS = ("change_id", "changed_at", "changed_by", "table_name", "key", "action", "before",
                  "after", "source")

# Upper bounds of numeric settings beyond "a number >= 0" (shares and thresholds).
_SETTING_MAX = {"relationship_upc_threshold": 1.0, "alignment_threshold": 100.0, "alert_deadband": 1.0,
                "pace_on_track": 1.0, "pace_off_track": 1.0}
_SETTING_POSITIVE = ("fcr_window_days",)


class StrategyError(ValueError):
    """An edit the rules refuse; the message names the field and what would be accepted."""


# -- small value parsers ---------------------------------------------------------------------
def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        if v is pd.NaT or (not isinstance(v, (str, bytes)) and pd.isna(v)):
            return True
    except (TypeError, ValueError):
        pass
    return isinstance(v, str) and not v.strip()


def _text(v: Any) -> str | None:
    return None if _missing(v) else str(v).strip()


def _number(field: str, v: Any, what: str = "a number") -> float | None:
    if _missing(v):
        return None
    if isinstance(v, bool):
        raise StrategyError(f"{field}: must be {what}, got {v!r}")
    if isinstance(v, (int, float)) or hasattr(v, "item"):
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise StrategyError(f"{field}: must be {what}, got {v!r}") from None
    else:
        s = str(v).strip().replace(" ", "").replace("\u00a0", "")
        try:
            x = float(s)
        except ValueError:
            if s.count(",") == 1 and "." not in s:  # decimal comma: "0,05"
                try:
                    x = float(s.replace(",", "."))
                except ValueError:
                    raise StrategyError(f"{field}: must be {what}, got {v!r}") from None
            else:
                raise StrategyError(f"{field}: must be {what}, got {v!r}") from None
    if math.isnan(x) or math.isinf(x):
        raise StrategyError(f"{field}: must be {what}, got {v!r}")
    return x


def _date(field: str, v: Any) -> dt.date | None:
    if _missing(v):
        return None
    if isinstance(v, dt.datetime):  # includes pandas.Timestamp
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    try:
        return dt.date.fromisoformat(s[:10]) if len(s) >= 10 else dt.date.fromisoformat(s)
    except ValueError:
        raise StrategyError(f"{field}: must be a date (YYYY-MM-DD), got {v!r}") from None


def _choice(field: str, v: Any, choices: tuple[str, ...]) -> str | None:
    s = _text(v)
    if s is None:
        return None
    norm = s.lower().replace("-", "_").replace(" ", "_")
    if norm not in choices:
        raise StrategyError(f"{field}: must be {' or '.join(choices)}, got {s!r}")
    return norm


def _current_user(user: str | None) -> str:
    if user:
        return user
    from crm_metrics.data.ingest import _current_user as who
    return who()


# -- KPI catalogue ------------------------------------------------------------------------------
def _catalogue() -> dict[str, Any]:
    from crm_metrics.metrics.kpis import KPIS
    return KPIS


def _resolve_kpi(value: Any) -> tuple[str | None, str | None]:
    """(kpi id, None) or (None, the reason it is refused)."""
    kpis = _catalogue()
    s = _text(value)
    if s is None:
        return None, "required: a KPI id from the catalogue"
    if s in kpis:
        return s, None
    low = s.lower().replace(" ", "_").replace("-", "_")
    if low in kpis:
        return low, None
    near = [k for k in kpis if k.startswith(low)] or difflib.get_close_matches(low, list(kpis), n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return None, f"unknown KPI {s!r}{hint}; known KPIs: {', '.join(kpis)}"


def _kpi_name(kpi: Any) -> str:
    return f"{kpi.id} ({kpi.label})"


def _neutral_rule(kpi: Any) -> str:
    return (f"KPI {_kpi_name(kpi)} is neutral (neither higher nor lower is better), so the goal must "
            f"say whether the actual should be at_least or at_most the target")


def _scope_rule(kpi: Any, dim: str) -> str | None:
    if kpi.supports(dim):
        return None
    return (f"KPI {_kpi_name(kpi)} cannot be scoped to a {dim}; it supports: "
            f"{', '.join(kpi.dimensions)}")


# -- transactions and the audit log ---------------------------------------------------------
def ensure_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the audit table if it does not exist (called on first use)."""
    cur.execute(CHANGES_DDL)


@contextmanager
def _transaction(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    with store.write_lock:
        cur = store.cursor()
        try:
            cur.execute("BEGIN")
            ensure_tables(cur)
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        finally:
            cur.close()


def _key_column(table: str) -> str:
    return "key" if table == "settings" else TABLES[table].key


def _columns(table: str) -> tuple[str, ...]:
    return ("key", "value") if table == "settings" else TABLES[table].column_names


def _json_form(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready values in column order: dates ISO text, numbers float, empties None."""
    out: dict[str, Any] = {}
    for c in _columns(table):
        v = row.get(c)
        if _missing(v):
            v = None
        elif isinstance(v, (dt.date, dt.datetime)):
            v = (v.date() if isinstance(v, dt.datetime) else v).isoformat()
        elif hasattr(v, "item") and not isinstance(v, str):
            v = v.item()
        if isinstance(v, int) and not isinstance(v, bool) and table != "settings":
            v = float(v)
        out[c] = v
    return out


def _db_values(table: str, row: Mapping[str, Any]) -> list[Any]:
    vals = []
    for c in _columns(table):
        v = row.get(c)
        if table != "settings" and v is not None and TABLES[table].column(c).type == "date":
            v = dt.date.fromisoformat(v) if isinstance(v, str) else v
        vals.append(v)
    return vals


def _read_row(cur: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[str, Any] | None:
    cols = _columns(table)
    row = cur.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {_key_column(table)} = ? LIMIT 1",
                      [key]).fetchone()
    return _json_form(table, dict(zip(cols, row))) if row else None


def _read_all(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, Any]]:
    cols = _columns(table)
    k = _key_column(table)
    out = {}
    for row in cur.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall():
        r = _json_form(table, dict(zip(cols, row)))
        out[r[k]] = r
    return out


def _write_row(cur: duckdb.DuckDBPyConnection, table: str, key: str, row: Mapping[str, Any] | None) -> None:
    cur.execute(f"DELETE FROM {table} WHERE {_key_column(table)} = ?", [key])
    if row is not None:
        cols = _columns(table)
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    _db_values(table, row))


def _record(cur: duckdb.DuckDBPyConnection, table: str, key: str, before: dict | None, after: dict | None,
            user: str, source: str) -> int:
    action = "insert" if before is None else ("delete" if after is None else "update")
    cid = int(cur.execute("SELECT coalesce(max(change_id), 0) + 1 FROM strategy_changes").fetchone()[0])
    cur.execute(
        "INSERT INTO strategy_changes VALUES (?, CAST(timezone('UTC', now()) AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)",
        [cid, user, table, key, action,
         None if before is None else json.dumps(before, ensure_ascii=False),
         None if after is None else json.dumps(after, ensure_ascii=False), source])
    return cid


Maker = Callable[[duckdb.DuckDBPyConnection, "dict[str, Any] | None"], "dict[str, Any] | None"]


def _change(store: Store, table: str, key: str, make: Maker, user: str | None, source: str = "app") -> int | None:
    """One change in one transaction: before -> make(cur, before) -> write, audit, facts, version.

    Returns the change id, or None when the row already was as asked (nothing recorded)."""
    who = _current_user(user)
    with _transaction(store) as cur:
        before = _read_row(cur, table, key)
        after = make(cur, before)
        if after is not None:
            after = _json_form(table, after)
        if after == before:
            return None
        _write_row(cur, table, key, after)
        cid = _record(cur, table, key, before, after, who, source)
        if table == "channels":
            store.refresh_facts(cur, Store.facts_for(["channels"]))
        store.bump_version(cur)
        return cid


# -- names seen in the data -------------------------------------------------------------------
def _distinct(cur: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [r[0] for r in cur.execute(
        f"SELECT DISTINCT v FROM ({sql}) x WHERE v IS NOT NULL AND v <> '' ORDER BY v").fetchall()]


def known_segments(cur: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(segments in the data, segments in the segments table)."""
    data = _distinct(cur, "SELECT trim(segment) v FROM customers UNION ALL SELECT segment FROM f_interactions "
                          "UNION ALL SELECT segment FROM f_transactions UNION ALL SELECT segment FROM f_surveys")
    table = _distinct(cur, "SELECT trim(segment) v FROM segments")
    return data, table


def known_channels(cur: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(channels in the data, channels in the channels table)."""
    data = _distinct(cur, "SELECT channel v FROM f_interactions UNION ALL SELECT channel FROM f_transactions "
                          "UNION ALL SELECT channel FROM f_surveys "
                          "UNION ALL SELECT trim(acquisition_channel) FROM customers")
    table = _distinct(cur, "SELECT trim(channel) v FROM channels")
    return data, table


def _match(value: str, pools: list[list[str]]) -> str | None:
    for pool in pools:
        if value in pool:
            return value
    for pool in pools:
        hits = sorted({p for p in pool if p.lower() == value.lower()})
        if len(hits) == 1:
            return hits[0]
    return None


def _resolve_name(field: str, value: Any, data: list[str], table: list[str], *, table_first: bool,
                  allow_new: bool = False) -> str | None:
    s = _text(value)
    if s is None:
        return None
    pools = [table, data] if table_first else [data, table]
    hit = _match(s, pools)
    if hit is not None or allow_new:
        return hit or s
    known = sorted(set(data) | set(table))
    shown = ", ".join(known[:30]) + (f", ... ({len(known)} in all)" if len(known) > 30 else "")
    where = "customers, interactions, transactions, surveys" if field == "segment" else \
        "interactions, transactions, surveys, customers' acquisition_channel"
    return _refuse(f"{field}: unknown {field} {s!r}: it appears neither in the data ({where}) nor in the "
                   f"{field}s table; known {field}s: {shown or 'none yet'}")


def _refuse(message: str) -> Any:
    raise StrategyError(message)


# -- goals --------------------------------------------------------------------------------------
GOAL_FIELDS = TABLES["goals"].column_names


def normalise_goal(cur: duckdb.DuckDBPyConnection, goal: Mapping[str, Any],
                   before: Mapping[str, Any] | None = None, *, check_scope: bool = True) -> dict[str, Any]:
    """Validate a goal (merged over ``before``: fields not given keep their value) and return the
    row to store. Raises StrategyError naming the field."""
    unknown = [k for k in goal if k not in GOAL_FIELDS]
    if unknown:
        raise StrategyError(f"unknown goal field{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(map(repr, unknown))}; goal fields are: {', '.join(GOAL_FIELDS)}")
    row: dict[str, Any] = {c: None for c in GOAL_FIELDS}
    row.update(before or {})
    row.update(goal)
    out: dict[str, Any] = {}
    out["goal_id"] = _text(row["goal_id"]) or _refuse("goal_id: required (a short unique name for the goal)")
    kpi_id, why = _resolve_kpi(row["kpi"])
    if kpi_id is None:
        raise StrategyError(f"kpi: {why}")
    kpi = _catalogue()[kpi_id]
    out["kpi"] = kpi_id
    target = _number("target", row["target"], f"a number in the KPI's unit ({kpi.unit})")
    if target is None:
        raise StrategyError(f"target: required (a number in the KPI's unit, {kpi.unit})")
    out["target"] = target
    out["direction"] = _choice("direction", row["direction"], DIRECTIONS)
    if out["direction"] is None and kpi.better == "neutral":
        raise StrategyError(f"direction: {_neutral_rule(kpi)}")
    for dim in ("channel", "segment"):
        v = _text(row[dim])
        if v is not None:
            rule = _scope_rule(kpi, dim)
            if rule:
                raise StrategyError(f"{dim}: {rule}")
            if check_scope and not (before and before.get(dim) == v):
                data, table = known_segments(cur) if dim == "segment" else known_channels(cur)
                v = _resolve_name(dim, v, data, table, table_first=False)
        out[dim] = v
    out["period_start"] = _date("period_start", row["period_start"])
    out["period_end"] = _date("period_end", row["period_end"])
    if out["period_start"] and out["period_end"] and out["period_end"] < out["period_start"]:
        raise StrategyError(f"period_end: {out['period_end']} is before period_start {out['period_start']}")
    tol = _number("tolerance", row["tolerance"], "a number >= 0 (a fraction of |target|, e.g. 0.05)")
    if tol is not None and tol < 0:
        raise StrategyError(f"tolerance: must be >= 0 (a fraction of |target|, e.g. 0.05), got {tol:g}")
    out["tolerance"] = tol
    out["objective"] = _text(row["objective"])
    out["owner"] = _text(row["owner"])
    return out


def upsert_goal(store: Store, goal: Mapping[str, Any], user: str | None = None) -> int | None:
    """Insert a goal or update it (fields not given keep their stored value; give None or '' to
    clear one). Returns the change id, None when nothing changed."""
    goal_id = _text(goal.get("goal_id"))
    if goal_id is None:
        raise StrategyError("goal_id: required (a short unique name for the goal)")
    return _change(store, "goals", goal_id,
                   lambda cur, before: normalise_goal(cur, {**goal, "goal_id": goal_id}, before), user)


def delete_goal(store: Store, goal_id: str, user: str | None = None) -> int:
    return _delete(store, "goals", "goal", goal_id, user)


def _delete(store: Store, table: str, what: str, key: Any, user: str | None) -> int:
    k = _text(key)

    def make(cur, before):
        if before is None:
            raise StrategyError(f"{_key_column(table)}: there is no {what} {k!r} to delete")
        return None

    cid = _change(store, table, k or "", make, user)
    assert cid is not None
    return cid


# -- segments and channels -----------------------------------------------------------------------
_KEEP = object()


def set_segment_strategy(store: Store, segment: str, strategy: str, statement: Any = _KEEP,
                         user: str | None = None, *, allow_new: bool = False) -> int | None:
    """State a segment's strategy (relationship / transactional) and, optionally, its statement
    (not given: the stored statement is kept; None or '': cleared)."""
    strat = _choice("strategy", strategy, STRATEGIES)
    if strat is None:
        raise StrategyError(f"strategy: required, {' or '.join(STRATEGIES)}")
    if _text(segment) is None:
        raise StrategyError("segment: required")
    cur = store.cursor()
    try:
        data, table = known_segments(cur)
    finally:
        cur.close()
    name = _resolve_name("segment", segment, data, table, table_first=True, allow_new=allow_new)

    def make(cur, before):
        stmt = (before or {}).get("statement") if statement is _KEEP else _text(statement)
        return {"segment": name, "strategy": strat, "statement": stmt}

    return _change(store, "segments", name, make, user)


def delete_segment(store: Store, segment: str, user: str | None = None) -> int:
    return _delete(store, "segments", "segment strategy for", segment, user)


def set_channel_kind(store: Store, channel: str, kind: str, user: str | None = None, *,
                     allow_new: bool = False) -> int | None:
    """Say whether a channel is assisted or self_service; rebuilds f_interactions in the same
    transaction, so every KPI that uses the kind (self_service_share, advisor_logged_rate, the
    continuity indices) follows."""
    k = _choice("kind", kind, KINDS)
    if k is None:
        raise StrategyError(f"kind: required, {' or '.join(KINDS)}")
    if _text(channel) is None:
        raise StrategyError("channel: required")
    cur = store.cursor()
    try:
        data, table = known_channels(cur)
    finally:
        cur.close()
    name = _resolve_name("channel", channel, data, table, table_first=True, allow_new=allow_new)
    return _change(store, "channels", name, lambda cur, before: {"channel": name, "kind": k}, user)


def delete_channel(store: Store, channel: str, user: str | None = None) -> int:
    """Remove a channel's row: its kind falls back to the default by name."""
    return _delete(store, "channels", "channel kind for", channel, user)


# -- settings ------------------------------------------------------------------------------------
def normalise_setting(key: str, value: Any) -> str | None:
    """The text to store for a setting (None: back to the default)."""
    if key not in SETTINGS_DEFAULTS:
        raise StrategyError(f"setting: unknown setting {key!r}; known settings: {', '.join(SETTINGS_DEFAULTS)}")
    if _missing(value):
        return None
    default = SETTINGS_DEFAULTS[key]
    if isinstance(default, bool):
        try:
            return "true" if parse_flag(key, value) else "false"
        except ValueError as e:
            raise StrategyError(f"{key}: {e}") from None
    if not isinstance(default, float):
        return str(value).strip()
    x = _number(key, value, "a number >= 0")
    assert x is not None
    if x < 0 or (key in _SETTING_POSITIVE and x == 0):
        raise StrategyError(f"{key}: must be {'> 0' if key in _SETTING_POSITIVE else '>= 0'}, got {x:g}")
    if key in _SETTING_MAX and x > _SETTING_MAX[key]:
        raise StrategyError(f"{key}: must be at most {_SETTING_MAX[key]:g}, got {x:g}")
    return repr(x)


def set_setting(store: Store, key: str, value: Any, user: str | None = None) -> int | None:
    """Set a setting (None or '' resets it to its default)."""
    text = normalise_setting(key, value)
    if key in ("pace_on_track", "pace_off_track") and text is not None:
        other = "pace_off_track" if key == "pace_on_track" else "pace_on_track"
        low, high = (float(store.settings()[other]), float(text)) if key == "pace_on_track" \
            else (float(text), float(store.settings()[other]))
        if low > high:  # the pace bands would overlap: at_risk would be empty and on/off track ambiguous
            raise StrategyError(f"{key}: pace_off_track ({low:g}) must not exceed pace_on_track ({high:g})")
    return _change(store, "settings", key,
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
    return _change(store, table, key, lambda cur, now: target, user, source=f"revert of change {int(change_id)}")


# -- reading ---------------------------------------------------------------------------------------
def _frame(store: Store, table: str, order: str) -> pd.DataFrame:
    cols = _columns(table)
    cur = store.cursor()
    try:
        res = cur.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}")
        df = pd.DataFrame(res.fetchall(), columns=list(cols), dtype=object)  # text: None, not NaN
    finally:
        cur.close()
    for c in cols:
        if table != "settings" and TABLES[table].column(c).type in ("number", "integer"):
            df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def goals(store: Store) -> pd.DataFrame:
    """The goals table (contract columns, by goal_id)."""
    return _frame(store, "goals", "goal_id")


def segments(store: Store) -> pd.DataFrame:
    """The segments table: segment, strategy, statement."""
    return _frame(store, "segments", "segment")


def channels(store: Store) -> pd.DataFrame:
    """The channels table as stored: channel, kind."""
    return _frame(store, "channels", "channel")


def channel_kinds(store: Store) -> pd.DataFrame:
    """Every channel in the interactions or the channels table with its effective kind:
    channel, kind, source ('table' or 'default' by name), contacts."""
    cur = store.cursor()
    try:
        res = cur.execute("""
            WITH seen AS (SELECT channel, kind, count(*) AS contacts FROM f_interactions GROUP BY channel, kind)
            SELECT coalesce(s.channel, trim(c.channel)) AS channel,
                   coalesce(c.kind, s.kind) AS kind,
                   CASE WHEN c.channel IS NULL THEN 'default' ELSE 'table' END AS source,
                   coalesce(s.contacts, 0) AS contacts
            FROM seen s FULL OUTER JOIN channels c ON lower(trim(c.channel)) = lower(s.channel)
            ORDER BY 1""")
        return pd.DataFrame(res.fetchall(), columns=["channel", "kind", "source", "contacts"])
    finally:
        cur.close()


def settings_frame(store: Store) -> pd.DataFrame:
    """Every setting: key, value (effective), default, changed."""
    eff = store.settings()
    rows = [{"key": k, "value": eff[k], "default": d, "changed": eff[k] != d} for k, d in SETTINGS_DEFAULTS.items()]
    return pd.DataFrame(rows, columns=["key", "value", "default", "changed"])


# -- CSV export / import -----------------------------------------------------------------------------
def _csv_cell(v: Any) -> Any:
    if _missing(v):
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def export_csv(store: Store, table: str) -> str:
    """CSV text of goals / segments / channels (contract columns) or settings (key, value: every
    setting, effective values), ready for :func:`import_csv` / :func:`import_settings_csv`."""
    if table not in EDITABLE_TABLES:
        raise StrategyError(f"table: {table!r} cannot be exported here; use one of {', '.join(EDITABLE_TABLES)}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if table == "settings":
        w.writerow(["key", "value"])
        for k, v in store.settings().items():
            w.writerow([k, _csv_cell(v)])
        return buf.getvalue()
    df = {"goals": goals, "segments": segments, "channels": channels}[table](store)
    w.writerow(list(df.columns))
    for row in df.itertuples(index=False):
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def import_csv(store: Store, table: str, source: bytes | str | os.PathLike[str], *, mode: str = "merge",
               user: str | None = None, file_name: str | None = None):
    """Load goals / segments / channels from CSV through ingest.load_file (the data contract's
    rules, plus :func:`staged_problems`). ``source``: a path (os.PathLike), the file's bytes, or
    CSV text (str). Returns the LoadReport; raises ingest.LoadRefused with line-numbered problems.
    Every row the load changes is recorded in the audit log."""
    from crm_metrics.data.ingest import load_file
    if table not in CONTRACT_TABLES:
        raise StrategyError(f"table: CSV import is for {', '.join(CONTRACT_TABLES)} "
                            f"(settings: import_settings_csv), got {table!r}")
    if isinstance(source, os.PathLike):
        return load_file(store, source, table=table, mode=mode, loaded_by=_current_user(user),
                         file_name=file_name)
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    with tempfile.TemporaryDirectory(prefix="crm-strategy-") as tmp:
        path = Path(tmp) / f"{table}.csv"
        path.write_bytes(data)
        return load_file(store, path, table=table, mode=mode, loaded_by=_current_user(user),
                         file_name=file_name or f"{table}.csv")


def import_settings_csv(store: Store, source: bytes | str, user: str | None = None) -> list[int]:
    """Settings from CSV text with columns key, value (all validated before any is applied)."""
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else source.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"key", "value"} <= {(h or "").strip().lower() for h in rows[0]}:
        raise StrategyError("settings CSV: needs the columns key and value")
    pairs = []
    for i, r in enumerate(rows, start=2):
        r = {(k or "").strip().lower(): v for k, v in r.items()}
        key = (r.get("key") or "").strip()
        if not key:
            continue
        try:
            pairs.append((key, normalise_setting(key, r.get("value"))))
        except StrategyError as e:
            raise StrategyError(f"line {i}: {e}") from None
    ids = []
    for key, text_value in pairs:
        cid = _change(store, "settings", key,
                      lambda cur, before, k=key, v=text_value: None if v is None else {"key": k, "value": v},
                      user, source="import settings.csv")
        if cid is not None:
            ids.append(cid)
    return ids


# -- hooks called by ingest for CSV loads of strategy tables ----------------------------------------
def staged_problems(cur: duckdb.DuckDBPyConnection, stage: str, table: str,
                    exprs: Mapping[str, str]) -> list[tuple[int, str, str | None, str]]:
    """The rules beyond a column's type, on the staged rows of a goals file: unknown KPI, neutral
    KPI without a direction, a scope the KPI does not support, period_end before period_start.
    Returns (rowid, column, value, rule) per problem, in file order."""
    if table != "goals":
        return []
    cols = ("kpi", "direction", "channel", "segment", "period_start", "period_end")
    sql_types = {c: TABLES["goals"].column(c).sql_type for c in cols}
    select = ", ".join(f"({exprs.get(c, 'NULL')})::{sql_types[c]} AS {c}" for c in cols)
    problems: list[tuple[int, str, str | None, str]] = []
    kpis = _catalogue()
    for r, kpi_id, direction, channel, segment, p_start, p_end in cur.execute(
            f"SELECT rowid, {select} FROM {stage} ORDER BY rowid").fetchall():
        if kpi_id is not None:
            if kpi_id not in kpis:
                _, why = _resolve_kpi(kpi_id)
                if kpi_id.lower() in kpis:
                    why = f"KPI ids are lower case: write {kpi_id.lower()}"
                problems.append((r, "kpi", kpi_id, why or "unknown KPI"))
            else:
                kpi = kpis[kpi_id]
                if direction is None and kpi.better == "neutral":
                    problems.append((r, "direction", None, _neutral_rule(kpi)))
                for dim, v in (("channel", channel), ("segment", segment)):
                    rule = _scope_rule(kpi, dim) if v is not None else None
                    if rule:
                        problems.append((r, dim, v, rule))
        if p_start is not None and p_end is not None and p_end < p_start:
            problems.append((r, "period_end", p_end.isoformat(), f"is before period_start {p_start.isoformat()}"))
    return problems


def load_auditor(cur: duckdb.DuckDBPyConnection, table: str, file_name: str) -> Callable[[str], None]:
    """Snapshot ``table`` before a load; the returned function, called after the load's writes in
    the same transaction, records each inserted / updated / deleted row in the audit log."""
    ensure_tables(cur)
    before = _read_all(cur, table)

    def record(user: str) -> None:
        after = _read_all(cur, table)
        for key in sorted(set(before) | set(after), key=str):
            b, a = before.get(key), after.get(key)
            if a != b:
                _record(cur, table, key, b, a, user, f"load {file_name}")

    return record


__all__ = [
    "StrategyError", "EDITABLE_TABLES", "DEFAULT_TOLERANCE", "ensure_tables",
    "goals", "segments", "channels", "channel_kinds", "settings_frame",
    "upsert_goal", "delete_goal", "set_segment_strategy", "delete_segment", "set_channel_kind",
    "delete_channel", "set_setting", "revert_change", "list_changes", "normalise_goal",
    "normalise_setting", "known_segments", "known_channels",
    "export_csv", "import_csv", "import_settings_csv", "staged_problems", "load_auditor",
]
