"""Summary tables (crm_metrics.data.summaries) and the KPIs' summary queries.

Hand-computed cubes and KPI values on tiny stores; then, on the sample company, every request a
summary query answers must give exactly what the plain query gives.
"""
from __future__ import annotations

import math
from datetime import date

import pytest

from crm_metrics.metrics.kpis import compute
from crm_metrics.metrics.kpis.engine import build_sql
from crm_metrics.metrics.kpis.registry import KPIS

SUMMARY_KPIS = sorted(k for k, v in KPIS.items() if v.summary is not None)
SUMMARY_TABLES = ("f_contact_cube", "f_buyer_cube", "f_holding_events")


def _c(cid, segment):
    return {"customer_id": cid, "joined_on": date(2024, 1, 1), "segment": segment, "region": "North"}


def _i(iid, cid, when, channel):
    return {"interaction_id": iid, "customer_id": cid, "occurred_at": when, "channel": channel}


def _t(tid, cid, day, channel, product, amount):
    return {"transaction_id": tid, "customer_id": cid, "occurred_on": day, "channel": channel,
            "product": product, "amount": amount}


@pytest.fixture
def tiny(make_store):
    return make_store(
        customers=[_c("A", "S1"), _c("B", "S1"), _c("C", "S2")],
        interactions=[
            _i("i1", "A", "2025-03-02 09:00:00", "phone"),
            _i("i2", "A", "2025-03-10 09:00:00", "email"),
            _i("i3", "A", "2025-03-20 09:00:00", "phone"),
            _i("i4", "B", "2025-03-05 09:00:00", "phone"),
            _i("i5", "C", "2025-03-31 23:59:59", "chat"),
            _i("i6", "X", "2025-03-03 09:00:00", "phone"),   # not in customers: segment (unknown)
            _i("i7", "A", "2025-04-01 00:00:00", "phone"),
        ],
        transactions=[
            _t("t1", "A", "2025-03-01", "phone", "p1", 100.0),
            _t("t2", "A", "2025-03-15", "phone", "p2", 50.0),
            _t("t3", "A", "2025-03-20", "web", "p1", -20.0),   # a refund
            _t("t4", "B", "2025-03-10", "web", "p3", 30.0),
        ],
    )


def _rows(store, sql):
    return store.cursor().execute(sql).fetchall()


def test_contact_cube_holds_customers_per_month_and_channel_set(tiny):
    # channels get bits in name order: chat 1, email 2, phone 4
    assert _rows(tiny, "SELECT channel, bit FROM f_contact_channels ORDER BY bit") == [
        ("chat", 1), ("email", 2), ("phone", 4)]
    got = _rows(tiny, "SELECT period, segment, channels, customers FROM f_contact_cube "
                      "ORDER BY period, segment, channels")
    assert got == [
        (date(2025, 3, 1), "(unknown)", 4, 1),   # X: phone
        (date(2025, 3, 1), "S1", 4, 1),          # B: phone
        (date(2025, 3, 1), "S1", 6, 1),          # A: phone + email = 4 + 2
        (date(2025, 3, 1), "S2", 1, 1),          # C: chat
        (date(2025, 4, 1), "S1", 4, 1),          # A: phone
    ]


def test_buyer_cube_marks_channels_with_two_transactions(tiny):
    # (unknown) is not a channel here: every transaction names one; bits: phone 1, web 2
    assert _rows(tiny, "SELECT channel, bit FROM f_buyer_channels ORDER BY bit") == [("phone", 1), ("web", 2)]
    got = _rows(tiny, "SELECT period, segment, channels, channels_two, customers FROM f_buyer_cube "
                      "ORDER BY channels")
    assert got == [
        (date(2025, 3, 1), "S1", 2, 0, 1),   # B: one web transaction
        (date(2025, 3, 1), "S1", 3, 1, 1),   # A: phone twice (t1, t2) + web once (t3)
    ]


