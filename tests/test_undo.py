"""Nothing lost: loads can be undone, and a crash mid-load leaves the last committed state."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store
from crm_metrics.data.undo import UndoError, can_undo, undo_load, undoable_loads
from crm_metrics.delivery.cli import main
from crm_metrics.judgement import strategy

ROOT = Path(__file__).resolve().parent.parent
CUST_HEADER = "customer_id,segment,joined_on,left_on,advisor_id,region,acquisition_channel\n"
CUSTOMERS_A = CUST_HEADER + ("c1,Mass,2024-01-01,,a1,North,web\n"
                             "c2,Private,2024-02-01,2025-01-31,,South,\n"
                             "c3,Mass,2023-12-31,,a2,,branch\n")
CUSTOMERS_B = CUST_HEADER + "c9,Affluent,2025-03-01,,a9,East,app\n"
CUSTOMERS_MERGE = CUST_HEADER + ("c2,Affluent,2024-02-01,,a7,South,\n"   # updated
                                 "c3,Mass,2023-12-31,,a2,,branch\n"      # unchanged
                                 "c4,Mass,2025-05-05,,,,\n")             # inserted
INTERACTIONS = ("interaction_id,customer_id,occurred_at,channel\n"
                "i1,c1,2024-05-01 10:00,phone\ni2,c9,2024-05-02 11:00,web\n")
TABLES = ("customers", "interactions", "f_interactions")


@pytest.fixture
def store(tmp_path) -> Store:
    st = Store(tmp_path / "crm.duckdb")
    yield st
    st.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def rows(store: Store, table: str) -> list[tuple]:
    return sorted(store.cursor().execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def state(store: Store) -> dict[str, list[tuple]]:
    return {t: rows(store, t) for t in TABLES}


def snapshot_tables(store: Store) -> list[str]:
    return sorted(r[0] for r in store.cursor().execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'history_%'").fetchall())


# -- replace -----------------------------------------------------------------------------------------
def test_undo_of_replace_restores_previous_rows_exactly(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS))
    before = state(store)
    version = store.data_version()
    rep = load_file(store, write(tmp_path, "new.csv", CUSTOMERS_B), table="customers", mode="replace")
    assert rows(store, "customers") != before["customers"]
    # the facts follow the replace: i2's customer is known now, i1's is not
    assert {r[0]: r[-1] for r in store.cursor().execute(
        "SELECT interaction_id, known FROM f_interactions").fetchall()} == {"i1": False, "i2": True}

    undo = undo_load(store, rep.load_id, user="ana")
    assert state(store) == before, "customers and the facts are exactly as before the replace"
    assert store.data_version() > version + 1
    assert (undo.undone, undo.table, undo.removed, undo.restored, undo.rows) == (rep.load_id, "customers", 1, 3, 3)
    assert f"load {rep.load_id}" in undo.summary() and "undone" in undo.summary()


def test_undo_is_recorded_in_the_load_history(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    rep = load_file(store, write(tmp_path, "customers2.csv", CUSTOMERS_B), table="customers", mode="replace")
    undo = undo_load(store, rep.load_id, user="ana@bank.example")
    h = store.load_history()[0]
    assert h["load_id"] == undo.load_id and h["mode"] == "undo" and h["undo_of"] == rep.load_id
    assert h["table_name"] == "customers" and h["loaded_by"] == "ana@bank.example"
    assert h["file_name"] == f"undo of load {rep.load_id} (customers2.csv)"
    assert (h["inserted"], h["removed"]) == (3, 1)
    assert [x["mode"] for x in store.load_history()] == ["undo", "replace", "merge"]
    # neither the same load twice nor the undo itself
    with pytest.raises(UndoError, match="already undone"):
        undo_load(store, rep.load_id)
    with pytest.raises(UndoError, match="itself an undo"):
        undo_load(store, undo.load_id)
    # the snapshot was consumed
    assert f"history_customers_{rep.load_id}" not in snapshot_tables(store)


def test_undo_of_unknown_load_is_refused_and_changes_nothing(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    before, history = state(store), store.load_history()
    with pytest.raises(UndoError, match="there is no load 42"):
        undo_load(store, 42)
    assert can_undo(store, 42) is not None
    assert state(store) == before and store.load_history() == history


# -- merge -----------------------------------------------------------------------------------------
def test_undo_of_merge_restores_updated_rows_and_removes_inserted_ones(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    before = state(store)
    rep = load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_MERGE))
    assert (rep.inserted, rep.updated, rep.unchanged) == (1, 1, 1)
    # a merge keeps only what it changes: c2's previous row and c4's key
    kept = store.cursor().execute(
        f"SELECT customer_id, _existed FROM history_customers_{rep.load_id} ORDER BY 1").fetchall()
    assert kept == [("c2", True), ("c4", False)]
    undo = undo_load(store, rep.load_id)
    assert state(store) == before
    assert (undo.removed, undo.restored) == (2, 1)


def test_first_load_into_empty_table_can_be_undone(store, tmp_path):
    rep = load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    undo_load(store, rep.load_id)
    assert rows(store, "customers") == []


# -- order and retention ------------------------------------------------------------------------------
def test_loads_are_undone_newest_first(store, tmp_path):
    r1 = load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    after_r1 = state(store)
    r2 = load_file(store, write(tmp_path, "b.csv", CUSTOMERS_B), table="customers", mode="replace")
    load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS))  # another table: no conflict
    r3 = load_file(store, write(tmp_path, "m.csv", CUSTOMERS_MERGE), table="customers")
    with pytest.raises(UndoError, match=rf"undo load {r3.load_id} first"):
        undo_load(store, r2.load_id)
    assert undoable_loads(store) == [r3.load_id, r3.load_id - 1]
    undo_load(store, r3.load_id)
    undo_load(store, r2.load_id)
    assert rows(store, "customers") == after_r1["customers"]
    assert can_undo(store, r1.load_id) is None


def test_only_the_last_n_snapshots_per_table_are_kept(store, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_KEEP_SNAPSHOTS", "2")
    ids = []
    for i in range(4):
        text = CUST_HEADER + f"c{i},Mass,2024-01-0{i + 1},,,,\n"
        ids.append(load_file(store, write(tmp_path, f"c{i}.csv", text), table="customers", mode="replace").load_id)
    assert snapshot_tables(store) == [f"history_customers_{ids[2]}", f"history_customers_{ids[3]}"]
    undo_load(store, ids[3])
    undo_load(store, ids[2])
    with pytest.raises(UndoError, match="no longer kept"):
        undo_load(store, ids[1])
    assert rows(store, "customers")[0][0] == "c1"


def test_a_load_that_changed_nothing_keeps_no_snapshot(store, tmp_path):
    p = write(tmp_path, "customers.csv", CUSTOMERS_A)
    load_file(store, p)
    again = load_file(store, p)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    with pytest.raises(UndoError, match="changed nothing"):
        undo_load(store, again.load_id)



def test_a_reload_that_changed_nothing_does_not_block_undo_of_the_load_before(store, tmp_path):
    # customers.csv loaded twice: the second load is recorded but changes no row, so the first load
    # is still the last one that changed the table and can be undone (issue: "undo deadlocks after an
    # identical reload").
    p = write(tmp_path, "customers.csv", CUSTOMERS_A)
    first = load_file(store, p)
    again = load_file(store, p)  # merge (the default): every row unchanged
    assert (again.inserted, again.updated) == (0, 0)
    assert can_undo(store, first.load_id) is None
    assert undoable_loads(store) == [first.load_id]
    undo_load(store, first.load_id)
    assert rows(store, "customers") == []

# -- strategy tables ----------------------------------------------------------------------------------
def test_undo_of_a_strategy_table_load_is_in_the_audit_log(store, tmp_path):
    load_file(store, write(tmp_path, "channels.csv", "channel,kind\nphone,assisted\nweb,self_service\n"))
    rep = load_file(store, write(tmp_path, "channels.csv", "channel,kind\nphone,self_service\nchat,assisted\n"))
    undo_load(store, rep.load_id, user="ana")
    assert sorted(rows(store, "channels")) == [("phone", "assisted"), ("web", "self_service")]
    changes = strategy.list_changes(store)
    undo_rows = changes[changes["source"] == f"undo of load {rep.load_id}"]
    assert sorted(undo_rows["key"]) == ["chat", "phone"] and set(undo_rows["changed_by"]) == {"ana"}


# -- command line ---------------------------------------------------------------------------------------
def test_cli_undo_exit_codes(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    a = write(tmp_path, "customers.csv", CUSTOMERS_A)
    b = write(tmp_path, "b.csv", CUSTOMERS_B)
    assert main(["load", "--db", str(db), str(a)]) == 0
    assert main(["load", "--db", str(db), str(b), "--table", "customers", "--mode", "replace"]) == 0
    capsys.readouterr()
    assert main(["undo", "--db", str(db), "--load-id", "99"]) == 1
    assert "there is no load 99" in capsys.readouterr().err
    assert main(["undo", "--db", str(db), "--load-id", "2"]) == 0
    out = capsys.readouterr().out
    assert "load 2 (b.csv, replace) undone" in out and "recorded as load 3" in out
    assert main(["undo", "--db", str(db), "--load-id", "2"]) == 1
    assert "already undone" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["undo", "--db", str(db)])
    assert e.value.code == 2


# -- a crash mid-load ----------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    from crm_metrics.data.ingest import load_file
    from crm_metrics.data.store import Store
    store = Store(sys.argv[1])
    def progress(frac, msg):
        print(f"{frac:.2f} {msg}", flush=True)
    load_file(store, sys.argv[2], table="interactions", mode="replace", progress=progress)
    print("FINISHED", flush=True)
""")


