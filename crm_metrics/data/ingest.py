"""Loading CSV files into the store exactly as the data contract says.

A load is: detect encoding and delimiter -> match columns -> (fast path) read, check every rule
and write in one pass, or (careful path, whenever the fast one meets anything unusual) stage every
cell as text and validate every rule in one SQL pass, so that a bad value at line 30 000 is found
and reported with its line, whatever DuckDB's sniffer would have sampled -> merge or replace ->
rebuild the fact and summary tables -> record the load. All of it in one transaction: a refused or
failed file changes nothing. See docs/architecture.md, "Loading".
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np

from crm_metrics.data import undo as safety
from crm_metrics.data.audit import current_user, table_auditor
from crm_metrics.data.schema import TABLES, Column, Table, normalise_name, table_for_file
from crm_metrics.data.store import Store

Mode = Literal["merge", "replace"]
Progress = Callable[[float, str], None]

MAX_PROBLEMS_SHOWN = 20
DELIMITERS = (",", ";", "\t", "|")
CHUNK = 16 * 1024 * 1024
MAX_LINE_BYTES = 10_000_000   # one line (record) of a file; DuckDB's max_line_size
MAX_COLUMNS = 10_000          # header fields
DEFAULT_MAX_UPLOAD_MB = 1024  # env CRM_MAX_UPLOAD_MB
MAX_EXTRA_SHOWN = 20
# Python's csv module (header, delimiter and line-number reading) must accept any cell DuckDB accepts.
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_LINE_BYTES))
ENCODING_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
    "windows-1251": "windows-1251", "cp1251": "windows-1251",
    "windows-1252": "windows-1252", "cp1252": "windows-1252",
    "latin-1": "windows-1252", "latin1": "windows-1252", "iso-8859-1": "windows-1252",
}


# -- results -------------------------------------------------------------------------------------
SHOWN_CHARS = 80  # of one value or name from a file in a message


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """A value from a file cut to a readable length for a message: a 1 MB cell (or a 1 GB line)
    must not become a 1 MB message."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} characters)"


def _names(headers: Sequence[str], limit: int = MAX_EXTRA_SHOWN) -> str:
    """Header names for a message: each clipped, at most ``limit`` of them."""
    shown = ", ".join(clip(h) for h in headers[:limit])
    more = len(headers) - limit
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    value: str | None
    rule: str

    def __post_init__(self) -> None:
        # cut once here, so that every view of a problem (message, the app's table) is short
        if self.value is not None:
            object.__setattr__(self, "value", clip(str(self.value)))
        if self.column is not None:
            object.__setattr__(self, "column", clip(str(self.column)))

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.rule}"


@dataclass
class LoadReport:
    file_name: str
    table: str
    mode: str
    encoding: str = "utf-8"
    delimiter: str = ","
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    unmatched: int = 0
    sha256: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # target column -> source header
    extra_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    load_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def summary(self) -> str:
        if not self.ok:
            head = (f"{self.file_name}: refused, nothing was loaded into {self.table} "
                    f"({self.problem_count} problem{'s' if self.problem_count != 1 else ''}).")
            lines = [head] + [f"  {self.file_name}: {p}" for p in self.problems]
            if self.problem_count > len(self.problems):
                lines.append(f"  ... and {self.problem_count - len(self.problems)} more")
            return "\n".join(lines)
        parts = [f"{self.file_name} -> {self.table} ({self.mode}, {self.encoding}, "
                 f"delimiter {self.delimiter!r}): {self.rows_read} rows read, {self.inserted} inserted, "
                 f"{self.updated} updated, {self.unchanged} unchanged"]
        if self.removed:
            parts.append(f"{self.removed} previous rows removed (replace)")
        if self.unmatched:
            parts.append(f"{self.unmatched} rows with a customer_id not in customers (kept, counted)")
        if self.extra_columns:
            parts.append("ignored extra columns: " + _names(self.extra_columns))
        return "; ".join(parts) + "."


class LoadRefused(Exception):
    """The file was refused; ``report.problems`` says why. Nothing changed."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(report.summary())
        self.report = report


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


# -- encoding and dialect --------------------------------------------------------------------
@dataclass(frozen=True)
class Scan:
    """What one read of a file's bytes found (see :func:`_scan`)."""
    sha256: str
    nul: int | None          # offset of the first NUL byte
    utf8: bool               # the whole file is valid UTF-8
    records: int             # non-empty CSV records, the header included (see _Records)
    long_line_at: int | None  # offset where the first line longer than MAX_LINE_BYTES starts


