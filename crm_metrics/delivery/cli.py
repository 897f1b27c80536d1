"""`python -m crm_metrics`: the command line for automation (nightly loads, scheduled reports).

Exit status: 0 success, 1 data or request refused (reason on stderr, nothing changed), 2 usage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import duckdb

from crm_metrics.data.inbox import is_lock_error
from crm_metrics.delivery import output, remote
from crm_metrics.data.store import default_db_path

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """A request the data or the rules refuse: exit status 1, message on stderr."""


# -- argument types ------------------------------------------------------------------------------
def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _mapping(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--map takes SRC=DST, got {text!r}")
    src, dst = text.split("=", 1)
    if not src.strip() or not dst.strip():
        raise argparse.ArgumentTypeError(f"--map takes SRC=DST, got {text!r}")
    return src.strip(), dst.strip()


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


# -- commands ----------------------------------------------------------------------------------
def _store(args: argparse.Namespace):
    from crm_metrics.data.store import open_store
    return open_store(args.db)


def cmd_sample(args: argparse.Namespace) -> int:
    from crm_metrics.data.sample import generate
    t0 = time.perf_counter()
    counts = generate(args.out, customers=args.customers, seed=args.seed)
    for table, n in counts.items():
        print(f"{Path(args.out) / (table + '.csv')}: {n:,} rows")
    print(f"sample company written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return EXIT_OK


def _terminal_progress(frac: float, msg: str) -> None:
    if sys.stderr.isatty():
        print(f"\r[{int(frac * 100):3d}%] {msg[:70]:<70}", end="" if frac < 1 else "\n", file=sys.stderr)
    else:
        print(f"[{int(frac * 100):3d}%] {msg}", file=sys.stderr)


def _open_or_hand_over(args: argparse.Namespace, request: dict[str, Any], files: Sequence[str]):
    """The store, or -- when another process holds it -- the holder's answer to ``request`` sent
    through the inbox (crm_metrics.data.inbox): returns (store, None) or (None, result)."""
    import duckdb

    from crm_metrics.data.inbox import InboxTimeout, hand_over, is_lock_error
    try:
        return _store(args), None
    except duckdb.IOException as e:
        if not is_lock_error(e) or getattr(args, "wait", 0) <= 0:
            raise
    progress = (lambda m: print(m, file=sys.stderr)) if getattr(args, "progress", False) else None
    try:
        got = hand_over(args.db, request, files, wait=args.wait, opener=lambda: _store(args), progress=progress)
    except InboxTimeout as e:
        raise Refused(str(e)) from None
    return got.store, got.result


def cmd_load(args: argparse.Namespace) -> int:
    from crm_metrics.data.ingest import LoadRefused, load_file
    mapping = dict(args.map or [])
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise Refused("no such file: " + ", ".join(missing))
    files = _customers_first(args.files, args.table)
    import getpass
    request = {"kind": "load", "table": args.table, "mode": args.mode, "mapping": mapping,
               "encoding": args.encoding, "loaded_by": getpass.getuser()}
    store, result = _open_or_hand_over(args, request, files)
    if result is not None:  # the app loaded the files for us
        if result.get("error"):
            print(f"refused: {result['error']}", file=sys.stderr)
        for r in result.get("files") or []:
            print(r["summary"], file=sys.stdout if r.get("ok") else sys.stderr)
        ok = not result.get("error") and all(r.get("ok") for r in result.get("files") or [])
        return EXIT_OK if ok else EXIT_REFUSED
    failed = 0
    # Each file is its own transaction: a refused file changes nothing, the others still load.
    for f in files:
        try:
            rep = load_file(store, f, table=args.table, mode=args.mode, mapping=mapping,
                            encoding=args.encoding, progress=_terminal_progress if args.progress else None)
            print(rep.summary())
        except LoadRefused as e:
            print(e.report.summary(), file=sys.stderr)
            failed += 1
    return EXIT_REFUSED if failed else EXIT_OK


def _customers_first(files: Sequence[str], table: str | None) -> list[str]:
    from crm_metrics.data.schema import table_for_file
    def rank(f: str) -> int:
        t = table or (tt.name if (tt := table_for_file(Path(f).name)) else "")
        return 0 if t == "customers" else 1
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


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return v


def cmd_init(args: argparse.Namespace) -> int:
    from crm_metrics.data.bootstrap import SAMPLE_DIR, ensure_sample
    store = _store(args)
    reports = ensure_sample(store)
    if not reports:
        print(f"{store.path} already holds data; nothing loaded.")
    for rep in reports:
        print(rep.summary())
    if reports:
        print(f"loaded the sample company from {SAMPLE_DIR.name}/ into {store.path}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
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
                "updated", "unchanged", "removed", "unmatched", "encoding", "loaded_by"]
        print("load history (newest first):")
        print(output.to_table(history[:50], cols))
    else:
        print("load history: no loads yet (try: python -m crm_metrics load sample_data/*.csv)")
    return EXIT_OK


def _emit(rows: list[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None,
          json_obj: Any = None) -> None:
    if fmt == "json":
        print(output.to_json(json_obj if json_obj is not None else rows))
    elif fmt == "csv":
        sys.stdout.write(output.to_csv(rows, columns))
    else:
        print(output.to_table(rows, columns))


# -- parser --------------------------------------------------------------------------------------
Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS,
                        help="the DuckDB store (default: env CRM_DB, else data/crm.duckdb)")
    p = argparse.ArgumentParser(prog="python -m crm_metrics", parents=[common],
                                description="Measure what CRM brought: load data, compute KPIs, "
                                            "judge goals and initiatives.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("sample", parents=[common], help="write the sample company's CSV files")
    s.add_argument("--out", required=True, help="folder to write the CSV files into")
    s.add_argument("--customers", type=_positive_int, default=5000)
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("load", parents=[common], help="load CSV files into the store")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--table", default=None, help="the table to load into (default: from the file name)")
    s.add_argument("--mode", choices=("merge", "replace"), default="merge")
    s.add_argument("--map", action="append", type=_mapping, metavar="SRC=DST",
                   help="map a file column to a contract column (repeatable)")
    s.add_argument("--encoding", default=None, help="utf-8, windows-1251 or windows-1252 (default: detected)")
    s.add_argument("--progress", action="store_true", help="show progress on stderr")
    s.add_argument("--wait", type=_seconds, default=600, metavar="SECONDS",
                   help="when another process (the app) holds the store: hand the load to it and wait "
                        "up to this long for the result (default 600; 0: fail at once)")
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("undo", parents=[common], help="undo a load: put its table back as it was before it")
    s.add_argument("--load-id", dest="load_id", type=_positive_int, required=True, metavar="N",
                   help="the load to undo (see `status`); loads are undone newest first")
    s.add_argument("--wait", type=_seconds, default=600, metavar="SECONDS",
                   help="when the app holds the store: how long to wait for it to do the undo")
    s.set_defaults(func=cmd_undo)

    s = sub.add_parser("init", parents=[common], help="load the sample company into an empty store")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("status", parents=[common], help="tables, row counts, data span, load history")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_status)

    for register in _EXTRA_COMMANDS:
        register(sub, common)
    return p


# Further commands register themselves here (kpis, scorecard, health, impact, report, alerts).
_EXTRA_COMMANDS: list[Callable[[Any, argparse.ArgumentParser], None]] = []


def add_window_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--from", dest="start", type=_date, default=None, help="first day (YYYY-MM-DD)")
    s.add_argument("--to", dest="end", type=_date, default=None, help="last day (YYYY-MM-DD)")


def add_format_arg(s: argparse.ArgumentParser, choices: Sequence[str] = ("table", "json", "csv")) -> None:
    s.add_argument("--format", choices=tuple(choices), default="table")


def main(argv: Sequence[str] | None = None) -> int:
    from crm_metrics.delivery import command_alerts, commands  # noqa: F401  (register the analysis commands, alerts)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = default_db_path()
    if getattr(args, "start", None) and getattr(args, "end", None) and args.start > args.end:
        parser.error(f"--from {args.start} is after --to {args.end}")
    try:
        try:
            return args.func(args)
        except duckdb.IOException as e:
            # The app holds the store (DuckDB then lets no other process open it, not even to read):
            # run the command inside the app and print its output here (crm_metrics.delivery.remote).
            if not is_lock_error(e) or args.command in remote.LOCAL_ONLY:
                raise
            return remote.run_in_holder(list(sys.argv[1:] if argv is None else argv), args.db)
    except Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; nothing was changed by the unfinished step", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as e:  # a person gets a sentence, not a traceback
        from crm_metrics.delivery.errors import user_message
        msg = user_message(e)
        if msg is None:
            raise
        print(f"refused: {msg}", file=sys.stderr)
        return EXIT_REFUSED
