"""Alerts: what changed since last time (foresight.md, "Alerts: what changed since last time").

    current_state(store)               -> goal rows and non-ok health findings now, by key
    diff(previous, current, mode, ...) -> (changes, the state to record)

Recording the state and measuring against it: crm_metrics.judgement.alert_state.

Rules beyond the spec (docs/operations.md, "Alerts"):
- a goal row seen for the first time (no state recorded yet, a new goal, a new year) is reported
  only when its status is bad (at_risk, missed, off_track); a finding seen for the first time is
  "new" when its severity is warning or critical. Rows that disappear are forgotten silently.
- a finding that improves (critical -> warning) is recorded but not reported (the spec reports
  new, worsened and resolved findings).
- dead band: a flip suppressed by the dead band is *not* recorded as acknowledged: the state keeps
  the status last reported, so a value that then drifts further into the new status is reported.
- for a period in progress the pace boundaries (p_meet = pace_on_track / pace_off_track) are
  placed on the forecast's scale from its 80 % interval, read as a normal spread.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any, Literal

import pandas as pd

from crm_metrics.data import values
from crm_metrics.data.store import Store
from crm_metrics.judgement import checks, health
from crm_metrics.judgement import scorecard as sc
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.metrics.unit_format import SENTENCE, format_value

Mode = Literal["first", "every"]
ChangeKind = Literal["goal_changed", "goal_still_bad", "finding_new", "finding_worsened",
                     "finding_resolved", "finding_still_bad"]
MODES: tuple[str, ...] = ("first", "every")
BAD_STATUSES = ("at_risk", "missed", "off_track")
PACE_STATUSES = ("on_track", "off_track")
SEVERITY_RANK = {"ok": 0, "warning": 1, "critical": 2}
DEFAULT_DEADBAND = 0.005
Z80 = NormalDist().inv_cdf(0.9)  # half-width of an 80 % interval in standard deviations


@dataclass(frozen=True)
class Entry:
    """One goal row (source "goal") or non-ok health finding (source "finding") of a state."""
    key: str
    source: Literal["goal", "finding"]
    id: str
    scope: str | None
    period: str | None
    title: str
    status: str
    final: bool = True
    value: float | None = None
    target: float | None = None
    # for the text and the dead band only (not recorded)
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    id: str
    scope: str | None
    period: str | None
    from_: str | None
    to: str | None
    value: float | None
    target: float | None
    text: str

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "scope": self.scope, "period": self.period,
                "from": self.from_, "to": self.to, "value": self.value, "target": self.target,
                "text": self.text}


# -- words and numbers -------------------------------------------------------------------------------




def _date(v: Any) -> dt.date | None:
    return None if values.is_blank(v) else values.day(v)


def status_words(status: str | None) -> str:
    return "none" if status is None else str(status).replace("_", " ")


def period_label(start: Any, end: Any) -> str | None:
    """2026 (a calendar year), 2026 Q2 (a quarter), 2026-03 (a month), else 2026-01-15..2026-02-14."""
    s, e = _date(start), _date(end)
    if s is None or e is None:
        return None
    if s.day == 1 and (e + dt.timedelta(days=1)).day == 1:
        months = (e.year - s.year) * 12 + e.month - s.month + 1
        if months == 12 and s.month == 1:
            return str(s.year)
        if months == 3 and s.month in (1, 4, 7, 10):
            return f"{s.year} Q{(s.month - 1) // 3 + 1}"
        if months == 1:
            return f"{s.year}-{s.month:02d}"
    return f"{s}..{e}"


def scope_label(channel: Any, segment: Any) -> str:
    parts = [p for p in (values.text(channel), values.text(segment)) if p]
    return " · ".join(parts) if parts else "all"


# -- the current state ---------------------------------------------------------------------------------
def _is_final(row: Mapping[str, Any]) -> bool:
    """Whether the row's period is over; today's scorecard has no ``final`` (every row is judged)."""
    final = row.get("final")
    try:
        if final is not None and not pd.isna(final):
            return bool(final)
    except (TypeError, ValueError):  # not a scalar: judge by the status below
        pass
    return row.get("status") not in PACE_STATUSES and values.number(row.get("forecast")) is None


def goal_entry(row: Mapping[str, Any], currency: str = "") -> Entry:
    kpi = KPIS.get(str(row.get("kpi")))
    unit = kpi.unit if kpi else None
    final = _is_final(row)
    target = values.number(row.get("target"))
    value = values.number(row.get("actual")) if final else values.number(row.get("forecast"))
    if value is None and not final:
        value = values.number(row.get("actual_to_date"))
    direction = row.get("direction")
    sym = {"at_least": "≥ ", "at_most": "≤ "}.get(str(direction), "target ")
    scope, period = scope_label(row.get("channel"), row.get("segment")), period_label(
        row.get("period_start"), row.get("period_end"))
    goal_id = str(row.get("goal_id"))
    key = json.dumps(["goal", goal_id, values.text(row.get("channel")), values.text(row.get("segment")),
                      str(_date(row.get("period_start"))), str(_date(row.get("period_end")))])
    title = f"{kpi.label if kpi else row.get('kpi')} {sym}{format_value(target, unit, currency, style=SENTENCE)}"
    detail = {"unit": unit, "currency": currency, "direction": direction,
              "tolerance": values.number(row.get("tolerance")), "forecast_low": values.number(row.get("forecast_low")),
              "forecast_high": values.number(row.get("forecast_high"))}
    return Entry(key, "goal", goal_id, scope, period, title, str(row.get("status") or "no_data"), final,
                 value, target, detail)


def finding_entry(f: health.Finding) -> Entry:
    key = json.dumps(["finding", f.check_id, f.subject])
    return Entry(key, "finding", f.check_id, f.subject, None, f.title, f.severity,
                 detail={"finding": f.finding})


def _run_checks(ctx: health.HealthContext) -> list[health.Finding]:
    """Every health check over a context shared with the scorecard, so it is computed once."""
    return health.run_in(ctx, checks.CHECKS)


def current_state(store: Store, card: pd.DataFrame | None = None,
                  findings: Iterable[health.Finding] | None = None) -> dict[str, Entry]:
    """Goal rows (keyed by goal id + scope + period) and non-ok findings (by check id + subject),
    computed over the default window (the loaded data's span); pass ``card`` / ``findings`` when
    they were computed already for that window."""
    ctx = health.context(store)
    if card is not None:
        ctx.__dict__["scorecard"] = card  # the context's cached_property: checks reuse it
    currency = str(ctx.settings.get("currency", ""))
    state: dict[str, Entry] = {}
    for row in ctx.scorecard.to_dict(orient="records"):
        e = goal_entry(row, currency)
        state[e.key] = e
    for f in (findings if findings is not None else _run_checks(ctx)):
        if SEVERITY_RANK.get(f.severity, 0) == 0:
            continue
        e = finding_entry(f)
        old = state.get(e.key)  # one key, several findings: keep the worst
        if old is None or SEVERITY_RANK[e.status] > SEVERITY_RANK[old.status]:
            state[e.key] = e
    return state


# -- the dead band ----------------------------------------------------------------------------------------
def _zones(e: Entry, settings: Mapping[str, Any]) -> dict[str, tuple[float, float]] | None:
    """Each status's interval of values, for the entry's target, direction and regime."""
    t, direction = e.target, e.detail.get("direction")
    if t is None or direction not in ("at_least", "at_most"):
        return None
    inf = math.inf
    # zones on the "better" axis of an at_least goal; an at_most goal's are mirrored about the target
    if e.final:
        tol = e.detail.get("tolerance")
        w = abs(t) * (sc.DEFAULT_TOLERANCE if tol is None else tol)
        cuts = {"met": (t, inf), "at_risk": (t - w, t), "missed": (-inf, t - w)}
    else:
        lo, hi = e.detail.get("forecast_low"), e.detail.get("forecast_high")
        sd = (hi - lo) / (2 * Z80) if lo is not None and hi is not None and hi > lo else 0.0
        on = t + _z(settings.get("pace_on_track", 0.7)) * sd
        off = t + _z(settings.get("pace_off_track", 0.3)) * sd
        cuts = {"on_track": (on, inf), "at_risk": (off, on), "off_track": (-inf, off)}
    if direction == "at_least":
        return cuts
    return {s: _mirror(a, b, t) for s, (a, b) in cuts.items()}


def _mirror(a: float, b: float, t: float) -> tuple[float, float]:
    """The interval [a, b] reflected about the target t (for at_most goals)."""
    return (2 * t - b, 2 * t - a)


def _z(p: Any) -> float:
    x = values.number(p)
    x = 0.5 if x is None else min(max(x, 1e-6), 1 - 1e-6)
    return NormalDist().inv_cdf(x)


def within_deadband(prev: Entry, cur: Entry, band: float, settings: Mapping[str, Any]) -> bool:
    """Whether cur's value is within band × |target| of the zone of prev's status: the flip is
    then caused only by a value at the boundary. Only for the same goal, target and regime."""
    if (prev.final != cur.final or prev.target is None or cur.target is None or cur.value is None
            or abs(prev.target - cur.target) > 1e-12 * max(1.0, abs(cur.target)) or prev.title != cur.title
            or "no_data" in (prev.status, cur.status)):
        return False
    zones = _zones(cur, settings)
    if not zones or prev.status not in zones:
        return False
    lo, hi = zones[prev.status]
    distance = max(lo - cur.value, cur.value - hi, 0.0)
    return distance <= band * abs(cur.target) + sc.EPS * max(1.0, abs(cur.target))


# -- the changes --------------------------------------------------------------------------------------------
def _goal_tail(e: Entry) -> str:
    unit, cur = e.detail.get("unit"), e.detail.get("currency", "")
    if e.status == "no_data" or e.value is None:
        return ""
    v = format_value(e.value, unit, cur, style=SENTENCE)
    if e.final:
        return f"; actual {v}"
    lo, hi = e.detail.get("forecast_low"), e.detail.get("forecast_high")
    if lo is None or hi is None:
        return f"; forecast {v}"
    return (f"; forecast {v} (80%: {format_value(lo, unit, cur, style=SENTENCE)}–"
            f"{format_value(hi, unit, cur, style=SENTENCE)})")


def goal_text(e: Entry, prev_status: str | None, kind: ChangeKind) -> str:
    head = f"{e.title} ({e.scope}, {e.period or 'no period'})"
    if kind == "goal_still_bad":
        what = f"still {status_words(e.status)}"
    elif prev_status is None:
        what = f"{status_words(e.status)} (new)"
    else:
        what = f"{status_words(prev_status)} → {status_words(e.status)}"
    return f"{head}: {what}{_goal_tail(e)}"


def finding_text(e: Entry, prev_status: str | None, kind: ChangeKind) -> str:
    head = f"Health · {e.title}" + (f" ({e.scope})" if e.scope else "")
    if kind == "finding_resolved":
        return f"{head}: resolved (was {prev_status})"
    what = {"finding_new": f"new {e.status}", "finding_still_bad": f"still {e.status}",
            "finding_worsened": f"{prev_status} → {e.status}"}[kind]
    detail = e.detail.get("finding")
    return f"{head}: {what}" + (f" — {detail}" if detail else "")


def _change(kind: ChangeKind, e: Entry, prev_status: str | None, to: str | None) -> Change:
    text = goal_text(e, prev_status, kind) if e.source == "goal" else finding_text(e, prev_status, kind)
    return Change(kind, e.id, e.scope, e.period, prev_status, to, e.value, e.target, text)


def diff(previous: Mapping[str, Entry], current: Mapping[str, Entry], mode: Mode = "first",
         deadband: float = DEFAULT_DEADBAND, settings: Mapping[str, Any] | None = None,
         ) -> tuple[list[Change], dict[str, Entry]]:
    """(changes, the state to record). Goal rows first (scorecard order), then findings (check
    order), then resolved findings."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    settings = settings or {}
    changes: list[Change] = []
    keep: dict[str, Entry] = {}
    for key, cur in current.items():
        prev = previous.get(key)
        if prev is not None and prev.source != cur.source:
            prev = None
        if cur.source == "goal":
            keep[key], change = _goal_change(prev, cur, mode, deadband, settings)
        else:
            keep[key], change = cur, _finding_change(prev, cur, mode)
        if change is not None:
            changes.append(change)
    for key, prev in previous.items():
        if prev.source == "finding" and key not in current:
            changes.append(_change("finding_resolved", prev, prev.status, "ok"))
    return changes, keep


def _goal_change(prev: Entry | None, cur: Entry, mode: Mode, band: float,
                 settings: Mapping[str, Any]) -> tuple[Entry, Change | None]:
    if prev is None:
        if cur.status in BAD_STATUSES:
            return cur, _change("goal_changed", cur, None, cur.status)
        return cur, None
    if prev.status != cur.status:
        if not within_deadband(prev, cur, band, settings):
            return cur, _change("goal_changed", cur, prev.status, cur.status)
        # suppressed: keep the status last reported, so a drift further on is still reported
        cur = replace(cur, status=prev.status, final=prev.final)
    if mode == "every" and cur.status in BAD_STATUSES:
        return cur, _change("goal_still_bad", cur, cur.status, cur.status)
    return cur, None


def _finding_change(prev: Entry | None, cur: Entry, mode: Mode) -> Change | None:
    if prev is None:
        return _change("finding_new", cur, None, cur.status)
    if SEVERITY_RANK.get(cur.status, 0) > SEVERITY_RANK.get(prev.status, 0):
        return _change("finding_worsened", cur, prev.status, cur.status)
    if mode == "every":
        return _change("finding_still_bad", cur, cur.status, cur.status)
    return None


__all__ = ["current_state", "diff", "goal_entry", "finding_entry", "within_deadband", "period_label",
           "scope_label", "status_words", "Entry", "Change", "Mode", "ChangeKind", "MODES", "BAD_STATUSES",
           "DEFAULT_DEADBAND"]