class _Records:
    """Counts a CSV file's records as DuckDB's reader returns them, independently of that reader,
    so that a row it drops unannounced is noticed (DuckDB 2.0 silently drops a last line over
    ~200 MB). Fed the raw bytes chunk by chunk; they are cut after the chunk's last line break, so
    that each piece starts at a line start. A record ends at a line break (\\n, \\r\\n or a
    lone \\r) outside a quoted value; empty lines are not records (DuckDB skips them). As in
    DuckDB, a quote opens a value only at the start of a field (a quote inside an unquoted value,
    like 55" screen, is a character) and "" inside a quoted value is a quote. Quote, CR, LF and the
    delimiter are the same bytes in UTF-8, windows-1251 and windows-1252.
    Also finds the first physical line longer than ``max_line`` bytes.

    Cheap for the usual files: C-level bytes and numpy operations, no Python loop per line or per
    value. Only a piece where a quote stands inside an unquoted value or a quoted value spans
    pieces is walked quote by quote."""

    _QUOTED = re.compile(rb'"[^"]*"')
    _BREAKS = re.compile(rb"[\r\n]+")
    _ONLY_QUOTES_AND_BREAKS = bytes(b for b in range(256) if b not in b'"\r\n')

    def __init__(self, delimiter: str = ",", max_line: int = MAX_LINE_BYTES) -> None:
        self.delim = ord(delimiter)
        self.max_line = max_line
        self.count = 0
        self.in_quote = False     # the previous piece ended inside a quoted value
        self.after_break = True   # the last byte counted ended a line (or nothing was counted yet)
        self.carry = b""          # the chunk's last, unfinished line
        self.pos = 0              # offset of the next chunk
        self.line_start = 0       # offset where the current physical line starts
        self.long_line_at: int | None = None

    def feed(self, chunk: bytes) -> None:
        if self.long_line_at is None:
            self._lines(chunk)
        self.pos += len(chunk)
        if self.long_line_at is not None:
            self.carry = b""
            return  # the file is refused for its long line; its records no longer matter
        cut = _last_break(chunk, 0, len(chunk)) + 1
        if cut == 0:
            self.carry += chunk
            return
        piece = b"".join((self.carry, memoryview(chunk)[:cut])) if self.carry else chunk[:cut]
        self.carry = chunk[cut:]
        self._records(piece)

    def records(self) -> int:
        if self.carry:
            self._records(self.carry)
            self.carry = b""
        return self.count + (0 if self.after_break else 1)

    def _records(self, t: bytes) -> None:
        if self.in_quote or b'"' in t:
            if not self.in_quote and self._quotes_are_plain(t):
                if not self._quotes_hold_no_break(t):
                    t = self._QUOTED.sub(b"q", t)  # a quoted value (its line breaks included): content
            else:
                t = self._unquote_walk(t)
        if b"\r" in t:
            if t.count(b"\r") != t.count(b"\r\n") or b"\n\r\n" in t or b"\n\n" in t:
                t = self._BREAKS.sub(b"\n", t)  # lone CRs or empty lines: one break per run
            # else: CRLF lines, none of them empty; each \n ends one
        elif b"\n\n" in t:
            t = self._BREAKS.sub(b"\n", t)
        n = t.count(b"\n")
        if n and self.after_break and t[:1] in (b"\n", b"\r"):
            n -= 1  # it ends an empty line
        self.count += n
        if t:
            self.after_break = t[-1:] in (b"\n", b"\r")

    def _quotes_are_plain(self, t: bytes) -> bool:
        """True when the piece's quotes pair up in order as quoted values and "" escapes: every
        odd quote follows a delimiter, a line break or a quote (or starts the piece, a line
        start), every even one is followed by one (or ends the piece). Then pairing quotes by
        their order is exactly DuckDB's reading."""
        a = np.frombuffer(t, dtype=np.uint8)
        pos = np.flatnonzero(a == 34)
        if len(pos) % 2:
            return False
        opening, closing = pos[0::2], pos[1::2]
        before = a[np.maximum(opening - 1, 0)]
        before[opening == 0] = 10  # the piece starts at a line start
        after = a[np.minimum(closing + 1, len(a) - 1)]
        after[closing == len(a) - 1] = 10  # the piece ends at a line end
        ok = np.array([10, 13, 34, self.delim], dtype=np.uint8)
        return bool(np.isin(before, ok).all() and np.isin(after, ok).all())

    @classmethod
    def _quotes_hold_no_break(cls, t: bytes) -> bool:
        """With plain quotes: True when no quoted value holds a line break, so the quotes change no
        count. Keep only quotes and breaks: every quote then pairs with the next one with nothing
        between (they all vanish when the pairs are removed) exactly when no value holds a break."""
        return b'"' not in t.translate(None, cls._ONLY_QUOTES_AND_BREAKS).replace(b'""', b"")

    def _unquote_walk(self, t: bytes) -> bytes:
        """The piece with each quoted value replaced by one byte of content, walking its quotes as
        DuckDB's reader does (the piece starts at a line start or inside a value)."""
        out: list[bytes] = []
        start, in_q, n = 0, self.in_quote, len(t)
        i = t.find(b'"')
        while i >= 0:
            if not in_q:
                if i == 0 or t[i - 1] in (10, 13, self.delim):
                    out.append(t[start:i])
                    in_q = True
                i = t.find(b'"', i + 1)
            elif i + 1 < n and t[i + 1] == 34:
                i = t.find(b'"', i + 2)  # "" inside a value
            else:
                out.append(b"q")
                in_q, start = False, i + 1
                i = t.find(b'"', i + 1)
        out.append(b"q" if in_q else t[start:])
        self.in_quote = in_q
        return b"".join(out)

    def _lines(self, chunk: bytes) -> None:
        """Look for a physical line (between \\n or \\r breaks) longer than max_line: a window of
        max_line + 1 bytes without a break is one. The last break in each window starts the next,
        so a chunk takes a few find calls, not one per line."""
        i, n, base = 0, len(chunk), self.pos
        while True:
            end = max(i, min(n, self.line_start + self.max_line + 1 - base))
            last = _last_break(chunk, i, end)
            if last >= 0:
                self.line_start = base + last + 1
                i = last + 1
                continue
            if self.line_start + self.max_line + 1 - base <= n:
                self.long_line_at = self.line_start
            return


def _last_break(chunk: bytes, start: int, end: int) -> int:
    """The offset of the last \\n or \\r in chunk[start:end], or -1. The \\r search starts
    after the last \\n: most files have no lone CR, and a search for one would read it all."""
    lf = chunk.rfind(b"\n", start, end)
    return max(lf, chunk.rfind(b"\r", max(start, lf + 1), end))


