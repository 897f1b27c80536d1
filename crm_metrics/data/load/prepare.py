"""A file read up to its header: its size, bytes, encoding and delimiter, its record count; which
table it is for (named, else the best match of its headers); its header matched to the contract.
Every refusal that needs no rows is made here. (Between the header and the match, an export may be
reshaped first: crm_metrics.data.load.exports.)"""
from __future__ import annotations

from pathlib import Path

from crm_metrics.data.detect import best_table, name_hint, rank_tables
from crm_metrics.data.footer import export_footer, without_footer
from crm_metrics.data.load.columns import match_columns
from crm_metrics.data.load.encoding import ENCODING_NAMES, detect_encoding, mixed_encoding, transcode
from crm_metrics.data.load.reading import (
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    detect_delimiter,
    head_text,
    line_at,
    read_header,
    size_problem,
)
from crm_metrics.data.load.records import scan
from crm_metrics.data.load.report import LoadReport, Progress, clip, refuse, refuse_all
from crm_metrics.data.schema import TABLES, Table


def choose_table(report: LoadReport, table: str | None, headers: list[str]) -> Table:
    """The named table, else the table the headers fit best (the file name breaks ties, or decides
    when no table fits); refused when neither says."""
    tname = table or best_table(headers, report.file_name)
    if tname is None:
        best = rank_tables(headers, report.file_name)[0]
        hint = (f" (closest: {best.table}, which also needs {', '.join(best.missing_required)})"
                if best.score > 0 else "")
        raise refuse(report, f"cannot tell which table this file is for: its headers match no table's "
                             f"required columns{hint}; choose the table (--table) and map the columns, "
                             f"or name the file after a table ({', '.join(TABLES)})")
    report.table = tname
    return TABLES[tname]


def match(report: LoadReport, tdef: Table, headers: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    targets, extra, problems = match_columns(tdef, headers, mapping)
    report.columns = {c: headers[i] for c, i in targets.items()}
    report.extra_columns = extra
    if problems:
        raise refuse_all(report, problems)
    return targets


def read_to_header(path: Path, name: str, table: str | None, mode: str, encoding: str | None, tmpdir: str,
                   say: Progress) -> tuple[LoadReport, Path, list[str], int]:
    """Every check that needs no rows: size, bytes, encoding (transcoded to UTF-8 when it is not),
    delimiter, header; returns the report, the UTF-8 path, the headers and the data rows."""
    if table is not None and table not in TABLES:
        raise refuse(LoadReport(name, "?", mode), f"cannot tell which table this file is for: there is no "
                                                   f"table {clip(table)!r}; the tables are {', '.join(TABLES)}")
    report = LoadReport(name, table or name_hint(name) or "?", mode)
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
        raw_delimiter = detect_delimiter(head_text(path))  # for the record count (see crm_metrics.data.load.records)
        bytes_read = scan(path, raw_delimiter)
    except OSError as e:
        raise refuse(report, f"cannot read the file: {e.strerror or e}") from None
    report.sha256, nul, utf8 = bytes_read.sha256, bytes_read.nul, bytes_read.utf8
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise refuse(report, "the file is UTF-16 text; save it as UTF-8 (or windows-1251 / windows-1252) CSV")
    if nul is not None:
        raise refuse(report, f"this is a binary file, not a CSV text file (a NUL byte at byte {nul + 1:,})")
    if bytes_read.long_line_at is not None:
        # refused here, at any size: beyond ~200 MB DuckDB's reader drops such a last line silently
        raise refuse(report, f"the line is longer than {MAX_LINE_BYTES // 1_000_000} MB, the most one line "
                             f"may hold (a cell this large, or a file without line breaks)",
                      line=line_at(path, bytes_read.long_line_at))
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
        if enc != "utf-8" and (mixed := mixed_encoding(path)) is not None:
            raise refuse(report, mixed.message(enc), line=mixed.changed_line)
    report.encoding = enc
    read_path = path
    if enc != "utf-8":
        try:
            read_path = transcode(path, enc, tmpdir)
        except UnicodeDecodeError as e:
            raise refuse(report, f"cannot be read as {enc}: {e.reason}") from None
    report.delimiter = detect_delimiter(head_text(read_path))
    data_rows = bytes_read.records - 1
    if report.delimiter != raw_delimiter:  # the same ASCII structure gives the same; never trust it blindly
        data_rows = scan(read_path, report.delimiter).records - 1
    if (footer := export_footer(read_path, delimiter=report.delimiter)) is not None:
        read_path = without_footer(read_path, footer, Path(tmpdir) / "without-footer.csv")
        data_rows = scan(read_path, report.delimiter).records - 1
        report.notes.append(footer.note())
    headers = read_header(read_path, report.delimiter)
    if not any(h.strip() for h in headers):
        raise refuse(report, "the first line (the header row) is empty or unreadable; "
                              "the file must start with a header naming its columns", line=1)
    if len(headers) > MAX_COLUMNS:
        raise refuse(report, f"the header has {len(headers):,} columns, more than the {MAX_COLUMNS:,} "
                             f"a load reads", line=1)
    return report, read_path, headers, max(data_rows, 0)
