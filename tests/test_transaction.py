"""Store.transaction(): BEGIN ... COMMIT, ROLLBACK on any error, no transaction left open."""
import threading

import duckdb
import pytest

from crm_metrics.data.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "tx.duckdb")
    yield s
    s.close()


def _setting(store, key):
    row = store.cursor().execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def test_commit_when_the_block_ends(store):
    with store.transaction() as cur:
        cur.execute("INSERT INTO settings VALUES ('currency', 'EUR')")
    assert _setting(store, "currency") == "EUR"


def test_rollback_when_the_block_raises(store):
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction() as cur:
            cur.execute("INSERT INTO settings VALUES ('currency', 'EUR')")
            raise RuntimeError("boom")
    assert _setting(store, "currency") is None  # the insert was undone


def test_rollback_on_keyboard_interrupt(store):
    with pytest.raises(KeyboardInterrupt):
        with store.transaction() as cur:
            cur.execute("INSERT INTO settings VALUES ('currency', 'EUR')")
            raise KeyboardInterrupt
    assert _setting(store, "currency") is None


def test_nothing_is_left_open(store):
    with pytest.raises(ValueError):
        with store.transaction() as cur:
            raise ValueError("x")
    # the cursor is closed ...
    with pytest.raises(duckdb.Error):
        cur.execute("SELECT 1")
    # ... and a new transaction can begin at once (none is left open on the connection)
    with store.transaction() as again:
        again.execute("INSERT INTO settings VALUES ('currency', 'USD')")
    assert _setting(store, "currency") == "USD"


def test_holds_the_write_lock_unless_told_not_to(store):
    seen = {}

    def other_thread():
        got = store.write_lock.acquire(blocking=False)
        seen["free"] = got
        if got:
            store.write_lock.release()

    with store.transaction():
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen["free"] is False  # another thread could not take the lock during the transaction
    with store.transaction(lock=False):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen["free"] is True