def _scan(path: Path, delimiter: str = ",") -> Scan:
    """One read of the file: its SHA-256, the offset of its first NUL byte, whether it is valid
    UTF-8 (ASCII chunks skip the decoder: most exports are ASCII), its record count and its first
    over-long line."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    records = _Records(delimiter)
    nul = None
    utf8 = True
    pos = 0
    # The hash runs in a second thread (hashlib lets go of the GIL on large buffers) while this one
    # counts records: the count then costs little more wall time than the hash alone.
    with open(path, "rb") as f, ThreadPoolExecutor(max_workers=1) as hasher:
        hashed = None
        for chunk in iter(lambda: f.read(CHUNK), b""):
            if hashed is not None:
                hashed.result()  # in order, and at most two chunks in memory
            hashed = hasher.submit(h.update, chunk)
            records.feed(chunk)
            if nul is None and (i := chunk.find(b"\x00")) >= 0:
                nul = pos + i
            if utf8:
                try:
                    if chunk.isascii():
                        dec.decode(b"", final=True)  # a sequence cut at the previous chunk's end must end
                        dec.reset()
                    else:
                        dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            pos += len(chunk)
        if hashed is not None:
            hashed.result()
    if utf8:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return Scan(h.hexdigest(), nul, utf8, records.records(), records.long_line_at)


def _line_at(path: Path, offset: int) -> int:
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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_utf8(path: Path) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _guess_single_byte(sample: bytes) -> str:
    """Windows-1251 (Cyrillic) or Windows-1252 (Western): Cyrillic text has runs of high bytes
    forming whole words; Western text has isolated accented letters inside ASCII words."""
    runs = re.findall(rb"[\xc0-\xff]{3,}", sample)
    high = len(re.findall(rb"[\x80-\xff]", sample))
    in_runs = sum(len(r) for r in runs)
    return "windows-1251" if high and in_runs / high > 0.5 else "windows-1252"


def detect_encoding(path: Path, is_utf8: bool | None = None) -> str:
    if _is_utf8(path) if is_utf8 is None else is_utf8:
        return "utf-8"
    with open(path, "rb") as f:
        sample = f.read(1024 * 1024)
    return _guess_single_byte(sample)


# A well-formed multi-byte UTF-8 sequence. In windows-1251/1252 text such pairs are rare (an
# upper-case accented letter followed by a symbol), so a file that is not UTF-8 but has one is
# looked at line by line.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class MixedEncoding:
    """A file whose lines are in two encodings: some UTF-8, some not."""
    first_line: int     # the first line with a non-ASCII character
    first_utf8: bool    # whether that line is UTF-8
    changed_line: int   # the first line encoded the other way

    def message(self, single_byte: str) -> str:
        utf8, other = "UTF-8", f"not UTF-8 (it reads as {single_byte})"
        a, b = (utf8, other) if self.first_utf8 else (other, utf8)
        return (f"the file mixes two encodings: line {self.first_line} is {a} but line {self.changed_line} "
                f"is {b}, so one of them would be stored garbled (e.g. Zürich as ZÃ¼rich); save the whole "
                f"file in one encoding (UTF-8), or name the encoding if the file really is {single_byte}")


def mixed_encoding(path: Path) -> MixedEncoding | None:
    """For a file that is not valid UTF-8: the first line whose encoding differs from the first
    non-ASCII line's (UTF-8 or not), or None when no line is UTF-8 with non-ASCII text (a plain
    single-byte file). Run only on files that are not UTF-8; a quick search for any UTF-8 sequence
    spares the line-by-line pass for ordinary windows-125x files."""
    tail = b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            if _UTF8_SEQUENCE.search(tail + chunk):
                break
            tail = chunk[-3:]  # a sequence cut at the chunk's end
        else:
            return None
    first: tuple[int, bool] | None = None
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8 = True
            except UnicodeDecodeError:
                utf8 = False
            if first is None:
                first = (no, utf8)
            elif utf8 != first[1]:
                return MixedEncoding(first[0], first[1], no)
    return None


def _transcode(path: Path, encoding: str, tmpdir: str) -> Path:
    out = Path(tmpdir) / (uuid.uuid4().hex + ".csv")
    with open(path, encoding=encoding, errors="strict", newline="") as src, \
            open(out, "w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(CHUNK), ""):
            dst.write(chunk)
    return out


def _head_text(path: Path, limit: int = 256 * 1024) -> str:
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
    text = _head_text(path, 1024 * 1024)
    # newline="": lines end at \n, \r\n or a lone \r (old Mac files), as DuckDB reads them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        return next(reader)
    except (StopIteration, csv.Error):
        return []


# -- column matching ---------------------------------------------------------------------------
def match_columns(table: Table, headers: Sequence[str], mapping: dict[str, str] | None = None
                  ) -> tuple[dict[str, int], list[str], list[Problem]]:
    """Target column -> header position. Explicit mapping wins, then the contract's name, then aliases."""
    problems: list[Problem] = []
    norm = [normalise_name(h) for h in headers]
    targets: dict[str, int] = {}
    used: set[int] = set()
    for src, dst in (mapping or {}).items():
        dst_n = normalise_name(dst)
        if dst_n not in table.column_names:
            problems.append(Problem(None, dst, None,
                                    f"mapping {clip(src)}={clip(dst)}: {table.name} has no column {clip(dst)!r} "
                                    f"(columns: {', '.join(table.column_names)})"))
            continue
        src_n = normalise_name(src)
        if src_n not in norm:
            problems.append(Problem(None, src, None,
                                    f"mapping {clip(src)}={clip(dst)}: the file has no column {clip(src)!r} "
                                    f"(headers: {_names(headers)})"))
            continue
        i = norm.index(src_n)
        targets[dst_n] = i
        used.add(i)
    for col in table.columns:
        if col.name in targets:
            continue
        for i, h in enumerate(norm):
            if i not in used and h == col.name:
                targets[col.name] = i
                used.add(i)
                break
    for col in table.columns:
        if col.name in targets:
            continue
        for i, h in enumerate(norm):
            if i not in used and h in col.aliases:
                targets[col.name] = i
                used.add(i)
                break
    for col in table.columns:
        if col.required and col.name not in targets:
            problems.append(Problem(1, col.name, None,
                                    f"required column {col.name!r} is missing (headers: {_names(headers)}); "
                                    f"rename it or map it, e.g. --map \"YOUR NAME={col.name}\""))
    extra = [headers[i] for i in range(len(headers)) if i not in used]
    return targets, extra, problems


# -- SQL per column type -------------------------------------------------------------------------
def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw(col: str) -> str:
    return f"nullif(trim({_q(col)}), '')"


_BOOL_TRUE = ("true", "yes", "y", "t", "1")
_BOOL_FALSE = ("false", "no", "n", "f", "0")

_DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%Y.%m.%d")
_TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S")


def _number_expr(raw: str, decimal_comma: bool) -> str:
    if decimal_comma:
        # '1 234,50' / '1.234,50' -> '1234.50'
        cleaned = (f"replace(replace(replace(replace({raw}, ' ', ''), chr(160), ''), '.', ''), ',', '.')")
    else:
        cleaned = f"replace(replace({raw}, ',', ''), ' ', '')"
    return f"TRY_CAST({cleaned} AS DOUBLE)"


def _iso_ts_expr(raw: str) -> str:
    """ISO 8601 dates and timestamps; a UTC offset ('Z', '+02:00', '-0500' after the date part) is
    converted to UTC, naive values are kept. String tests instead of regular expressions: this runs
    on every row of a 10-million-row file."""
    tail = f"substr({raw}, 11)"
    offset = (f"(strpos({tail}, '+') > 0 OR strpos({tail}, '-') > 0 OR right({raw}, 1) IN ('Z', 'z'))")
    return (f"CASE WHEN {offset} THEN CAST(timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ)) AS TIMESTAMP) "
            f"ELSE TRY_CAST({raw} AS TIMESTAMP) END")


@dataclass(frozen=True)
class ColumnPlan:
    column: Column
    expr: str          # SQL producing the typed value from the staged text
    invalid: str       # SQL condition: the staged text is present but not valid
    rule: str          # what the rule says, for the message
    problem: Problem | None = None  # a column-level refusal (ambiguous dates)


def _date_format_candidates(cur: duckdb.DuckDBPyConnection, stage: str, col: str, with_time: bool
                            ) -> tuple[str | None, list[str], bool]:
    """Pick the date format for a column: ISO if every value is ISO; else the formats that parse
    every value that is not ISO. Returns (None, formats that parse all, iso_all). The other
    formats are only tried on the rows ISO cannot read (usually none)."""
    raw = _raw(col)
    iso = _iso_ts_expr(raw)
    total, iso_ok = cur.execute(f"SELECT count({raw}), count({iso}) FROM {stage}").fetchone()
    if total == 0 or iso_ok == total:
        return None, [], True
    fmts = [f + s for f in _DATE_FORMATS for s in (_TIME_SUFFIXES if with_time else ("",))]
    sel = ", ".join(f"count(try_strptime({raw}, '{f}'))" for f in fmts)
    row = cur.execute(f"SELECT {sel} FROM {stage} WHERE {raw} IS NOT NULL AND ({iso}) IS NULL").fetchone()
    rest = total - iso_ok
    full = [fmts[i] for i in range(len(fmts)) if row[i] == rest]
    return None, full, False


