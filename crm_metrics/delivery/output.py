"""Rendering results as text tables, JSON and CSV (CLI), and safe CSV for spreadsheet downloads."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
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
    # Python's writer quotes a field holding the line terminator (\n) but not a lone \r, which
    # readers take for a line break: a row holding one is written fully quoted.
    w_cr = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def put(cells: list[Any]) -> None:
        (w_cr if any(isinstance(c, str) and "\r" in c for c in cells) else w).writerow(cells)

    put([escape_cell(c) if safe else c for c in cols])
    for r in rows:
        vals = [plain(r.get(c)) for c in cols]
        put([escape_cell(v) if safe else ("" if v is None else v) for v in vals])
    return buf.getvalue()


def escape_cell(v: Any) -> Any:
    """A cell for a CSV file a spreadsheet may open: text that a spreadsheet would run as a formula
    (it begins with = + - @ tab or CR) gets a leading '. Numbers stay numbers (-5 is a value, not
    a formula); only text is escaped. The one rule for every CSV written: the app's downloads and
    the CLI's --format csv."""
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
        # escaped like the app's downloads: CLI output is opened in spreadsheets too
        sys.stdout.write(to_csv(rows, columns, safe=True))
    else:
        print(to_table(rows, columns))


# CommonMark renders any backslash-escaped ASCII punctuation as the character itself; escaping all
# of it (not only []()*_#!<>|`) also stops what Streamlit adds to markdown: :color[...] and
# :emoji: directives, $LaTeX$, ~strike~, bare-URL autolinks (https\://...), list and heading marks.
_MARKDOWN_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def plain_text_markdown(text: Any) -> str:
    """Text from data (a goal's objective, a segment's name...) for st.markdown / st.caption /
    labels that parse markdown: every markdown character escaped so that it shows as written --
    no link, image, emphasis, HTML or directive from a loaded value. Line breaks are kept as
    markdown line breaks."""
    s = "" if text is None else str(text)
    s = _MARKDOWN_PUNCTUATION.sub(r"\\\1", s)
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "  \n")
