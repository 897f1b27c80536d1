"""The `rebuild` command and the facts version: a full rebuild of the fact tables, pair counts and
summary cubes from the stored tables gives the tables the incremental loads left; a store whose
recorded facts version differs from the code's is rebuilt when it opens; rebuild also runs while
the app holds the store (handed over like every other command)."""
from __future__ import annotations

import json

from test_concurrency import ask, cli, start_holder, stop
from test_incremental import DERIVED, Company, derived_state

from crm_metrics.data import facts
from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store


def _company_store(tmp_path, monkeypatch) -> Store:
    """A store built by an initial load and incremental appends (each refreshing only the touched
    customers' facts)."""
    monkeypatch.setattr(facts, "FULL_REBUILD_SHARE", 10.0)  # the tiny company: incremental always
    co = Company(7, tmp_path)
    store = Store(tmp_path / "crm.duckdb")
    load_file(store, co.new_customers(30))
    load_file(store, co.contacts_batch(150))
    load_file(store, co.purchases(60, 0))
    load_file(store, co.answers(20, 0))
    load_file(store, co.contacts_batch(12))
    load_file(store, co.contacts_batch(6, changes=5))
    load_file(store, co.new_customers(3))
    load_file(store, co.contacts_batch(10, channels=["phone", "video"], unknown_customer=True))
    load_file(store, co.purchases(15, 1000))
    return store


def _raw(store: Store) -> dict[str, list[tuple]]:
    """Every derived table as sorted rows, keys included."""
    cur = store.cursor()
    return {t: sorted(cur.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in DERIVED}


def test_rebuild_command_gives_the_same_tables_table_by_table(tmp_path, monkeypatch):
    store = _company_store(tmp_path, monkeypatch)
    before = derived_state(store)
    version = store.data_version()
    store.close()

    code, out, err = cli(tmp_path / "crm.duckdb", "rebuild")
    assert code == 0, err
    assert "rebuilt 8 fact and summary tables" in out and "Traceback" not in err
    assert f"data version {version + 1}" in out  # viewers' caches key on it: they see the rebuilt tables

    store = Store(tmp_path / "crm.duckdb")
    try:
        after = derived_state(store)
        for t in DERIVED:  # keys compared as a one-to-one renaming (derived_state checks that)
            assert after[t] == before[t], f"{t} differs after rebuild"
        assert store.data_version() == version + 1
        assert store.facts_version() == facts.FACTS_VERSION
        # a second rebuild (full after full) gives the very same rows, keys included
        exact = _raw(store)
        store.rebuild_facts()
        assert _raw(store) == exact
    finally:
        store.close()


def _damage(store: Store, facts_version: str) -> None:
    """Fact rows that no longer match the stored tables, and the given recorded facts version."""
    cur = store.cursor()
    cur.execute("DELETE FROM f_interactions WHERE customer_id IN (SELECT min(customer_id) FROM f_interactions)")
    cur.execute("DELETE FROM f_contact_cube")
    cur.execute("UPDATE meta SET value = ? WHERE key = 'facts_version'", [facts_version])


def test_a_changed_facts_version_rebuilds_the_facts_when_the_store_opens(tmp_path, monkeypatch):
    store = _company_store(tmp_path, monkeypatch)
    store.rebuild_facts()
    good = _raw(store)
    assert good["f_contact_cube"] and good["f_interactions"]
    version = store.data_version()

    # Same version recorded: opening trusts the facts (the damage stays; the check is the version).
    _damage(store, facts.FACTS_VERSION)
    store.close()
    store = Store(tmp_path / "crm.duckdb")
    assert store.cursor().execute("SELECT count(*) FROM f_contact_cube").fetchone()[0] == 0
    assert store.data_version() == version

    # Another version recorded (a store written by code whose facts were computed otherwise):
    # opening rebuilds them all, records this code's version and bumps the data version.
    _damage(store, "0-older")
    store.close()
    store = Store(tmp_path / "crm.duckdb")
    try:
        assert _raw(store) == good
        assert store.facts_version() == facts.FACTS_VERSION
        assert store.data_version() == version + 1
    finally:
        store.close()


def test_a_store_without_a_recorded_facts_version_is_rebuilt_and_stamped(tmp_path, monkeypatch):
    store = _company_store(tmp_path, monkeypatch)
    store.rebuild_facts()
    good = _raw(store)
    cur = store.cursor()
    cur.execute("DELETE FROM f_surveys")
    cur.execute("DELETE FROM meta WHERE key = 'facts_version'")
    store.close()
    store = Store(tmp_path / "crm.duckdb")
    try:
        assert _raw(store) == good
        assert store.facts_version() == facts.FACTS_VERSION
    finally:
        store.close()


def test_rebuild_runs_inside_the_app_holding_the_store(tmp_path, monkeypatch):
    store = _company_store(tmp_path, monkeypatch)
    before = derived_state(store)
    store.close()
    db = tmp_path / "crm.duckdb"
    holder = start_holder(db, "app")  # open_store + remote.serve, as the app does
    try:
        version = ask(holder)["version"]
        code, out, err = cli(db, "rebuild")
        assert code == 0, err
        assert "rebuilt 8 fact and summary tables" in out
        assert "open in another process" in err  # the app answered
        assert ask(holder)["version"] == version + 1
    finally:
        stop(holder)
    store = Store(db)
    try:
        after = derived_state(store)
        assert all(after[t] == before[t] for t in DERIVED)
    finally:
        store.close()
    assert json.loads(cli(db, "status", "--format", "json")[1])["data_version"] == version + 1