def plan_column(cur: duckdb.DuckDBPyConnection, stage: str, col: Column, delimiter: str,
                file_name: str) -> ColumnPlan:
    raw = _raw(col.name)
    if col.type == "text":
        if col.choices:
            choices = ", ".join(f"'{c}'" for c in col.choices)
            return ColumnPlan(col, f"lower({raw})", f"lower({raw}) NOT IN ({choices})",
                              f"must be one of {', '.join(col.choices)}")
        return ColumnPlan(col, raw, "false", "")
    if col.type in ("number", "integer"):
        # ';' files are European spreadsheet exports (decimal comma); in ',' files a comma can only
        # be a quoted thousands separator. Only tab / pipe files need a look at the values.
        decimal_comma = delimiter == ";"
        if delimiter not in (";", ","):
            commas, dots = cur.execute(
                f"SELECT count(*) FILTER (WHERE contains({raw}, ',')), "
                f"count(*) FILTER (WHERE contains({raw}, '.')) FROM {stage}").fetchone()
            decimal_comma = commas > 0 and dots == 0
        num = _number_expr(raw, decimal_comma)
        bounds = []
        rule = "must be a number" if col.type == "number" else "must be a whole number"
        if col.minimum is not None:
            bounds.append(f"{num} < {col.minimum}")
        if col.maximum is not None:
            bounds.append(f"{num} > {col.maximum}")
        if col.minimum is not None and col.maximum is not None:
            rule += f" from {col.minimum:g} to {col.maximum:g}"
        elif col.minimum is not None:
            rule += f" >= {col.minimum:g}"
        invalid = f"{num} IS NULL OR isnan({num}) OR isinf({num})"
        if col.type == "integer":
            # beyond 2^53 a double is no longer an exact whole number (and BIGINT would overflow)
            invalid += f" OR {num} <> round({num}) OR abs({num}) > 9007199254740992"
        if bounds:
            invalid += " OR " + " OR ".join(bounds)
        expr = num if col.type == "number" else f"CAST(round({num}) AS BIGINT)"
        return ColumnPlan(col, expr, invalid, rule)
    if col.type == "boolean":
        t = ", ".join(f"'{v}'" for v in _BOOL_TRUE)
        f = ", ".join(f"'{v}'" for v in _BOOL_FALSE)
        expr = f"CASE WHEN lower({raw}) IN ({t}) THEN true WHEN lower({raw}) IN ({f}) THEN false END"
        return ColumnPlan(col, expr, f"lower({raw}) NOT IN ({t}, {f})",
                          "must be a boolean (true/false, yes/no, y/n, t/f, 1/0)")
    # dates and timestamps
    with_time = col.type == "timestamp"
    _, fmts, iso_all = _date_format_candidates(cur, stage, col.name, with_time)
    iso = _iso_ts_expr(raw)
    kind = "timestamp" if with_time else "date"
    if iso_all or not fmts:
        expr = iso
        rule = f"must be a {kind} (ISO 8601, e.g. 2026-03-31{' 14:05:00' if with_time else ''})"
        if not iso_all and not fmts:
            rule = (f"is not a {kind} this column's format can read (ISO 8601 such as 2026-03-31, "
                    f"or one consistent format such as 31.03.2026)")
    else:
        # Several formats parse everything: fine if they agree on every value (e.g. only one
        # date-part order is possible), otherwise the column is ambiguous.
        day_orders = {f.split(" ")[0] for f in fmts}
        if len(day_orders) > 1:
            first, second = sorted(day_orders)[:2]
            disagree = cur.execute(
                f"SELECT count(*) FROM {stage} WHERE try_strptime({raw}, '{first}') "
                f"IS DISTINCT FROM try_strptime({raw}, '{second}') "
                f"AND try_strptime({raw}, '{first}') IS NOT NULL").fetchone()[0]
            if disagree:
                return ColumnPlan(col, "NULL", "false", "", Problem(
                    None, col.name, None,
                    f"dates are ambiguous ({first} or {second}?, e.g. is 03/04 March or April?); "
                    f"write them as ISO dates (2026-03-04) or as dd.mm.yyyy"))
        parsed = " , ".join(f"try_strptime({raw}, '{f}')" for f in fmts)
        expr = f"coalesce({iso}, {parsed})"
        rule = f"must be a {kind} in the column's format ({fmts[0].split(' ')[0].replace('%', '')})"
    if not with_time:
        expr = f"CAST({expr} AS DATE)"
    return ColumnPlan(col, expr, f"({expr}) IS NULL", rule)


# -- the load --------------------------------------------------------------------------------
def _line_numbers(path: Path, delimiter: str, encoding: str, record_indexes: set[int]) -> dict[int, int]:
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


def _duckdb_csv_error(e: Exception) -> Problem:
    msg = str(e)
    m = re.search(r"[Ll]ine[:\s]+(\d+)", msg)
    line = int(m.group(1)) if m else None
    lines = msg.strip().splitlines()
    first = lines[0] if lines else "unreadable CSV"
    first = re.sub(r"^[A-Za-z ]+Error:\s*", "", first)
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


def _lost_rows(report: LoadReport, data_rows: int) -> LoadRefused:
    """DuckDB's reader returned another number of rows than the file has records: never load a
    file with rows silently missing (or invented)."""
    return _refuse(report, f"the file has {data_rows:,} data row{'s' if data_rows != 1 else ''} but the CSV "
                           f"reader read {report.rows_read:,}; nothing was loaded rather than a partial file "
                           f"(check the end of the file and any very long line)")


def _refuse(report: LoadReport, rule: str, line: int | None = None, column: str | None = None) -> LoadRefused:
    report.problems = [Problem(line, column, None, rule)]
    report.problem_count = 1
    return LoadRefused(report)


@dataclass
class Prepared:
    """A file read up to its header: which table, how it is encoded and delimited, which columns."""
    report: LoadReport
    table: Table
    read_path: Path
    headers: list[str]
    targets: dict[str, int]
    data_rows: int  # the file's records after the header, counted without DuckDB (see _Records)


