"""What a strategy edit may say: the vocabularies, the value parsers, the KPI catalogue's rules,
names seen in the data, and the checks of goals and settings (also run on CSV loads)."""
from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from typing import Any

import duckdb

from crm_metrics.data import values
from crm_metrics.data.schema import SETTINGS_DEFAULTS, TABLES, parse_flag

EDITABLE_TABLES = ("goals", "segments", "channels", "settings")
CONTRACT_TABLES = ("goals", "segments", "channels")
ACTIONS = ("insert", "update", "delete")
DEFAULT_TOLERANCE = 0.05
DIRECTIONS = ("at_least", "at_most")
STRATEGIES = ("relationship", "transactional")
KINDS = ("assisted", "self_service")

# Upper bounds of numeric settings beyond "a number >= 0" (shares and thresholds).
_SETTING_MAX = {"relationship_upc_threshold": 1.0, "alignment_threshold": 100.0, "alert_deadband": 1.0,
                "pace_on_track": 1.0, "pace_off_track": 1.0, "unknown_customer_warn_share": 1.0}
_SETTING_POSITIVE = ("fcr_window_days",)


class StrategyError(ValueError):
    """An edit the rules refuse; the message names the field and what would be accepted."""


# -- small value parsers ---------------------------------------------------------------------
def parse_number(field: str, v: Any, what: str = "a number") -> float | None:
    if values.is_blank(v):
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


def parse_date(field: str, v: Any) -> dt.date | None:
    if values.is_blank(v):
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


def parse_choice(field: str, v: Any, choices: tuple[str, ...]) -> str | None:
    s = values.text(v)
    if s is None:
        return None
    norm = s.lower().replace("-", "_").replace(" ", "_")
    if norm not in choices:
        raise StrategyError(f"{field}: must be {' or '.join(choices)}, got {s!r}")
    return norm


# -- KPI catalogue ------------------------------------------------------------------------------
def catalogue() -> dict[str, Any]:
    from crm_metrics.metrics.kpis import KPIS
    return KPIS


def resolve_kpi(value: Any) -> tuple[str | None, str | None]:
    """(kpi id, None) or (None, the reason it is refused)."""
    kpis = catalogue()
    s = values.text(value)
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


def resolve_name(field: str, value: Any, data: list[str], table: list[str], *, table_first: bool,
                  allow_new: bool = False) -> str | None:
    s = values.text(value)
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
    return refuse(f"{field}: unknown {field} {s!r}: it appears neither in the data ({where}) nor in the "
                   f"{field}s table; known {field}s: {shown or 'none yet'}")


def refuse(message: str) -> Any:
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
    out["goal_id"] = values.text(row["goal_id"]) or refuse("goal_id: required (a short unique name for the goal)")
    kpi_id, why = resolve_kpi(row["kpi"])
    if kpi_id is None:
        raise StrategyError(f"kpi: {why}")
    kpi = catalogue()[kpi_id]
    out["kpi"] = kpi_id
    target = parse_number("target", row["target"], f"a number in the KPI's unit ({kpi.unit})")
    if target is None:
        raise StrategyError(f"target: required (a number in the KPI's unit, {kpi.unit})")
    out["target"] = target
    out["direction"] = parse_choice("direction", row["direction"], DIRECTIONS)
    if out["direction"] is None and kpi.better == "neutral":
        raise StrategyError(f"direction: {_neutral_rule(kpi)}")
    for dim in ("channel", "segment"):
        v = values.text(row[dim])
        if v is not None:
            rule = _scope_rule(kpi, dim)
            if rule:
                raise StrategyError(f"{dim}: {rule}")
            if check_scope and not (before and before.get(dim) == v):
                data, table = known_segments(cur) if dim == "segment" else known_channels(cur)
                v = resolve_name(dim, v, data, table, table_first=False)
        out[dim] = v
    out["period_start"] = parse_date("period_start", row["period_start"])
    out["period_end"] = parse_date("period_end", row["period_end"])
    if out["period_start"] and out["period_end"] and out["period_end"] < out["period_start"]:
        raise StrategyError(f"period_end: {out['period_end']} is before period_start {out['period_start']}")
    tol = parse_number("tolerance", row["tolerance"], "a number >= 0 (a fraction of |target|, e.g. 0.05)")
    if tol is not None and tol < 0:
        raise StrategyError(f"tolerance: must be >= 0 (a fraction of |target|, e.g. 0.05), got {tol:g}")
    out["tolerance"] = tol
    out["objective"] = values.text(row["objective"])
    out["owner"] = values.text(row["owner"])
    return out


# -- settings ------------------------------------------------------------------------------------
def normalise_setting(key: str, value: Any) -> str | None:
    """The text to store for a setting (None: back to the default)."""
    if key not in SETTINGS_DEFAULTS:
        raise StrategyError(f"setting: unknown setting {key!r}; known settings: {', '.join(SETTINGS_DEFAULTS)}")
    if values.is_blank(value):
        return None
    default = SETTINGS_DEFAULTS[key]
    if isinstance(default, bool):
        try:
            return "true" if parse_flag(key, value) else "false"
        except ValueError as e:
            raise StrategyError(f"{key}: {e}") from None
    if not isinstance(default, float):
        return str(value).strip()
    x = parse_number(key, value, "a number >= 0")
    assert x is not None
    if x < 0 or (key in _SETTING_POSITIVE and x == 0):
        raise StrategyError(f"{key}: must be {'> 0' if key in _SETTING_POSITIVE else '>= 0'}, got {x:g}")
    if key in _SETTING_MAX and x > _SETTING_MAX[key]:
        raise StrategyError(f"{key}: must be at most {_SETTING_MAX[key]:g}, got {x:g}")
    return repr(x)


# -- the table rules the load's callers pass to ingest.load_file (table_rules=staged_problems) --------
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
    kpis = catalogue()
    for r, kpi_id, direction, channel, segment, p_start, p_end in cur.execute(
            f"SELECT rowid, {select} FROM {stage} ORDER BY rowid").fetchall():
        if kpi_id is not None:
            if kpi_id not in kpis:
                _, why = resolve_kpi(kpi_id)
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
