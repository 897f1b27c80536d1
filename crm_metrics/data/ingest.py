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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crm_metrics.data.currency import store_currency
from crm_metrics.data.detect import TableCandidate, auto_sources, best_table, rank_tables
from crm_metrics.data.load.careful import load_careful
from crm_metrics.data.load.columns import ColumnPlan, match_columns, plan_column
from crm_metrics.data.load.encoding import ENCODING_NAMES, detect_encoding, file_sha256, mixed_encoding
from crm_metrics.data.load.exports import (
    ExportOptions,
    choose_table_name,
    lines_back,
    needs_reshape,
    reshape_file,
    resolve_preset,
)
from crm_metrics.data.load.fast import FAST_SAMPLE_ROWS, fast_eligible, load_fast
from crm_metrics.data.load.prepare import choose_table, match, read_to_header
from crm_metrics.data.load.reading import (
    DEFAULT_MAX_UPLOAD_MB,
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    detect_delimiter,
    head_text,
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
from crm_metrics.data.peek import sample_values
from crm_metrics.data.presets import PRESETS, Conversion, Preset, ValueMap, detect_preset
from crm_metrics.data.reshape import ReshapeRefused, plan_for
from crm_metrics.data.schema import TABLES, Table
from crm_metrics.data.store import Store

# The load's public names, importable from here as before the split into crm_metrics.data.load.
__all__ = [
    "load_file", "load_files", "inspect_file", "guess_table", "Inspection", "LoadReport", "LoadRefused", "Problem", "Mode",
    "Progress", "TableRules", "ColumnPlan", "match_columns", "plan_column", "detect_delimiter",
    "detect_encoding", "mixed_encoding", "read_header", "file_sha256", "max_upload_mb", "size_problem",
    "clip", "ENCODING_NAMES", "DEFAULT_MAX_UPLOAD_MB", "MAX_COLUMNS", "MAX_LINE_BYTES", "MAX_PROBLEMS_SHOWN",
    "FAST_SAMPLE_ROWS",
]


@dataclass
class Inspection:
    """What the app shows before a load: the table, headers, the column matching and problems; the
    tables ranked by how well the headers fit them, the preset (named or detected), three sample
    values per header, and the required columns still unmapped (keep Load disabled until empty)."""
    table: str | None
    encoding: str
    delimiter: str
    headers: list[str]
    columns: dict[str, str]
    extra_columns: list[str]
    problems: list[Problem]
    candidates: list[TableCandidate] = field(default_factory=list)
    preset: str | None = None
    preset_detected: bool = False
    samples: dict[str, list[str]] = field(default_factory=dict)
    missing_required: list[str] = field(default_factory=list)


def inspect_file(path: str | os.PathLike[str], *, table: str | None = None,
                 mapping: dict[str, str] | None = None, encoding: str | None = None,
                 file_name: str | None = None, preset: str | Preset | None = None, detect: bool = True,
                 store: Store | None = None) -> Inspection:
    """Read a file's header and match its columns, without loading anything (``store``: to find
    the analyst's saved mappings by name)."""
    path = Path(path)
    name = file_name or path.name
    with tempfile.TemporaryDirectory(prefix="crm-inspect-") as tmpdir:
        try:
            report, read_path, headers, _ = read_to_header(path, name, table, "merge", encoding, tmpdir,
                                                           lambda f, m: None)
        except LoadRefused as e:
            rep = e.report
            return Inspection(None, rep.encoding, rep.delimiter, [], {}, [], list(rep.problems))
        found = None
        problems: list[Problem] = []
        try:
            found = resolve_preset(store, ExportOptions(preset=preset, detect=detect), headers, table, report)
        except LoadRefused as e:
            problems = list(e.report.problems)
        tname = choose_table_name(table, found, headers, name)
        candidates = rank_tables(headers, name)
        samples = sample_values(read_path, encoding="utf-8", delimiter=report.delimiter)
        columns: dict[str, str] = {}
        extra: list[str] = list(headers)
        missing: list[str] = []
        if tname is not None:
            tdef = TABLES[tname]
            try:
                plan = plan_for(tname, headers, preset=found, mapping=mapping)
                columns = dict(plan.sources)
            except ReshapeRefused as e:
                problems.append(Problem(None, e.column, None, e.rule))
                columns = dict(auto_sources(tdef, headers))
            consts = set(found.constants) if found is not None else set()
            missing = [c.name for c in tdef.columns if c.required and c.name not in columns and c.name not in consts]
            problems += [Problem(1, c, None, f"required column {c!r} is not mapped to a column of the file")
                         for c in missing]
            extra = [h for h in headers if h not in set(columns.values())]
        return Inspection(tname, report.encoding, report.delimiter, headers, columns, extra, problems,
                          candidates, found.name if found else None, report.preset_detected, samples, missing)


def load_file(store: Store, path: str | os.PathLike[str], *, table: str | None = None,
              mode: Mode = "merge", mapping: dict[str, str] | None = None,
              encoding: str | None = None, file_name: str | None = None,
              loaded_by: str | None = None, progress: Progress | None = None,
              table_rules: TableRules | None = None, preset: str | Preset | None = None,
              value_maps: Mapping[str, ValueMap] | None = None,
              conversions: Mapping[str, Conversion] | None = None, currency: str | None = None,
              rate: float | None = None, detect: bool = True) -> LoadReport:
    """Load one CSV file into a table. Returns the report; raises LoadRefused when refused.

    ``table_rules``: the rules of the strategy tables beyond the contract (a goal's KPI must exist,
    ...), which need the KPI catalogue: callers above the data layer pass
    ``crm_metrics.judgement.strategy.staged_problems``; without them only the contract's rules apply.

    Exports (docs/presets.md): ``preset`` (a name, built-in or saved, or a Preset; detected from the
    headers when None and ``detect``), ``value_maps`` and ``conversions`` (contract column -> map /
    unit conversion), ``currency`` and ``rate`` (a transactions file's currency; 1 unit of it =
    ``rate`` units of the store's). The table is the named one, else the preset's, else the one the
    headers fit best. After the load, ``report.warnings`` says what should still be looked at."""
    path = Path(path)
    name = file_name or path.name
    say = progress or (lambda frac, msg: None)
    options = ExportOptions(preset, value_maps, conversions, currency, rate, detect)
    # A locked-down store's DuckDB reads only inside its allowed folders: work inside the spool.
    work = store.spool_dir if store.locked_down else None
    with tempfile.TemporaryDirectory(prefix="crm-load-", dir=work) as tmpdir:
        report, read_path, headers, data_rows = read_to_header(path, name, table, mode, encoding, tmpdir, say)
        found = resolve_preset(store, options, headers, table, report)
        tdef = choose_table(report, choose_table_name(table, found, headers, name), headers)
        reshaped = None
        if needs_reshape(tdef.name, headers, found, options):
            read_path, headers, targets, data_rows, reshaped = reshape_file(
                read_path, headers, report, table=tdef.name, preset=found, mapping=mapping, options=options,
                store_currency=store_currency(store), tmpdir=tmpdir)
        else:
            targets = match(report, tdef, headers, mapping)
        if not store.can_read(read_path):
            copied = Path(tmpdir) / (uuid.uuid4().hex + ".csv")
            shutil.copyfile(read_path, copied)
            read_path = copied
        if store.locked_down:
            read_path = read_path.resolve()
        try:
            return _load(store, tdef, read_path, report, targets, headers, loaded_by, say, data_rows, table_rules)
        except LoadRefused:
            lines_back(report, reshaped)
            raise


def _load(store: Store, tdef: Table, read_path: Path, report: LoadReport, targets: dict[str, int],
          headers: list[str], loaded_by: str | None, say: Progress, data_rows: int,
          table_rules: TableRules | None) -> LoadReport:
    delimiter = report.delimiter
    if fast_eligible(tdef, delimiter):
        done = load_fast(store, tdef, read_path, report, targets, headers, delimiter, loaded_by, say, data_rows)
        if done is not None:
            return done
    return load_careful(store, tdef, read_path, report, targets, headers, delimiter, loaded_by, say, data_rows,
                        table_rules)


def guess_table(path: str | os.PathLike[str], preset: str | None = None) -> str | None:
    """The table a file is likely for, from its header (a built-in preset's table when one fits,
    else the best-matching table; the file name breaks ties): to load customers first. None when
    the header cannot be read or fits nothing."""
    p = Path(path)
    if preset in PRESETS:
        return PRESETS[preset].table
    try:
        headers = read_header(p, detect_delimiter(head_text(p)))
    except OSError:
        return None
    found = detect_preset(headers)
    return found.table if found is not None else best_table(headers, p.name)


def load_files(store: Store, paths: Sequence[str | os.PathLike[str]], **kwargs) -> list[LoadReport]:
    """Load several files; customers first so that unmatched counts are meaningful."""
    order = {"customers": 0}

    def rank(p: str | os.PathLike[str]) -> int:
        return order.get(kwargs.get("table") or guess_table(p) or "", 1)

    return [load_file(store, p, **kwargs) for p in sorted(paths, key=rank)]