def _prepare(path: Path, name: str, table: str | None, mode: str, mapping: dict[str, str] | None,
             encoding: str | None, tmpdir: str, say: Progress) -> Prepared:
    tname = table or (t.name if (t := table_for_file(name)) else None)
    if tname is None or tname not in TABLES:
        raise _refuse(LoadReport(name, tname or "?", mode),
                      f"cannot tell which table this file is for; name it after a table "
                      f"({', '.join(TABLES)}) or give --table")
    tdef = TABLES[tname]
    report = LoadReport(name, tname, mode)
    if mode not in ("merge", "replace"):
        raise _refuse(report, f"mode must be merge or replace, not {mode!r}")
    if not path.is_file():
        raise _refuse(report, "no such file")
    if path.stat().st_size == 0:
        raise _refuse(report, "the file is empty")
    if (too_big := size_problem(path)) is not None:
        raise _refuse(report, too_big)
    say(0.02, f"{name}: checking encoding")
    try:
        with open(path, "rb") as f:
            start = f.read(4)
        raw_delimiter = detect_delimiter(_head_text(path))  # for the record count (see _Records)
        scan = _scan(path, raw_delimiter)
    except OSError as e:
        raise _refuse(report, f"cannot read the file: {e.strerror or e}") from None
    report.sha256, nul, utf8 = scan.sha256, scan.nul, scan.utf8
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _refuse(report, "the file is UTF-16 text; save it as UTF-8 (or windows-1251 / windows-1252) CSV")
    if nul is not None:
        raise _refuse(report, f"this is a binary file, not a CSV text file (a NUL byte at byte {nul + 1:,})")
    if scan.long_line_at is not None:
        # refused here, at any size: beyond ~200 MB DuckDB's reader drops such a last line silently
        raise _refuse(report, f"the line is longer than {MAX_LINE_BYTES // 1_000_000} MB, the most one line "
                              f"may hold (a cell this large, or a file without line breaks)",
                      line=_line_at(path, scan.long_line_at))
    if start.startswith(b"\xef\xbb\xbf") and not _head_text(path, 4096).strip():
        raise _refuse(report, "the file is empty (only a byte-order mark)")
    if encoding:
        enc = ENCODING_NAMES.get(encoding.lower())
        if enc is None:
            raise _refuse(report, f"unknown encoding {encoding!r}; use utf-8, windows-1251 or windows-1252")
        if enc == "utf-8" and not utf8:
            raise _refuse(report, "the file is not valid UTF-8 although utf-8 was named; leave the encoding "
                                  "out to detect it, or name windows-1251 / windows-1252")
    else:
        enc = detect_encoding(path, utf8)
        if enc != "utf-8" and (mixed := mixed_encoding(path)) is not None:
            raise _refuse(report, mixed.message(enc), line=mixed.changed_line)
    report.encoding = enc
    read_path = path
    if enc != "utf-8":
        try:
            read_path = _transcode(path, enc, tmpdir)
        except UnicodeDecodeError as e:
            raise _refuse(report, f"cannot be read as {enc}: {e.reason}") from None
    report.delimiter = detect_delimiter(_head_text(read_path))
    data_rows = scan.records - 1
    if report.delimiter != raw_delimiter:  # the same ASCII structure gives the same; never trust it blindly
        data_rows = _scan(read_path, report.delimiter).records - 1
    headers = read_header(read_path, report.delimiter)
    if not any(h.strip() for h in headers):
        raise _refuse(report, "the first line (the header row) is empty or unreadable; "
                              "the file must start with a header naming its columns", line=1)
    if len(headers) > MAX_COLUMNS:
        raise _refuse(report, f"the header has {len(headers):,} columns, more than the {MAX_COLUMNS:,} "
                              f"a load reads", line=1)
    targets, extra, problems = match_columns(tdef, headers, mapping)
    report.columns = {c: headers[i] for c, i in targets.items()}
    report.extra_columns = extra
    if problems:
        report.problems = problems[:MAX_PROBLEMS_SHOWN]
        report.problem_count = len(problems)
        raise LoadRefused(report)
    return Prepared(report, tdef, read_path, headers, targets, max(data_rows, 0))


@dataclass
class Inspection:
    """What the app shows before a load: the table, headers, the column matching and problems."""
    table: str | None
    encoding: str
    delimiter: str
    headers: list[str]
    columns: dict[str, str]
    extra_columns: list[str]
    problems: list[Problem]


def inspect_file(path: str | os.PathLike[str], *, table: str | None = None,
                 mapping: dict[str, str] | None = None, encoding: str | None = None,
                 file_name: str | None = None) -> Inspection:
    """Read a file's header and match its columns, without loading anything."""
    path = Path(path)
    name = file_name or path.name
    with tempfile.TemporaryDirectory(prefix="crm-inspect-") as tmpdir:
        try:
            prep = _prepare(path, name, table, "merge", mapping, encoding, tmpdir, lambda f, m: None)
            rep, headers = prep.report, prep.headers
        except LoadRefused as e:
            rep = e.report
            headers = read_header(path, rep.delimiter) if path.exists() and rep.table != "?" else []
        return Inspection(rep.table if rep.table != "?" else None, rep.encoding, rep.delimiter, headers,
                          dict(rep.columns), list(rep.extra_columns), list(rep.problems))


def load_file(store: Store, path: str | os.PathLike[str], *, table: str | None = None,
              mode: Mode = "merge", mapping: dict[str, str] | None = None,
              encoding: str | None = None, file_name: str | None = None,
              loaded_by: str | None = None, progress: Progress | None = None) -> LoadReport:
    """Load one CSV file into a table. Returns the report; raises LoadRefused when refused."""
    path = Path(path)
    name = file_name or path.name
    say = progress or (lambda frac, msg: None)
    # A locked-down store's DuckDB reads only inside its allowed folders: work inside the spool.
    work = store.spool_dir if store.locked_down else None
    with tempfile.TemporaryDirectory(prefix="crm-load-", dir=work) as tmpdir:
        prep = _prepare(path, name, table, mode, mapping, encoding, tmpdir, say)
        read_path = prep.read_path
        if not store.can_read(read_path):
            read_path = Path(tmpdir) / (uuid.uuid4().hex + ".csv")
            shutil.copyfile(prep.read_path, read_path)
        if store.locked_down:
            read_path = read_path.resolve()
        if _fast_eligible(prep.table, prep.report.delimiter):
            report = _load_fast(store, prep.table, read_path, prep.report, prep.targets, prep.headers,
                                prep.report.delimiter, loaded_by, say, prep.data_rows)
            if report is not None:
                return report
        return _load_staged(store, prep.table, read_path, path, prep.report, prep.targets,
                            prep.headers, prep.report.delimiter, loaded_by, say, prep.data_rows)


def _read_csv_sql(headers: list[str], targets: dict[str, int]) -> str:
    """SELECT every matched column, as text under its contract name, from the file (parameters: path,
    delimiter). Every header position is read as VARCHAR under a positional name: no type sniffing."""
    positional = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    return ("SELECT " + ", ".join(f"c{i} AS {_q(col)}" for col, i in targets.items())
            + " FROM read_csv(?, delim = ?, quote = '\"', escape = '\"', header = true, "
            "auto_detect = false, columns = " + _struct_literal(positional) + ", "
            f"strict_mode = true, null_padding = false, max_line_size = {MAX_LINE_BYTES})")


