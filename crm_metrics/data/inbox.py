"""Handing a load to the process that holds the store.

DuckDB lets one process open a database file for writing. When the app holds the store and a
nightly ``python -m crm_metrics load`` cannot open it, the command hands its files to the app
through an *inbox* folder next to the database (``<db>.inbox/``). This module is the holder's
side and the helpers both sides share; the sender's side is crm_metrics.data.handover.

1. the command copies each file into ``<id>.files/<n>/<name>`` and then writes
   ``<id>.request.json`` (atomically: a temporary name, then ``os.replace``);
2. :class:`InboxWorker`, a daemon thread in the app (started in ``ui._store_for``), polls the
   folder every second, claims a request by renaming it to ``<id>.working.json`` (a rename is
   atomic, so a request is handled once), loads its files in order with ``ingest.load_file`` under
   the store's write lock, writes ``<id>.result.json`` (atomically) and removes the rest;
3. the command, polling, reads the result, prints the same load report as a direct load and exits
   0 / 1 as a direct load would. The app's caches key on the data version, which the load bumps,
   so viewers see the new data on their next rerun.

When nobody serves the inbox (the holder is another command, not the app), the command keeps
trying to open the store itself and, once it can, withdraws its request (renames it away before a
worker claims it) and loads directly. After ``--wait`` seconds it gives up with a clear message.
Requests of kind ``undo`` (``python -m crm_metrics undo``) travel the same way.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from crm_metrics.data.load.rules import TableRules

POLL_SECONDS = 1.0  # the heartbeat's period (senders judge a worker alive by it)
# How often the worker looks for requests: one listing of its folder, so five times a second costs
# ~1 ms of CPU per second, and a command handed over waits 0.1 s on average instead of 0.5 s.
LOOK_SECONDS = 0.2
HEARTBEAT = "worker.json"
STALE_SECONDS = 24 * 3600  # unanswered results and orphaned files are removed after this
Log = Callable[[str], None]
# A further kind of request: (store, request, request id, inbox folder) -> fields of the result.
Handler = Callable[[Any, dict[str, Any], str, Path], dict[str, Any]]


# -- shared helpers --------------------------------------------------------------------------------
def inbox_dir(db_path: str | os.PathLike[str]) -> Path:
    """``<db>.inbox`` for a database file."""
    return Path(str(Path(db_path).resolve()) + ".inbox")


def is_lock_error(e: BaseException) -> bool:
    """DuckDB's refusal to open a file another process holds ("Could not set lock ... Conflicting lock")."""
    msg = str(e).lower()
    return isinstance(e, duckdb.IOException) and ("lock" in msg or "conflicting" in msg)


def write_json_atomic(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Write JSON under a temporary name in the same folder, then rename: readers see all or nothing.
    ``durable=False`` skips the fsync (the heartbeat, rewritten every second, need not survive a crash)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, default=str)
        f.flush()
        if durable:
            os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_files(*paths: Path) -> None:
    for p in paths:
        try:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass


def request_paths(inbox: Path, rid: str) -> dict[str, Path]:
    return {k: inbox / f"{rid}.{k}.json" for k in ("request", "working", "result", "progress", "withdrawn")} | {
        "files": inbox / f"{rid}.files"}


def new_request_id() -> str:
    """Sortable by arrival: nanoseconds, then pid and a random part."""
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def worker_alive(inbox: Path, max_age: float = 5 * POLL_SECONDS) -> dict[str, Any] | None:
    """The worker's heartbeat (pid, db, at) when it was written in the last ``max_age`` seconds."""
    hb = read_json(inbox / HEARTBEAT)
    if isinstance(hb, dict) and time.time() - float(hb.get("at", 0)) <= max_age:
        return hb
    return None


