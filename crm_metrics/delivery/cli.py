"""`python -m crm_metrics`: the command line for automation (nightly loads, scheduled reports).

Exit status: 0 success, 1 data or request refused (reason on stderr, nothing changed), 2 usage.

Every command is listed once, in ``COMMANDS`` below; a new command is a ``register_x(sub, common)``
function in one of the command modules plus one line here (docs/architecture.md).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from crm_metrics.data.inbox import is_lock_error
from crm_metrics.data.store import default_db_path
from crm_metrics.delivery import (
    command_alerts,
    command_backtest,
    command_explain,
    command_reset,
    commands,
    data_commands,
    export,
    remote_send,
)
from crm_metrics.delivery.cli_support import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Refused
from crm_metrics.delivery.engine_option import register_engine_options

Register = Callable[[Any, argparse.ArgumentParser], None]

# The commands, in the order `--help` lists them.
COMMANDS: tuple[Register, ...] = (
    data_commands.register_sample,
    data_commands.register_load,
    data_commands.register_undo,
    data_commands.register_init,
    data_commands.register_status,
    command_reset.register_reset,
    data_commands.register_rebuild,
    commands.register_kpis,
    commands.register_kpi,
    commands.register_scorecard,
    commands.register_health,
    commands.register_impact,
    commands.register_report,
    command_alerts.register_alerts,
    command_explain.register_explain,
    command_explain.register_records,
    command_backtest.register_backtest,
    commands.register_clv_model,
    commands.register_clv_predict,
    export.register,
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS,
                        help="the DuckDB store (default: env CRM_DB, else data/crm.duckdb)")
    p = argparse.ArgumentParser(prog="python -m crm_metrics", parents=[common],
                                description="Measure what CRM brought: load data, compute KPIs, "
                                            "judge goals and initiatives.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in COMMANDS:
        register(sub, common)
    # --engine duckdb|spark and the Spark options on the analysis commands (docs/scale-out.md)
    register_engine_options(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
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
            if not is_lock_error(e) or args.command in remote_send.LOCAL_ONLY:
                raise
            return remote_send.run_in_holder(list(sys.argv[1:] if argv is None else argv), args.db, main)
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
        from crm_metrics.data.errors import user_message
        msg = user_message(e)
        if msg is None:
            raise
        print(f"refused: {msg}", file=sys.stderr)
        return EXIT_REFUSED


__all__ = ["COMMANDS", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "Refused", "build_parser", "main"]
