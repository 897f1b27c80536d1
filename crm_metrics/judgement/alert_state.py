"""The recorded alert state, per consumer, and the changes measured against it (foresight.md).

    evaluate(store, consumer, mode)  -> Evaluation: the changes since the consumer's recorded
                                        state, and the state to record (nothing written)
    record(store, evaluation)        -> the new state version (one transaction)
    changes_since_last_load(store)   -> the Scorecard panel's changes (consumer "app")

Consumers: ``cli`` is the cron job's (`python -m crm_metrics alerts`), ``app`` is the Scorecard
panel's, so looking at the panel never consumes what the cron job has still to send. Tables
(created here on first use): ``alert_state`` (one row per goal row / non-ok finding per
consumer) and ``alert_runs`` (one row per consumer: the state's version, the data version it was
taken at, when the state before it was recorded, and the changes that run reported, as JSON).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from crm_metrics.data.store import Store
from crm_metrics.data.values import number
from crm_metrics.judgement import health
from crm_metrics.judgement.alerts import DEFAULT_DEADBAND, Change, Entry, Mode, current_state, diff

CONSUMERS: tuple[str, ...] = ("cli", "app")

STATE_DDL = (
    """CREATE TABLE IF NOT EXISTS alert_state (
        consumer VARCHAR, key VARCHAR, source VARCHAR, id VARCHAR, scope VARCHAR, period VARCHAR,
        title VARCHAR, status VARCHAR, final BOOLEAN, value DOUBLE, target DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS alert_runs (
        consumer VARCHAR, version BIGINT, data_version BIGINT, recorded_at TIMESTAMP,
        previous_at TIMESTAMP, changes VARCHAR)""",
)


class AlertStateConflict(ValueError):
    """Another run recorded the consumer's state meanwhile: nothing recorded, run again."""


@dataclass(frozen=True)
class Evaluation:
    consumer: str
    previous_version: int
    changes: tuple[Change, ...]
    state: dict[str, Entry]  # what to record when the changes were delivered
    data_version: int

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.changes)


# -- the recorded state ----------------------------------------------------------------------------------------
def _ensure(cur: Any) -> None:
    for ddl in STATE_DDL:
        cur.execute(ddl)


def _check_consumer(consumer: str) -> None:
    if consumer not in CONSUMERS:
        raise ValueError(f"consumer must be one of {', '.join(CONSUMERS)}, got {consumer!r}")


def recorded(store: Store, consumer: str = "cli") -> tuple[int, dict[str, Entry]]:
    """(version, state) last recorded for the consumer; (0, {}) before its first run."""
    _check_consumer(consumer)
    cur = store.cursor()
    try:
        _ensure(cur)
        row = cur.execute("SELECT version FROM alert_runs WHERE consumer = ?", [consumer]).fetchone()
        res = cur.execute("SELECT key, source, id, scope, period, title, status, final, value, target "
                          "FROM alert_state WHERE consumer = ? ORDER BY key", [consumer]).fetchall()
    finally:
        cur.close()
    state = {r[0]: Entry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), number(r[8]), number(r[9]))
             for r in res}
    return (int(row[0]) if row else 0), state


def last_run(store: Store, consumer: str = "cli") -> dict[str, Any] | None:
    """The consumer's last recorded run: version, data_version, recorded_at, previous_at (when the
    state it was compared with was recorded), changes (records)."""
    _check_consumer(consumer)
    cur = store.cursor()
    try:
        _ensure(cur)
        row = cur.execute("SELECT version, data_version, recorded_at, previous_at, changes FROM alert_runs "
                          "WHERE consumer = ?", [consumer]).fetchone()
    finally:
        cur.close()
    if row is None:
        return None
    return {"version": int(row[0]), "data_version": int(row[1]), "recorded_at": row[2],
            "previous_at": row[3], "changes": json.loads(row[4] or "[]")}


def evaluate(store: Store, consumer: str = "cli", mode: Mode = "first", *,
             card: pd.DataFrame | None = None, findings: Iterable[health.Finding] | None = None) -> Evaluation:
    """The changes since the consumer's recorded state (nothing is written)."""
    version, previous = recorded(store, consumer)
    data_version = store.data_version()
    settings = store.settings()
    band = number(settings.get("alert_deadband"))
    current = current_state(store, card, findings)
    changes, keep = diff(previous, current, mode, DEFAULT_DEADBAND if band is None else band, settings)
    return Evaluation(consumer, version, tuple(changes), keep, data_version)


