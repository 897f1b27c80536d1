"""Reshaping an export into the contract's form before the load reads it: a preset's (or the
analyst's) column choice, value maps, timestamp formats with UTC offsets, unit conversions,
constants, a row filter and the transactions' currency.

The result is a CSV file with the contract's column names, in the source's delimiter (so numbers
keep the source's decimal convention and the load reads them exactly as it would the source),
plus the source line of each record: the load's problems point at the analyst's file, not at this
one. A value this step cannot read is written unchanged, so the load's own rules report it with
its line.
"""
from __future__ import annotations

import csv
import re
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crm_metrics.data.detect import auto_sources
from crm_metrics.data.peek import read_records
from crm_metrics.data.presets.model import KEEP, Conversion, Preset, ValueMap
from crm_metrics.data.schema import TABLES, normalise_name
from crm_metrics.data.timeparse import impossible_day_text, iso_text, parse_time

# headers that state a transaction's currency when no preset names one
CURRENCY_HEADERS = ("currency", "currency_code", "currency_iso_code", "deal_currency_code",
                    "transaction_currency", "currencyisocode")
_CODE = re.compile(r"^[A-Za-z]{3}$")


class ReshapeRefused(ValueError):
    """The file cannot be reshaped as asked (a missing column the plan needs, a currency without a
    rate...); nothing was loaded. ``column`` names the column concerned, when one is."""

    def __init__(self, rule: str, column: str | None = None) -> None:
        super().__init__(rule)
        self.rule = rule
        self.column = column


@dataclass(frozen=True)
class ReshapePlan:
    table: str
    sources: Mapping[str, str]                       # contract column -> source header
    value_maps: Mapping[str, ValueMap] = field(default_factory=dict)
    timestamp_formats: Mapping[str, Sequence[str]] = field(default_factory=dict)
    conversions: Mapping[str, Conversion] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    keep_rows: Mapping[str, Sequence[str]] = field(default_factory=dict)  # source header -> values kept
    first_of_list: Mapping[str, str] = field(default_factory=dict)        # contract column -> separator
    currency_source: str | None = None               # source header with each row's currency
    file_currency: str | None = None                 # the currency the analyst says the file is in
    store_currency: str = "USD"
    rate: float | None = None                        # 1 file-currency unit = rate store-currency units
    preset: str | None = None


@dataclass
class ReshapeResult:
    path: Path
    rows_in: int = 0
    skipped: int = 0
    source_lines: array = field(default_factory=lambda: array("q"))  # per written record: its source line
    out_lines: array = field(default_factory=lambda: array("q"))     # per written record: its line here
    formats: dict[str, str] = field(default_factory=dict)            # column -> the strptime format used
    currency: str | None = None                                      # the file's (non-store) currency
    converted_rows: int = 0
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def source_line(self, out_line: int | None) -> int | None:
        """The analyst's line for a line of the reshaped file (the header is line 1 in both)."""
        if out_line is None or out_line <= 1 or not self.out_lines:
            return out_line
        from bisect import bisect_right
        i = bisect_right(self.out_lines, out_line) - 1
        return int(self.source_lines[i]) if i >= 0 else out_line


