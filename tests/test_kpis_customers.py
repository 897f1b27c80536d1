"""Customer-base KPIs (base, new, retention, churn, CLV) on hand-written customers."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_metrics.metrics.kpis import MissingDataError, compute

Q1 = dict(start=date(2026, 1, 1), end=date(2026, 3, 31))
D = date


def one(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    assert len(df) == 1
    v = df["value"].iloc[0]
    return (None if v != v else float(v)), int(df["n"].iloc[0])


def records(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    return [tuple(None if (isinstance(x, float) and x != x) else x for x in r) for r in df.itertuples(index=False)]


def cust(cid, seg, joined, left=None, acq=None, region=None, advisor=None):
    return dict(customer_id=cid, segment=seg, joined_on=joined, left_on=left, acquisition_channel=acq,
                region=region, advisor_id=advisor)


@pytest.fixture
def base_store(make_store):
    return make_store(customers=[
        cust("k1", "A", D(2025, 6, 1), None, "web", "North", "r1"),
        cust("k2", "B", D(2025, 12, 31), D(2026, 1, 1), None),          # leaves on the window's first day
        cust("k3", "A", D(2026, 1, 1), None, "branch", "North", "r1"),   # joins on the first day
        cust("k4", "B", D(2026, 1, 10), D(2026, 1, 20), "web"),         # joins and leaves inside January
        cust("k5", "A", D(2025, 1, 1), D(2025, 12, 31), "web"),         # left before the window
        cust("k6", "B", D(2025, 3, 1), D(2026, 1, 31), " "),            # leaves on January's last day
        cust("k7", "A", D(2025, 3, 1), D(2026, 2, 1), "web"),           # leaves on February's first day
        cust("k8", "B", D(2026, 3, 31), None, "branch", "South"),       # joins on the window's last day
        cust("k9", "A", D(2026, 4, 1), None, "web"),                    # joins after the window
    ])


# Window 2026-01-01 .. 2026-03-31:
#   S (joined < Jan 1, left empty or >= Jan 1): k1, k2 (left Jan 1), k6, k7 -> 4   (k5 left Dec 31)
#   retained (left empty or > Mar 31): k1 -> 1; churned: k2, k6, k7 -> 3
#   new (Jan 1 <= joined <= Mar 31): k3, k4, k8 -> 3
#   base at Mar 31 (joined <= Mar 31, left empty or > Mar 31): k1, k3, k8 -> 3

def test_customer_base(base_store):
    assert one(base_store, "customer_base", **Q1) == (3.0, 3)


def test_new_customers(base_store):
    assert one(base_store, "new_customers", **Q1) == (3.0, 3)


def test_retention_and_churn(base_store):
    assert one(base_store, "retention_rate", **Q1) == (25.0, 4)
    assert one(base_store, "churn_rate", **Q1) == (75.0, 4)


def test_by_month(base_store):
    # January: S k1, k2, k6, k7 (4); churned k2 (Jan 1), k6 (Jan 31) -> retention 50; new k3, k4;
    #          base Jan 31: k1, k3, k7 (k6 left on Jan 31, k4 on Jan 20) -> 3
    # February: S k1, k3, k7 (left Feb 1 >= Feb 1) -> 3; churned k7 -> retention 2/3; new: none;
    #           base Feb 28: k1, k3 -> 2
    # March: S k1, k3 -> 2; churned none -> 100; new k8; base Mar 31: k1, k3, k8 -> 3
    m = dict(by=["period"], grain="month", **Q1)
    assert records(base_store, "customer_base", **m) == [
        (D(2026, 1, 1), 3.0, 3), (D(2026, 2, 1), 2.0, 2), (D(2026, 3, 1), 3.0, 3)]
    assert records(base_store, "new_customers", **m) == [(D(2026, 1, 1), 2.0, 2), (D(2026, 3, 1), 1.0, 1)]
    ret = compute(base_store, "retention_rate", **m)
    assert list(ret["period"]) == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert list(ret["n"]) == [4, 3, 2]
    assert ret["value"].tolist() == pytest.approx([50.0, 200 / 3, 100.0])
    churn = compute(base_store, "churn_rate", **m)
    assert list(churn["n"]) == [4, 3, 2]
    assert churn["value"].tolist() == pytest.approx([50.0, 100 / 3, 0.0])


def test_clipped_period(base_store):
    # window Jan 15 .. Feb 28, by month: January is Jan 15 .. Jan 31, named 2026-01-01
    #   S (joined < Jan 15, left empty or >= Jan 15): k1, k3, k4 (left Jan 20), k6, k7 -> 5 (k2 left Jan 1)
    #   churned (left <= Jan 31): k4, k6 -> retention 3/5 = 60
    #   new (Jan 15 .. Jan 31): none -> no row; base Jan 31: k1, k3, k7 -> 3
    # February: S k1, k3, k7 -> churned k7 -> 2/3
    w = dict(start=D(2026, 1, 15), end=D(2026, 2, 28), by=["period"])
    ret = compute(base_store, "retention_rate", **w)
    assert list(ret["period"]) == [D(2026, 1, 1), D(2026, 2, 1)]
    assert list(ret["n"]) == [5, 3]
    assert ret["value"].tolist() == pytest.approx([60.0, 200 / 3])
    assert records(base_store, "new_customers", **w) == []
    assert records(base_store, "customer_base", **w) == [(D(2026, 1, 1), 3.0, 3), (D(2026, 2, 1), 2.0, 2)]
    # the same clipped January as a window of its own gives the same numbers
    assert one(base_store, "retention_rate", start=D(2026, 1, 15), end=D(2026, 1, 31)) == (60.0, 5)


def test_by_segment_channel_region_advisor(base_store):
    # segment A: S k1, k7 -> retained k1 -> 50; B: S k2, k6 -> 0
    assert records(base_store, "retention_rate", by=["segment"], **Q1) == [("A", 50.0, 2), ("B", 0.0, 2)]
    # base at Mar 31: A k1, k3 -> 2; B k8 -> 1
    assert records(base_store, "customer_base", by=["segment"], **Q1) == [("A", 2.0, 2), ("B", 1.0, 1)]
    # channel = acquisition channel: k1 web, k3 branch, k8 branch
    assert records(base_store, "customer_base", by=["channel"], **Q1) == [("branch", 2.0, 2), ("web", 1.0, 1)]
    # new by acquisition channel: k3 branch, k8 branch, k4 web
    assert records(base_store, "new_customers", by=["channel"], **Q1) == [("branch", 2.0, 2), ("web", 1.0, 1)]
    # churn by acquisition channel: S k1 web, k7 web, k2 empty -> (unknown), k6 blank -> (unknown)
    #   (unknown): k2, k6 both churned -> 100 of 2; web: k7 churned, k1 not -> 50 of 2
    assert records(base_store, "churn_rate", by=["channel"], **Q1) == [("(unknown)", 100.0, 2), ("web", 50.0, 2)]
    # region: k1, k3 North; k8 South
    assert records(base_store, "customer_base", by=["region"], **Q1) == [("North", 2.0, 2), ("South", 1.0, 1)]
    # advisor = assigned advisor_id: k1, k3 -> r1; k8 none -> (unknown)
    assert records(base_store, "customer_base", by=["advisor"], **Q1) == [("(unknown)", 1.0, 1), ("r1", 2.0, 2)]


def test_filters(base_store):
    # segment A: base k1, k3 -> 2; acquisition channel web: base k1 -> 1; S web: k1, k7 -> churn 50
    assert one(base_store, "customer_base", segments=["A"], **Q1) == (2.0, 2)
    assert one(base_store, "customer_base", channels=["web"], **Q1) == (1.0, 1)
    assert one(base_store, "churn_rate", channels=["web"], **Q1) == (50.0, 2)
    assert one(base_store, "new_customers", channels=["(unknown)"], **Q1) == (0.0, 0)


def test_empty_s_gives_null_retention(base_store):
    # window = the single day 2025-01-01: S = customers joined before it: none -> null, n 0
    assert one(base_store, "retention_rate", start=D(2025, 1, 1), end=D(2025, 1, 1)) == (None, 0)
    assert one(base_store, "churn_rate", start=D(2025, 1, 1), end=D(2025, 1, 1)) == (None, 0)
    # base that day: k5 joined 2025-01-01 -> 1
    assert one(base_store, "customer_base", start=D(2025, 1, 1), end=D(2025, 1, 1)) == (1.0, 1)


# -- CLV ------------------------------------------------------------------------------------------

@pytest.fixture
def clv_store(make_store):
    return make_store(
        customers=[
            cust("m1", "A", D(2024, 1, 1), None, "web"),
            cust("m2", "A", D(2024, 6, 1), D(2025, 6, 30), "branch"),
            cust("m3", "B", D(2025, 3, 1), None, "web"),
            cust("m4", "B", D(2024, 1, 1), None, "branch"),
        ],
        transactions=[
            dict(transaction_id="t1", customer_id="m1", occurred_on=datetime(2025, 2, 1), product="p", amount=100.0),
            dict(transaction_id="t2", customer_id="m2", occurred_on=datetime(2025, 5, 1), product="p", amount=50.0),
            dict(transaction_id="t3", customer_id="m3", occurred_on=datetime(2025, 3, 15), product="p", amount=200.0),
            dict(transaction_id="t4", customer_id="m4", occurred_on=datetime(2025, 8, 1), product="p", amount=-50.0),
            dict(transaction_id="t5", customer_id="m1", occurred_on=datetime(2024, 12, 31), product="p",
                 amount=1000.0),                                              # before the window
            dict(transaction_id="t6", customer_id="zz", occurred_on=datetime(2025, 4, 1), product="p",
                 amount=500.0, channel="web"),                                # unknown customer
        ])


Y2025 = dict(start=D(2025, 1, 1), end=D(2025, 12, 31))


def test_clv_year(clv_store):
    # D = 365. S = m1, m2, m4; retained m1, m4 -> retention 2/3 -> r = (2/3)^1
    # base Dec 31: m1, m3, m4 = 3; revenue 2025 of known customers: 100 + 50 + 200 − 50 = 300
    # m = 300 / 3 × 365/365 × 1 = 100; clv = 100 × (2/3) / (1 + 0.1 − 2/3) = 2000/13
    v, n = one(clv_store, "clv", **Y2025)
    assert n == 3 and v == pytest.approx(2000 / 13)
    # margin 0.5 halves m: 1000/13; discount_rate 0.2: 100 × (2/3) / (1.2 − 2/3) = 125
    clv_store.set_setting("margin", 0.5)
    v, n = one(clv_store, "clv", **Y2025)
    assert n == 3 and v == pytest.approx(1000 / 13)
    v, n = one(clv_store, "clv", settings={"margin": 1.0, "discount_rate": 0.2}, **Y2025)
    assert n == 3 and v == pytest.approx(125.0)


def test_clv_short_window(clv_store):
    # Q1 2025, D = 90: S = m1, m2, m4, all still there on Mar 31 -> r = 1
    # base Mar 31: m1, m2, m3, m4 = 4; revenue: t1 100 + t3 200 = 300
    # m = 300 / 4 × 365 / 90 = 304.1666…; clv = m × 1 / (1.1 − 1) = 3041.666…
    v, n = one(clv_store, "clv", start=D(2025, 1, 1), end=D(2025, 3, 31))
    assert n == 4 and v == pytest.approx(3041.6666666666665)


def test_clv_by_quarter(clv_store):
    # Q1 as above. Q2 (D 91): S m1..m4 = 4, m2 leaves Jun 30 -> retention 0.75, base 3, revenue t2 50:
    #   m = 50/3 × 365/91 = 66.8498…, r = 0.75^(365/91) = 0.315407…, clv = m r / (1.1 − r) = 26.8737…
    # Q3 (D 92): S m1, m3, m4, r = 1, base 3, revenue t4 −50: clv = (−50/3 × 365/92) / 0.1 = −661.2318…
    # Q4: no revenue -> 0
    df = compute(clv_store, "clv", by=["period"], grain="quarter", **Y2025)
    assert list(df["period"]) == [D(2025, 1, 1), D(2025, 4, 1), D(2025, 7, 1), D(2025, 10, 1)]
    assert list(df["n"]) == [4, 3, 3, 3]
    assert df["value"].tolist() == pytest.approx([3041.6666666666665, 26.873745730700936, -661.231884057971, 0.0])


def test_clv_by_segment_and_channel(clv_store):
    # A: S m1, m2 -> r 0.5; base m1 = 1; revenue m1 100 + m2 50 (left, still counted) = 150 -> m 150
    #    clv = 150 × 0.5 / (1.1 − 0.5) = 125
    # B: S m4 -> r 1; base m3, m4 = 2; revenue 200 − 50 = 150 -> m 75 -> clv 75 / 0.1 = 750
    df = compute(clv_store, "clv", by=["segment"], **Y2025)
    assert list(df["segment"]) == ["A", "B"] and list(df["n"]) == [1, 2]
    assert df["value"].tolist() == pytest.approx([125.0, 750.0])
    # acquisition channel: branch m2, m4: S both, retained m4 -> r 0.5; base m4 = 1; revenue 50 − 50 = 0 -> 0
    #                      web m1, m3: S m1 -> r 1; base 2; revenue 300 -> m 150 -> 1500
    df = compute(clv_store, "clv", by=["channel"], **Y2025)
    assert list(df["channel"]) == ["branch", "web"] and list(df["n"]) == [1, 2]
    assert df["value"].tolist() == pytest.approx([0.0, 1500.0])
    # the same through filters
    v, n = one(clv_store, "clv", segments=["B"], **Y2025)
    assert n == 2 and v == pytest.approx(750.0)


def test_clv_null_when_s_empty(clv_store):
    # 2024: S = customers joined before 2024-01-01: none -> retention null -> clv null; base Dec 31 2024:
    # m1, m2, m4 = 3
    assert one(clv_store, "clv", start=D(2024, 1, 1), end=D(2024, 12, 31)) == (None, 3)
    # before anybody joined: base 0 -> null, n 0
    assert one(clv_store, "clv", start=D(2023, 1, 1), end=D(2023, 12, 31)) == (None, 0)


def test_clv_needs_transactions(make_store):
    st = make_store(customers=[cust("m1", "A", D(2024, 1, 1))])
    with pytest.raises(MissingDataError) as e:
        compute(st, "clv", **Y2025)
    assert e.value.tables == ("transactions",)
    assert str(e.value) == "Load transactions.csv to see Customer lifetime value."
    # the other customer KPIs work with customers alone, default window = the customers' history
    assert one(st, "customer_base") == (1.0, 1)
