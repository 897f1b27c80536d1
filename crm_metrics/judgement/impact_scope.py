"""Initiatives as records, and their treated / control scopes (strategy.md, "Initiative impact").

    initiatives(store) -> list of records; go_live(store, id) -> date
    scopes(store, channel, segment) -> Scopes(treated, control, notes)

Used by :mod:`crm_metrics.judgement.impact` (which re-exports these names).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from crm_metrics.data import values
from crm_metrics.data.schema import UNKNOWN


class ImpactError(ValueError):
    """An impact request that cannot be answered (bad window, unknown initiative)."""


class UnknownInitiativeError(ImpactError):
    """No initiative with the given id."""


# -- reading initiatives --------------------------------------------------------------------------




def as_day(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def initiatives(store) -> list[dict[str, Any]]:
    """The initiatives table as records ordered by initiative_id (text cells trimmed, empty = None)."""
    cur = store.cursor()
    try:
        res = cur.execute("SELECT * FROM initiatives ORDER BY initiative_id")
        names = [d[0] for d in res.description]
        rows = [dict(zip(names, r)) for r in res.fetchall()]
    finally:
        cur.close()
    for r in rows:
        for k in ("initiative_id", "name", "channel", "segment", "kpi", "objective"):
            r[k] = values.text(r.get(k))
        r["go_live"] = as_day(r["go_live"])
        r["cost"] = values.number(r.get("cost"))
        r["budget"] = values.number(r.get("budget"))
    return rows


def initiative_row(store, initiative_id: str) -> dict[str, Any]:
    rows = initiatives(store)
    want = str(initiative_id).strip()
    for r in rows:
        if r["initiative_id"] == want:
            return r
    known = ", ".join(r["initiative_id"] for r in rows[:20]) or "none loaded (load initiatives.csv)"
    raise UnknownInitiativeError(f"unknown initiative {initiative_id!r}; initiatives: {known}.")


def go_live(store, initiative_id: str) -> dt.date:
    """The go-live date of an initiative (UnknownInitiativeError when there is none with that id)."""
    return initiative_row(store, initiative_id)["go_live"]


def check_window(window_days: Any) -> int:
    bad = ImpactError(f"window_days must be a whole number of days, got {window_days!r}.")
    if isinstance(window_days, bool):
        raise bad
    try:
        w = int(str(window_days).strip()) if isinstance(window_days, str) else int(window_days)
    except (TypeError, ValueError):
        raise bad from None
    if w != window_days and not isinstance(window_days, str):
        raise bad
    if w < 1:
        raise ImpactError(f"window_days must be at least 1, got {w}.")
    return w


# -- scopes ----------------------------------------------------------------------------------------
_DIM_VALUES_SQL = {
    "channel": """
        SELECT channel AS v FROM f_interactions UNION SELECT channel FROM f_transactions
        UNION SELECT channel FROM f_surveys
        UNION SELECT COALESCE(NULLIF(TRIM(acquisition_channel), ''), '{u}') FROM customers""",
    "segment": """
        SELECT segment AS v FROM f_interactions UNION SELECT segment FROM f_transactions
        UNION SELECT segment FROM f_surveys UNION SELECT COALESCE(segment, '{u}') FROM customers""",
}


def dimension_values(store, dim: str) -> list[str]:
    """Every value of the channel or segment dimension present anywhere in the data (incl. (unknown))."""
    cur = store.cursor()
    try:
        rows = cur.execute(_DIM_VALUES_SQL[dim].format(u=UNKNOWN)).fetchall()
    finally:
        cur.close()
    return sorted({r[0] for r in rows if r[0] is not None})


@dataclass(frozen=True)
class Scope:
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()


@dataclass
class Scopes:
    treated: Scope
    control: Scope | None
    notes: list[str] = field(default_factory=list)


def scopes(store, channel: str | None, segment: str | None) -> Scopes:
    """Treated and control scopes of an initiative.

    - channel only: treated = that channel (all segments); control = every other channel (all segments);
    - segment only: treated = that segment (all channels); control = every other segment (all channels);
    - both: treated = channel x segment; control = other channels x other segments (rows that share
      neither the channel nor the segment, so that the control is touched by neither lever);
    - neither: treated = everything, no control group.
    "Other" values are listed from the data (all fact tables and customers), ``(unknown)`` included.
    """
    notes: list[str] = []
    treated = Scope(channels=(channel,) if channel else (), segments=(segment,) if segment else ())
    if not channel and not segment:
        return Scopes(treated, None, notes)
    other_ch = _others(store, "channel", channel, notes) if channel else ()
    other_sg = _others(store, "segment", segment, notes) if segment else ()
    if (channel and not other_ch) or (segment and not other_sg):
        return Scopes(treated, None, notes)
    return Scopes(treated, Scope(channels=other_ch, segments=other_sg), notes)


def _others(store: Any, dim: str, value: str, notes: list[str]) -> tuple[str, ...]:
    """The dimension's values other than the initiative's (the control group's), noting in ``notes``
    a value the data does not have and a control group that cannot be formed."""
    known = dimension_values(store, dim)
    if value not in known:
        notes.append(f"{dim} {value!r} does not occur in the data")
    others = tuple(v for v in known if v != value)
    if not others:
        notes.append(f"no {dim} other than {value!r} in the data: no control group")
    return others


def go_lives(store, kpi_id: str, channels: tuple[str, ...] = (), segments: tuple[str, ...] = (),
             default_kpi: str = "revenue_per_customer") -> list[dict[str, Any]]:
    """The initiatives a trend chart of ``kpi_id`` over ``channels`` / ``segments`` should mark:
    those measured on that KPI (no KPI stated: ``default_kpi``) whose scope the chart shows — an
    initiative on channel X fits a chart of all channels or of channels including X (the same for
    segments). Records of initiative_id, name, go_live, channel, segment, ordered by go-live."""
    out = []
    for r in initiatives(store):
        if (r["kpi"] or default_kpi) != kpi_id:
            continue
        if r["channel"] and channels and r["channel"] not in channels:
            continue
        if r["segment"] and segments and r["segment"] not in segments:
            continue
        out.append({k: r[k] for k in ("initiative_id", "name", "go_live", "channel", "segment")})
    return sorted(out, key=lambda x: (x["go_live"], x["initiative_id"]))
