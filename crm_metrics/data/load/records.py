"""One read of a file's bytes: its SHA-256, the first NUL byte, whether it is UTF-8, its first
over-long line, and its CSV records counted independently of DuckDB's reader."""
from __future__ import annotations

import codecs
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crm_metrics.data.load.reading import CHUNK, MAX_LINE_BYTES


@dataclass(frozen=True)
class Scan:
    """What one read of a file's bytes found (see :func:`scan`)."""
    sha256: str
    nul: int | None          # offset of the first NUL byte
    utf8: bool               # the whole file is valid UTF-8
    records: int             # non-empty CSV records, the header included (see Records)
    long_line_at: int | None  # offset where the first line longer than MAX_LINE_BYTES starts


class Records:
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
        cut = last_break(chunk, 0, len(chunk)) + 1
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
            last = last_break(chunk, i, end)
            if last >= 0:
                self.line_start = base + last + 1
                i = last + 1
                continue
            if self.line_start + self.max_line + 1 - base <= n:
                self.long_line_at = self.line_start
            return


def last_break(chunk: bytes, start: int, end: int) -> int:
    """The offset of the last \\n or \\r in chunk[start:end], or -1. The \\r search starts
    after the last \\n: most files have no lone CR, and a search for one would read it all."""
    lf = chunk.rfind(b"\n", start, end)
    return max(lf, chunk.rfind(b"\r", max(start, lf + 1), end))


def scan(path: Path, delimiter: str = ",") -> Scan:
    """One read of the file: its SHA-256, the offset of its first NUL byte, whether it is valid
    UTF-8 (ASCII chunks skip the decoder: most exports are ASCII), its record count and its first
    over-long line."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    records = Records(delimiter)
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

