"""A look at a file's values before it is loaded: a few samples per column (for the mapping's
dropdowns) and the distinct values of one column with their counts (for value mapping).

Encoding and delimiter are the ones the load detected (``inspect_file(...).encoding/.delimiter``).
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from crm_metrics.data.footer import export_footer, footer_line
from crm_metrics.data.schema import normalise_name

MAX_SHOWN_CHARS = 80


def read_records(path: str | os.PathLike[str], encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, record) for the header and then each non-empty record; a byte-order mark is
    dropped. The start line counts physical lines, as the load's messages do."""
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    footer = export_footer(Path(path), encoding=enc, delimiter=delimiter)  # left out, as the load does
    footer_at = footer_line(Path(path), footer) if footer is not None else None
    with open(path, encoding=enc, newline="", errors="replace") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar='"')
        header = next(reader, [])
        yield 1, header
        start = reader.line_num + 1
        for rec in reader:
            if footer_at is not None and start >= footer_at:
                return
            if rec and any(c.strip() for c in rec):
                yield start, rec
            start = reader.line_num + 1


def _shown(v: str) -> str:
    v = v.strip()
    return v if len(v) <= MAX_SHOWN_CHARS else v[:MAX_SHOWN_CHARS] + "…"


def sample_values(path: str | os.PathLike[str], *, encoding: str = "utf-8", delimiter: str = ",",
                  n: int = 3, max_rows: int = 2000) -> dict[str, list[str]]:
    """Header -> its first ``n`` non-empty values (distinct), read from the first ``max_rows`` rows."""
    rows = read_records(Path(path), encoding, delimiter)
    _, headers = next(rows, (1, []))
    out: dict[str, list[str]] = {h: [] for h in headers}
    for k, (_, rec) in enumerate(rows):
        if k >= max_rows:
            break
        for h, v in zip(headers, rec):
            if v.strip() and len(out[h]) < n and _shown(v) not in out[h]:
                out[h].append(_shown(v))
        if all(len(v) >= n for v in out.values()):
            break
    return out


def distinct_values(path: str | os.PathLike[str], column: str, *, encoding: str = "utf-8",
                    delimiter: str = ",", limit: int = 50) -> list[tuple[str, int]]:
    """The ``limit`` most frequent values of ``column`` (a header of the file, compared as the
    contract compares names) with their counts; the empty cell appears as "". KeyError when the
    file has no such column."""
    rows = read_records(Path(path), encoding, delimiter)
    _, headers = next(rows, (1, []))
    norm = [normalise_name(h) for h in headers]
    try:
        i = norm.index(normalise_name(column))
    except ValueError:
        raise KeyError(f"the file has no column {column!r}") from None
    counts: Counter[str] = Counter(rec[i].strip() if i < len(rec) else "" for _, rec in rows)
    return counts.most_common(limit)


__all__ = ["distinct_values", "read_records", "sample_values"]