def plan_for(table: str, headers: Sequence[str], *, preset: Preset | None = None,
             mapping: Mapping[str, str] | None = None, value_maps: Mapping[str, ValueMap] | None = None,
             conversions: Mapping[str, Conversion] | None = None, currency: str | None = None,
             rate: float | None = None, store_currency: str = "USD") -> ReshapePlan:
    """The plan for one file: the contract's own matching, then the preset's columns, then the
    analyst's mapping (each wins over the one before); value maps and conversions given here are
    added to the preset's and win over them."""
    tdef = TABLES[table]
    sources = dict(auto_sources(tdef, headers))
    if preset is not None:
        # the preset's choice replaces the contract's guess (e.g. Zendesk's "Id" is no customer key)
        chosen = preset.source_for(headers)
        taken = set(chosen.values())
        sources = {c: h for c, h in sources.items() if h not in taken}
        sources.update(chosen)
    by_norm = {normalise_name(h): h for h in headers}
    for src, dst in (mapping or {}).items():
        h = by_norm.get(normalise_name(src))
        if h is None:
            raise ReshapeRefused(f"mapping {src}={dst}: the file has no column {src!r}", src)
        if normalise_name(dst) not in tdef.column_names:
            raise ReshapeRefused(f"mapping {src}={dst}: {table} has no column {dst!r} "
                                 f"(columns: {', '.join(tdef.column_names)})", dst)
        sources = {c: x for c, x in sources.items() if x != h}
        sources[normalise_name(dst)] = h
    for col in (*(value_maps or {}), *(conversions or {})):
        if col not in tdef.column_names:
            raise ReshapeRefused(f"{table} has no column {col!r} to map values of", col)
    code = _currency_code(currency) if currency else None
    if rate is not None and not (rate > 0):
        raise ReshapeRefused(f"the rate must be a positive number, not {rate!r}")
    cur_src = None
    if table == "transactions":
        wanted = [preset.currency_column] if preset is not None and preset.currency_column else []
        for name in [*wanted, *CURRENCY_HEADERS]:
            if (h := by_norm.get(normalise_name(name))) is not None:
                cur_src = h
                break
    return ReshapePlan(
        table=table, sources=sources,
        value_maps=merged_value_maps(preset.value_maps if preset else {}, value_maps or {}),
        timestamp_formats=dict(preset.timestamp_formats) if preset else {},
        conversions={**(preset.conversions if preset else {}), **(conversions or {})},
        constants=dict(preset.constants) if preset else {},
        keep_rows=dict(preset.keep_rows) if preset else {},
        first_of_list=dict(preset.first_of_list) if preset else {},
        currency_source=cur_src, file_currency=code, store_currency=_currency_code(store_currency),
        rate=rate, preset=preset.name if preset else None)


def merged_value_maps(base: Mapping[str, ValueMap], extra: Mapping[str, ValueMap]) -> dict[str, ValueMap]:
    """The preset's value maps with the analyst's added, value by value: a value the analyst maps
    wins, the preset's other values stay mapped; the analyst's ``other`` wins unless it is KEEP."""
    out = dict(base)
    for col, vm in extra.items():
        if col in out:
            old = out[col]
            vm = ValueMap({**old.values, **vm.values}, vm.other if vm.other != KEEP else old.other)
        out[col] = vm
    return out


def _currency_code(text: str) -> str:
    code = str(text).strip().upper()
    if not _CODE.match(code):
        raise ReshapeRefused(f"{text!r} is not a currency code (three letters, e.g. USD, EUR)")
    return code


# -- values --------------------------------------------------------------------------------------
def map_value(vm: ValueMap, lookup: dict[str, str | None], value: str) -> str:
    key = value.strip().lower()
    if key in lookup:
        got = lookup[key]
    elif vm.other == KEEP:
        return value
    else:
        got = vm.other
    return "" if got is None else got


def read_number(text: str, delimiter: str) -> float | None:
    """A number as the load reads it from this delimiter's files (';': decimal comma)."""
    t = text.strip().replace(" ", "").replace("\u00a0", "")
    if delimiter == ";":
        t = t.replace(".", "").replace(",", ".")
    elif delimiter == ",":
        t = t.replace(",", "")
    elif "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def write_number(x: float, delimiter: str) -> str:
    text = repr(round(x, 10))
    return text.replace(".", ",") if delimiter == ";" else text


# -- the two passes ------------------------------------------------------------------------------
def _choose_formats(plan: ReshapePlan, path: Path, encoding: str, delimiter: str,
                    index: dict[str, int], keep: dict[int, set[str]], cur_i: int | None
                    ) -> tuple[dict[str, str], set[str]]:
    """First pass: per date column, the first declared format that reads every value (a value no
    remaining format reads is left for the load to report); and the currencies present. A column is
    settled as soon as one format remains (US against European day order: the first day after the
    12th), and the pass stops when every column is settled and no currency is looked for."""
    alive = {c: list(f) for c, f in plan.timestamp_formats.items() if c in index}
    currencies: set[str] = set()
    maps = {c: (plan.value_maps[c], plan.value_maps[c].lookup()) for c in alive if c in plan.value_maps}
    rows = read_records(path, encoding, delimiter)
    next(rows)
    open_cols = [c for c, f in alive.items() if len(f) > 1]
    for _, rec in rows:
        if not open_cols and cur_i is None:
            break
        if any(_cell(rec, i).strip().lower() not in vals for i, vals in keep.items()):
            continue
        if cur_i is not None and (code := _cell(rec, cur_i).strip().upper()):
            currencies.add(code)
        for c in list(open_cols):
            v = _cell(rec, index[c])
            if c in maps:
                v = map_value(maps[c][0], maps[c][1], v)
            if not v.strip():
                continue
            ok = [f for f in alive[c] if parse_time(v, f) is not None]
            if ok:
                alive[c] = ok
                if len(ok) == 1:
                    open_cols.remove(c)
    rows.close()
    return {c: f[0] for c, f in alive.items()}, currencies