def _load_staged(store: Store, tdef: Table, read_path: Path, orig_path: Path, report: LoadReport,
                 targets: dict[str, int], headers: list[str], delimiter: str,
                 loaded_by: str | None, say: Progress, data_rows: int) -> LoadReport:
    stage = f"_stage_{uuid.uuid4().hex[:12]}"
    with store.write_lock:
        cur = store.cursor()
        try:
            cur.execute("BEGIN")
            say(0.10, f"{report.file_name}: reading rows")
            try:
                cur.execute(f"CREATE TEMP TABLE {stage} AS {_read_csv_sql(headers, targets)}",
                            [str(read_path), delimiter])
            except duckdb.Error as e:
                report.problems = [_duckdb_csv_error(e)]
                report.problem_count = 1
                raise LoadRefused(report) from None
            try:
                report.rows_read = int(cur.execute(f"SELECT count(*) FROM {stage}").fetchone()[0])
                if report.rows_read != data_rows:
                    raise _lost_rows(report, data_rows)
                say(0.35, f"{report.file_name}: validating {report.rows_read:,} rows")
                plans = [plan_column(cur, stage, tdef.column(c), delimiter, report.file_name)
                         for c in targets]
                _validate(cur, stage, tdef, plans, report, read_path, delimiter)
                audit = _strategy_rules(cur, stage, tdef, plans, report, read_path, delimiter)
                say(0.55, f"{report.file_name}: writing {tdef.name}")
                load_id = _next_load_id(cur)
                touched = _write(cur, stage, tdef, plans, report,
                       snapshot=lambda kind, typed, same: safety.take_snapshot(
                           cur, tdef, load_id, kind, typed, same))
            except duckdb.Error as e:
                # Data no rule foresaw: a refusal with DuckDB's reason, never a traceback; rolled back.
                report.problems = [Problem(None, None, None, "the file could not be loaded: "
                                           + (str(e).strip().splitlines() or ["unknown error"])[0][:300])]
                report.problem_count = 1
                raise LoadRefused(report) from None
            if audit is not None:
                audit(loaded_by or current_user())
            _finish(store, cur, tdef, report, load_id, loaded_by, say, 0.75, rows=stage,
                    customer_id="trim(s.customer_id)", touched=touched)
            return report
        except BaseException:
            _rollback(cur)
            raise
        finally:
            _drop_quietly(cur, stage, f"{stage}_typed_touched")
            cur.close()


def _finish(store: Store, cur: duckdb.DuckDBPyConnection, tdef: Table, report: LoadReport, load_id: int,
            loaded_by: str | None, say: Progress, at: float, *, rows: str, customer_id: str,
            touched: str | None = None) -> None:
    """After the write, in the load's transaction: facts (when rows changed), snapshots, the
    unmatched-customer count over the file's ``rows`` (a table; ``customer_id`` its key as SQL over
    alias ``s``), the load history; then the commit. ``touched`` (a merge's changed customers) makes
    the facts refresh for those customers only (crm_metrics.data.facts)."""
    changed = bool(report.inserted or report.updated or report.removed)
    if changed:
        say(at, f"{report.file_name}: computing derived facts")
        store.refresh_facts(cur, Store.facts_for([tdef.name]), touched)
        store.bump_version(cur)
    safety.after_load(cur, tdef.name, load_id, changed=changed)
    if tdef.has_customer and tdef.name != "customers":
        report.unmatched = int(cur.execute(
            f"SELECT count(*) FROM {rows} s WHERE NOT EXISTS (SELECT 1 FROM customers c "
            f"WHERE c.customer_id = {customer_id})").fetchone()[0])
    report.load_id = _record(cur, report, loaded_by, load_id)
    cur.execute("COMMIT")
    say(1.0, f"{report.file_name}: done")


