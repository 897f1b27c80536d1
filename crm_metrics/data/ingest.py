"""Loading CSV files into the store exactly as the data contract says.

A load is: detect encoding and delimiter -> match columns -> (fast path) read, check every rule
and write in one pass, or (careful path, whenever the fast one meets anything unusual) stage every
cell as text and validate every rule in one SQL pass, so that a bad value at line 30 000 is found
and reported with its line, whatever DuckDB's sniffer would have sampled -> merge or replace ->
rebuild the fact and summary tables -> record the load. All of it in one ``store.transaction()``: a
refused or failed file changes nothing. See docs/architecture.md, "Loading".

This module holds the entry points and re-exports the load's public names; the steps are in
crm_metrics.data.load, one module per concern.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crm_metrics.data.load.careful import load_careful
from crm_metrics.data.load.columns import ColumnPlan, match_columns, plan_column
from crm_metrics.data.load.encoding import ENCODING_NAMES, detect_encoding, file_sha256, mixed_encoding
from crm_metrics.data.load.fast import FAST_SAMPLE_ROWS, fast_eligible, load_fast
from crm_metrics.data.load.prepare import prepare
from crm_metrics.data.load.reading import (
    DEFAULT_MAX_UPLOAD_MB,
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    detect_delimiter,
    max_upload_mb,
    read_header,
    size_problem,
)
from crm_metrics.data.load.report import (
    MAX_PROBLEMS_SHOWN,
    LoadRefused,
    LoadReport,
    Mode,
    Problem,
    Progress,
    clip,
)
from crm_metrics.data.load.rules import TableRules
from crm_metrics.data.schema import table_for_file
from crm_metrics.data.store import Store

# The load's public names, importable from here as before the split into crm_metrics.data.load.
__all__ = [
    "load_file", "load_files", "inspect_file", "Inspection", "LoadReport", "LoadRefused", "Problem", "Mode",
    "Progress", "TableRules", "ColumnPlan", "match_columns", "plan_column", "detect_delimiter",
    "detect_encoding", "mixed_encoding", "read_header", "file_sha256", "max_upload_mb", "size_problem",
    "clip", "ENCODING_NAMES", "DEFAULT_MAX_UPLOAD_MB", "MAX_COLUMNS", "MAX_LINE_BYTES", "MAX_PROBLEMS_SHOWN",
    "FAST_SAMPLE_ROWS",
]


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
            prep = prepare(path, name, table, "merge", mapping, encoding, tmpdir, lambda f, m: None)
            rep, headers = prep.report, prep.headers
        except LoadRefused as e:
            rep = e.report
            headers = read_header(path, rep.delimiter) if path.exists() and rep.table != "?" else []
        return Inspection(rep.table if rep.table != "?" else None, rep.encoding, rep.delimiter, headers,
                          dict(rep.columns), list(rep.extra_columns), list(rep.problems))


def load_file(store: Store, path: str | os.PathLike[str], *, table: str | None = None,
              mode: Mode = "merge", mapping: dict[str, str] | None = None,
              encoding: str | None = None, file_name: str | None = None,
              loaded_by: str | None = None, progress: Progress | None = None,
              table_rules: TableRules | None = None) -> LoadReport:
    """Load one CSV file into a table. Returns the report; raises LoadRefused when refused.

    ``table_rules``: the rules of the strategy tables beyond the contract (a goal's KPI must exist,
    ...), which need the KPI catalogue: callers above the data layer pass
    ``crm_metrics.judgement.strategy.staged_problems``; without them only the contract's rules apply."""
    path = Path(path)
    name = file_name or path.name
    say = progress or (lambda frac, msg: None)
    # A locked-down store's DuckDB reads only inside its allowed folders: work inside the spool.
    work = store.spool_dir if store.locked_down else None
    with tempfile.TemporaryDirectory(prefix="crm-load-", dir=work) as tmpdir:
        prep = prepare(path, name, table, mode, mapping, encoding, tmpdir, say)
        read_path = prep.read_path
        if not store.can_read(read_path):
            read_path = Path(tmpdir) / (uuid.uuid4().hex + ".csv")
            shutil.copyfile(prep.read_path, read_path)
        if store.locked_down:
            read_path = read_path.resolve()
        delimiter = prep.report.delimiter
        if fast_eligible(prep.table, delimiter):
            report = load_fast(store, prep.table, read_path, prep.report, prep.targets, prep.headers,
                               delimiter, loaded_by, say, prep.data_rows)
            if report is not None:
                return report
        return load_careful(store, prep.table, read_path, prep.report, prep.targets, prep.headers,
                            delimiter, loaded_by, say, prep.data_rows, table_rules)


def load_files(store: Store, paths: Sequence[str | os.PathLike[str]], **kwargs) -> list[LoadReport]:
    """Load several files; customers first so that unmatched counts are meaningful."""
    order = {"customers": 0}

    def rank(p: str | os.PathLike[str]) -> int:
        t = kwargs.get("table") or (tt.name if (tt := table_for_file(Path(p).name)) else "")
        return order.get(t, 1)

    return [load_file(store, p, **kwargs) for p in sorted(paths, key=rank)]
