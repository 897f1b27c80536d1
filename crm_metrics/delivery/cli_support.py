"""What every CLI command shares: exit statuses, ``Refused``, argument types and common options.

The command modules (crm_metrics.delivery.commands, .data_commands, .export) import this module,
never crm_metrics.delivery.cli: the CLI sits on top and lists the commands (``cli.COMMANDS``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from crm_metrics.data.store import Store, open_store

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """A request the data or the rules refuse: exit status 1, message on stderr."""


# -- argument types ------------------------------------------------------------------------------
def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def mapping_arg(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--map takes SRC=DST, got {text!r}")
    src, dst = text.split("=", 1)
    if not src.strip() or not dst.strip():
        raise argparse.ArgumentTypeError(f"--map takes SRC=DST, got {text!r}")
    return src.strip(), dst.strip()


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def seconds_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return v


# -- common options ------------------------------------------------------------------------------
def add_window_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--from", dest="start", type=date_arg, default=None, help="first day (YYYY-MM-DD)")
    s.add_argument("--to", dest="end", type=date_arg, default=None, help="last day (YYYY-MM-DD)")


def add_format_arg(s: argparse.ArgumentParser, choices: Sequence[str] = ("table", "json", "csv")) -> None:
    s.add_argument("--format", choices=tuple(choices), default="table")


# -- helpers for command bodies ------------------------------------------------------------------
def store_for(args: argparse.Namespace) -> Store:
    """The store the ``--db`` option (else the environment) names."""
    return open_store(args.db)


def terminal_progress(frac: float, msg: str) -> None:
    """A progress line on stderr: redrawn in place on a terminal, one line per step in a log."""
    if sys.stderr.isatty():
        print(f"\r[{int(frac * 100):3d}%] {msg[:70]:<70}", end="" if frac < 1 else "\n", file=sys.stderr)
    else:
        print(f"[{int(frac * 100):3d}%] {msg}", file=sys.stderr)
