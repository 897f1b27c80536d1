"""Running a command-line command inside the app that holds the store.

DuckDB lets one process open a database file for writing, and then no other process may open it at
all, not even to read. The app holds the store for as long as it runs, so without this a cron job's
``python -m crm_metrics report`` or ``kpi`` would always fail in production. Loads and undos are
handed to the app through the inbox (crm_metrics.data.inbox); this module does the same for every
other command:

- the sender (``remote_send.run_in_holder``, called by the CLI when opening the store fails because
  another process holds it) sends ``{"kind": "command", "argv": [...]}`` through the inbox. An ``--out`` path
  is replaced by a placeholder, so the app writes only inside the inbox, never where a request says;
- the app (:func:`handle_command`, registered by :func:`serve`) runs the same ``cli.main(argv)`` on
  its own open store (``open_store`` returns the process's one store for that file), capturing what
  the command prints and its exit status;
- the sender prints the captured output on its own stdout/stderr, moves the ``--out`` file (or
  folder) to the path asked for and exits with the command's status: the same output and exit codes
  as when the command runs directly.

Requests are handled one at a time, in arrival order, by the app's inbox thread. This module is the
app's side and imports the CLI; the sender's side (crm_metrics.delivery.remote_send) does not, so
the CLI can use it without an import cycle.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from crm_metrics.data import inbox
from crm_metrics.delivery.cli import main
from crm_metrics.delivery.remote_send import LOCAL_ONLY, OUT_PLACEHOLDER
from crm_metrics.judgement.strategy import staged_problems

# Capturing a command's output swaps sys.stdout/sys.stderr for the whole process, so one at a time.
_CAPTURE = threading.Lock()


def handle_command(store: Any, request: dict[str, Any], rid: str, inbox_path: Path) -> dict[str, Any]:
    """The app's side: run the request's argv on this process's store and report what it printed."""
    argv = [str(a) for a in request.get("argv") or []]
    if not argv or argv[0] in LOCAL_ONLY:
        return {"ok": False, "error": f"the app does not run {argv[:1] or 'an empty command'} for others"}
    out_dir = inbox_path / f"{rid}.out"
    out_dir.mkdir(parents=True, exist_ok=True)
    produced: str | None = None
    out_arg: str | None = None
    args: list[str] = []
    for a in argv:
        if OUT_PLACEHOLDER + "/" in a:  # `@CRM_OUT@/name` or `--out=@CRM_OUT@/name`
            prefix, rest = a.split(OUT_PLACEHOLDER + "/", 1)
            name = Path(rest).name  # a name only: the app writes inside the inbox, never elsewhere
            produced = f"{rid}.out/{name}"
            out_arg = str(out_dir / name)
            a = prefix + out_arg
        args.append(a)
    args += ["--db", str(store.path)]  # the app's own store, whatever path the sender spelled
    stdout, stderr = io.StringIO(), io.StringIO()
    with _CAPTURE, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(args)
        except SystemExit as e:  # argparse: a usage error
            code = e.code if isinstance(e.code, int) else 2
        except Exception as e:  # noqa: BLE001  (reported to the sender, never kills the worker)
            print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
            code = 1
    if produced and not (inbox_path / produced).exists():
        produced = None
    if produced is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return {"ok": code == 0, "exit_code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
            "out_path": produced, "out_arg": out_arg}


def serve(store: Any) -> inbox.InboxWorker | None:
    """Start the app's inbox worker with command hand-over (loads and undos as before)."""
    return inbox.serve(store, handlers={"command": handle_command}, table_rules=staged_problems)


__all__ = ["handle_command", "serve", "LOCAL_ONLY"]
