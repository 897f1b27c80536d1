"""Concurrent use: readers never see half a load; a command-line load while another process (the app)
holds the store is handed to it through the inbox, or waits for the store and then succeeds."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from crm_metrics.data.handover import hand_over
from crm_metrics.data.inbox import InboxWorker, inbox_dir
from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = "customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Private,2024-02-01\nc3,Mass,2024-03-01\n"
I_HEADER = ("interaction_id,customer_id,occurred_at,channel,advisor_id,reason,handle_seconds,wait_seconds,"
            "resolved,csat,ces\n")


def interactions(path: Path, n: int, prefix: str = "i") -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write(I_HEADER)
        for i in range(n):
            f.write(f"{prefix}{i},c{i % 4 + 1},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}:00,"
                    f"{('phone', 'web', 'branch')[i % 3]},a{i % 9},billing,{i % 600},{i % 50},"
                    f"{'yes' if i % 3 else 'no'},{i % 5 + 1},{i % 7 + 1}\n")
    return path


# -- threads -----------------------------------------------------------------------------------------
def test_readers_see_the_old_or_the_new_state_never_half_a_load(tmp_path):
    store = Store(tmp_path / "crm.duckdb")
    try:
        (tmp_path / "customers.csv").write_text(CUSTOMERS)
        load_file(store, tmp_path / "customers.csv")
        load_file(store, interactions(tmp_path / "interactions.csv", 1000))
        q = ("SELECT (SELECT count(*) FROM interactions), (SELECT sum(handle_seconds) FROM interactions), "
             "(SELECT count(*) FROM f_interactions), (SELECT value FROM meta WHERE key = 'data_version')")
        old = store.cursor().execute(q).fetchone()
        big = interactions(tmp_path / "big.csv", 200_000, prefix="b")

        done = threading.Event()
        seen: list[tuple] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def reader() -> None:
            cur = store.cursor()
            try:
                while True:
                    finished = done.is_set()
                    row = cur.execute(q).fetchone()
                    with lock:
                        seen.append(row)
                    if finished:
                        return
                    time.sleep(0.02)  # leave the writer some CPU on small machines
            except BaseException as e:  # noqa: BLE001 -- any error fails the test
                errors.append(e)
            finally:
                cur.close()

        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in readers:
            t.start()
        report = {}

        def writer() -> None:
            try:
                report["rep"] = load_file(store, big, table="interactions", mode="replace")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
            finally:
                done.set()

        w = threading.Thread(target=writer)
        w.start()
        w.join(120)
        for t in readers:
            t.join(60)
        assert not errors, errors
        new = store.cursor().execute(q).fetchone()
        assert report["rep"].rows_read == 200_000 and new[0] == new[2] == 200_000
        assert set(seen) <= {old, new}, f"a read saw a half-finished load: {set(seen) - {old, new}}"
        assert old in seen and new in seen, "readers ran before and after the load"
        assert len(seen) > 8
    finally:
        store.close()


def test_writes_from_threads_are_serialised(tmp_path):
    store = Store(tmp_path / "crm.duckdb")
    try:
        files = []
        for k in range(4):
            p = tmp_path / f"customers{k}.csv"
            p.write_text("customer_id,segment,joined_on\n" + "".join(
                f"k{k}_{i},Mass,2024-01-01\n" for i in range(500)))
            files.append(p)
        errors: list[BaseException] = []

        def load(p: Path) -> None:
            try:
                load_file(store, p, table="customers")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=load, args=(p,)) for p in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert store.row_counts()["customers"] == 2000
        assert sorted(h["load_id"] for h in store.load_history()) == [1, 2, 3, 4]
        assert store.data_version() == 4
    finally:
        store.close()


# -- processes ----------------------------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import json, sys, time
    from crm_metrics.data.store import Store
    from crm_metrics.data.inbox import serve
    from crm_metrics.delivery import remote
    from crm_metrics.data.store import open_store
    mode = sys.argv[2]
    # The app opens its store with open_store (one per process and file) and serves commands too.
    store = open_store(sys.argv[1]) if mode == "app" else Store(sys.argv[1])
    if mode == "worker":
        serve(store)
    if mode == "app":
        remote.serve(store)
    print("ready", flush=True)
    if mode == "sleep":
        time.sleep(float(sys.argv[3]))
        store.close()
        print("closed", flush=True)
        sys.exit(0)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "report":
            print(json.dumps({"counts": store.row_counts(), "version": store.data_version(),
                              "history": [h["mode"] for h in store.load_history()]}), flush=True)
        elif cmd == "quit":
            break
    store.close()
""")


