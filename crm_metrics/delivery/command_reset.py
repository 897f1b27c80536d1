"""`python -m crm_metrics reset --sample`: remove the sample company (Northwind Bank) from the store,
undoable with `undo --load-id N` (crm_metrics.data.reset)."""
from __future__ import annotations

import argparse
from typing import Any

from crm_metrics.delivery.cli_support import EXIT_OK, Refused, store_for


def cmd_reset(args: argparse.Namespace) -> int:
    import getpass

    from crm_metrics.data.reset import ResetError, reset_sample
    store = store_for(args)
    try:
        rep = reset_sample(store, user=getpass.getuser())
    except ResetError as e:
        raise Refused(str(e)) from None
    print(rep.summary())
    return EXIT_OK


def register_reset(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("reset", parents=[common],
                       help="remove the sample company from the store (undoable with `undo`)")
    # the only thing reset removes today; the flag keeps the command from ever emptying a store by accident
    s.add_argument("--sample", action="store_true", required=True,
                   help="remove the sample company's rows from every table (your own rows stay)")
    s.set_defaults(func=cmd_reset)


__all__ = ["cmd_reset", "register_reset"]
