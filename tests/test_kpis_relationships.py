"""Continuity indices and relationship classes on tiny hand-written stores (hand-computed values)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_metrics.metrics.kpis import compute

WIN = dict(start=date(2026, 1, 1), end=date(2026, 3, 31))


def one(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    assert len(df) == 1
    v = df["value"].iloc[0]
    return (None if v != v else float(v)), int(df["n"].iloc[0])


def records(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    return [tuple(None if (isinstance(x, float) and x != x) else x for x in r) for r in df.itertuples(index=False)]


def ix(iid, cust, when, advisor=None, channel="phone"):
    return dict(interaction_id=iid, customer_id=cust, occurred_at=when, channel=channel, advisor_id=advisor)


CUSTOMERS = [
    dict(customer_id=c, segment=s, joined_on=date(2020, 1, 1))
    for c, s in [("c1", "Retail"), ("c2", "Retail"), ("c3", "Private"), ("c4", "Private"), ("c5", "Private")]
]


@pytest.fixture
def rel_store(make_store):
    d = lambda day, h=9: datetime(2026, 1, day, h)  # noqa: E731
    return make_store(customers=CUSTOMERS, interactions=[
        # c1: a1, a1, a2, a1 -> N 4, n_a1 3, n_a2 1
        ix("c1-1", "c1", d(2), "a1"), ix("c1-2", "c1", d(3), "a1"),
        ix("c1-3", "c1", d(4), "a2"), ix("c1-4", "c1", d(5), "a1"),
        # c2: a2 then a3 -> N 2
        ix("c2-1", "c2", d(6), "a2"), ix("c2-2", "c2", d(7), "a3"),
        # c3: one contact -> encounter
        ix("c3-1", "c3", d(8), "a1"),
        # c4: self-service and an assisted contact without advisor -> N 0, not counted
        ix("c4-1", "c4", d(9), None, "web"), ix("c4-2", "c4", d(10), None, "phone"),
        ix("c4-3", "c4", d(11), "a9", "web"),                 # web is self-service: not counted either
        # c5: a3, a3 -> N 2
        ix("c5-1", "c5", d(12), "a3"), ix("c5-2", "c5", d(13), "a3"),
        # outside the window
        ix("c3-9", "c3", datetime(2026, 4, 1, 9), "a1"),
    ])


# Per customer (N >= 2):
#   c1: UPC 3/4 = 0.75; COC (3² + 1² − 4) / (4·3) = 6/12 = 0.5; SECON pairs (a1,a1) (a1,a2) (a2,a1) -> 1/3
#   c2: UPC 1/2 = 0.5;  COC (1 + 1 − 2) / (2·1) = 0;             SECON 0/1 = 0
#   c5: UPC 2/2 = 1;    COC (4 − 2) / (2·1) = 1;                 SECON 1/1 = 1
#   c3: N = 1 (encounter); c4: N = 0


def test_upc(rel_store):
    # (0.75 + 0.5 + 1) / 3 = 0.75 over 3 customers
    assert one(rel_store, "upc", **WIN) == (0.75, 3)


def test_coc(rel_store):
    # (0.5 + 0 + 1) / 3 = 0.5
    assert one(rel_store, "coc", **WIN) == (0.5, 3)


def test_secon(rel_store):
    # (1/3 + 0 + 1) / 3 = 4/9
    v, n = one(rel_store, "secon", **WIN)
    assert n == 3 and v == pytest.approx(4 / 9)


def test_relationship_classes(rel_store):
    # threshold 0.75: c1 (UPC 0.75, equal counts) relationship, c5 relationship, c2 pseudo, c3 encounter
    # customers with N >= 1: c1, c2, c3, c5 = 4
    assert one(rel_store, "relationship_share", **WIN) == (50.0, 4)
    assert one(rel_store, "pseudo_relationship_share", **WIN) == (25.0, 4)
    assert one(rel_store, "encounter_share", **WIN) == (25.0, 4)


def test_relationship_threshold_setting(rel_store):
    # threshold 0.8: c1 (0.75) becomes pseudo -> relationship c5 = 1/4, pseudo c1 + c2 = 2/4
    rel_store.set_setting("relationship_upc_threshold", 0.8)
    assert one(rel_store, "relationship_share", **WIN) == (25.0, 4)
    assert one(rel_store, "pseudo_relationship_share", **WIN) == (50.0, 4)
    assert one(rel_store, "encounter_share", **WIN) == (25.0, 4)
    # an explicit override: threshold 0.5 -> c1, c2, c5 relationship = 3/4
    assert one(rel_store, "relationship_share", settings={"relationship_upc_threshold": 0.5}, **WIN) == (75.0, 4)


def test_relationships_by_segment(rel_store):
    # Private: c3 (encounter), c5 (UPC 1); Retail: c1 (0.75), c2 (0.5)
    assert records(rel_store, "upc", by=["segment"], **WIN) == [("Private", 1.0, 1), ("Retail", 0.625, 2)]
    # Private: c5 relationship, c3 encounter -> 50 % of 2; Retail: c1 relationship, c2 pseudo -> 50 % of 2
    assert records(rel_store, "relationship_share", by=["segment"], **WIN) == [
        ("Private", 50.0, 2), ("Retail", 50.0, 2)]
    assert records(rel_store, "encounter_share", by=["segment"], **WIN) == [
        ("Private", 50.0, 2), ("Retail", 0.0, 2)]


def test_relationships_by_usual_advisor(rel_store):
    # usual advisor: c1 -> a1 (3 of 4); c2 -> tie a2 / a3, a3 was seen last -> a3; c3 -> a1; c5 -> a3
    # upc: a1: c1 (0.75) [c3 has N = 1]; a3: c2 (0.5), c5 (1.0) -> 0.75
    assert records(rel_store, "upc", by=["advisor"], **WIN) == [("a1", 0.75, 1), ("a3", 0.75, 2)]
    # classes: a1: c1 relationship, c3 encounter -> 50 % of 2; a3: c5 relationship, c2 pseudo -> 50 % of 2
    assert records(rel_store, "relationship_share", by=["advisor"], **WIN) == [("a1", 50.0, 2), ("a3", 50.0, 2)]


def test_usual_advisor_tie_on_time_goes_to_smallest_id(make_store):
    # c1: a2 and a1 once each at the same instant -> tie on count and on time -> a1
    t = datetime(2026, 1, 5, 9)
    st = make_store(customers=CUSTOMERS, interactions=[ix("x1", "c1", t, "a2"), ix("x2", "c1", t, "a1")])
    assert records(st, "upc", by=["advisor"], **WIN) == [("a1", 0.5, 1)]


def test_secon_orders_by_time_then_interaction_id(make_store):
    t0, t1 = datetime(2026, 1, 5, 9), datetime(2026, 1, 6, 9)
    st = make_store(customers=CUSTOMERS, interactions=[
        # same instant: x1 (a1) sorts before x2 (a2); then x3 (a1)
        ix("x2", "c1", t0, "a2"), ix("x1", "c1", t0, "a1"), ix("x3", "c1", t1, "a1"),
    ])
    # order a1, a2, a1: pairs (a1,a2) (a2,a1) -> 0 / 2 = 0 (the other order a2, a1, a1 would give 1/2)
    assert one(st, "secon", **WIN) == (0.0, 1)
    # UPC 2/3; COC (4 + 1 − 3) / (3·2) = 1/3
    v, n = one(st, "upc", **WIN)
    assert n == 1 and v == pytest.approx(2 / 3)
    v, n = one(st, "coc", **WIN)
    assert n == 1 and v == pytest.approx(1 / 3)


def test_continuity_within_channel_and_period(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 5, 9), "a1", "phone"),
        ix("i2", "c1", datetime(2026, 1, 20, 9), "a2", "phone"),
        ix("i3", "c1", datetime(2026, 2, 5, 9), "a1", "branch"),
        ix("i4", "c1", datetime(2026, 2, 6, 9), "a1", "branch"),
    ])
    # overall: N 4, a1 3 -> UPC 0.75
    assert one(st, "upc", **WIN) == (0.75, 1)
    # by channel: branch a1, a1 -> 1.0; phone a1, a2 -> 0.5
    assert records(st, "upc", by=["channel"], **WIN) == [("branch", 1.0, 1), ("phone", 0.5, 1)]
    # by month: January a1, a2 -> 0.5; February a1, a1 -> 1.0
    assert records(st, "upc", by=["period"], **WIN) == [(date(2026, 1, 1), 0.5, 1), (date(2026, 2, 1), 1.0, 1)]
    # SECON overall: a1 a2 a1 a1 -> 1 same pair of 3
    v, n = one(st, "secon", **WIN)
    assert n == 1 and v == pytest.approx(1 / 3)
    # window Jan 20 – Feb 6: January (clipped) has only i2 (N 1, no UPC row); February i3, i4 -> 1.0
    assert records(st, "upc", by=["period"], start=date(2026, 1, 20), end=date(2026, 2, 6)) == [
        (date(2026, 2, 1), 1.0, 1)]
    # January: c1 is an encounter (N 1) -> 100 %; February: N 2 -> 0 %
    assert records(st, "encounter_share", by=["period"], start=date(2026, 1, 20), end=date(2026, 2, 6)) == [
        (date(2026, 1, 1), 100.0, 1), (date(2026, 2, 1), 0.0, 1)]


def test_unknown_customers_and_filters(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "zz", datetime(2026, 1, 5, 9), "a1"), ix("i2", "zz", datetime(2026, 1, 6, 9), "a1"),
        ix("i3", "c3", datetime(2026, 1, 7, 9), "a1"), ix("i4", "c3", datetime(2026, 1, 8, 9), "a2"),
    ])
    # zz (unknown customer): UPC 1; c3: 0.5 -> mean 0.75
    assert one(st, "upc", **WIN) == (0.75, 2)
    assert records(st, "upc", by=["segment"], **WIN) == [("(unknown)", 1.0, 1), ("Private", 0.5, 1)]
    assert one(st, "upc", segments=["Private"], **WIN) == (0.5, 1)
    # no contact in the window: one row, null, n 0
    assert one(st, "upc", start=date(2025, 1, 1), end=date(2025, 1, 31)) == (None, 0)
    assert one(st, "relationship_share", start=date(2025, 1, 1), end=date(2025, 1, 31)) == (None, 0)


def test_secon_pairs_need_both_contacts_in_the_window_and_period(make_store):
    # c1's assisted contacts with an advisor: a1 (Dec 30), a1 (Jan 5), web a1 (Jan 6: self-service, not
    # counted and not a link in the sequence), a1 (Jan 7), a1 (Feb 2).
    store = make_store(customers=CUSTOMERS, interactions=[
        ix("x1", "c1", datetime(2025, 12, 30, 9), "a1"), ix("x2", "c1", datetime(2026, 1, 5, 9), "a1"),
        ix("x3", "c1", datetime(2026, 1, 6, 9), "a1", "web"), ix("x4", "c1", datetime(2026, 1, 7, 9), "a1"),
        ix("x5", "c1", datetime(2026, 2, 2, 9), "a1"),
    ])
    # window Jan-Mar: N = 3 (x2, x4, x5); pairs (x2,x4) (x4,x5) same advisor -> SECON 2/2 = 1
    # (x1 -> x2 is a same-advisor pair too, but x1 is before the window)
    assert one(store, "secon", **WIN) == (1.0, 1)
    # by month: January N = 2, one pair (x2, x4) -> 1/1; February N = 1 -> no customer with N >= 2
    assert records(store, "secon", by=["period"], **WIN) == [(date(2026, 1, 1), 1.0, 1)]
    # window from Jan 6: x4, x5 -> 1 pair of 1
    assert one(store, "secon", start=date(2026, 1, 6), end=WIN["end"]) == (1.0, 1)
    # the same split by channel (everything assisted is phone): the per-channel sequence gives the same
    assert records(store, "secon", by=["channel"], **WIN) == [("phone", 1.0, 1)]
    # a pair with a different advisor in between: a2 on Jan 8 breaks both links around it
    store2 = make_store(customers=CUSTOMERS, interactions=[
        ix("y1", "c1", datetime(2026, 1, 5, 9), "a1"), ix("y2", "c1", datetime(2026, 1, 8, 9), "a2"),
        ix("y3", "c1", datetime(2026, 1, 9, 9), "a1"),
        # same instant as y3, ordered by interaction_id: y3 (a1) then y4 (a1) -> a same-advisor pair
        ix("y4", "c1", datetime(2026, 1, 9, 9), "a1"),
    ])
    # pairs: (y1,y2) no, (y2,y3) no, (y3,y4) yes -> 1/3
    assert one(store2, "secon", **WIN) == (pytest.approx(1 / 3), 1)