def _drop_quietly(cur: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Drop the load's temporary tables, whatever state the transaction was left in."""
    for t in tables:
        try:
            cur.execute(f"DROP TABLE IF EXISTS {t}")
        except duckdb.Error:
            pass


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # nothing open (the failure came before BEGIN, or DuckDB already ended it)


def _strategy_rules(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
                    report: LoadReport, read_path: Path, delimiter: str):
    """Strategy tables (goals, segments, channels): the rules that span columns or the KPI
    catalogue (crm_metrics.judgement.strategy.staged_problems), refused with line numbers like any other
    problem. Returns the function that records the load's changes in the strategy audit log."""
    if tdef.kind != "strategy":
        return None
    from crm_metrics.judgement import strategy
    found = strategy.staged_problems(cur, stage, tdef.name, {p.column.name: p.expr for p in plans})
    if found:
        base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
        shown = found[:MAX_PROBLEMS_SHOWN]
        lines = _line_numbers(read_path, delimiter, "utf-8", {int(r) - base for r, *_ in shown})
        report.problems = [Problem(lines.get(int(r) - base, int(r) - base + 2), col, val, rule)
                           for r, col, val, rule in shown]
        report.problem_count = len(found)
        raise LoadRefused(report)
    return table_auditor(cur, tdef.name, f"load {report.file_name}")


def _struct_literal(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


def _validate(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
              report: LoadReport, read_path: Path, delimiter: str) -> None:
    column_problems = [p.problem for p in plans if p.problem]
    checks: list[str] = []
    for p in plans:
        if p.problem:
            continue
        raw = _raw(p.column.name)
        col_lit = "'" + p.column.name + "'"
        if p.column.required:
            checks.append(f"SELECT rowid AS r, {col_lit} AS col, NULL AS val, 'required value is empty' AS rule "
                          f"FROM {stage} WHERE {raw} IS NULL")
        if p.invalid != "false":
            rule = p.rule.replace("'", "''")
            checks.append(f"SELECT rowid AS r, {col_lit} AS col, {_q(p.column.name)} AS val, '{rule}' AS rule "
                          f"FROM {stage} WHERE {raw} IS NOT NULL AND ({p.invalid})")
    key = tdef.key
    checks.append(
        f"SELECT r, '{key}' AS col, k AS val, 'duplicate key: the same ' || '{key}' || ' appears earlier in the file' "
        f"AS rule FROM (SELECT rowid AS r, {_raw(key)} AS k, row_number() OVER (PARTITION BY {_raw(key)} "
        f"ORDER BY rowid) AS rn FROM {stage}) WHERE k IS NOT NULL AND rn > 1")
    union = " UNION ALL ".join(checks)
    cur.execute(f"CREATE TEMP TABLE {stage}_problems AS {union}")
    try:
        count = int(cur.execute(f"SELECT count(*) FROM {stage}_problems").fetchone()[0])
        rows = cur.execute(
            f"SELECT r, col, val, rule FROM {stage}_problems ORDER BY r, col LIMIT {MAX_PROBLEMS_SHOWN}").fetchall()
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {stage}_problems")
    if not count and not column_problems:
        return
    # rowids of transaction-local rows start at an offset; the smallest is the first record.
    base = int(cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0])
    lines = _line_numbers(read_path, delimiter, "utf-8", {int(r[0]) - base for r in rows})
    problems = list(column_problems)
    for r, col, val, rule in rows:
        idx = int(r) - base
        problems.append(Problem(lines.get(idx, idx + 2), col, val, rule))
    report.problems = problems[:MAX_PROBLEMS_SHOWN]
    report.problem_count = count + len(column_problems)
    raise LoadRefused(report)


def _typed_select(tdef: Table, plans: list[ColumnPlan]) -> str:
    """The contract's columns, typed, from the staged text (the careful path; the fast path's
    typed columns come from :func:`_guarded_select`)."""
    exprs = {p.column.name: p.expr for p in plans}
    return ", ".join(f"{exprs.get(c.name, 'NULL')}::{c.sql_type} AS {c.name}" for c in tdef.columns)


def _parsed_expr(p: ColumnPlan, delimiter: str) -> str | None:
    """The part of a plan's expression that parses the text (what its rule and its value share)."""
    t = p.column.type
    if t in ("number", "integer"):
        return _number_expr(_raw(p.column.name), delimiter == ";")  # as plan_column made it for , and ;
    if t == "date":
        return p.expr[len("CAST("):-len(" AS DATE)")]
    if t in ("timestamp", "boolean"):
        return p.expr
    return None


def _guarded_select(tdef: Table, plans: list[ColumnPlan], delimiter: str, src: str) -> str:
    """The fast path's single pass over ``src`` in three layers, so that each cell is trimmed and
    parsed once: the trimmed text (r), the parsed value (b), then the typed column, which raises
    when the value breaks a rule (a required value missing, or the plan's ``invalid`` condition)."""
    trimmed, parsed, typed = [], [], {}
    for i, p in enumerate(plans):
        raw, r, b = _raw(p.column.name), f"r{i}", f"b{i}"
        trimmed.append(f"{raw} AS {r}")
        expr, invalid = p.expr, p.invalid
        base = _parsed_expr(p, delimiter)
        if base is not None:
            assert base in expr, (p.column.name, base, expr)
            parsed.append(f"{base.replace(raw, r)} AS {b}")
            expr, invalid = expr.replace(base, b), invalid.replace(base, b)
        expr, invalid = expr.replace(raw, r), invalid.replace(raw, r)
        bad = ([f"{r} IS NULL"] if p.column.required else []) + (
            [f"({r} IS NOT NULL AND ({invalid}))"] if p.invalid != "false" else [])
        if bad:
            expr = f"CASE WHEN {' OR '.join(bad)} THEN error('{_FAST_PATH_REFUSED}') ELSE {expr} END"
        typed[p.column.name] = expr
    cols = ", ".join(f"{typed.get(c.name, 'NULL')}::{c.sql_type} AS {c.name}" for c in tdef.columns)
    layer2 = f"SELECT *{', ' if parsed else ''}{', '.join(parsed)} FROM (SELECT {', '.join(trimmed)} FROM ({src}) s0) s1"
    return f"SELECT {cols} FROM ({layer2}) s2"


def _write(cur: duckdb.DuckDBPyConnection, stage: str, tdef: Table, plans: list[ColumnPlan],
           report: LoadReport, snapshot: Callable[[str, str, str | None], None] | None = None) -> str | None:
    """Merge or replace; ``snapshot(kind, typed_table, same_sql)`` is called just before the table
    changes so that the load can be undone (crm_metrics.data.undo)."""
    typed = f"{stage}_typed"
    cur.execute(f"CREATE TEMP TABLE {typed} AS SELECT {_typed_select(tdef, plans)} FROM {stage}")
    try:
        return _apply(cur, typed, tdef, report, snapshot)
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {typed}")


def _apply(cur: duckdb.DuckDBPyConnection, typed: str, tdef: Table, report: LoadReport,
           snapshot: Callable[[str, str, str | None], None] | None = None) -> str | None:
    """Replace the table with, or merge into it, the typed rows of ``typed``. A merge into a table
    with customers returns the name of a temporary table listing the customers whose rows it
    inserted or changed (old and new ids), so their facts alone are refreshed; otherwise None."""
    cols = ", ".join(tdef.column_names)
    key = tdef.key
    existing = int(cur.execute(f"SELECT count(*) FROM {tdef.name}").fetchone()[0])
    if report.mode == "replace" or existing == 0:
        report.removed = existing if report.mode == "replace" else 0
        if snapshot is not None:
            snapshot("replace", typed, None)
        cur.execute(f"DELETE FROM {tdef.name}")
        cur.execute(f"INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed}")
        report.inserted = report.rows_read
        return None
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in tdef.column_names)
    row = cur.execute(f"""
        SELECT count(*) FILTER (WHERE t.{key} IS NULL),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND NOT ({same})),
               count(*) FILTER (WHERE t.{key} IS NOT NULL AND ({same}))
        FROM {typed} s LEFT JOIN {tdef.name} t ON t.{key} = s.{key}""").fetchone()
    report.inserted, report.updated, report.unchanged = int(row[0]), int(row[1]), int(row[2])
    touched = None
    # Every staged row is a new key (the nightly append): no row of the table changes, so nothing in
    # it needs reading -- the cost is the file's, not the store's.
    only_new = report.updated == 0 and report.unchanged == 0
    if report.inserted or report.updated:
        if tdef.has_customer:
            touched = f"{typed}_touched"
            cur.execute(f"CREATE TEMP TABLE {touched} AS SELECT DISTINCT customer_id FROM {typed}" if only_new else
                        f"""CREATE TEMP TABLE {touched} AS SELECT DISTINCT customer_id FROM (
                SELECT s.customer_id FROM {typed} s LEFT JOIN {tdef.name} t ON t.{key} = s.{key}
                WHERE t.{key} IS NULL OR NOT ({same})
                UNION ALL
                SELECT t.customer_id FROM {typed} s JOIN {tdef.name} t ON t.{key} = s.{key}
                WHERE NOT ({same})) u""")
        if snapshot is not None:
            snapshot("append" if only_new else "merge", typed, same)
        if report.updated:
            cur.execute(f"""DELETE FROM {tdef.name} t WHERE EXISTS (
                SELECT 1 FROM {typed} s WHERE s.{key} = t.{key} AND NOT ({same}))""")
        if only_new:
            cur.execute(f"INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed}")
        else:
            cur.execute(f"""INSERT INTO {tdef.name} ({cols}) SELECT {cols} FROM {typed} s
                WHERE NOT EXISTS (SELECT 1 FROM {tdef.name} t WHERE t.{key} = s.{key})""")
    return touched


# -- the fast path -------------------------------------------------------------------------------
# Most files are clean. For them one pass reads, checks and writes every row: the column plans come
# from a sample, and every rule is checked on every row as it is written (a broken rule raises). If
# anything at all goes wrong -- a broken rule, a duplicate key, a malformed line, a sample that
# misjudged a column -- the transaction is rolled back and the careful path (stage as text, check
# every rule, report every problem with its line) runs from the start. Both give the same result
# for a clean file; only the careful path ever refuses one.
_FAST_PATH_REFUSED = "crm-fast-path: a value breaks a rule"
FAST_SAMPLE_ROWS = 50_000
# DuckDB's memory while loading (spills to disk beyond it); env CRM_LOAD_MEMORY_LIMIT
DEFAULT_LOAD_MEMORY_LIMIT = "1200MB"


def _fast_eligible(tdef: Table, delimiter: str) -> bool:
    # tab / pipe files decide decimal commas from the values; strategy tables have cross-row rules
    return tdef.kind == "fact" and delimiter in (",", ";")


