"""The CLI's data commands: sample, load, undo, init, status, rebuild (the analysis commands are in
crm_metrics.delivery.commands; the list of all commands is ``crm_metrics.delivery.cli.COMMANDS``)."""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm_metrics.delivery import load_options, output
from crm_metrics.delivery.cli_support import (
    EXIT_OK,
    EXIT_REFUSED,
    Refused,
    mapping_arg,
    positive_int,
    seconds_arg,
    store_for,
    terminal_progress,
)


def cmd_sample(args: argparse.Namespace) -> int:
    from crm_metrics.data.sample import generate
    t0 = time.perf_counter()
    counts = generate(args.out, customers=args.customers, seed=args.seed)
    for table, n in counts.items():
        print(f"{Path(args.out) / (table + '.csv')}: {n:,} rows")
    print(f"sample company written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return EXIT_OK


def _open_or_hand_over(args: argparse.Namespace, request: dict[str, Any], files: Sequence[str]):
    """The store, or -- when another process holds it -- the holder's answer to ``request`` sent
    through the inbox (crm_metrics.data.inbox): returns (store, None) or (None, result)."""
    import duckdb

    from crm_metrics.data.handover import InboxTimeout, hand_over
    from crm_metrics.data.inbox import is_lock_error
    try:
        return store_for(args), None
    except duckdb.IOException as e:
        if not is_lock_error(e) or getattr(args, "wait", 0) <= 0:
            raise
    progress = (lambda m: print(m, file=sys.stderr)) if getattr(args, "progress", False) else None
    try:
        got = hand_over(args.db, request, files, wait=args.wait, opener=lambda: store_for(args), progress=progress)
    except InboxTimeout as e:
        raise Refused(str(e)) from None
    return got.store, got.result


def cmd_load(args: argparse.Namespace) -> int:
    from crm_metrics.data.ingest import LoadRefused, load_file
    mapping = dict(args.map or [])
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise Refused("no such file: " + ", ".join(missing))
    files = _customers_first(args.files, args.table, args.preset)
    import getpass
    request = {"kind": "load", "table": args.table, "mode": args.mode, "mapping": mapping,
               "encoding": args.encoding, "loaded_by": getpass.getuser(), **load_options.request_fields(args)}
    store, result = _open_or_hand_over(args, request, files)
    if result is not None:  # the app loaded the files for us
        if args.save_mapping:
            print("--save-mapping: not saved while the app holds the store; save the mapping on the Data page",
                  file=sys.stderr)
        return _print_handed_over(result, args.problems)
    # imported once the store is open: the goals' rules need the KPI catalogue (a second to import),
    # and a command waiting for the app to let go of the store should start waiting at once
    from crm_metrics.judgement.strategy import staged_problems
    failed = 0
    several = len(files) > 1
    # Each file is its own transaction: a refused file changes nothing, the others still load.
    for f in files:
        try:
            rep = load_file(store, f, table=args.table, mode=args.mode, mapping=mapping,
                            encoding=args.encoding, progress=terminal_progress if args.progress else None,
                            table_rules=staged_problems, **load_options.export_kwargs(args))
            load_options.print_loaded(rep)
            if args.save_mapping:
                try:
                    print(load_options.save_as_preset(store, args.save_mapping, rep, args))
                except ValueError as e:
                    print(f"{rep.file_name} was loaded, but the mapping was not saved: {e}", file=sys.stderr)
                    failed += 1
        except LoadRefused as e:
            load_options.print_refused(e.report, args.problems, several)
            failed += 1
    return EXIT_REFUSED if failed else EXIT_OK


def _print_handed_over(result: dict[str, Any], problems_file: str | None) -> int:
    if result.get("error"):
        print(f"refused: {result['error']}", file=sys.stderr)
    for r in result.get("files") or []:
        print(r["summary"], file=sys.stdout if r.get("ok") else sys.stderr)
        for w in r.get("warnings") or []:
            print(f"  WARNING {r.get('file')}: {w}")
        if problems_file and not r.get("ok") and r.get("problem_rows"):
            Path(problems_file).write_text(output.to_csv(r["problem_rows"], ["line", "column", "value", "rule"],
                                                         safe=True), encoding="utf-8")
    ok = not result.get("error") and all(r.get("ok") for r in result.get("files") or [])
    return EXIT_OK if ok else EXIT_REFUSED


def _customers_first(files: Sequence[str], table: str | None, preset: str | None = None) -> list[str]:
    """Customers files first (by --table, the preset, else the headers), so that the other files'
    unknown customers are counted against them."""
    from crm_metrics.data.ingest import guess_table
    def rank(f: str) -> int:
        return 0 if (table or guess_table(f, preset)) == "customers" else 1
    return sorted(files, key=rank)


def cmd_undo(args: argparse.Namespace) -> int:
    import getpass

    from crm_metrics.data.undo import UndoError, undo_load
    request = {"kind": "undo", "load_id": args.load_id, "loaded_by": getpass.getuser()}
    store, result = _open_or_hand_over(args, request, [])
    if result is not None:
        if not result.get("ok"):
            raise Refused(result.get("error") or "the app could not undo the load")
        print(result.get("summary", ""))
        return EXIT_OK
    try:
        rep = undo_load(store, args.load_id, request["loaded_by"])
    except UndoError as e:
        raise Refused(str(e)) from None
    print(rep.summary())
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from crm_metrics.data.bootstrap import SAMPLE_DIR, ensure_sample
    from crm_metrics.judgement.strategy import staged_problems
    store = store_for(args)
    reports = ensure_sample(store, table_rules=staged_problems)
    if not reports:
        print(f"{store.path} already holds data; nothing loaded.")
    for rep in reports:
        print(rep.summary())
    if reports:
        print(f"loaded the sample company from {SAMPLE_DIR.name}/ into {store.path}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    store = store_for(args)
    counts = store.row_counts()
    first, last = store.data_span()
    history = store.load_history()
    if args.format == "json":
        print(output.to_json({"db": store.path, "tables": counts,
                              "data_span": {"from": first, "to": last},
                              "data_version": store.data_version(), "loads": history}))
        return EXIT_OK
    print(f"store: {store.path}")
    print(f"data span: {first or '-'} .. {last or '-'}")
    print()
    print(output.to_table([{"table": t, "rows": n} for t, n in counts.items()]))
    print()
    if history:
        cols = ["load_id", "loaded_at", "table_name", "file_name", "mode", "rows_read", "inserted",
                "updated", "unchanged", "removed", "unmatched", "encoding", "preset", "loaded_by"]
        print("load history (newest first):")
        print(output.to_table(history[:50], cols))
    else:
        print("load history: no loads yet (try: python -m crm_metrics load sample_data/*.csv)")
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from crm_metrics.data.facts import FACTS_VERSION
    from crm_metrics.data.load.fast import load_memory_cap
    store = store_for(args)
    t0 = time.perf_counter()
    # DuckDB's memory capped as for a load (CRM_LOAD_MEMORY_LIMIT): uncapped, rebuilding the
    # 1M-customer store peaked at 3.3 GB. The setting is the database's: hold the write lock.
    with store.write_lock, load_memory_cap(store):
        counts = store.rebuild_facts()
    print(output.to_table([{"table": t, "rows": n} for t, n in counts.items()]))
    print(f"rebuilt {len(counts)} fact and summary tables from the stored tables "
          f"(facts version {FACTS_VERSION}, data version {store.data_version()})")
    print(f"rebuild took {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return EXIT_OK


# -- registration --------------------------------------------------------------------------------
def register_sample(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sample", parents=[common], help="write the sample company's CSV files")
    s.add_argument("--out", required=True, help="folder to write the CSV files into")
    s.add_argument("--customers", type=positive_int, default=5000)
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(func=cmd_sample)


def register_load(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("load", parents=[common], help="load CSV files into the store")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--table", default=None, help="the table to load into (default: the preset's, else the "
                                                 "one the headers fit best; the file name breaks ties)")
    s.add_argument("--mode", choices=("merge", "replace"), default="merge")
    s.add_argument("--map", action="append", type=mapping_arg, metavar="SRC=DST",
                   help="map a file column to a contract column (repeatable)")
    s.add_argument("--encoding", default=None, help="utf-8, windows-1251 or windows-1252 (default: detected)")
    load_options.add_export_options(s)
    s.add_argument("--progress", action="store_true", help="show progress on stderr")
    s.add_argument("--wait", type=seconds_arg, default=600, metavar="SECONDS",
                   help="when another process (the app) holds the store: hand the load to it and wait "
                        "up to this long for the result (default 600; 0: fail at once)")
    s.set_defaults(func=cmd_load)


def register_undo(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("undo", parents=[common], help="undo a load: put its table back as it was before it")
    s.add_argument("--load-id", dest="load_id", type=positive_int, required=True, metavar="N",
                   help="the load to undo (see `status`); loads are undone newest first")
    s.add_argument("--wait", type=seconds_arg, default=600, metavar="SECONDS",
                   help="when the app holds the store: how long to wait for it to do the undo")
    s.set_defaults(func=cmd_undo)


def register_init(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("init", parents=[common], help="load the sample company into an empty store")
    s.set_defaults(func=cmd_init)


def register_status(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("status", parents=[common], help="tables, row counts, data span, load history")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_status)


def register_rebuild(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("rebuild", parents=[common],
                       help="rebuild the fact tables, pair counts and summary cubes from the stored tables")
    s.set_defaults(func=cmd_rebuild)
