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

What is precomputed is what people looked at: the views opened (up to ``MAX_REMEMBERED``), kept
in ``<store>.views.json`` beside the store, so an app that restarts replays them as soon as it
opens the store (its first session) and after its next load too. A date that was the data's first
or last day when the view was noted is remembered as that bound (:class:`Bound`), not as the date:
the default window runs from the first to the last day of data, and a nightly append moves the
last day, so the next visitor asks for the new window, which is what is computed. Rendering (cards, charts) is not precomputed: it reads the
cached results and takes tens of milliseconds.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from crm_metrics.data.inbox import write_json_atomic
from crm_metrics.data.store import Store

MAX_REMEMBERED = 512
POLL_SECONDS = float(os.environ.get("CRM_PRECOMPUTE_POLL", "1.0"))

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_RECENT: OrderedDict[tuple[str, str, tuple[Any, ...]], None] = OrderedDict()
_LOCK = threading.Lock()
_THREADS: dict[str, Precomputer] = {}
_DIRTY: set[str] = set()  # stores whose remembered views changed since they were last saved

# The modules whose data functions are remembered: imported before a replay, since a process
# replays views its own pages may not have imported yet (an app restarted on the Channels page
# replays the Scorecard's health checks).
_MODULES = ("ui.filters", "ui.results", "ui.scorecard", "ui.tables", "ui.initiatives", "ui.changes",
            "ui.charts", "ui.customer_value")


@dataclass(frozen=True)
class Bound:
    """A date argument that was the data's first or last day: replayed as that day of the data then."""

    which: Literal["first", "last"]


Bounds = tuple["dt.date | None", "dt.date | None"]
_BOUNDS_SOURCE: list[Callable[[str, int], Bounds]] = []
_BOUNDS: dict[tuple[str, int], Bounds] = {}


def set_bounds_source(fn: Callable[[str, int], Bounds]) -> None:
    """``fn(path, version)`` -> the data's (first, last) day: given by the filters, which own them."""
    _BOUNDS_SOURCE[:] = [fn]


def bounds(path: str, version: int) -> Bounds:
    key = (path, version)
    b = _BOUNDS.get(key)
    if b is None:
        if not _BOUNDS_SOURCE:
            return None, None
        try:
            b = _BOUNDS_SOURCE[0](path, version)
        except Exception:  # noqa: BLE001  (no data to bound: dates are remembered as they are)
            return None, None
        if len(_BOUNDS) > 64:
            _BOUNDS.clear()
        _BOUNDS[key] = b
    return b


def symbolic(args: tuple[Any, ...], first: dt.date | None, last: dt.date | None) -> tuple[Any, ...]:
    """``args`` with the dates equal to the data's last (else first) day as :class:`Bound`. With one
    day of data the two cannot be told apart: dates stay as they are."""
    if first is None or last is None or first == last:
        return args

    def one(a: Any) -> Any:
        if type(a) is dt.date:
            if a == last:
                return Bound("last")
            if a == first:
                return Bound("first")
        return a

    return tuple(one(a) for a in args)


def resolved(args: tuple[Any, ...], first: dt.date | None, last: dt.date | None) -> tuple[Any, ...] | None:
    """``args`` with each :class:`Bound` as that day of the data now; None when the data has none."""
    out = []
    for a in args:
        if isinstance(a, Bound):
            a = first if a.which == "first" else last
            if a is None:
                return None
        out.append(a)
    return tuple(out)


