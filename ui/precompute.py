"""After a load, what the pages last asked for is computed again in the background, so the first
visit after a load is as fast as a rerun.

Every cached result is keyed on the store's data version, so a load makes all of them stale at once
and the next visitor of each page would wait for its queries (health checks, continuity by channel:
seconds on a large store). The data functions of the pages (KPI results, health checks, scorecard,
alignment, impact) are wrapped by :func:`remembered`, which notes each call's arguments (the view:
window, filters, split), most recent first. A daemon thread of the process that holds the store
(:func:`start`) watches the data version; when a load (from the Data page, the inbox or an undo)
moves it, the thread calls the remembered functions again with the new version, most recently used
first, which fills Streamlit's process-wide cache before anyone asks. Reads run on their own cursor
beside any load (DuckDB's MVCC), so the precompute never blocks a load; a newer load restarts it.

What is precomputed is what people looked at: the views opened since the app started (up to
``MAX_REMEMBERED``). Rendering (cards, charts) is not: it reads the cached results and takes tens of
milliseconds.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from crm_metrics.data.store import Store

MAX_REMEMBERED = 512
POLL_SECONDS = float(os.environ.get("CRM_PRECOMPUTE_POLL", "1.0"))

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_RECENT: OrderedDict[tuple[str, str, tuple[Any, ...]], None] = OrderedDict()
_LOCK = threading.Lock()
_THREADS: dict[str, Precomputer] = {}


def remembered(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a cached data function ``fn(path, version, *args)``: each call is noted (by ``name``,
    path and args) so it can be computed again after the next load."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = fn

        def call(path: str, version: int, *args: Any) -> Any:
            note(name, path, args)
            return fn(path, version, *args)

        call.__wrapped__ = fn  # type: ignore[attr-defined]
        call.clear = getattr(fn, "clear", lambda: None)  # type: ignore[attr-defined]
        return call

    return wrap


def note(name: str, path: str, args: tuple[Any, ...]) -> None:
    key = (name, path, tuple(args))
    with _LOCK:
        _RECENT.pop(key, None)
        _RECENT[key] = None
        while len(_RECENT) > MAX_REMEMBERED:
            _RECENT.popitem(last=False)


def remembered_calls(path: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The noted calls for the store at ``path``, most recent first."""
    with _LOCK:
        return [(name, args) for (name, p, args) in reversed(_RECENT) if p == path]


def replay(store: Store, version: int, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Compute every remembered call for ``store`` at ``version``; returns how many ran. Stops early
    when ``should_stop()`` says so (a newer load arrived). Errors are left for the page to show."""
    done = 0
    for name, args in remembered_calls(store.path):
        if should_stop():
            break
        try:
            _FUNCTIONS[name](store.path, version, *args)
        except Exception:  # noqa: BLE001  (the page shows the error when someone opens it)
            pass
        done += 1
    return done


class Precomputer(threading.Thread):
    """Watches the store's data version and replays the remembered calls when it moves."""

    def __init__(self, store: Store, poll: float = POLL_SECONDS) -> None:
        super().__init__(name="crm-precompute", daemon=True)
        self.store = store
        self.poll = poll
        self.seen = store.data_version()
        self._bumps = getattr(store, "bumps", None)
        self._pending = False
        self.replayed = 0  # for tests and the benchmark: calls computed so far
        self.idle = threading.Event()
        self.idle.set()
        self._stop_event = threading.Event()

    def _may_have_moved(self) -> bool:
        """Whether the data version may have moved since the last look: only this process writes the
        store, and every write bumps ``store.bumps`` (a Python int: free, unlike a query every second,
        which was a measurable share of an idle server's CPU). After a bump the version is read until
        it moved or no write is in progress any more (the transaction rolled back)."""
        bumps = getattr(self.store, "bumps", None)
        if bumps is None:
            return True
        if bumps != self._bumps:
            self._bumps, self._pending = bumps, True
        if not self._pending:
            return False
        if self.store.write_lock.acquire(blocking=False):  # no writer now: this look is the last one
            self.store.write_lock.release()
            self._pending = False
        return True

    def run(self) -> None:
        while not self._stop_event.wait(self.poll):
            if not self._may_have_moved():
                continue
            try:
                version = self.store.data_version()
            except Exception:  # noqa: BLE001  (the store closed: stop quietly)
                return
            if version == self.seen:
                continue
            self._pending = False
            self.seen = version
            self.idle.clear()
            try:
                self.replayed += replay(self.store, version,
                                        lambda version=version: self._stop_event.is_set() or self.store.data_version() != version)
            finally:
                self.idle.set()

    def stop(self) -> None:
        self._stop_event.set()


def start(store: Store) -> Precomputer:
    """The precompute thread of ``store`` in this process (started once)."""
    with _LOCK:
        t = _THREADS.get(store.path)
        if t is None or not t.is_alive():
            t = Precomputer(store)
            _THREADS[store.path] = t
            t.start()
        return t
