"""After a load, the data the pages last asked for is computed in the background (ui.precompute):
the next visit finds it cached, and the precompute never blocks a load."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import streamlit as st

from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store
from ui import precompute, results

CUSTOMERS = "customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Private,2024-01-01\n"
HEAD = "interaction_id,customer_id,occurred_at,channel,resolved\n"
WINDOW = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture
def store(tmp_path, monkeypatch):
    st.cache_data.clear()
    with precompute._LOCK:
        precompute._RECENT.clear()
    s = Store(tmp_path / "crm.duckdb")
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    load_file(s, tmp_path / "customers.csv")
    (tmp_path / "interactions.csv").write_text(HEAD + "i1,c1,2025-01-02 10:00:00,phone,yes\n")
    load_file(s, tmp_path / "interactions.csv")
    # the pages' cached data functions open the store by its path (the app's one store per file)
    monkeypatch.setattr("ui.state.open_store", lambda path: s)
    yield s
    s.close()
    st.cache_data.clear()


def counting_compute(monkeypatch, delay: float = 0.0) -> list[str]:
    calls: list[str] = []
    real = results.compute

    def compute(store, kpi_id, **kw):
        calls.append(kpi_id)
        time.sleep(delay)
        return real(store, kpi_id, **kw)

    monkeypatch.setattr(results, "compute", compute)
    return calls


def contacts(store: Store, version: int) -> float:
    df = results._kpi(store.path, version, "contacts", *WINDOW, (), (), (), "month")
    return float(df["value"].iloc[0])


def test_a_load_recomputes_what_was_viewed_before_anyone_asks(store, tmp_path, monkeypatch):
    calls = counting_compute(monkeypatch)
    v1 = store.data_version()
    assert contacts(store, v1) == 1  # a page asked: computed once, remembered
    assert calls == ["contacts"]
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "interactions.csv").write_text(HEAD + "i2,c2,2025-02-03 11:00:00,chat,no\n")
    load_file(store, tmp_path / "more" / "interactions.csv")
    v2 = store.data_version()
    assert v2 != v1
    ran = precompute.replay(store, v2)  # what the background thread does when the version moves
    assert ran == 1 and calls == ["contacts", "contacts"]
    assert contacts(store, v2) == 2  # the next visit: the new number, from the cache
    assert calls == ["contacts", "contacts"]


def test_the_thread_replays_after_a_load_and_never_blocks_it(store, tmp_path, monkeypatch):
    calls = counting_compute(monkeypatch, delay=1.5)  # a slow query, as on a large store
    contacts(store, store.data_version())
    worker = precompute.Precomputer(store, poll=0.05)
    worker.start()
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "interactions.csv").write_text(HEAD + "i2,c2,2025-02-03 11:00:00,chat,no\n")
        load_file(store, tmp_path / "a" / "interactions.csv")
        deadline = time.monotonic() + 10
        while worker.idle.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not worker.idle.is_set(), "the precompute started after the load"
        # a second load while the precompute runs its slow query: not blocked by it
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / "interactions.csv").write_text(HEAD + "i3,c1,2025-03-04 12:00:00,web,yes\n")
        t0 = time.monotonic()
        load_file(store, tmp_path / "b" / "interactions.csv")
        assert time.monotonic() - t0 < 1.5, "the load waited for the precompute"
        assert worker.idle.wait(15)
        # the newest version was precomputed too: the next visit computes nothing
        deadline = time.monotonic() + 15
        while worker.seen != store.data_version() or not worker.idle.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = len(calls)
        assert contacts(store, store.data_version()) == 3
        assert len(calls) == before
    finally:
        worker.stop()
        worker.join(5)


def test_only_the_most_recent_views_are_remembered(store, monkeypatch):
    monkeypatch.setattr(precompute, "MAX_REMEMBERED", 3)
    for i in range(5):
        precompute.note("kpi", store.path, (f"k{i}",))
    assert precompute.remembered_calls(store.path) == [("kpi", ("k4",)), ("kpi", ("k3",)), ("kpi", ("k2",))]
    precompute.note("kpi", store.path, ("k2",))  # used again: most recent now
    assert precompute.remembered_calls(store.path)[0] == ("kpi", ("k2",))
    assert precompute.remembered_calls(str(Path("/elsewhere.duckdb"))) == []


def test_a_window_on_the_datas_last_day_follows_it_after_an_append(store, tmp_path, monkeypatch):
    from ui import filters  # noqa: F401  (gives the precompute the data's bounds)

    calls = counting_compute(monkeypatch)
    v1 = store.data_version()
    # the default window: the data's first to last day, here 2025-01-02 to 2025-01-02 plus c1's
    # contact of 2025-01-05 loaded now, so first != last
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "interactions.csv").write_text(HEAD + "i5,c1,2025-01-05 09:00:00,web,yes\n")
    load_file(store, tmp_path / "c" / "interactions.csv")
    v1 = store.data_version()
    day = dt.date
    results._kpi(store.path, v1, "contacts", day(2025, 1, 2), day(2025, 1, 5), (), (), (), "month")
    assert precompute.remembered_calls(store.path)[0] == (
        "kpi", ("contacts", precompute.Bound("first"), precompute.Bound("last"), (), (), (), "month"))
    # the nightly append: a contact on 2025-01-09 moves the last day
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "interactions.csv").write_text(HEAD + "i6,c2,2025-01-09 09:00:00,chat,no\n")
    load_file(store, tmp_path / "d" / "interactions.csv")
    v2 = store.data_version()
    precompute.replay(store, v2)
    n = len(calls)
    # the next visitor's default window is 2025-01-02 to 2025-01-09: computed already (3 contacts:
    # i1, i5, i6)
    df = results._kpi(store.path, v2, "contacts", day(2025, 1, 2), day(2025, 1, 9), (), (), (), "month")
    assert float(df["value"].iloc[0]) == 3
    assert len(calls) == n, "the new default window was not precomputed"


def test_views_are_saved_beside_the_store_and_replayed_when_the_app_starts_again(store, monkeypatch):
    calls = counting_compute(monkeypatch)
    contacts(store, store.data_version())
    precompute.save(store.path)
    saved = precompute.views_file(store.path)
    assert saved is not None and saved.name == "crm.duckdb.views.json" and saved.exists()
    # a new app process: nothing remembered, nothing cached
    with precompute._LOCK:
        precompute._RECENT.clear()
    st.cache_data.clear()
    worker = precompute.Precomputer(store, poll=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while worker.replayed < 1:
            assert time.monotonic() < deadline, "the saved views were not replayed at start"
            time.sleep(0.05)
        assert worker.idle.wait(15)
    finally:
        worker.stop()
        worker.join(5)
    assert precompute.remembered_calls(store.path) == [("kpi", ("contacts", *WINDOW, (), (), (), "month"))]
    n = len(calls)
    assert contacts(store, store.data_version()) == 1
    assert len(calls) == n, "the first visit after the restart computed again"


def test_a_damaged_views_file_is_ignored(store):
    path = precompute.views_file(store.path)
    path.write_text('{"views": [{"name": "kpi", "args": [{"bound": "middle"}]}]}')
    assert precompute.restore(store.path) == 0
    path.write_text("not json")
    assert precompute.restore(store.path) == 0
    assert precompute.remembered_calls(store.path) == []
