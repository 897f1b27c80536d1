"""The `load` command's options for real exports (issue 17): --preset, --value, --convert,
--currency, --rate, --problems; and how a load's report is printed (warnings apart from the
success, problems summarised per column and rule, the cell-level list written as safe CSV)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crm_metrics.delivery import output


def value_arg(text: str) -> tuple[str, str, str]:
    """--value COLUMN:SOURCE=TARGET (an empty TARGET: the value becomes missing)."""
    col, sep, rest = text.partition(":")
    src, eq, dst = rest.partition("=")
    if not sep or not eq or not col.strip():
        raise argparse.ArgumentTypeError(f"--value takes COLUMN:SOURCE=TARGET, e.g. \"channel:Web form=web\", "
                                         f"got {text!r}")
    return col.strip(), src.strip(), dst.strip()


def convert_arg(text: str) -> tuple[str, str]:
    from crm_metrics.data.presets import UNIT_CONVERSIONS
    col, eq, unit = text.partition("=")
    unit = unit.strip().lower()
    if not eq or not col.strip() or unit not in UNIT_CONVERSIONS:
        raise argparse.ArgumentTypeError(f"--convert takes COLUMN=UNIT with UNIT one of "
                                         f"{', '.join(UNIT_CONVERSIONS)}, got {text!r}")
    return col.strip(), unit


def rate_arg(text: str) -> float:
    try:
        v = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 1.08)") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"the rate must be a positive number, got {text}")
    return v


def add_export_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--preset", default=None, metavar="NAME",
                   help="the export's tool and object, e.g. zendesk-tickets (see docs/presets.md); "
                        "default: detected from the headers")
    s.add_argument("--no-detect", dest="detect", action="store_false",
                   help="do not look for a preset in the headers")
    s.add_argument("--value", action="append", type=value_arg, metavar="COLUMN:SOURCE=TARGET",
                   help="map a value of a contract column, e.g. \"channel:Web form=web\" (repeatable)")
    s.add_argument("--convert", action="append", type=convert_arg, metavar="COLUMN=UNIT",
                   help="the file's unit of a number column, converted: e.g. handle_seconds=minutes")
    s.add_argument("--currency", default=None, metavar="CODE",
                   help="the currency of a transactions file's amounts (default: its currency column, "
                        "else the store's)")
    s.add_argument("--rate", type=rate_arg, default=None, metavar="R",
                   help="1 unit of the file's currency = R units of the store's; converts the amounts")
    s.add_argument("--save-mapping", dest="save_mapping", default=None, metavar="NAME",
                   help="after a successful load, save this file's columns, value maps and conversions as "
                        "your own preset NAME (use it later with --preset NAME, here or in the app)")
    s.add_argument("--problems", default=None, metavar="FILE",
                   help="when a file is refused, write every problem (line, column, value, rule) to FILE as CSV")


def export_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """load_file's keyword arguments for the export options."""
    from crm_metrics.data.presets import UNIT_CONVERSIONS, ValueMap
    values: dict[str, dict[str, str | None]] = {}
    for col, src, dst in args.value or []:
        values.setdefault(col, {})[src] = dst or None
    return {
        "preset": args.preset,
        "detect": args.detect,
        "value_maps": {c: ValueMap(v) for c, v in values.items()} or None,
        "conversions": {c: UNIT_CONVERSIONS[u] for c, u in args.convert or []} or None,
        "currency": args.currency,
        "rate": args.rate,
    }


def request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The export options as plain values for a hand-over to the app (crm_metrics.data.inbox)."""
    return {"preset": args.preset, "detect": args.detect, "values": [list(v) for v in args.value or []],
            "convert": [list(c) for c in args.convert or []], "currency": args.currency, "rate": args.rate}


def save_as_preset(store: Any, name: str, rep: Any, args: argparse.Namespace) -> str:
    """Save what this load used -- the columns it read (the preset's and the --map ones), the
    preset's value maps, formats and conversions with --value / --convert added -- as a preset of
    the analyst's own, under ``name``. Returns the line to print."""
    from crm_metrics.data.mappings import find_preset, save_mapping
    from crm_metrics.data.reshape import merged_value_maps
    base = find_preset(store, rep.preset) if rep.preset else None
    kw = export_kwargs(args)
    columns = {src: col for col, src in rep.columns.items() if not src.startswith("(constant")}
    preset = save_mapping(
        store, name, table=rep.table, columns=columns,
        value_maps=merged_value_maps(base.value_maps if base else {}, kw["value_maps"] or {}),
        conversions={**(base.conversions if base else {}), **(kw["conversions"] or {})},
        timestamp_formats=dict(base.timestamp_formats) if base else None,
        constants=dict(base.constants) if base else None, label=name,
        first_of_list=dict(base.first_of_list) if base else None)
    return f"saved as your preset {preset.name!r} ({preset.table}): use it with --preset {preset.name!r}"


def print_loaded(rep: Any) -> None:
    """A successful load: the summary on stdout; each warning on its own line, marked, on stdout
    too (the exit status stays 0: the data is valid, but look at it)."""
    print(rep.summary())
    for w in getattr(rep, "warnings", []) or []:
        print(f"  WARNING {rep.file_name}: {w}")


def print_refused(rep: Any, problems_file: str | None, several: bool) -> None:
    print(rep.summary(), file=sys.stderr)
    if problems_file:
        rows = rep.problem_rows()
        path = _problems_path(problems_file, rep.file_name, several)
        Path(path).write_text(output.to_csv(rows, ["line", "column", "value", "rule"], safe=True), encoding="utf-8")
        kept = f" (the first {len(rows):,} of {rep.problem_count:,})" if len(rows) < rep.problem_count else ""
        print(f"  every problem{kept} written to {path}", file=sys.stderr)


def _problems_path(problems_file: str, file_name: str, several: bool) -> str:
    """One problems file per refused input when several files are loaded: NAME.<input stem>.csv."""
    if not several:
        return problems_file
    p = Path(problems_file)
    return str(p.with_name(f"{p.stem}.{Path(file_name).stem}{p.suffix or '.csv'}"))



__all__ = ["add_export_options", "convert_arg", "export_kwargs", "print_loaded", "print_refused",
           "rate_arg", "request_fields", "save_as_preset", "value_arg"]
