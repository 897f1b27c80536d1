"""The sender's side of the inbox (crm_metrics.data.inbox): a command that cannot open the store
hands its request and files to the process holding it and waits for the answer, or opens the store
itself as soon as it is free."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from crm_metrics.data.inbox import (
    POLL_SECONDS,
    Log,
    inbox_dir,
    is_lock_error,
    new_request_id,
    read_json,
    remove_files,
    request_paths,
    worker_alive,
    write_json_atomic,
)


# -- the sender's side ------------------------------------------------------------------------------
class InboxTimeout(Exception):
    """Nobody answered (or the holder did not finish) within the wait; nothing was loaded by us."""


@dataclass
class HandOver:
    result: dict[str, Any] | None = None  # the holder's answer
    store: Any = None                     # or: the store became free and we opened it ourselves


def hand_over(db_path: str | os.PathLike[str], request: dict[str, Any], files: Sequence[str | os.PathLike[str]],
              *, wait: float, opener: Callable[[], Any], log: Log | None = None,
              progress: Log | None = None, poll: float = 0.2) -> HandOver:
    """Send ``request`` (kind, table, mode, mapping, encoding, loaded_by, ...) with copies of ``files``
    to the holder of ``db_path`` and wait for its answer, or open the store with ``opener`` as soon
    as it is free. Raises InboxTimeout after ``wait`` seconds."""
    log = log or (lambda m: print(m, file=sys.stderr))
    inbox = inbox_dir(db_path)
    inbox.mkdir(parents=True, exist_ok=True)
    rid = new_request_id()
    p = request_paths(inbox, rid)
    listed = []
    try:
        for i, f in enumerate(files):
            src = Path(f)
            dst = p["files"] / str(i) / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            listed.append({"path": str(dst.relative_to(inbox)), "name": src.name})
        body = dict(request, id=rid, files=listed, pid=os.getpid(),
                    sent_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        write_json_atomic(p["request"], body)
    except BaseException:
        remove_files(p["request"], p["files"])
        raise

    what = ("load " + ", ".join(x["name"] for x in listed) if listed
            else request.get("what") or request.get("kind", "request"))
    hb = worker_alive(inbox)
    holder = f"the app (pid {hb.get('pid')})" if hb else "the process holding it"
    log(f"{db_path} is open in another process; waiting for the app to {what} "
        f"(handed to {holder} through {inbox}; up to {wait:g} s)")
    start = time.monotonic()
    deadline = start + wait
    next_open = start + 2 * POLL_SECONDS + 0.5  # give a live worker the first chance
    last_msg = None
    last_note = start
    try:
        while True:
            if p["result"].exists():
                result = read_json(p["result"])
                if result is not None:
                    remove_files(p["result"], p["files"], p["progress"])
                    return HandOver(result=result)
            if progress is not None:
                pr = read_json(p["progress"])
                if isinstance(pr, dict) and pr.get("message") != last_msg:
                    last_msg = pr.get("message")
                    progress(f"[{int(float(pr.get('fraction', 0)) * 100):3d}%] {last_msg} (in the app)")
            now = time.monotonic()
            if now >= next_open:
                next_open = now + POLL_SECONDS
                try:
                    store = opener()
                except duckdb.IOException as e:
                    if not is_lock_error(e):
                        raise
                else:
                    # The store is free: nobody holds it, so nobody is handling the request (a holder
                    # that claimed it and stopped rolled back its unfinished work).
                    if p["result"].exists():
                        continue  # answered just before the holder closed: use the answer
                    if not _withdraw(p):
                        remove_files(p["working"], p["files"], p["progress"])
                        log("the app stopped before answering; doing it directly")
                    else:
                        log("the store is free now; doing it directly")
                    return HandOver(store=store)
            if now >= deadline:
                break
            if now - last_note >= 30:
                last_note = now
                state = "the app is working on it" if p["working"].exists() else (
                    "the app has not picked it up yet" if worker_alive(inbox) else
                    "the process holding the store does not serve the inbox; waiting for it to close")
                log(f"still waiting ({int(now - start)} s): {state}")
            time.sleep(poll)
    except BaseException:
        _withdraw(p)  # interrupted: take the request back if nobody claimed it
        raise
    if _withdraw(p):
        raise InboxTimeout(
            f"nothing was loaded: {db_path} stayed open in another process for {wait:g} s and that process "
            f"does not take loads (the app does; another command-line load or a Python session does not). "
            f"Retry when it has finished, or wait longer with --wait SECONDS.")
    raise InboxTimeout(
        f"the app accepted the request but did not finish within {wait:g} s; it goes on in the app. "
        f"Check the result later with `python -m crm_metrics status` (load history) or on the Data page.")


def _withdraw(p: dict[str, Path]) -> bool:
    """Take an unclaimed request back; True when it was still unclaimed (and is now gone)."""
    try:
        os.rename(p["request"], p["withdrawn"])
    except OSError:
        return False
    remove_files(p["withdrawn"], p["files"], p["progress"])
    return True



__all__ = ["HandOver", "InboxTimeout", "hand_over"]
