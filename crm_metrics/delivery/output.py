"""Rendering results as text tables, JSON and CSV (CLI), and safe CSV for spreadsheet downloads."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> Any:
    """A JSON-friendly Python value: dates as YYYY-MM-DD, NaN/NA as None, numpy scalars unwrapped."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=plain, ensure_ascii=False)


def _fmt_cell(v: Any) -> str:
    v = plain(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e15 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(no rows)"
    cols = list(columns or rows[0].keys())
    cells = [[_fmt_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    numeric = [all(isinstance(plain(r.get(c)), (int, float)) or r.get(c) is None for r in rows) for c in cols]
    def line(vals: Iterable[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()
    out = [line(cols), line("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, *, safe: bool = False) -> str:
    """CSV text. With ``safe`` (downloads opened in spreadsheets), text cells that begin with
    = + - @ tab or CR are prefixed with ' so the spreadsheet shows them instead of running them."""
    cols = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([escape_cell(c) if safe else c for c in cols])
    for r in rows:
        vals = [plain(r.get(c)) for c in cols]
        w.writerow([escape_cell(v) if safe else ("" if v is None else v) for v in vals])
    return buf.getvalue()


def escape_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def safe_csv(df: pd.DataFrame) -> bytes:
    """A DataFrame as CSV bytes for download, escaped against formula injection."""
    return to_csv(records(df), list(df.columns), safe=True).encode("utf-8")


def emit(rows: list[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None, json_obj: Any = None) -> None:
    """Print ``rows`` on stdout as ``fmt`` (json | csv | table); ``json_obj`` replaces the rows in JSON."""
    if fmt == "json":
        print(to_json(json_obj if json_obj is not None else rows))
    elif fmt == "csv":
        sys.stdout.write(to_csv(rows, columns))
    else:
        print(to_table(rows, columns))