def _sample_plans_are_final(plans: list[ColumnPlan]) -> bool:
    """A plan made on the sample is the plan the whole file would get, provided every row passes:
    true for ISO or single-format date columns (a second format, or a non-ISO value, breaks the rule
    and sends the file to the careful path). Several candidate formats could be narrowed down by
    later rows: careful path."""
    for p in plans:
        if p.problem is not None or p.expr.count("try_strptime") > 1:
            return False
    return True


class _NotFast(Exception):
    pass


def _load_fast(store: Store, tdef: Table, read_path: Path, report: LoadReport, targets: dict[str, int],
               headers: list[str], delimiter: str, loaded_by: str | None, say: Progress,
               data_rows: int) -> LoadReport | None:
    """Load a clean file in one pass; None (nothing changed) when the careful path must run."""
    src = _read_csv_sql(headers, targets)
    args = [str(read_path), delimiter]
    sample = f"_sample_{uuid.uuid4().hex[:12]}"
    typed = f"_typed_{uuid.uuid4().hex[:12]}"
    with store.write_lock:
        cur = store.cursor()
        capped = False
        try:
            capped = _load_memory(cur)
            cur.execute("BEGIN")
            say(0.10, f"{report.file_name}: reading rows")
            cur.execute(f"CREATE TEMP TABLE {sample} AS {src} LIMIT {FAST_SAMPLE_ROWS}", args)
            plans = [plan_column(cur, sample, tdef.column(c), delimiter, report.file_name) for c in targets]
            cur.execute(f"DROP TABLE {sample}")
            if not _sample_plans_are_final(plans):
                raise _NotFast
            # no row order to keep: DuckDB may write in parallel and hold less in memory
            cur.execute("SET preserve_insertion_order = false")
            select = _guarded_select(tdef, plans, delimiter, src)
            cols = ", ".join(tdef.column_names)
            existing = int(cur.execute(f"SELECT count(*) FROM {tdef.name}").fetchone()[0])
            load_id = _next_load_id(cur)
            direct = report.mode == "replace" or existing == 0
            say(0.30, f"{report.file_name}: checking and writing rows")
            if direct:
                # straight into the table: it holds exactly this file's rows afterwards
                report.removed = existing if report.mode == "replace" else 0
                safety.take_snapshot(cur, tdef, load_id, "replace")
                cur.execute(f"DELETE FROM {tdef.name}")
                report.rows_read = int(cur.execute(f"INSERT INTO {tdef.name} ({cols}) {select}", args).fetchone()[0])
                report.inserted = report.rows_read
                written = tdef.name
            else:
                cur.execute(f"CREATE TEMP TABLE {typed} AS {select}", args)
                report.rows_read = int(cur.execute(f"SELECT count(*) FROM {typed}").fetchone()[0])
                written = typed
            if report.rows_read != data_rows:
                raise _NotFast  # the careful path reads the file again and refuses it if it still differs
            if report.rows_read == 0 or _may_have_duplicates(cur, written, tdef.key):
                raise _NotFast  # the careful path says which lines repeat a key (or that the file is empty)
            touched = None
            if not direct:
                touched = _apply(cur, typed, tdef, report, snapshot=lambda kind, t, same: safety.take_snapshot(
                    cur, tdef, load_id, kind, t, same))
            _finish(store, cur, tdef, report, load_id, loaded_by, say, 0.60, rows=written,
                    customer_id="s.customer_id", touched=touched)
            return report
        except (_NotFast, duckdb.Error):
            _rollback(cur)
            _reset_report(report)
            return None
        except BaseException:
            _rollback(cur)
            raise
        finally:
            _drop_quietly(cur, sample, typed, f"{typed}_touched")
            _restore_memory(cur, capped)
            cur.close()


def _may_have_duplicates(cur: duckdb.DuckDBPyConnection, table: str, key: str) -> bool:
    """False when every key is distinct. Distinct hashes prove distinct keys; equal hashes (a
    duplicate, or a collision) leave it to the careful path to decide and say which lines."""
    n, distinct = cur.execute(f"SELECT count(*), count(DISTINCT hash({key})) FROM {table}").fetchone()
    return int(n) != int(distinct)


def _reset_report(report: LoadReport) -> None:
    report.rows_read = report.inserted = report.updated = report.unchanged = report.removed = 0
    report.unmatched = 0
    report.load_id = None


def _load_memory(cur: duckdb.DuckDBPyConnection) -> bool:
    """Cap DuckDB's memory for the load; it spills to disk beyond it. The setting is the database's,
    so it is reset to DuckDB's default afterwards (the store sets no other limit)."""
    want = os.environ.get("CRM_LOAD_MEMORY_LIMIT", DEFAULT_LOAD_MEMORY_LIMIT)
    if not want:
        return False
    try:
        size = _memory_text(want)
    except ValueError as e:
        raise ValueError(f"CRM_LOAD_MEMORY_LIMIT: {e}") from None
    try:
        cur.execute(f"SET memory_limit = '{size}'")
        return True
    except duckdb.Error:
        return False


def cap_memory(cur: duckdb.DuckDBPyConnection) -> bool:
    """CRM_LOAD_MEMORY_LIMIT for another big write (``rebuild``); undo with :func:`restore_memory`."""
    return _load_memory(cur)


def restore_memory(cur: duckdb.DuckDBPyConnection, capped: bool) -> None:
    _restore_memory(cur, capped)


def _restore_memory(cur: duckdb.DuckDBPyConnection, capped: bool) -> None:
    if capped:
        try:
            cur.execute("RESET memory_limit")
        except duckdb.Error:
            pass


def _memory_text(value: str) -> str:
    """A memory size as DuckDB reads it; anything else is refused (it is formatted into SQL)."""
    v = value.strip().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", v, re.IGNORECASE):
        raise ValueError(f"not a memory size: {value!r} (e.g. 1200MB or 2GB)")
    return v


def _next_load_id(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])


def _record(cur: duckdb.DuckDBPyConnection, report: LoadReport, loaded_by: str | None,
            load_id: int | None = None) -> int:
    load_id = load_id or _next_load_id(cur)
    who = loaded_by or current_user()
    cur.execute(
        "INSERT INTO load_history (load_id, table_name, file_name, sha256, mode, rows_read, inserted, "
        "updated, unchanged, removed, unmatched, encoding, extra_columns, loaded_at, loaded_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(timezone('UTC', now()) AS TIMESTAMP), ?)",
        [load_id, report.table, report.file_name, report.sha256, report.mode, report.rows_read,
         report.inserted, report.updated, report.unchanged, report.removed, report.unmatched,
         report.encoding, ", ".join(report.extra_columns), who])
    return load_id


def load_files(store: Store, paths: Sequence[str | os.PathLike[str]], **kwargs) -> list[LoadReport]:
    """Load several files; customers first so that unmatched counts are meaningful."""
    order = {"customers": 0}

    def rank(p: str | os.PathLike[str]) -> int:
        t = kwargs.get("table") or (tt.name if (tt := table_for_file(Path(p).name)) else "")
        return order.get(t, 1)

    return [load_file(store, p, **kwargs) for p in sorted(paths, key=rank)]
