"""Incremental facts: a merge load refreshes the fact and summary tables for the customers it touched
only, and the tables are the same as after a full rebuild (keys compared as a one-to-one renaming)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from crm_metrics.data import facts
from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store
from crm_metrics.data.undo import undo_load
from crm_metrics.metrics.kpis import compute

DERIVED = list(facts.FACT_SQL)
KEY_COLUMNS = {"f_interactions": ("customer_key", "advisor_key")}
CHANNELS = ["phone", "chat", "branch", "web", "app"]
SEGMENTS = ["Mass", "Affluent", "Private"]


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(
        ",".join("" if v is None else str(v) for v in r) + "\n" for r in rows), encoding="utf-8")
    return path


class Company:
    """Random customers, contacts, purchases and answers, written as CSV files batch by batch."""

    def __init__(self, seed: int, tmp: Path) -> None:
        self.r = random.Random(seed)
        self.tmp = tmp
        self.n_files = 0
        self.customers: list[str] = []
        self.contacts: dict[str, list[object]] = {}

    def _path(self, table: str) -> Path:
        self.n_files += 1
        folder = self.tmp / f"batch{self.n_files}"
        folder.mkdir()
        return folder / f"{table}.csv"  # the file name names the table

    def new_customers(self, n: int) -> Path:
        rows = []
        for _ in range(n):
            cid = f"c{len(self.customers) + 1:04d}"
            self.customers.append(cid)
            rows.append([cid, self.r.choice(SEGMENTS), f"2024-0{self.r.randint(1, 9)}-01",
                         self.r.choice(["North", "South"]), self.r.choice(CHANNELS)])
        return _csv(self._path("customers"), ["customer_id", "segment", "joined_on", "region",
                                              "acquisition_channel"], rows)

    def change_customers(self, n: int) -> Path:
        rows = [[cid, self.r.choice(SEGMENTS), "2024-01-01", self.r.choice(["East", "West"]), "web"]
                for cid in self.r.sample(self.customers, min(n, len(self.customers)))]
        return _csv(self._path("customers"), ["customer_id", "segment", "joined_on", "region",
                                              "acquisition_channel"], rows)

    def contacts_batch(self, n: int, *, changes: int = 0, channels: list[str] = CHANNELS,
                       unknown_customer: bool = False) -> Path:
        rows = []
        earlier = sorted(self.contacts)  # rows to change: loaded before, not in this file yet
        for _ in range(n):
            iid = f"i{len(self.contacts) + 1:05d}"
            cid = "zz-unknown" if unknown_customer and self.r.random() < 0.1 else self.r.choice(self.customers)
            row = [iid, cid, f"2025-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d} "
                             f"{self.r.randint(8, 17):02d}:{self.r.choice(['00', '30'])}:00",
                   self.r.choice(channels), self.r.choice(["a1", "a2", "a3", "", f"a{self.r.randint(4, 9)}"]),
                   self.r.choice(["yes", "no", ""]), self.r.randint(30, 900)]
            self.contacts[iid] = row
            rows.append(row)
        for iid in self.r.sample(earlier, min(changes, len(earlier))):
            row = list(self.contacts[iid])
            row[1] = self.r.choice(self.customers)   # moved to another customer
            row[3] = self.r.choice(channels)          # and perhaps another channel
            self.contacts[iid] = row
            rows.append(row)
        return _csv(self._path("interactions"), ["interaction_id", "customer_id", "occurred_at", "channel",
                                                 "advisor_id", "resolved", "handle_seconds"], rows)

    def purchases(self, n: int, start: int) -> Path:
        rows = [[f"t{start + i:05d}", self.r.choice(self.customers),
                 f"2025-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d}",
                 self.r.choice(["current", "savings", "card", "loan"]), self.r.randint(5, 500),
                 self.r.choice(CHANNELS)] for i in range(n)]
        return _csv(self._path("transactions"), ["transaction_id", "customer_id", "occurred_on", "product",
                                                 "amount", "channel"], rows)

    def answers(self, n: int, start: int) -> Path:
        rows = [[f"r{start + i:05d}", self.r.choice(self.customers),
                 f"2025-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d}", self.r.randint(0, 10)]
                for i in range(n)]
        return _csv(self._path("surveys"), ["response_id", "customer_id", "answered_on", "nps"], rows)


def derived_state(store: Store) -> dict[str, list[tuple]]:
    """Every derived table as sorted rows; integer keys replaced by the ids they stand for, after
    checking that they are one-to-one."""
    cur = store.cursor()
    out = {}
    for t in DERIVED:
        res = cur.execute(f"SELECT * FROM {t}")
        cols = [d[0] for d in res.description]
        rows = res.fetchall()
        keys = KEY_COLUMNS.get(t, ())
        for key, ident in (("customer_key", "customer_id"), ("advisor_key", "advisor_id")):
            if key in keys:
                ki, ii = cols.index(key), cols.index(ident)
                pairs = {(r[ki], r[ii]) for r in rows if r[ki] is not None}
                assert len({k for k, _ in pairs}) == len(pairs) == len({i for _, i in pairs}), (t, key)
        drop = [cols.index(k) for k in keys]
        out[t] = sorted((tuple(v for j, v in enumerate(r) if j not in drop) for r in rows), key=repr)
    return out


def full_rebuild(store: Store) -> None:
    cur = store.cursor()
    cur.execute("BEGIN")
    store.refresh_facts(cur, DERIVED)
    cur.execute("COMMIT")


def assert_same_as_full_rebuild(store: Store, step: str) -> None:
    incremental = derived_state(store)
    full_rebuild(store)
    rebuilt = derived_state(store)
    for t in DERIVED:
        assert incremental[t] == rebuilt[t], f"{t} differs from a full rebuild after {step}"


@pytest.fixture
def incremental_always(monkeypatch):
    # the tiny company's loads touch most customers; without this they would rebuild in full
    monkeypatch.setattr(facts, "FULL_REBUILD_SHARE", 10.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_appends_give_the_tables_of_a_full_rebuild(tmp_path, seed, incremental_always):
    co = Company(seed, tmp_path)
    store = Store(tmp_path / "crm.duckdb")
    try:
        load_file(store, co.new_customers(40))
        load_file(store, co.contacts_batch(200))
        load_file(store, co.purchases(80, 0))
        load_file(store, co.answers(30, 0))
        steps = [
            ("an append of contacts", lambda: co.contacts_batch(15)),
            ("contacts moved to other customers and channels", lambda: co.contacts_batch(5, changes=8)),
            ("new customers", lambda: co.new_customers(5)),
            ("contacts of new customers, a new channel and unknown customers",
             lambda: co.contacts_batch(20, channels=CHANNELS + ["video"], unknown_customer=True)),
            ("customers changing segment and region", lambda: co.change_customers(6)),
            ("purchases", lambda: co.purchases(25, 1000)),
            ("answers", lambda: co.answers(10, 1000)),
        ]
        for step, make in co.r.sample(steps, len(steps)):
            rep = load_file(store, make())
            assert rep.inserted + rep.updated > 0, step
            assert_same_as_full_rebuild(store, step)
        # a replace (full rebuild) and an undo of an incremental load keep them equal too
        rep = load_file(store, co.contacts_batch(10))
        undo_load(store, rep.load_id)
        assert_same_as_full_rebuild(store, "undo of an append")
        load_file(store, co.purchases(30, 5000), mode="replace")
        assert_same_as_full_rebuild(store, "a replace")
    finally:
        store.close()


def test_an_append_changes_only_the_touched_customers_rows_and_kpis_follow(tmp_path, incremental_always):
    # 3 customers; c1 and c2 have contacts. An append of one contact for c3 must leave c1's and c2's
    # fact rows as they were (same keys too) and add c3's with the next free customer key.
    store = Store(tmp_path / "crm.duckdb")
    try:
        _csv(tmp_path / "customers.csv", ["customer_id", "segment", "joined_on"],
             [["c1", "Mass", "2024-01-01"], ["c2", "Mass", "2024-01-01"], ["c3", "Private", "2024-01-01"]])
        load_file(store, tmp_path / "customers.csv")
        head = ["interaction_id", "customer_id", "occurred_at", "channel", "advisor_id", "resolved"]
        load_file(store, _csv(tmp_path / "i1.csv", head, [
            ["i1", "c1", "2025-01-02 10:00:00", "phone", "a1", "yes"],
            ["i2", "c1", "2025-01-03 10:00:00", "phone", "a1", "no"],
            ["i3", "c2", "2025-01-05 10:00:00", "chat", "a2", "yes"]]), table="interactions")
        before = store.cursor().execute(
            "SELECT interaction_id, customer_key, advisor_key, next_contact_at FROM f_interactions "
            "ORDER BY interaction_id").fetchall()
        load_file(store, _csv(tmp_path / "i2.csv", head, [["i4", "c3", "2025-01-06 10:00:00", "phone", "a1", "yes"]]),
                  table="interactions")
        after = store.cursor().execute(
            "SELECT interaction_id, customer_key, advisor_key, next_contact_at FROM f_interactions "
            "ORDER BY interaction_id").fetchall()
        assert after[:3] == before  # c1 and c2 untouched
        # c3 is new to f_interactions: key 3 (c1 = 1, c2 = 2); a1 keeps key 1
        assert after[3][:3] == ("i4", 3, 1)
        # contacts by segment: Mass 3 (i1, i2, i3), Private 1 (i4). FCR: resolved and no further contact
        # within 7 days: i1 is followed by i2 the next day (no), i2 unresolved (no), i3 and i4 yes: 2/4 = 50 %
        by_seg = compute(store, "contacts", by=["segment"]).set_index("segment")["value"].to_dict()
        assert by_seg == {"Mass": 3, "Private": 1}
        assert compute(store, "fcr_rate")["value"].iloc[0] == pytest.approx(50.0)
    finally:
        store.close()