def start_holder(db: Path, *args: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), *args], cwd=ROOT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline()
    assert line.strip() == "ready", (line, p.stderr.read() if p.poll() is not None else "")
    return p


def ask(holder: subprocess.Popen) -> dict:
    holder.stdin.write("report\n")
    holder.stdin.flush()
    return json.loads(holder.stdout.readline())


def stop(holder: subprocess.Popen) -> None:
    try:
        if holder.poll() is None and holder.stdin:
            holder.stdin.write("quit\n")
            holder.stdin.flush()
        holder.wait(timeout=30)
    except Exception:
        holder.kill()
        holder.wait()


def cli(db: Path, *args: str, timeout: float = 120) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args, "--db", str(db)], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def seeded(tmp_path) -> Path:
    db = tmp_path / "crm.duckdb"
    s = Store(db)
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    load_file(s, tmp_path / "customers.csv")
    s.close()
    return db


def test_cli_load_is_handed_to_the_app_holding_the_store(seeded, tmp_path):
    holder = start_holder(seeded, "worker")
    try:
        before = ask(holder)
        f = interactions(tmp_path / "interactions.csv", 500)
        code, out, err = cli(seeded, "load", str(f), "--wait", "60")
        assert code == 0, err
        assert "waiting for the app to load" in err
        assert "interactions.csv -> interactions (merge" in out and "500 inserted" in out
        after = ask(holder)
        assert after["counts"]["interactions"] == 500 and after["version"] > before["version"]

        # a refused file: exit 1 with the same report a direct load prints, nothing changed
        bad = tmp_path / "surveys.csv"
        bad.write_text("response_id,customer_id,answered_on,nps\nr1,c1,2024-01-01,12\n")
        code, out, err = cli(seeded, "load", str(bad), "--wait", "60")
        assert code == 1 and "surveys.csv: line 2, column nps" in err and "Traceback" not in err
        assert ask(holder)["version"] == after["version"]

        # an undo travels the same way
        code, out, err = cli(seeded, "undo", "--load-id", "2", "--wait", "60")
        assert code == 0, err
        assert "load 2 (interactions.csv, merge) undone" in out
        final = ask(holder)
        assert final["counts"]["interactions"] == 0 and final["history"][0] == "undo"
        code, out, err = cli(seeded, "undo", "--load-id", "77", "--wait", "60")
        assert code == 1 and "there is no load 77" in err
        leftovers = [p.name for p in inbox_dir(seeded).iterdir() if p.name != "worker.json"]
        assert leftovers == [], leftovers
    finally:
        stop(holder)


def test_cli_waits_for_a_holder_without_worker_then_loads(seeded, tmp_path):
    holder = start_holder(seeded, "sleep", "3")
    try:
        f = interactions(tmp_path / "interactions.csv", 300)
        t0 = time.monotonic()
        code, out, err = cli(seeded, "load", str(f), "--wait", "60")
        assert code == 0, err
        assert "waiting for the app to load" in err and "300 inserted" in out
        assert holder.wait(timeout=30) == 0
        # it loaded once the holder let go (3 s), well before its own 60 s limit (loose: busy machines)
        assert time.monotonic() - t0 < 50
    finally:
        stop(holder)
    s = Store(seeded)
    try:
        assert s.row_counts()["interactions"] == 300
    finally:
        s.close()
    assert not list(inbox_dir(seeded).glob("*.json")), "the withdrawn request was cleaned up"


