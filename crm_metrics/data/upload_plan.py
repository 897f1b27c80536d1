"""What the Data page needs to plan a load, without Streamlit: a look at the file (encoding, headers,
three sample values per column, the tables ranked by how well the headers fit, the preset the
headers suggest), the contract's labels, which contract column each header feeds, which required
columns are still unmapped, the analyst's value choices as a value map, and the warnings that stop
the green tick after a load.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_metrics.data.detect import TableCandidate, best_table, name_hint, rank_tables
from crm_metrics.data.ingest import LoadReport, inspect_file
from crm_metrics.data.load_warnings import DEFAULT_UNKNOWN_SHARE, LoadWarning, replaced_rows, unknown_customers
from crm_metrics.data.peek import distinct_values, sample_values
from crm_metrics.data.presets import KEEP, UNIT_CONVERSIONS, Conversion, Preset, ValueMap, detect_preset
from crm_metrics.data.reshape import ReshapeRefused, plan_for
from crm_metrics.data.schema import TABLES, Column

# words written in capitals in a column's label
_UPPER = {"id": "ID", "csat": "CSAT", "ces": "CES", "nps": "NPS", "kpi": "KPI"}
# the units a number column may arrive in (the first is the contract's own)
UNITS: dict[str, tuple[str, ...]] = {
    "handle_seconds": ("seconds", "minutes", "hours", "milliseconds"),
    "wait_seconds": ("seconds", "minutes", "hours", "milliseconds"),
    "amount": ("units", "cents"),
}
MISSING = "\x00missing"   # a value choice: the value becomes an empty cell


@dataclass(frozen=True)
class FileLook:
    """A file before it is loaded."""
    headers: tuple[str, ...]
    encoding: str
    delimiter: str
    samples: Mapping[str, Sequence[str]]        # header -> up to three values
    candidates: tuple[TableCandidate, ...]      # tables, best fit first
    preset: str | None                          # the preset the headers suggest (None: none fits)
    problems: tuple[str, ...] = ()              # why the header could not be read, if so
    # the table the headers fit completely, else the one the file name names, else the closest fit
    best_table: str | None = None


def look(path: str | os.PathLike[str], file_name: str | None = None,
         presets: Sequence[Preset] | None = None) -> FileLook:
    """Read a file's header and first rows (nothing is loaded)."""
    # Any table will do to read the encoding, delimiter and header: the headers choose the table
    # below (a file named after no table would otherwise not be read at all).
    insp = inspect_file(path, file_name=file_name, table=name_hint(file_name) or "customers")
    headers = tuple(insp.headers)
    if not headers:
        return FileLook((), insp.encoding, insp.delimiter, {}, (), None, tuple(str(p) for p in insp.problems))
    samples = sample_values(path, encoding=insp.encoding, delimiter=insp.delimiter)
    found = detect_preset(headers, presets)
    ranked = tuple(rank_tables(headers, file_name))
    best = best_table(headers, file_name) or (ranked[0].table if ranked else None)
    return FileLook(headers, insp.encoding, insp.delimiter, samples, ranked, found.name if found else None,
                    best_table=best)


def values_of(path: str | os.PathLike[str], header: str, file: FileLook, limit: int = 30) -> list[tuple[str, int]]:
    """The most frequent values of one column, with counts ("" is the empty cell)."""
    return distinct_values(path, header, encoding=file.encoding, delimiter=file.delimiter, limit=limit)


def column_label(col: Column) -> str:
    """The contract's column as a person reads it: ``customer_id`` -> "Customer ID"."""
    words = [_UPPER.get(w, w) for w in col.name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def sources(table: str, headers: Sequence[str], preset: Preset | None = None,
            mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Contract column -> the header that feeds it: the contract's matching, then the preset's
    columns, then the analyst's mapping (header -> contract column), each winning over the one before."""
    try:
        return dict(plan_for(table, headers, preset=preset if preset and preset.table == table else None,
                             mapping=mapping).sources)
    except ReshapeRefused:
        return {}


def missing_required(table: str, fed: Mapping[str, str], preset: Preset | None = None) -> list[str]:
    """Required contract columns nothing feeds (no header, no constant of the preset): Load waits."""
    constants = set(preset.constants) if preset is not None and preset.table == table else set()
    return [c.name for c in TABLES[table].columns if c.required and c.name not in fed and c.name not in constants]


def value_choices(col: Column) -> list[str] | None:
    """The contract values a column allows, when they are few enough to choose from (else None:
    the analyst types the value)."""
    if col.choices:
        return list(col.choices)
    if col.type == "boolean":
        return ["true", "false"]
    if col.type == "integer" and col.minimum is not None and col.maximum is not None \
            and col.maximum - col.minimum <= 10:
        return [str(v) for v in range(int(col.minimum), int(col.maximum) + 1)]
    return None


def value_map(choices: Mapping[str, str | None]) -> ValueMap | None:
    """The analyst's choices (source value -> contract value, MISSING, or None/"" = keep as it is)
    as a value map; None when nothing is mapped."""
    values = {src: (None if v == MISSING else v) for src, v in choices.items() if v not in (None, "")}
    return ValueMap(values, KEEP) if values else None


def merged_value_map(base: ValueMap | None, mine: ValueMap) -> ValueMap:
    """The analyst's choices on top of a preset's map of the same column (the preset's other values
    and its rule for unlisted ones stay; the analyst's choice wins for a value both name)."""
    if base is None:
        return mine
    return ValueMap({**base.values, **mine.values}, base.other)


def conversion(column: str, unit: str) -> Conversion | None:
    """The conversion of ``column`` from the file's ``unit`` (None: the contract's own unit)."""
    units = UNITS.get(column, ())
    if not units or unit == units[0]:
        return None
    return UNIT_CONVERSIONS[unit]


def warnings_after(report: LoadReport, customers: int, settings: Mapping[str, Any]) -> list[LoadWarning]:
    """The warnings that stop the green tick: the load's own (``report.warnings``) when the load
    step gives them; otherwise the unknown-customer share and the rows a replace removed."""
    own = getattr(report, "warnings", None)
    if own is not None:
        return list(own)
    limit = float(settings.get("unknown_customer_warn_share", DEFAULT_UNKNOWN_SHARE))
    out = [unknown_customers(report.table, report.unmatched, report.rows_read, customers, limit)
           if TABLES[report.table].has_customer and report.table != "customers" else None,
           replaced_rows(report.table, report.removed, report.rows_read, report.load_id)]
    return [w for w in out if w is not None]


__all__ = ["MISSING", "UNITS", "FileLook", "column_label", "conversion", "look", "merged_value_map", "missing_required",
           "sources", "value_choices", "value_map", "values_of", "warnings_after"]
