"""Exports as the CRM tools write them: the preset (named, or detected from the headers), value
maps, unit conversions and the transactions' currency are applied before the load reads the file
(crm_metrics.data.reshape); the load's findings are then mapped back to the analyst's file.

A plain contract-shaped file never comes here: it loads exactly as before.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crm_metrics.data.detect import best_table
from crm_metrics.data.load.columns import match_columns
from crm_metrics.data.load.report import LoadReport, Problem, refuse, refuse_all
from crm_metrics.data.mappings import find_preset
from crm_metrics.data.presets import Conversion, Preset, ValueMap, detect_preset
from crm_metrics.data.reshape import CURRENCY_HEADERS, ReshapeRefused, ReshapeResult, plan_for, reshape
from crm_metrics.data.schema import TABLES, normalise_name
from crm_metrics.data.store import Store


@dataclass(frozen=True)
class ExportOptions:
    """What the analyst asked beyond the plain load (all optional)."""
    preset: str | Preset | None = None
    value_maps: Mapping[str, ValueMap] | None = None
    conversions: Mapping[str, Conversion] | None = None
    currency: str | None = None
    rate: float | None = None
    detect: bool = True      # look for a preset in the headers when none is named

    def asks(self) -> bool:
        return bool(self.preset or self.value_maps or self.conversions or self.currency or self.rate is not None)


def resolve_preset(store: Store | None, options: ExportOptions, headers: list[str], table: str | None,
                   report: LoadReport) -> Preset | None:
    """The preset to apply: the named one (built-in or saved), else the one the headers fit (when
    no table is named or it is the preset's table), else None."""
    if isinstance(options.preset, Preset):
        return options.preset
    if options.preset:
        try:
            return find_preset(store, options.preset)
        except KeyError as e:
            raise refuse(report, str(e.args[0])) from None
    if not options.detect:
        return None
    found = detect_preset(headers)
    if found is not None and (table is None or table == found.table):
        report.preset_detected = True
        return found
    return None


def choose_table_name(table: str | None, preset: Preset | None, headers: list[str], file_name: str) -> str | None:
    """The named table, else the preset's, else the best match of the headers (the file name only
    breaks ties, or decides when no table fits the headers)."""
    if table:
        return table
    if preset is not None:
        return preset.table
    return best_table(headers, file_name)


def needs_reshape(table: str, headers: list[str], preset: Preset | None, options: ExportOptions) -> bool:
    if preset is not None or options.asks():
        return True
    if table == "transactions":  # a currency column must be checked against the store's currency
        norm = {normalise_name(h) for h in headers}
        return any(c in norm for c in CURRENCY_HEADERS)
    return False


def reshape_file(read_path: Path, headers: list[str], report: LoadReport, *, table: str, preset: Preset | None,
                 mapping: dict[str, str] | None, options: ExportOptions, store_currency: str,
                 tmpdir: str) -> tuple[Path, list[str], dict[str, int], int, ReshapeResult]:
    """Reshape the (UTF-8) file; returns the new path, its headers, the column targets, its data
    rows and the reshape's result. The report names the original columns and the preset."""
    try:
        plan = plan_for(table, headers, preset=preset, mapping=mapping, value_maps=options.value_maps,
                        conversions=options.conversions, currency=options.currency, rate=options.rate,
                        store_currency=store_currency)
        out = Path(tmpdir) / "reshaped.csv"
        result = reshape(read_path, out, plan, encoding="utf-8", delimiter=report.delimiter)
    except ReshapeRefused as e:
        raise refuse(report, e.rule, column=e.column) from None
    new_headers = [c for c in TABLES[table].column_names if c in plan.sources or c in plan.constants]
    targets, _, problems = match_columns(TABLES[table], new_headers)
    report.preset = plan.preset
    report.columns = {c: plan.sources.get(c, f"(constant {plan.constants.get(c)!r})") for c in targets}
    report.extra_columns = result.extra_columns
    report.skipped = result.skipped
    report.notes = [*result.notes, *report.notes]  # the preset's first (the summary skips its name)
    report.currency = result.currency
    report.rate = options.rate if result.currency else None
    if problems:
        raise refuse_all(report, [_missing(p.column, preset) for p in problems])
    return out, new_headers, targets, len(result.source_lines), result


def _missing(column: str | None, preset: Preset | None) -> Problem:
    """A required column no column of the file feeds, with what the preset would read it from."""
    wanted = [src for src, dst in preset.columns.items() if dst == column] if preset is not None else []
    where = (f"; the preset {preset.name} reads it from {' or '.join(repr(w) for w in wanted)}, which the "
             f"file does not have" if wanted else "")
    return Problem(1, column, None, f"required column {column!r} is missing{where}; map a column of the file "
                                    f"to it, e.g. --map \"YOUR COLUMN={column}\"")


def lines_back(report: LoadReport, result: ReshapeResult | None) -> None:
    """Line numbers of the reshaped file -> the analyst's file, in every list of the report."""
    if result is None:
        return
    report.problems = [_moved(p, result) for p in report.problems]
    report.all_problems = [_moved(p, result) for p in report.all_problems]
    report.summaries = [s.with_lines(tuple(result.source_line(n) for n in s.first_lines)) for s in report.summaries]


def _moved(p: Problem, result: ReshapeResult) -> Problem:
    return Problem(result.source_line(p.line), p.column, p.value, p.rule) if p.line is not None else p


__all__ = ["ExportOptions", "choose_table_name", "lines_back", "needs_reshape", "reshape_file", "resolve_preset"]