def test_cli_gives_up_after_wait_when_nobody_answers(seeded, tmp_path):
    holder = start_holder(seeded, "stdin")  # holds the store, serves no inbox
    try:
        f = interactions(tmp_path / "interactions.csv", 10)
        code, out, err = cli(seeded, "load", str(f), "--wait", "2")
        assert code == 1
        assert "nothing was loaded" in err and "--wait" in err and "Traceback" not in err
        assert ask(holder)["counts"]["interactions"] == 0
        assert list(inbox_dir(seeded).iterdir()) == [], "the request was withdrawn"
        code, out, err = cli(seeded, "load", str(f), "--wait", "0")
        assert code == 1 and "another process" in err
    finally:
        stop(holder)


def test_worker_in_process_loads_requests_in_order_and_survives_garbage(tmp_path):
    store = Store(tmp_path / "crm.duckdb")
    try:
        store.lock_down()  # as the app runs: DuckDB reads only the spool and the inbox
        worker = InboxWorker(store, interval=0.1)
        box = inbox_dir(store.path)
        box.mkdir(exist_ok=True)
        (box / "0001-x.request.json").write_text("{not json")
        (box / "0002-y.request.json").write_text(json.dumps(
            {"kind": "load", "files": [{"path": "../../etc/passwd", "name": "customers.csv"}]}))
        (tmp_path / "c.csv").write_text(CUSTOMERS)
        got = {}

        def locked():  # as if another process held the store
            raise duckdb.IOException('Could not set lock on file: Conflicting lock is held')

        def send() -> None:
            got["h"] = hand_over(store.path, {"kind": "load", "table": "customers", "mode": "merge"},
                                 [tmp_path / "c.csv"], wait=30, opener=locked, log=lambda m: None)

        t = threading.Thread(target=send)
        t.start()
        worker.start()
        t.join(30)
        worker.stop()
        result = got["h"].result
        assert result["ok"] and result["files"][0]["inserted"] == 3
        assert json.loads((box / "0001-x.result.json").read_text())["error"]
        bad = json.loads((box / "0002-y.result.json").read_text())
        assert not bad["ok"] and "outside the inbox" in bad["files"][0]["summary"]
        assert store.row_counts()["customers"] == 3
        assert not (box / "worker.json").exists()
    finally:
        store.close()


def test_read_commands_run_inside_the_app_holding_the_store(seeded, tmp_path):
    # Direct runs first (nobody holds the store), then the same commands while an app-like holder
    # (open_store + remote.serve, as the app does) holds it: same stdout, same exit codes.
    direct = {name: cli(seeded, *args) for name, args in READS.items()}
    assert all(code == 0 for code, _, _ in direct.values()), direct
    holder = start_holder(seeded, "app")
    try:
        for name, args in READS.items():
            code, out, err = cli(seeded, *args)
            assert (code, out) == direct[name][:2], (name, err)
            assert "open in another process" in err  # it says where the answer came from
        # A refused request keeps its exit code and its reason: an unknown KPI.
        code, out, err = cli(seeded, "kpi", "no_such_kpi")
        assert code == 1 and "no_such_kpi" in err and "Traceback" not in err
        # --out: the app writes inside its inbox only; the file arrives where it was asked for.
        out_file = tmp_path / "reports" / "pack.html"
        code, out, err = cli(seeded, "report", "--out", str(out_file))
        assert code == 0, err
        assert out_file.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
        leftovers = [x.name for x in inbox_dir(seeded).iterdir() if x.name != "worker.json"]
        assert leftovers == []
    finally:
        stop(holder)


READS = {
    "status": ("status", "--format", "json"),
    "kpi": ("kpi", "customer_base", "--format", "json", "--from", "2024-01-01", "--to", "2024-12-31"),
    "scorecard": ("scorecard", "--format", "json"),
    "health": ("health", "--format", "json"),
}


def test_an_inbox_removed_while_the_worker_runs_is_made_again_with_its_heartbeat(tmp_path):
    import shutil

    store = Store(tmp_path / "crm.duckdb")
    worker = InboxWorker(store)
    try:
        worker.inbox.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(worker.inbox)
        assert worker.poll_once() == 0  # no request waiting; no error either
        assert (worker.inbox / "worker.json").exists()
    finally:
        store.close()
