"""Sending a command-line command to the app that holds the store (the sender's side of
crm_metrics.delivery.remote, which describes the exchange).

The CLI calls :func:`run_in_holder` when opening the store fails because another process holds it.
This module does not import the CLI (the CLI imports it): the CLI passes its ``main`` for the case
where the store becomes free while waiting.
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crm_metrics.data import handover, inbox

OUT_PLACEHOLDER = "@CRM_OUT@"
WAIT_SECONDS = float(os.environ.get("CRM_REMOTE_WAIT", "600"))
# Commands that never run remotely: loads and undos have their own hand-over; `sample` does not
# open the store.
LOCAL_ONLY = frozenset({"load", "undo", "sample"})
# Runs a command line here and returns its exit status (the CLI's main).
Runner = Callable[[list[str]], int]


def split_out(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """argv with the value of ``--out`` replaced by the placeholder, and that value (or None)."""
    out: list[str] = []
    target: str | None = None
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if a == "--out" and i + 1 < len(argv):
            target = argv[i + 1]
            out += [a, f"{OUT_PLACEHOLDER}/{Path(target).name}"]
            next(it, None)
        elif a.startswith("--out="):
            target = a.split("=", 1)[1]
            out.append(f"--out={OUT_PLACEHOLDER}/{Path(target).name}")
        else:
            out.append(a)
    return out, target


def run_in_holder(argv: Sequence[str], db_path: str, run_here: Runner, *, wait: float = WAIT_SECONDS) -> int:
    """Send ``argv`` to the app holding ``db_path``; print its output here; return its exit status.
    When the store becomes free while waiting, run the command directly instead, with ``run_here``
    (the CLI's ``main``, passed by the CLI: this module does not import it)."""
    from crm_metrics.data.store import open_store

    sent, target = split_out(argv)
    try:
        got = handover.hand_over(db_path, {"kind": "command", "argv": sent, "what": f"run `{sent[0]}`"}, [], wait=wait,
                              opener=lambda: open_store(db_path))
    except handover.InboxTimeout as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    if got.store is not None:  # nobody holds it any more: run it here
        return run_here(list(argv))
    result = got.result or {}
    stdout, stderr = result.get("stdout") or "", result.get("stderr") or ""
    written_as = result.get("out_arg")
    if written_as and target:  # the app names the file inside its inbox: name it as a direct run would
        stdout = stdout.replace(written_as, str(Path(target)))
        stderr = stderr.replace(written_as, str(Path(target)))
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    if result.get("error"):
        print(f"refused: {result['error']}", file=sys.stderr)
        return 1
    produced = result.get("out_path")
    if produced and target:
        src = inbox.inbox_dir(db_path) / produced
        dst = Path(target)
        try:
            if dst.exists() and dst.is_dir() and src.is_dir():
                shutil.rmtree(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))
        finally:
            shutil.rmtree(src.parent, ignore_errors=True)
    return int(result.get("exit_code", 1))


__all__ = ["run_in_holder", "split_out", "LOCAL_ONLY", "OUT_PLACEHOLDER", "WAIT_SECONDS", "Runner"]
