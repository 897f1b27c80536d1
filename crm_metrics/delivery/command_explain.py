"""The `explain` and `records` commands (explain.md).

    python -m crm_metrics explain KPI --by DIM[,DIM] [--from D --to D] [--vs-from D --vs-to D]
        [--channel X]... [--segment Y]... [--format table|json|csv]
    python -m crm_metrics records KPI [--from D --to D] [--channel X]... [--segment Y]...
        [--limit N] [--show-customer-ids] [--format table|json|csv]

Customer ids in `records`: pseudonymised (the store's keyed hash) unless ``--show-customer-ids`` is
given or the store's ``show_customer_ids`` setting is on. Whoever runs the CLI can open the store
file and read the ids anyway, so this is not an access control: it keeps outputs that are pasted
into tickets, mails or spreadsheets free of customer ids unless the operator asks for them.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from crm_metrics.delivery import output
from crm_metrics.delivery.cli_support import EXIT_OK, add_format_arg, add_window_args, date_arg, store_for

TABLE_LIMIT = 50  # rows printed by `records` in table format without --limit


def _dims(text: str) -> list[str]:
    return [d.strip() for d in (text or "").split(",") if d.strip()]


# -- explain ---------------------------------------------------------------------------------------
def cmd_explain(args: argparse.Namespace) -> int:
    from crm_metrics.metrics.explain import explain, groups_table, sentence
    store = store_for(args)
    ex = explain(store, args.id, by=_dims(args.by), start=args.start, end=args.end, vs_start=args.vs_start,
                 vs_end=args.vs_end, channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    doc = ex.to_json()
    if args.format == "json":
        print(output.to_json(doc))
        return EXIT_OK
    columns = [*ex.dims, "n_prev", "n_cur", "value_prev", "value_cur", "mix", "rate", "contribution"]
    if args.format == "csv":
        sys.stdout.write(output.to_csv(doc["groups"], columns, safe=True))
        return EXIT_OK
    currency = str(store.settings().get("currency") or "")
    k = ex.kpi
    print(f"{k.label} ({k.id}, {k.unit}) by {' × '.join(ex.dims)}: {ex.vs_start} – {ex.vs_end} → {ex.start} – {ex.end}")
    print(sentence(ex, currency))
    print()
    print(output.to_table(output.records(groups_table(ex))))
    print()
    print(f"previous {ex.previous:,.4f}  current {ex.current:,.4f}  change {ex.change:+,.4f}"
          + (f"  (mix {ex.mix:+,.4f}, rate {ex.rate:+,.4f})" if k.kind == "ratio" else ""))
    return EXIT_OK


# -- records ---------------------------------------------------------------------------------------
def cmd_records(args: argparse.Namespace) -> int:
    from crm_metrics.data.pseudonyms import reveal_customer_ids
    from crm_metrics.metrics.records import mask_customer_ids, records
    store = store_for(args)
    limit = args.limit if args.limit is not None else (TABLE_LIMIT if args.format == "table" else None)
    rec = records(store, args.id, start=args.start, end=args.end, channels=tuple(args.channel or ()),
                  segments=tuple(args.segment or ()), limit=limit)
    settings = store.settings()
    show = args.show_customer_ids or reveal_customer_ids("viewer", settings)
    frame = rec.frame if show else mask_customer_ids(store, rec.frame)
    rows = output.records(frame)
    k = rec.kpi
    if args.format == "json":
        print(output.to_json({"kpi": k.id, "unit": k.unit, "from": rec.start, "to": rec.end, "n": rec.n,
                              "value": rec.value, "customer_ids": "shown" if show else "pseudonymised",
                              "truncated": rec.truncated, "records": rows}))
    elif args.format == "csv":
        sys.stdout.write(output.to_csv(rows, list(frame.columns), safe=True))
    else:
        value = "n/a" if rec.value is None else f"{rec.value:,.4f}"
        print(f"{k.label} ({k.id}) {rec.start} – {rec.end}: {rec.n:,} {k.unit_of_count}s; "
              f"value recomputed from them: {value} {k.unit}")
        if rec.truncated:
            print(f"showing the first {len(frame):,} (--limit N, or --format csv for all of them)")
        if not show:
            print("customer ids pseudonymised (--show-customer-ids to see them)")
        print(output.to_table(rows, list(frame.columns)))
    return EXIT_OK


def _limit(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {v}")
    return v


# -- parser ------------------------------------------------------------------------------------------
def _scope_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("id", metavar="KPI", help="a KPI id (see `kpis`)")
    add_window_args(s)
    s.add_argument("--channel", action="append", metavar="X", help="only this channel (repeatable)")
    s.add_argument("--segment", action="append", metavar="Y", help="only this segment (repeatable)")


def register_explain(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    s = subparsers.add_parser("explain", parents=[common_parent],
                              help="why a KPI moved: its change split into mix and rate by group")
    _scope_args(s)
    s.add_argument("--by", required=True, metavar="DIM[,DIM]",
                   help="split by channel, segment, region (or two of them, e.g. channel,segment)")
    s.add_argument("--vs-from", dest="vs_start", type=date_arg, default=None,
                   help="first day of the previous period (default: equal length just before --from)")
    s.add_argument("--vs-to", dest="vs_end", type=date_arg, default=None, help="last day of the previous period")
    add_format_arg(s)
    s.set_defaults(func=cmd_explain)


def register_records(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    s = subparsers.add_parser("records", parents=[common_parent],
                              help="the records behind a KPI: its units with the columns that decide their value")
    _scope_args(s)
    s.add_argument("--limit", type=_limit, default=None, metavar="N",
                   help=f"at most N records (default: {TABLE_LIMIT} in table format, all in json / csv)")
    s.add_argument("--show-customer-ids", dest="show_customer_ids", action="store_true",
                   help="print real customer ids (default: pseudonymised unless the show_customer_ids setting is on)")
    add_format_arg(s)
    s.set_defaults(func=cmd_records)


__all__ = ["register_explain", "register_records", "cmd_explain", "cmd_records"]