def test_a_load_killed_mid_way_leaves_the_last_committed_state(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS_A))
    load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS))
    before, history, version = state(store), store.load_history(), store.data_version()
    db = store.path
    store.close()
    big = tmp_path / "interactions_big.csv"
    with open(big, "w") as f:
        f.write("interaction_id,customer_id,occurred_at,channel,advisor_id,reason,handle_seconds,"
                "wait_seconds,resolved,csat,ces\n")
        for i in range(400_000):
            f.write(f"x{i},c{i % 3 + 1},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}:00,"
                    f"phone,a{i % 7},billing,{i % 900},{i % 60},{'yes' if i % 2 else 'no'},{i % 5 + 1},{i % 7 + 1}\n")
    child = subprocess.Popen([sys.executable, "-c", CHILD, db, str(big)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in child.stdout:  # wait until the transaction has begun reading rows
            seen.append(line.strip())
            if "reading rows" in line or "validating" in line:
                break
        time.sleep(0.3)
        assert child.poll() is None, f"the load finished before it could be killed: {seen}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    reopened = Store(db)
    try:
        assert state(reopened) == before
        assert reopened.load_history() == history and reopened.data_version() == version
        # and it still works
        rep = load_file(reopened, write(tmp_path, "interactions.csv", INTERACTIONS), mode="replace")
        assert rep.rows_read == 2
    finally:
        reopened.close()
