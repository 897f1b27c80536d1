"""Value KPIs (revenue, products, NPS) and the data-quality KPI on hand-written rows."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_metrics.metrics.kpis import compute

JAN = dict(start=date(2026, 1, 1), end=date(2026, 1, 31))
D = date


def one(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    assert len(df) == 1
    v = df["value"].iloc[0]
    return (None if v != v else float(v)), int(df["n"].iloc[0])


def records(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    return [tuple(None if (isinstance(x, float) and x != x) else x for x in r) for r in df.itertuples(index=False)]


def tx(tid, cust, when, amount, product="p1", channel=None):
    return dict(transaction_id=tid, customer_id=cust, occurred_on=when, amount=amount, product=product,
                channel=channel)


CUSTOMERS = [
    dict(customer_id="c1", segment="Retail", joined_on=D(2020, 1, 1)),
    dict(customer_id="c2", segment="Private", joined_on=D(2020, 1, 1)),
    dict(customer_id="c3", segment="Retail", joined_on=D(2020, 1, 1)),
]


@pytest.fixture
def rev_store(make_store):
    return make_store(customers=CUSTOMERS, transactions=[
        tx("t1", "c1", datetime(2026, 1, 5, 14, 30), 100.0, channel="branch"),
        tx("t2", "c1", datetime(2026, 1, 6), -30.0, channel="web"),            # refund
        tx("t3", "c2", datetime(2026, 2, 1), 50.0, channel="web"),             # outside January
        tx("t4", "zz", datetime(2026, 1, 31, 23, 59), 20.0),                   # unknown customer, no channel
    ])


def test_revenue(rev_store):
    # January: 100 − 30 + 20 = 90 over 3 transactions
    assert one(rev_store, "revenue", **JAN) == (90.0, 3)
    # by channel: branch 100; web −30; empty channel -> (unknown) 20
    assert records(rev_store, "revenue", by=["channel"], **JAN) == [
        ("(unknown)", 20.0, 1), ("branch", 100.0, 1), ("web", -30.0, 1)]
    # by segment: Retail c1 70; unknown customer 20
    assert records(rev_store, "revenue", by=["segment"], **JAN) == [("(unknown)", 20.0, 1), ("Retail", 70.0, 2)]
    # nothing in March: revenue 0, n 0
    assert one(rev_store, "revenue", start=D(2026, 3, 1), end=D(2026, 3, 31)) == (0.0, 0)


def test_revenue_per_customer(rev_store):
    # 90 / 2 buying customers (c1, zz) = 45
    assert one(rev_store, "revenue_per_customer", **JAN) == (45.0, 2)
    # by month over Jan–Feb: January 90 / 2; February 50 / 1
    assert records(rev_store, "revenue_per_customer", by=["period"], start=D(2026, 1, 1), end=D(2026, 2, 28)) == [
        (D(2026, 1, 1), 45.0, 2), (D(2026, 2, 1), 50.0, 1)]


def test_avg_order_value(rev_store):
    # 90 / 3 = 30
    assert one(rev_store, "avg_order_value", **JAN) == (30.0, 3)


def test_repeat_purchase_rate(rev_store):
    # c1 has 2 transactions (one a refund), zz 1 -> 1 / 2
    assert one(rev_store, "repeat_purchase_rate", **JAN) == (50.0, 2)
    # within a channel, c1 has one transaction each in branch and web -> 0 / 1 in each
    assert records(rev_store, "repeat_purchase_rate", by=["channel"], **JAN) == [
        ("(unknown)", 0.0, 1), ("branch", 0.0, 1), ("web", 0.0, 1)]


@pytest.fixture
def prod_store(make_store):
    return make_store(customers=CUSTOMERS, transactions=[
        tx("t1", "c1", datetime(2025, 6, 1), 10.0, "p1", "branch"),
        tx("t2", "c1", datetime(2026, 1, 5), 10.0, "p2", "web"),
        tx("t3", "c1", datetime(2026, 1, 6), 10.0, "p1", "web"),
        tx("t4", "c2", datetime(2026, 2, 10), 10.0, "p3", "web"),
        tx("t5", "c3", datetime(2025, 1, 1), 10.0, "p1", "branch"),
        tx("t6", "c3", datetime(2026, 1, 10), -10.0, "p1", "branch"),      # refund of p1
    ])


def test_products_per_customer(prod_store):
    # customers with a transaction on or before Jan 31 2026 (all history): c1 {p1, p2} = 2, c3 {p1} = 1
    # -> 3 / 2 = 1.5 (c2 buys only in February)
    assert one(prod_store, "products_per_customer", **JAN) == (1.5, 2)
    # the window's start does not matter, only its end
    assert one(prod_store, "products_per_customer", start=D(2026, 1, 20), end=D(2026, 1, 31)) == (1.5, 2)
    # by month: January as above; February adds c2 {p3} -> (2 + 1 + 1) / 3
    df = compute(prod_store, "products_per_customer", by=["period"], start=D(2026, 1, 1), end=D(2026, 2, 28))
    assert list(df["period"]) == [D(2026, 1, 1), D(2026, 2, 1)] and list(df["n"]) == [2, 3]
    assert df["value"].tolist() == pytest.approx([1.5, 4 / 3])
    # by channel: branch: c1 {p1}, c3 {p1} -> 1.0 of 2; web: c1 {p2, p1} -> 2.0 of 1 (c2 after Jan 31)
    assert records(prod_store, "products_per_customer", by=["channel"], **JAN) == [
        ("branch", 1.0, 2), ("web", 2.0, 1)]
    # by end of 2025: c1 {p1}, c3 {p1} -> 1.0
    assert one(prod_store, "products_per_customer", start=D(2025, 12, 1), end=D(2025, 12, 31)) == (1.0, 2)


def test_cross_sell_rate(prod_store):
    # on Jan 31: c1 holds 2 products, c3 one -> 1 / 2
    assert one(prod_store, "cross_sell_rate", **JAN) == (50.0, 2)
    # by month: January 1/2; February c1 of c1, c2, c3 -> 1/3
    df = compute(prod_store, "cross_sell_rate", by=["period"], start=D(2026, 1, 1), end=D(2026, 2, 28))
    assert list(df["n"]) == [2, 3]
    assert df["value"].tolist() == pytest.approx([50.0, 100 / 3])
    # segment Retail: c1, c3 -> 1/2; Private on Jan 31: nobody -> null, n 0
    assert one(prod_store, "cross_sell_rate", segments=["Retail"], **JAN) == (50.0, 2)
    assert one(prod_store, "cross_sell_rate", segments=["Private"], **JAN) == (None, 0)


def test_nps(make_store):
    st = make_store(customers=CUSTOMERS, surveys=[
        dict(response_id=f"s{i}", customer_id="c1" if i < 3 else "c2", answered_on=D(2026, 1, 10 + i), nps=score,
             channel="email" if i < 3 else None)
        for i, score in enumerate([10, 9, 8, 7, 6, 0])
    ] + [dict(response_id="s9", customer_id="c1", answered_on=D(2026, 2, 1), nps=10)])
    # January answers 10, 9, 8, 7, 6, 0: promoters 2, detractors 2 -> 0 over 6
    assert one(st, "nps", **JAN) == (0.0, 6)
    # by channel: email 10, 9, 8 -> (2 − 0) / 3; (unknown) 7, 6, 0 -> (0 − 2) / 3
    df = compute(st, "nps", by=["channel"], **JAN)
    assert list(df["channel"]) == ["(unknown)", "email"] and list(df["n"]) == [3, 3]
    assert df["value"].tolist() == pytest.approx([-200 / 3, 200 / 3])
    # by segment: Private (c2) 7, 6, 0 -> −66.7; Retail (c1) 10, 9, 8 -> 66.7
    assert list(compute(st, "nps", by=["segment"], **JAN)["segment"]) == ["Private", "Retail"]


def test_customer_match_rate(make_store):
    st = make_store(
        customers=CUSTOMERS,
        interactions=[
            dict(interaction_id="i1", customer_id="c1", occurred_at=datetime(2026, 1, 2), channel="phone"),
            dict(interaction_id="i2", customer_id="c2", occurred_at=datetime(2026, 1, 3), channel="web"),
            dict(interaction_id="i3", customer_id="x1", occurred_at=datetime(2026, 2, 3), channel="phone"),
            dict(interaction_id="i4", customer_id="x1", occurred_at=datetime(2026, 3, 3), channel="phone"),  # out
        ],
        transactions=[tx("t1", "c1", datetime(2026, 1, 5), 1.0, channel="web"),
                      tx("t2", "x2", datetime(2026, 2, 5), 1.0, channel="web")],
        surveys=[dict(response_id="s1", customer_id="c3", answered_on=D(2026, 2, 7), nps=9)],
    )
    w = dict(start=D(2026, 1, 1), end=D(2026, 2, 28))
    # rows in the window: i1 ✓, i2 ✓, i3 ✗, t1 ✓, t2 ✗, s1 ✓ -> 4 / 6
    v, n = one(st, "customer_match_rate", **w)
    assert n == 6 and v == pytest.approx(200 / 3)
    # by month: January i1, i2, t1 -> 3/3; February i3 ✗, t2 ✗, s1 ✓ -> 1/3
    df = compute(st, "customer_match_rate", by=["period"], **w)
    assert list(df["period"]) == [D(2026, 1, 1), D(2026, 2, 1)] and list(df["n"]) == [3, 3]
    assert df["value"].tolist() == pytest.approx([100.0, 100 / 3])
    # channel filter on each row's channel: web rows i2 ✓, t1 ✓, t2 ✗ -> 2/3
    v, n = one(st, "customer_match_rate", channels=["web"], **w)
    assert n == 3 and v == pytest.approx(200 / 3)
