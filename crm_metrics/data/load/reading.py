"""Reading a CSV file around its rows: size limits, the delimiter, the header, line numbers, the
message for DuckDB's CSV errors, and the SQL that reads every matched column as text."""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from crm_metrics.data.load.report import Problem

DELIMITERS = (",", ";", "\t", "|")
CHUNK = 16 * 1024 * 1024
MAX_LINE_BYTES = 10_000_000   # one line (record) of a file; DuckDB's max_line_size
MAX_COLUMNS = 10_000          # header fields
DEFAULT_MAX_UPLOAD_MB = 1024  # env CRM_MAX_UPLOAD_MB
# Python's csv module (header, delimiter and line-number reading) must accept any cell DuckDB accepts.
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_LINE_BYTES))


# -- limits ------------------------------------------------------------------------------------
def max_upload_mb() -> float:
    """The largest file a load accepts, in MB (env CRM_MAX_UPLOAD_MB, default 1024)."""
    raw = os.environ.get("CRM_MAX_UPLOAD_MB", "").strip()
    try:
        v = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        v = DEFAULT_MAX_UPLOAD_MB
    return v if v > 0 else DEFAULT_MAX_UPLOAD_MB


def size_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a file is too large to load, or None."""
    size = Path(path).stat().st_size
    limit = max_upload_mb()
    if size > limit * 1024 * 1024:
        return (f"the file is {size / 1024 / 1024:,.1f} MB, more than the {limit:,.0f} MB a load accepts "
                f"(the limit is set by the environment variable CRM_MAX_UPLOAD_MB); split it or raise the limit")
    return None


# -- delimiter and header ----------------------------------------------------------------------
def head_text(path: Path, limit: int = 256 * 1024) -> str:
    with open(path, "rb") as f:
        raw = f.read(limit)
    text = raw.decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff")


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the header and the first rows into the same number (> 1) of
    fields most consistently; ties go to the one giving more columns."""
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a truncated sample may be partial
    best, best_score = ",", (-1, -1)
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=d, quotechar='"'))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = d, score
    return best


def read_header(path: Path, delimiter: str) -> list[str]:
    text = head_text(path, 1024 * 1024)
    # newline="": lines end at \n, \r\n or a lone \r (old Mac files), as DuckDB reads them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        return next(reader)
    except (StopIteration, csv.Error):
        return []


# -- line numbers --------------------------------------------------------------------------------
def line_at(path: Path, offset: int) -> int:
    """The 1-based physical line (\\n, \\r\\n or a lone \\r ends one) that holds byte ``offset``."""
    breaks, prev_cr, left = 0, False, offset
    with open(path, "rb") as f:
        while left > 0 and (chunk := f.read(min(CHUNK, left))):
            left -= len(chunk)
            breaks += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if prev_cr and chunk[:1] == b"\n":
                breaks -= 1
            prev_cr = chunk[-1:] == b"\r"
    return breaks + 1


def line_numbers(path: Path, delimiter: str, encoding: str, record_indexes: set[int]) -> dict[int, int]:
    """Map 0-based data record index -> 1-based starting line in the file (handles quoted newlines)."""
    out: dict[int, int] = {}
    if not record_indexes:
        return out
    wanted_max = max(record_indexes)
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar='"')
        start_line = 1
        try:
            next(reader)
            start_line = reader.line_num + 1
            for idx, _ in enumerate(reader):
                if idx in record_indexes:
                    out[idx] = start_line
                start_line = reader.line_num + 1
                if idx >= wanted_max:
                    break
        except (StopIteration, csv.Error):
            pass  # the rest get the record's position as an estimate
    return out


# -- DuckDB's reader -----------------------------------------------------------------------------
def csv_error(e: Exception) -> Problem:
    """DuckDB's CSV error as a problem: its line and reason, never the echoed line itself."""
    msg = str(e)
    m = re.search(r"[Ll]ine[:\s]+(\d+)", msg)
    line = int(m.group(1)) if m else None
    lines = msg.strip().splitlines()
    first = lines[0] if lines else "unreadable CSV"
    first = re.sub(r"^[A-Za-z ]+Error:\s*", "", first)
    if "Permission Error" in msg or "Cannot access file" in msg:
        # not the file's fault: a locked-down store reads only from its own folders (data/store.py)
        return Problem(None, None, None, "the store may not read this file: a locked-down store reads only "
                                         "files in its own folders (its spool and inbox), not a file's "
                                         "fault; load_file copies other files there first")
    if "Maximum line size" in msg:
        return Problem(line, None, None, f"the file is not a well-formed CSV: {first[:300]}: the line is "
                                         f"longer than {MAX_LINE_BYTES // 1_000_000} MB, the most one line may hold "
                                         f"(a cell this large, or a quote that is never closed)")
    # DuckDB's reason follows the echoed line; never echo the line itself (it may be huge).
    reason = ""
    if "unterminated quote" in msg:
        reason = "a quoted value is never closed (unterminated quote)"
    elif m2 := re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg):
        reason = f"the line has {m2.group(2)} fields where the header has {m2.group(1)}"
    elif "Invalid unicode" in msg:
        reason = "the line is not valid UTF-8"
    elif "quote" in msg.lower():
        reason = "a quote is misplaced (a quote inside a value must be doubled: \"\")"
    text = first[:300] + (f": {reason}" if reason else "")
    return Problem(line, None, None, f"the file is not a well-formed CSV: {text}")


def quoted_name(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def struct_literal(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


def read_csv_sql(headers: list[str], targets: dict[str, int]) -> str:
    """SELECT every matched column, as text under its contract name, from the file (parameters: path,
    delimiter). Every header position is read as VARCHAR under a positional name: no type sniffing."""
    positional = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    return ("SELECT " + ", ".join(f"c{i} AS {quoted_name(col)}" for col, i in targets.items())
            + " FROM read_csv(?, delim = ?, quote = '\"', escape = '\"', header = true, "
            "auto_detect = false, columns = " + struct_literal(positional) + ", "
            f"strict_mode = true, null_padding = false, max_line_size = {MAX_LINE_BYTES})")