def remembered(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a cached data function ``fn(path, version, *args)``: each call is noted (by ``name``,
    path and args) so it can be computed again after the next load."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = fn

        def call(path: str, version: int, *args: Any) -> Any:
            note(name, path, args, version)
            return fn(path, version, *args)

        call.__wrapped__ = fn  # type: ignore[attr-defined]
        call.clear = getattr(fn, "clear", lambda: None)  # type: ignore[attr-defined]
        return call

    return wrap


def note(name: str, path: str, args: tuple[Any, ...], version: int | None = None) -> None:
    """Remember a call; with ``version``, its dates on the data's bounds are remembered as bounds."""
    if version is not None:
        args = symbolic(tuple(args), *bounds(path, version))
    key = (name, path, tuple(args))
    with _LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
        else:  # a view not remembered before: the list on disk is out of date
            _RECENT[key] = None
            _DIRTY.add(path)
        while len(_RECENT) > MAX_REMEMBERED:
            _RECENT.popitem(last=False)


def remembered_calls(path: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The noted calls for the store at ``path``, most recent first (dates on the bounds as :class:`Bound`)."""
    with _LOCK:
        return [(name, args) for (name, p, args) in reversed(_RECENT) if p == path]


def replay(store: Store, version: int, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Compute every remembered call for ``store`` at ``version``; returns how many ran. Stops early
    when ``should_stop()`` says so (a newer load arrived). Errors are left for the page to show."""
    for module in _MODULES:
        importlib.import_module(module)
    first, last = bounds(store.path, version)
    done = 0
    for name, args in remembered_calls(store.path):
        if should_stop():
            break
        now = resolved(args, first, last)
        fn = _FUNCTIONS.get(name)
        if now is None or fn is None:
            continue
        try:
            fn(store.path, version, *now)
        except Exception:  # noqa: BLE001  (the page shows the error when someone opens it)
            pass
        done += 1
    return done


# -- the remembered views on disk ----------------------------------------------------------------
def views_file(path: str) -> Path | None:
    """``<store>.views.json`` beside a store file; None for an in-memory store."""
    return None if path == ":memory:" else Path(str(Path(path).resolve()) + ".views.json")


def _encode(a: Any) -> Any:
    if isinstance(a, Bound):
        return {"bound": a.which}
    if type(a) is dt.date:
        return {"date": a.isoformat()}
    if isinstance(a, tuple):
        return {"tuple": [_encode(x) for x in a]}
    if a is None or isinstance(a, (str, int, float, bool)):
        return a
    raise TypeError(type(a).__name__)


def _decode(a: Any) -> Any:
    if isinstance(a, dict):
        if "bound" in a:
            if a["bound"] not in ("first", "last"):
                raise ValueError(a["bound"])
            return Bound(a["bound"])
        if "date" in a:
            return dt.date.fromisoformat(a["date"])
        if "tuple" in a:
            return tuple(_decode(x) for x in a["tuple"])
        raise ValueError("unknown value")
    if a is None or isinstance(a, (str, int, float, bool)):
        return a
    raise ValueError("unknown value")


def save(path: str) -> None:
    """Write the remembered views of the store at ``path`` (oldest first) beside it."""
    target = views_file(path)
    with _LOCK:
        _DIRTY.discard(path)
        calls = [(name, args) for (name, p, args) in _RECENT if p == path]
    if target is None:
        return
    rows = []
    for name, args in calls:
        try:
            rows.append({"name": name, "args": [_encode(a) for a in args]})
        except TypeError:
            continue  # an argument JSON cannot hold: remembered in this process only
    try:
        write_json_atomic(target, {"views": rows}, durable=False)
    except OSError:
        pass  # a read-only folder: the views are remembered in this process only


def restore(path: str) -> int:
    """Remember the views saved beside the store at ``path`` (behind any noted since the start);
    returns how many were read. A damaged or foreign file is ignored."""
    target = views_file(path)
    if target is None or not target.exists():
        return 0
    try:
        rows = json.loads(target.read_text(encoding="utf-8"))["views"]
        calls = [(str(r["name"]), tuple(_decode(a) for a in r["args"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    with _LOCK:
        noted = OrderedDict((k, None) for k in _RECENT)
        _RECENT.clear()
        for name, args in calls[-MAX_REMEMBERED:]:
            _RECENT[(name, path, args)] = None
        for k in noted:  # noted in this process: more recent than anything saved
            _RECENT.pop(k, None)
            _RECENT[k] = None
        while len(_RECENT) > MAX_REMEMBERED:
            _RECENT.popitem(last=False)
    return len(calls)


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

    def _replay(self, version: int) -> None:
        self.idle.clear()
        try:
            self.replayed += replay(self.store, version,
                                    lambda: self._stop_event.is_set() or self.store.data_version() != version)
        finally:
            self.idle.set()

    def run(self) -> None:
        # the views saved by the app's previous run: computed now, so the first visit after a
        # restart finds them cached too
        if restore(self.store.path):
            try:
                self._replay(self.seen)
            except Exception:  # noqa: BLE001  (the store closed: stop quietly)
                return
        while not self._stop_event.wait(self.poll):
            if self.store.path in _DIRTY:
                save(self.store.path)
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
            self._replay(version)

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
