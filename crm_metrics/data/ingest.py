"""Loading CSV files into the store exactly as the data contract says.

A load is: detect encoding and delimiter -> match columns -> (fast path) read, check every rule
and write in one pass, or (careful path, whenever the fast one meets anything unusual) stage every
cell as text and validate every rule in one SQL pass, so that a bad value at line 30 000 is found
and reported with its line, whatever DuckDB's sniffer would have sampled -> merge or replace ->
rebuild the fact and summary tables -> record the load. All of it in one transaction: a refused or
failed file changes nothing. See docs/architecture.md, "Loading".

This module holds the entry points; the steps are in crm_metrics.data.load, one module per concern.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_metrics.data.load.careful import load_careful
from crm_metrics.data.load.columns import ColumnPlan, match_columns, plan_column
from crm_metrics.data.load.fast import fast_eligible, load_fast
from crm_metrics.data.load.reading import (
    ENCODING_NAMES,
    MAX_COLUMNS,
    detect_delimiter,
    detect_encoding,
    file_sha256,
    head_text,
    max_upload_mb,
    read_header,
    scan,
    size_problem,
    transcode,
)
from crm_metrics.data.load.report import MAX_PROBLEMS_SHOWN, LoadRefused, LoadReport, Mode, Problem, Progress, refuse
from crm_metrics.data.schema import TABLES, Table, table_for_file
from crm_metrics.data.store import Store


@dataclass
class Prepared:
    """A file read up to its header: which table, how it is encoded and delimited, which columns."""
    report: LoadReport
    table: Table
    read_path: Path
    headers: list[str]
    targets: dict[str, int]


def _prepare(path: Path, name: str, table: str | None, mode: str, mapping: dict[str, str] | None,
             encoding: str | None, tmpdir: str, say: Progress) -> Prepared:
    tname = table or (t.name if (t := table_for_file(name)) else None)
    if tname is None or tname not in TABLES:
        raise refuse(LoadReport(name, tname or "?", mode),
                      f"cannot tell which table this file is for; name it after a table "
                      f"({', '.join(TABLES)}) or give --table")
    tdef = TABLES[tname]
    report = LoadReport(name, tname, mode)
    if mode not in ("merge", "replace"):
        raise refuse(report, f"mode must be merge or replace, not {mode!r}")
    if not path.is_file():
        raise refuse(report, "no such file")
    if path.stat().st_size == 0:
        raise refuse(report, "the file is empty")
    if (too_big := size_problem(path)) is not None:
        raise refuse(report, too_big)
    say(0.02, f"{name}: checking encoding")
    try:
        with open(path, "rb") as f:
            start = f.read(4)
        report.sha256, nul, utf8 = scan(path)
    except OSError as e:
        raise refuse(report, f"cannot read the file: {e.strerror or e}") from None
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise refuse(report, "the file is UTF-16 text; save it as UTF-8 (or windows-1251 / windows-1252) CSV")
    if nul is not None:
        raise refuse(report, f"this is a binary file, not a CSV text file (a NUL byte at byte {nul + 1:,})")
    if start.startswith(b"\xef\xbb\xbf") and not head_text(path, 4096).strip():
        raise refuse(report, "the file is empty (only a byte-order mark)")
    if encoding:
        enc = ENCODING_NAMES.get(encoding.lower())
        if enc is None:
            raise refuse(report, f"unknown encoding {encoding!r}; use utf-8, windows-1251 or windows-1252")
        if enc == "utf-8" and not utf8:
            raise refuse(report, "the file is not valid UTF-8 although utf-8 was named; leave the encoding "
                                  "out to detect it, or name windows-1251 / windows-1252")
    else:
        enc = detect_encoding(path, utf8)
    report.encoding = enc
    read_path = path
    if enc != "utf-8":
        try:
            read_path = transcode(path, enc, tmpdir)
        except UnicodeDecodeError as e:
            raise refuse(report, f"cannot be read as {enc}: {e.reason}") from None
    report.delimiter = detect_delimiter(head_text(read_path))
    headers = read_header(read_path, report.delimiter)
    if not any(h.strip() for h in headers):
        raise refuse(report, "the first line (the header row) is empty or unreadable; "
                              "the file must start with a header naming its columns", line=1)
    if len(headers) > MAX_COLUMNS:
        raise refuse(report, f"the header has {len(headers):,} columns, more than the {MAX_COLUMNS:,} "
                              f"a load reads", line=1)
    targets, extra, problems = match_columns(tdef, headers, mapping)
    report.columns = {c: headers[i] for c, i in targets.items()}
    report.extra_columns = extra
    if problems:
        report.problems = problems[:MAX_PROBLEMS_SHOWN]
        report.problem_count = len(problems)
        raise LoadRefused(report)
    return Prepared(report, tdef, read_path, headers, targets)


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
        if fast_eligible(prep.table, prep.report.delimiter):
            report = load_fast(store, prep.table, read_path, prep.report, prep.targets, prep.headers,
                                prep.report.delimiter, loaded_by, say)
            if report is not None:
                return report
        return load_careful(store, prep.table, read_path, path, prep.report, prep.targets,
                            prep.headers, prep.report.delimiter, loaded_by, say)


def load_files(store: Store, paths: Sequence[str | os.PathLike[str]], **kwargs: Any) -> list[LoadReport]:
    """Load several files; customers first so that unmatched counts are meaningful."""
    order = {"customers": 0}

    def rank(p: str | os.PathLike[str]) -> int:
        t = kwargs.get("table") or (tt.name if (tt := table_for_file(Path(p).name)) else "")
        return order.get(t, 1)

    return [load_file(store, p, **kwargs) for p in sorted(paths, key=rank)]


# The load's public names, importable from here as before the split into crm_metrics.data.load.
__all__ = [
    "load_file", "load_files", "inspect_file", "Inspection", "LoadReport", "LoadRefused", "Problem", "Mode",
    "Progress", "ColumnPlan", "match_columns", "plan_column", "detect_delimiter", "detect_encoding",
    "read_header", "file_sha256", "max_upload_mb", "size_problem", "ENCODING_NAMES",
]