def _cell(rec: list[str], i: int) -> str:
    return rec[i] if i < len(rec) else ""


def _column_step(plan: ReshapePlan, col: str, index: dict[str, int], formats: dict[str, str],
                 delimiter: str) -> Callable[[list[str]], str]:
    """The function making one output cell from a source record: value map, then time format, then
    unit conversion (each only when the plan has one). Built once per column, not per row."""
    if col not in index:
        constant = plan.constants[col]
        return lambda rec: constant
    i = index[col]
    vm = plan.value_maps.get(col)
    lookup = vm.lookup() if vm is not None else None
    fmt = formats.get(col)
    as_date = TABLES[plan.table].column(col).type == "date"
    conv = plan.conversions.get(col)
    factor = conv.factor if conv is not None else 1.0
    sep = plan.first_of_list.get(col)
    if vm is None and fmt is None and factor == 1.0:
        return (lambda rec: rec[i].split(sep, 1)[0].strip()) if sep else (lambda rec: rec[i])
    seen: dict[str, str] = {}  # timestamps repeat (the same minute): parse each text once

    def step(rec: list[str]) -> str:
        v = rec[i].split(sep, 1)[0].strip() if sep else rec[i]
        if lookup is not None:
            v = map_value(vm, lookup, v)
        if fmt is not None and v.strip():
            got = seen.get(v)
            if got is None:
                t = parse_time(v, fmt)
                got = iso_text(t, as_date) if t is not None else (impossible_day_text(v, fmt) or v)
                if len(seen) < 500_000:
                    seen[v] = got
            v = got
        if factor != 1.0 and v.strip() and (x := read_number(v, delimiter)) is not None:
            v = write_number(x * factor, delimiter)
        return v
    return step


def reshape(src: Path, dst: Path, plan: ReshapePlan, *, encoding: str, delimiter: str) -> ReshapeResult:
    """Write ``dst`` (the contract's columns, the source's delimiter, UTF-8) from ``src``."""
    rows = read_records(src, encoding, delimiter)
    _, headers = next(rows)
    rows.close()
    index = {c: headers.index(h) for c, h in plan.sources.items() if h in headers}
    by_norm = {normalise_name(h): i for i, h in enumerate(headers)}
    keep: dict[int, set[str]] = {}
    for h, vals in plan.keep_rows.items():
        if (i := by_norm.get(normalise_name(h))) is None:
            raise ReshapeRefused(f"the preset keeps only rows whose {h!r} is {' or '.join(vals)}, "
                                 f"but the file has no column {h!r}", h)
        keep[i] = {v.strip().lower() for v in vals}
    cur_i = headers.index(plan.currency_source) if plan.currency_source in headers else None
    result = ReshapeResult(dst)
    result.formats, currencies = _choose_formats(plan, src, encoding, delimiter, index, keep, cur_i)
    foreign = _foreign_currency(plan, currencies, result)
    out_cols = [c for c in TABLES[plan.table].column_names if c in index or c in plan.constants]
    used = set(index.values()) | set(keep) | ({cur_i} if cur_i is not None else set())
    result.extra_columns = [h for i, h in enumerate(headers) if i not in used]
    cells = [_column_step(plan, c, index, result.formats, delimiter) for c in out_cols]
    amount_at = out_cols.index("amount") if foreign and "amount" in out_cols else None
    width = len(headers)
    rows = read_records(src, encoding, delimiter)
    next(rows)
    with open(dst, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter, quotechar='"', lineterminator="\n")
        w.writerow(out_cols)
        line = 2
        for start, rec in rows:
            result.rows_in += 1
            if len(rec) < width:
                rec = rec + [""] * (width - len(rec))
            if keep and any(rec[i].strip().lower() not in vals for i, vals in keep.items()):
                result.skipped += 1
                continue
            out = [step(rec) for step in cells]
            if amount_at is not None and _row_currency(rec, cur_i, plan) == foreign:
                v = out[amount_at]
                if v.strip() and (x := read_number(v, delimiter)) is not None:
                    out[amount_at] = write_number(x * (plan.rate or 1.0), delimiter)
                result.converted_rows += 1
            w.writerow(out)
            result.source_lines.append(start)
            result.out_lines.append(line)
            joined = "\x1f".join(out)
            line += 1 + (joined.count("\n") if "\n" in joined else 0)
    _describe(plan, result)
    return result