def _one(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    assert len(df) == 1
    return round(float(df["value"].iloc[0]), 9), int(df["n"].iloc[0])


def _split(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    dim = [c for c in df.columns if c not in ("value", "n")][0]
    return {r[dim]: (round(float(r["value"]), 9), int(r["n"])) for _, r in df.iterrows()}


MARCH = dict(start="2025-03-01", end="2025-03-31")


def _uses_summary(kpi, **kw):
    sql, _ = build_sql(kpi, summaries=True, **kw)
    # continuity reads f_interactions either way; its summary query groups by pair_key
    return any(t in sql for t in SUMMARY_TABLES) or "pair_key" in sql


def test_contacts_per_customer_from_the_cube(tiny):
    assert _uses_summary("contacts_per_customer", by=["channel"], **MARCH)
    # phone: A twice, B once, X once = 4 contacts / 3 customers; email: A 1/1; chat: C 1/1
    assert _split(tiny, "contacts_per_customer", by=["channel"], **MARCH) == {
        "chat": (1.0, 1), "email": (1.0, 1), "phone": (round(4 / 3, 9), 3)}
    # all channels: 6 contacts in March / 4 customers (A, B, C, X)
    assert _one(tiny, "contacts_per_customer", **MARCH) == (1.5, 4)
    # by month: March as above; April: A once
    df = compute(tiny, "contacts_per_customer", start="2025-03-01", end="2025-04-30", by=["period"])
    assert list(zip(df["period"], df["value"], df["n"])) == [(date(2025, 3, 1), 1.5, 4), (date(2025, 4, 1), 1.0, 1)]


def test_multichannel_rate_from_the_cube(tiny):
    assert _uses_summary("multichannel_rate", channels=["email", "chat"], **MARCH)
    # only A used two channels in March: 1 of 4
    assert _one(tiny, "multichannel_rate", **MARCH) == (25.0, 4)
    # within email + chat: A (email) and C (chat), one channel each
    assert _one(tiny, "multichannel_rate", channels=["email", "chat"], **MARCH) == (0.0, 2)
    # within phone + email: A (both), B, X: 1 of 3
    assert _one(tiny, "multichannel_rate", channels=["phone", "email"], **MARCH) == (round(100 / 3, 9), 3)
    # a channel nobody used: no population
    assert compute(tiny, "multichannel_rate", channels=["branch"], **MARCH)["n"].tolist() == [0]


def test_repeat_purchases_and_revenue_per_customer_from_the_cube(tiny):
    assert _uses_summary("repeat_purchase_rate", by=["channel"], **MARCH)
    # A: 3 transactions, B: 1 -> 1 of 2
    assert _one(tiny, "repeat_purchase_rate", **MARCH) == (50.0, 2)
    # phone: A twice -> 1 of 1; web: A once, B once -> 0 of 2
    assert _split(tiny, "repeat_purchase_rate", by=["channel"], **MARCH) == {"phone": (100.0, 1), "web": (0.0, 2)}
    # web only: 0 of 2; phone + web: A (3) repeats, B (1) does not
    assert _one(tiny, "repeat_purchase_rate", channels=["web"], **MARCH) == (0.0, 2)
    assert _one(tiny, "repeat_purchase_rate", channels=["web", "phone"], **MARCH) == (50.0, 2)
    # revenue 100 + 50 - 20 + 30 = 160 over 2 customers; phone 150 / 1; web (-20 + 30) / 2 = 5
    assert _one(tiny, "revenue_per_customer", **MARCH) == (80.0, 2)
    assert _split(tiny, "revenue_per_customer", by=["channel"], **MARCH) == {"phone": (150.0, 1), "web": (5.0, 2)}


def test_holdings_from_the_events(tiny):
    assert _uses_summary("products_per_customer", by=["channel"], start="2025-03-05", end="2025-03-17")
    # by the end of March: A holds p1, p2; B holds p3 -> (2 + 1) / 2; cross-sell: A of A, B
    assert _one(tiny, "products_per_customer", **MARCH) == (1.5, 2)
    assert _one(tiny, "cross_sell_rate", **MARCH) == (50.0, 2)
    # within a channel: phone: A holds p1, p2; web: A p1, B p3
    assert _split(tiny, "products_per_customer", by=["channel"], **MARCH) == {"phone": (2.0, 1), "web": (1.0, 2)}
    assert _split(tiny, "cross_sell_rate", by=["channel"], **MARCH) == {"phone": (100.0, 1), "web": (0.0, 2)}
    # on 2025-03-12: A holds p1 only (p2 on the 15th), B p3 -> 1.0
    assert _one(tiny, "products_per_customer", start="2025-03-01", end="2025-03-12") == (1.0, 2)


def _a(iid, cid, when, advisor):
    return {**_i(iid, cid, when, "phone"), "advisor_id": advisor}


@pytest.fixture
def advisors(make_store):
    return make_store(
        customers=[_c("A", "S1"), _c("B", "S1")],
        interactions=[
            _a("i1", "A", "2025-03-02 09:00:00", "a1"),
            _a("i2", "A", "2025-03-10 09:00:00", "a2"),
            _a("i3", "A", "2025-03-20 09:00:00", "a1"),
            _a("i4", "A", "2025-04-05 09:00:00", "a1"),
            _a("i5", "B", "2025-02-27 09:00:00", "a1"),
            _a("i6", "B", "2025-03-15 09:00:00", "b1"),
            _i("i7", "B", "2025-03-16 09:00:00", "web"),      # self-service: not a continuity contact
        ],
    )


def test_pair_facts_count_each_customer_advisor_pair_over_the_whole_history(advisors):
    got = _rows(advisors, "SELECT interaction_id, pair_contacts, pair_first_day, pair_last_day "
                          "FROM f_interactions ORDER BY interaction_id")
    a1 = (3, date(2025, 3, 2), date(2025, 4, 5))   # A with a1: i1, i3, i4
    assert got == [("i1", *a1), ("i2", 1, date(2025, 3, 10), date(2025, 3, 10)), ("i3", *a1), ("i4", *a1),
                   ("i5", 1, date(2025, 2, 27), date(2025, 2, 27)), ("i6", 1, date(2025, 3, 15), date(2025, 3, 15)),
                   ("i7", None, None, None)]


@pytest.mark.parametrize("use_summaries", [True, False])
def test_continuity_from_pair_counts_and_from_grouping_agree_with_the_hand_count(advisors, use_summaries):
    assert _uses_summary("upc", by=["segment"], **MARCH)
    kw = dict(use_summaries=use_summaries)
    # March: A has a1 twice (i1, i3; the pair is cut by the window's end) and a2 once: N = 3, max 2,
    # UPC 2/3, COC (2² + 1² - 3) / (3 · 2) = 1/3; B has b1 once (a1 on 02-27 is outside): an encounter
    assert _one(advisors, "upc", **MARCH, **kw) == (round(2 / 3, 9), 1)
    assert _one(advisors, "coc", **MARCH, **kw) == (round(1 / 3, 9), 1)
    assert _one(advisors, "pseudo_relationship_share", **MARCH, **kw) == (50.0, 2)
    assert _one(advisors, "encounter_share", **MARCH, **kw) == (50.0, 2)
    # Feb 15 - Apr 30, every pair inside: A a1 3 + a2 1: UPC 3/4, COC (9 + 1 - 4) / 12 = 1/2,
    # a relationship (0.75 >= 0.75); B a1 1 + b1 1: UPC 1/2, COC 0, pseudo. Means: 0.625, 0.25
    whole = dict(start="2025-02-15", end="2025-04-30")
    assert _one(advisors, "upc", **whole, **kw) == (0.625, 2)
    assert _one(advisors, "coc", **whole, **kw) == (0.25, 2)
    assert _one(advisors, "relationship_share", **whole, **kw) == (50.0, 2)
    assert _split(advisors, "upc", by=["segment"], **whole, **kw) == {"S1": (0.625, 2)}
    # by month: February B once; March A 2 + 1 (2/3), B once; April A once (the a1 pair spans months)
    # (a period with no customer seen twice has no UPC row)
    df = compute(advisors, "upc", by=["period"], **whole, **kw)
    assert [(p, round(float(v), 9), int(n)) for p, v, n in zip(df["period"], df["value"], df["n"])] == [
        (date(2025, 3, 1), round(2 / 3, 9), 1)]
    df = compute(advisors, "encounter_share", by=["period"], **whole, **kw)
    assert list(df["value"]) == [100.0, 50.0, 100.0] and list(df["n"]) == [1, 2, 1]


def test_requests_the_cubes_cannot_answer_use_the_plain_query():
    # a window not made of whole months, a week grain, the advisor dimension
    assert not _uses_summary("contacts_per_customer", start="2025-03-02", end="2025-03-31")
    assert not _uses_summary("contacts_per_customer", start="2025-03-01", end="2025-03-30")
    assert not _uses_summary("contacts_per_customer", start="2025-03-01", end="2025-04-30")  # two months, one total
    assert not _uses_summary("contacts_per_customer", by=["period"], grain="week", **MARCH)
    assert not _uses_summary("contacts_per_customer", by=["advisor"], **MARCH)
    # holdings: first purchases within a set of several channels are not summarised
    assert not _uses_summary("products_per_customer", channels=["web", "phone"], **MARCH)
    # continuity: pair counts span all channels, and the advisor split names the usual advisor
    assert not _uses_summary("upc", channels=["phone"], **MARCH)
    assert not _uses_summary("upc", by=["channel"], **MARCH)
    assert not _uses_summary("coc", by=["advisor"], **MARCH)
    assert _uses_summary("products_per_customer", channels=["web", "phone"], by=["channel"], **MARCH)


def test_more_channels_than_bits_falls_back_to_the_plain_query(make_store):
    # 63 channels: no room in a 62-bit mask, so the channel table stays empty and KPIs still answer
    store = make_store(interactions=[_i(f"i{k}", f"C{k}", "2025-03-02 09:00:00", f"ch{k:02d}") for k in range(63)])
    assert _rows(store, "SELECT COUNT(*) FROM f_contact_channels") == [(0,)]
    assert _one(store, "contacts_per_customer", **MARCH) == (1.0, 63)
    assert _one(store, "multichannel_rate", **MARCH) == (0.0, 63)


def _same(a, b) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for c in a.columns:
        if c == "value":
            for x, y in zip(a[c], b[c]):
                if math.isnan(x) != math.isnan(y) or (not math.isnan(x) and abs(x - y) > 1e-9 * max(1.0, abs(x))):
                    return False
        elif list(a[c]) != list(b[c]):
            return False
    return True


WINDOWS = [("2024-11-01", "2026-10-31"), ("2025-03-01", "2025-03-31"), ("2025-03-05", "2025-09-30")]
SPLITS = [(), ("channel",), ("segment",), ("period",), ("channel", "period"), ("region", "segment", "period")]
FILTERS = [((), ()), (("phone",), ()), (("phone", "email", "web"), ("Private Banking", "Premier"))]


@pytest.mark.parametrize("kpi", SUMMARY_KPIS)
def test_summary_equals_plain_query_on_the_sample(sample_store, kpi):
    used = 0
    for start, end in WINDOWS:
        for by in SPLITS:
            by = tuple(d for d in by if d in KPIS[kpi].dimensions)
            for channels, segments in FILTERS:
                kw = dict(start=start, end=end, by=by, channels=channels, segments=segments)
                fast = compute(sample_store, kpi, **kw)
                plain = compute(sample_store, kpi, use_summaries=False, **kw)
                assert len(plain) > 0
                assert _same(fast, plain), (kpi, kw, fast.head(), plain.head())
                used += _uses_summary(kpi, **kw)
    assert used >= 10  # the comparison is not vacuous: the summaries answered many of these