# -- the holder's side ------------------------------------------------------------------------------
class InboxWorker:
    """Serves ``<db>.inbox`` for the process that holds ``store``: a daemon thread that loads handed-over
    files under the store's write lock. ``InboxWorker(store).start()``; :func:`serve` starts one per store."""

    def __init__(self, store: Any, interval: float = LOOK_SECONDS, inbox: str | os.PathLike[str] | None = None,
                 handlers: dict[str, Handler] | None = None, table_rules: TableRules | None = None):
        if store.path == ":memory:" and inbox is None:
            raise ValueError("an in-memory store has no inbox (no other process can reach it)")
        self.store = store
        self.interval = interval
        self.inbox = Path(inbox) if inbox is not None else inbox_dir(store.path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0
        self.last_error: str | None = None
        self._beat_at = -POLL_SECONDS  # monotonic time of the last heartbeat
        self._swept_at = -60.0         # and of the last sweep for stale files
        # Further request kinds, served by upper layers (e.g. "command": crm_metrics.delivery.remote).
        self.handlers: dict[str, Handler] = dict(handlers or {})
        # The strategy tables' rules beyond the contract (crm_metrics.data.load.rules.TableRules),
        # passed by the upper layer that starts the worker: the data layer knows no KPI catalogue.
        self.table_rules = table_rules

    # lifecycle
    def start(self) -> InboxWorker:
        if self._thread is not None and self._thread.is_alive():
            return self
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="crm-inbox", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        hb = read_json(self.inbox / HEARTBEAT)
        if isinstance(hb, dict) and hb.get("pid") == os.getpid():
            remove_files(self.inbox / HEARTBEAT)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as e:  # the worker never dies; the next poll tries again
                self.last_error = f"{type(e).__name__}: {e}"
            self._stop.wait(self.interval)

    # one pass
    def poll_once(self) -> int:
        """Handle every waiting request, oldest first; returns how many were handled."""
        # os.scandir, not Path.glob: this runs five times a second and the glob's machinery cost
        # most of an idle worker's CPU
        try:
            with os.scandir(self.inbox) as entries:
                waiting = sorted(e.name for e in entries if e.name.endswith(".request.json"))
        except FileNotFoundError:  # removed while the app runs: made again (before the heartbeat)
            self.inbox.mkdir(parents=True, exist_ok=True)
            waiting = []
        self._heartbeat()
        n = 0
        for name in waiting:
            if self._stop.is_set():
                break
            req = self.inbox / name
            rid = name[: -len(".request.json")]
            p = request_paths(self.inbox, rid)
            try:
                os.rename(req, p["working"])  # the claim; fails when the sender withdrew it
            except OSError:
                continue
            result = self._handle(rid, read_json(p["working"]))
            write_json_atomic(p["result"], result)
            remove_files(p["working"], p["files"], p["progress"])
            n += 1
            self.handled += 1
            self._heartbeat()
        self._sweep()
        return n

    def _heartbeat(self) -> None:
        """Written at most once per POLL_SECONDS, however often the inbox is looked at."""
        now = time.monotonic()
        if now - self._beat_at < POLL_SECONDS:
            return
        self._beat_at = now
        write_json_atomic(self.inbox / HEARTBEAT, {"pid": os.getpid(), "db": self.store.path, "at": time.time()},
                          durable=False)

    def _recover(self) -> None:
        """Requests claimed by an earlier run of this holder that stopped before answering."""
        for w in self.inbox.glob("*.working.json"):
            rid = w.name[: -len(".working.json")]
            p = request_paths(self.inbox, rid)
            write_json_atomic(p["result"], {
                "id": rid, "ok": False, "files": [],
                "error": "the app stopped while handling this request; an unfinished file was rolled back, "
                         "files finished before it stayed loaded (see the load history); send it again"})
            remove_files(w, p["files"], p["progress"])

    def _sweep(self) -> None:
        """Remove what nobody collected for STALE_SECONDS: looked for once a minute, not at every look."""
        if time.monotonic() - self._swept_at < 60:
            return
        self._swept_at = time.monotonic()
        now = time.time()
        for p in self.inbox.iterdir():
            try:
                old = now - p.stat().st_mtime > STALE_SECONDS
            except OSError:
                continue
            if not old or p.name == HEARTBEAT:
                continue
            rid = p.name.split(".", 1)[0]
            if p.name.endswith(".files") and (self.inbox / f"{rid}.request.json").exists():
                continue
            remove_files(p)

    # handling
    def _handle(self, rid: str, req: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"id": rid, "ok": False, "files": [], "error": None}
        if not isinstance(req, dict):
            out["error"] = "the request could not be read"
            return out
        out["kind"] = kind = req.get("kind", "load")
        try:
            if kind == "load":
                out["files"] = [self._load_one(rid, f, req) for f in req.get("files") or []]
                out["ok"] = all(f["ok"] for f in out["files"])
            elif kind == "undo":
                out.update(self._undo(req))
            elif kind in self.handlers:
                out.update(self.handlers[kind](self.store, req, rid, self.inbox))
            else:
                out["error"] = f"unknown request kind {kind!r}"
        except Exception as e:  # report, never die
            out["error"] = _message(e)
        try:
            out["data_version"] = self.store.data_version()
        except Exception:
            pass
        out["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return out

    def _progress(self, rid: str) -> Callable[[float, str], None]:
        path = request_paths(self.inbox, rid)["progress"]

        def say(frac: float, msg: str) -> None:
            try:
                write_json_atomic(path, {"fraction": frac, "message": msg, "at": time.time()})
            except OSError:
                pass
        return say

    def _load_one(self, rid: str, f: Any, req: dict[str, Any]) -> dict[str, Any]:
        from crm_metrics.data.ingest import LoadRefused, load_file
        name = str((f or {}).get("name") or "file")
        base = self.inbox.resolve()
        path = (self.inbox / str((f or {}).get("path", ""))).resolve()
        if base not in path.parents:
            return {"file": name, "ok": False, "summary": f"{name}: refused, the request names a file "
                                                         f"outside the inbox", "problems": []}
        try:
            rep = load_file(self.store, path, table=req.get("table"), mode=req.get("mode") or "merge",
                            mapping=req.get("mapping") or None, encoding=req.get("encoding"),
                            file_name=name, loaded_by=req.get("loaded_by"), progress=self._progress(rid),
                            table_rules=self.table_rules, **export_options(req))
            return _report_dict(rep, True)
        except LoadRefused as e:
            return _report_dict(e.report, False)
        except Exception as e:
            return {"file": name, "ok": False, "summary": f"{name}: refused: {_message(e)}", "problems": []}

    def _undo(self, req: dict[str, Any]) -> dict[str, Any]:
        from crm_metrics.data.undo import UndoError, undo_load
        try:
            rep = undo_load(self.store, int(req.get("load_id")), req.get("loaded_by"))
        except (UndoError, TypeError, ValueError) as e:
            return {"ok": False, "error": str(e)}
        return {"ok": True, "summary": rep.summary(), "load_id": rep.load_id}


def export_options(req: dict[str, Any]) -> dict[str, Any]:
    """A hand-over's export options (crm_metrics.delivery.load_options.request_fields) as load_file's
    keyword arguments: --preset, --value, --convert, --currency, --rate."""
    from crm_metrics.data.presets import UNIT_CONVERSIONS, ValueMap
    values: dict[str, dict[str, str | None]] = {}
    for col, src, dst in req.get("values") or []:
        values.setdefault(str(col), {})[str(src)] = str(dst) or None
    conversions = {str(c): UNIT_CONVERSIONS[str(u)] for c, u in req.get("convert") or [] if str(u) in UNIT_CONVERSIONS}
    rate = req.get("rate")
    return {"preset": req.get("preset") or None, "detect": req.get("detect", True) is not False,
            "value_maps": {c: ValueMap(v) for c, v in values.items()} or None, "conversions": conversions or None,
            "currency": req.get("currency") or None, "rate": float(rate) if rate is not None else None}


def _message(e: BaseException) -> str:
    from crm_metrics.data.errors import user_message
    return user_message(e) or f"{type(e).__name__}: {e}"


def _report_dict(rep: Any, ok: bool) -> dict[str, Any]:
    return {"file": rep.file_name, "ok": ok, "summary": rep.summary(), "table": rep.table, "mode": rep.mode,
            "load_id": rep.load_id, "rows_read": rep.rows_read, "inserted": rep.inserted,
            "updated": rep.updated, "unchanged": rep.unchanged, "removed": rep.removed,
            "unmatched": rep.unmatched, "problem_count": rep.problem_count,
            "problems": [str(p) for p in rep.problems], "warnings": [str(w) for w in rep.warnings],
            "problem_rows": rep.problem_rows()[:10_000] if not ok else []}


_WORKERS: dict[int, InboxWorker] = {}
_WORKERS_LOCK = threading.Lock()


def serve(store: Any, handlers: dict[str, Handler] | None = None,
          table_rules: TableRules | None = None) -> InboxWorker | None:
    """Start (once per store) the inbox worker of this process; returns it (None for an in-memory
    store, which no other process can reach). ``handlers`` add request kinds to a running worker too;
    ``table_rules`` are given to every load it runs (see ingest.load_file)."""
    if store.path == ":memory:":
        return None
    with _WORKERS_LOCK:
        w = _WORKERS.get(id(store))
        if w is None or w.store is not store:
            w = InboxWorker(store, handlers=handlers, table_rules=table_rules)
            _WORKERS[id(store)] = w
        else:
            w.handlers.update(handlers or {})
            if table_rules is not None:
                w.table_rules = table_rules
        return w.start()


__all__ = ["InboxWorker", "serve", "inbox_dir", "is_lock_error",
           "worker_alive", "write_json_atomic", "POLL_SECONDS", "LOOK_SECONDS"]