def _row_currency(rec: list[str], cur_i: int | None, plan: ReshapePlan) -> str | None:
    code = _cell(rec, cur_i).strip().upper() if cur_i is not None else ""
    return code or plan.file_currency or plan.store_currency


def _foreign_currency(plan: ReshapePlan, in_column: set[str], result: ReshapeResult) -> str | None:
    """The one currency other than the store's that the file's amounts are in (None: all in the
    store's currency). Refused: several other currencies, or one without a rate."""
    if plan.table != "transactions":
        if plan.file_currency or plan.rate is not None:
            raise ReshapeRefused(f"--currency and --rate apply to transactions only, not {plan.table}")
        return None
    stated = set(in_column)
    if plan.file_currency:
        stated.add(plan.file_currency)
    for code in stated:
        _currency_code(code)
    other = sorted(stated - {plan.store_currency})
    if len(other) > 1:
        raise ReshapeRefused(f"the file's amounts are in several currencies ({', '.join(other)}) besides the "
                             f"store's {plan.store_currency}; a load converts one currency at a stated rate: "
                             f"split the file by currency", "amount")
    if not other:
        if plan.rate is not None and not stated:
            raise ReshapeRefused("a rate was given but not the file's currency; give --currency as well "
                                 "(or a currency column)", "amount")
        return None
    code = other[0]
    if plan.rate is None:
        raise ReshapeRefused(f"the file's amounts are in {code} but the store's currency is "
                             f"{plan.store_currency}; nothing was loaded. Give the rate "
                             f"(1 {code} = ? {plan.store_currency}), e.g. --rate 1.08, to convert them, "
                             f"or load the file into a store kept in {code}", "amount")
    result.currency = code
    return code


_READABLE = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "hh", "%I": "h", "%M": "mm", "%S": "ss", "%p": "AM/PM",
             "%z": "+hhmm", "%f": "ffffff"}


def readable_format(fmt: str) -> str:
    """A strptime format as a person reads it: %m/%d/%Y %I:%M %p -> MM/DD/YYYY h:mm AM/PM."""
    for k, v in _READABLE.items():
        fmt = fmt.replace(k, v)
    return fmt


def _describe(plan: ReshapePlan, r: ReshapeResult) -> None:
    if plan.preset:
        r.notes.append(f"preset {plan.preset}")
    for c, f in r.formats.items():
        r.notes.append(f"{c} read as {readable_format(f)}" + (" and converted to UTC" if "%z" in f else ""))
    for c, conv in plan.conversions.items():
        if c in plan.sources and conv.factor != 1.0:
            r.notes.append(f"{c} converted from {conv.source_unit} to {conv.target_unit} (x {conv.factor:g})")
    if r.currency:
        r.notes.append(f"{r.converted_rows:,} amounts converted from {r.currency} to {plan.store_currency} "
                       f"at 1 {r.currency} = {plan.rate:g} {plan.store_currency}")
    if r.skipped:
        kept = "; ".join(f"{h} is {' or '.join(v)}" for h, v in plan.keep_rows.items())
        r.notes.append(f"{r.skipped:,} rows skipped (the preset keeps rows where {kept})")


__all__ = ["CURRENCY_HEADERS", "ReshapePlan", "ReshapeRefused", "ReshapeResult", "map_value",
           "plan_for", "read_number", "reshape", "write_number"]