def record(store: Store, ev: Evaluation) -> int:
    """Replace the consumer's state with ``ev.state`` in one transaction; the new version.

    Refused (AlertStateConflict, nothing written) when another run recorded a state since ``ev``
    was evaluated: its changes were measured against a state that is no longer the last one."""
    _check_consumer(ev.consumer)
    rows = [[ev.consumer, e.key, e.source, e.id, e.scope, e.period, e.title, e.status, e.final, e.value,
             e.target] for e in ev.state.values()]
    changes = json.dumps([c.record() for c in ev.changes], ensure_ascii=False)
    with store.write_lock:
        cur = store.cursor()
        try:
            _ensure(cur)
            cur.execute("BEGIN")
            row = cur.execute("SELECT version, recorded_at FROM alert_runs WHERE consumer = ?",
                              [ev.consumer]).fetchone()
            if (int(row[0]) if row else 0) != ev.previous_version:
                cur.execute("ROLLBACK")
                raise AlertStateConflict(
                    f"the {ev.consumer} alert state was recorded by another run meanwhile (version "
                    f"{row[0] if row else 0}, expected {ev.previous_version}); nothing recorded, run again")
            new = ev.previous_version + 1
            cur.execute("DELETE FROM alert_state WHERE consumer = ?", [ev.consumer])
            if rows:
                cur.executemany("INSERT INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            cur.execute("DELETE FROM alert_runs WHERE consumer = ?", [ev.consumer])
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            cur.execute("INSERT INTO alert_runs VALUES (?, ?, ?, ?, ?, ?)",
                        [ev.consumer, new, ev.data_version, now, row[1] if row else None, changes])
            cur.execute("COMMIT")
        except AlertStateConflict:
            raise
        except Exception:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()
    return new


# -- the Scorecard panel: what the last load changed ---------------------------------------------------------
@dataclass(frozen=True)
class LoadChanges:
    changes: tuple[Change, ...]
    data_version: int           # the data version the changes lead to
    since: dt.datetime | None   # when the state they are measured against was recorded (UTC)
    baseline: bool              # True: no earlier state was recorded, so nothing to compare yet


Inputs = Callable[[], tuple[pd.DataFrame | None, Iterable[health.Finding] | None]]


def changes_since_last_load(store: Store, inputs: Inputs | None = None, *, _retry: bool = True) -> LoadChanges:
    """What changed at the last change of the data (a load, an undo, a goal or setting edit).

    Consumer "app", separate from the cron job's "cli". The first call after the data version
    moved compares with the state recorded at the previous version and records the new one (with
    the changes); later calls at the same version read those recorded changes back. The first
    call ever records a baseline and reports nothing. ``inputs`` -> (scorecard, findings) over the
    default window, called only when the state has to advance (the app passes its cached ones).
    Who looks first after a load records the state: a viewer's session writes it too (two small
    tables of alert bookkeeping, not data)."""
    run = last_run(store, "app")
    version = store.data_version()
    if run is not None and run["data_version"] == version:
        return LoadChanges(tuple(Change(c["kind"], c["id"], c["scope"], c["period"], c["from"], c["to"],
                                        c["value"], c["target"], c["text"]) for c in run["changes"]),
                           version, run["previous_at"], run["previous_at"] is None)
    card, findings = inputs() if inputs is not None else (None, None)
    ev = evaluate(store, "app", "first", card=card, findings=findings)
    baseline = run is None
    if baseline:
        ev = replace(ev, changes=())
    try:
        record(store, ev)
    except AlertStateConflict:  # another session recorded it at the same moment: show theirs
        if _retry:
            return changes_since_last_load(store, _retry=False)
        raise
    return LoadChanges(ev.changes, ev.data_version, None if run is None else run["recorded_at"], baseline)


__all__ = ["evaluate", "record", "recorded", "last_run", "changes_since_last_load", "Evaluation", "LoadChanges",
           "AlertStateConflict", "CONSUMERS"]
