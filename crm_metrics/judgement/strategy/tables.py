"""Reading the strategy tables as frames, and CSV export / import."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crm_metrics.data import values
from crm_metrics.data.audit import (
    columns,
)
from crm_metrics.data.schema import SETTINGS_DEFAULTS, TABLES
from crm_metrics.data.store import Store

if TYPE_CHECKING:
    from crm_metrics.data.ingest import LoadReport
from crm_metrics.judgement.strategy.edits import change, editor
from crm_metrics.judgement.strategy.rules import (
    CONTRACT_TABLES,
    EDITABLE_TABLES,
    StrategyError,
    normalise_setting,
    staged_problems,
)


# -- reading ---------------------------------------------------------------------------------------
def _frame(store: Store, table: str, order: str) -> pd.DataFrame:
    cols = columns(table)
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
    if values.is_blank(v):
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
               user: str | None = None, file_name: str | None = None) -> LoadReport:
    """Load goals / segments / channels from CSV through ingest.load_file (the data contract's
    rules, plus :func:`staged_problems`). ``source``: a path (os.PathLike), the file's bytes, or
    CSV text (str). Returns the LoadReport; raises ingest.LoadRefused with line-numbered problems.
    Every row the load changes is recorded in the audit log."""
    from crm_metrics.data.ingest import load_file
    if table not in CONTRACT_TABLES:
        raise StrategyError(f"table: CSV import is for {', '.join(CONTRACT_TABLES)} "
                            f"(settings: import_settings_csv), got {table!r}")
    if isinstance(source, os.PathLike):
        return load_file(store, source, table=table, mode=mode, loaded_by=editor(user),
                         file_name=file_name, table_rules=staged_problems)
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    with tempfile.TemporaryDirectory(prefix="crm-strategy-") as tmp:
        path = Path(tmp) / f"{table}.csv"
        path.write_bytes(data)
        return load_file(store, path, table=table, mode=mode, loaded_by=editor(user),
                         file_name=file_name or f"{table}.csv", table_rules=staged_problems)


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
        cid = change(store, "settings", key,
                      lambda cur, before, k=key, v=text_value: None if v is None else {"key": k, "value": v},
                      user, source="import settings.csv")
        if cid is not None:
            ids.append(cid)
    return ids
