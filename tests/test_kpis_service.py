"""Service KPIs on tiny hand-written stores; every expectation is computed by hand in a comment."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_metrics.metrics.kpis import compute

JAN = dict(start=date(2026, 1, 1), end=date(2026, 1, 31))


def one(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    assert len(df) == 1
    v = df["value"].iloc[0]
    return (None if v != v else float(v)), int(df["n"].iloc[0])


def records(store, kpi, **kw):
    df = compute(store, kpi, **kw)
    return [tuple(None if (isinstance(x, float) and x != x) else x for x in r) for r in df.itertuples(index=False)]


def ix(iid, cust, when, channel="phone", **kw):
    return dict(interaction_id=iid, customer_id=cust, occurred_at=when, channel=channel, **kw)


CUSTOMERS = [
    dict(customer_id="c1", segment="Retail", joined_on=date(2020, 1, 1), region="North"),
    dict(customer_id="c2", segment="Private", joined_on=date(2020, 1, 1), region="South"),
    dict(customer_id="c3", segment="Retail", joined_on=date(2020, 1, 1), region="North"),
]


# -- contacts, contacts_per_customer ------------------------------------------------------------

@pytest.fixture
def contacts_store(make_store):
    return make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 3, 9), "phone", advisor_id="a1"),
        ix("i2", "c1", datetime(2026, 1, 4, 9), "phone", advisor_id="a1"),
        ix("i3", "c1", datetime(2026, 1, 5, 9), "web"),
        ix("i4", "c2", datetime(2026, 1, 6, 9), "phone", advisor_id="a2"),
        ix("i5", "zz", datetime(2026, 1, 7, 9), "branch", advisor_id="a2"),   # unknown customer
        ix("i6", "c1", datetime(2026, 2, 1, 0), "phone"),                    # outside the window
    ])


def test_contacts(contacts_store):
    # i1..i5 are in January; i6 is on Feb 1st
    assert one(contacts_store, "contacts", **JAN) == (5.0, 5)
    # phone i1, i2, i4 = 3; web i3 = 1; branch i5 = 1; sorted by channel
    assert records(contacts_store, "contacts", by=["channel"], **JAN) == [
        ("branch", 1.0, 1), ("phone", 3.0, 3), ("web", 1.0, 1)]
    # segment: Private c2 (i4) = 1; Retail c1 (i1, i2, i3) = 3; the unknown customer zz = 1
    assert records(contacts_store, "contacts", by=["segment"], **JAN) == [
        ("(unknown)", 1.0, 1), ("Private", 1.0, 1), ("Retail", 3.0, 3)]
    # advisor: i3 has none -> (unknown); a1: i1, i2; a2: i4, i5
    assert records(contacts_store, "contacts", by=["advisor"], **JAN) == [
        ("(unknown)", 1.0, 1), ("a1", 2.0, 2), ("a2", 2.0, 2)]
    # region: North c1 = 3, South c2 = 1, unknown zz = 1
    assert records(contacts_store, "contacts", by=["region"], **JAN) == [
        ("(unknown)", 1.0, 1), ("North", 3.0, 3), ("South", 1.0, 1)]
    # filters: channels phone + web -> i1..i4 = 4; segments Retail -> i1, i2, i3 = 3
    assert one(contacts_store, "contacts", channels=["phone", "web"], **JAN) == (4.0, 4)
    assert one(contacts_store, "contacts", segments=["Retail"], **JAN) == (3.0, 3)
    assert one(contacts_store, "contacts", segments=["(unknown)"], **JAN) == (1.0, 1)


def test_contacts_empty_window_is_zero(contacts_store):
    # no contact in March: a count of nothing is 0, n 0
    assert one(contacts_store, "contacts", start=date(2026, 3, 1), end=date(2026, 3, 31)) == (0.0, 0)


def test_contacts_per_customer(contacts_store):
    # 5 contacts by 3 distinct customers (c1, c2, zz) -> 5 / 3
    v, n = one(contacts_store, "contacts_per_customer", **JAN)
    assert n == 3 and v == pytest.approx(5 / 3)
    # by channel: phone 3 contacts / 2 customers (c1, c2) = 1.5; web 1/1; branch 1/1
    assert records(contacts_store, "contacts_per_customer", by=["channel"], **JAN) == [
        ("branch", 1.0, 1), ("phone", 1.5, 2), ("web", 1.0, 1)]


# -- fcr_rate, repeat_contact_rate ----------------------------------------------------------------

@pytest.fixture
def fcr_store(make_store):
    return make_store(customers=CUSTOMERS, interactions=[
        # c1: i1 is followed exactly 7 days later (repeat); i2 is followed 7 days + 1 second later (not)
        ix("i1", "c1", datetime(2026, 1, 1, 10), resolved=True),
        ix("i2", "c1", datetime(2026, 1, 8, 10), resolved=True),
        ix("i3", "c1", datetime(2026, 1, 15, 10, 0, 1), resolved=False),
        # c2: two contacts at the same instant: neither is "later" than the other
        ix("i4", "c2", datetime(2026, 1, 10, 9), resolved=True),
        ix("i5", "c2", datetime(2026, 1, 10, 9)),                       # resolved empty
        # c3: the repeat is outside the window (Feb 2nd, 36 h later) and in another channel
        ix("i6", "c3", datetime(2026, 1, 31, 12), resolved=True),
        ix("i7", "c3", datetime(2026, 2, 2, 0), "web", resolved=True),
    ])


def test_fcr_rate(fcr_store):
    # resolved not empty in January: i1, i2, i3, i4, i6 -> n = 5
    # success = resolved and no later contact within 7 days:
    #   i1 no (i2 exactly 7 d later), i2 yes (i3 is 7 d + 1 s later), i3 no (false),
    #   i4 yes (i5 is at the same instant, not later), i6 no (i7 36 h later, outside the window)
    # -> 2 / 5 = 40 %
    assert one(fcr_store, "fcr_rate", **JAN) == (40.0, 5)
    # filtering on phone does not hide i7 (web) as a later contact: still 2 / 5
    assert one(fcr_store, "fcr_rate", channels=["phone"], **JAN) == (40.0, 5)


def test_fcr_rate_setting(fcr_store):
    # fcr_window_days = 1: i1 yes (next 7 d later), i2 yes, i3 no, i4 yes, i6 yes (36 h > 24 h) -> 4/5
    fcr_store.set_setting("fcr_window_days", 1)
    assert one(fcr_store, "fcr_rate", **JAN) == (80.0, 5)
    # an explicit settings override wins over the store: window 7 days -> 2/5 again
    assert one(fcr_store, "fcr_rate", settings={"fcr_window_days": 7}, **JAN) == (40.0, 5)


def test_repeat_contact_rate(fcr_store):
    # January contacts: i1..i6 -> n = 6
    # repeat: i1 (i2 exactly 7 d later) yes; i2 (7 d + 1 s) no; i3 none; i4 / i5 same instant no;
    #         i6 (i7 36 h later, outside the window, other channel) yes -> 2 / 6
    v, n = one(fcr_store, "repeat_contact_rate", **JAN)
    assert n == 6 and v == pytest.approx(100 * 2 / 6)
    # fcr_window_days = 2 (48 h): i1 no, i6 yes -> 1 / 6
    fcr_store.set_setting("fcr_window_days", 2)
    v, n = one(fcr_store, "repeat_contact_rate", **JAN)
    assert n == 6 and v == pytest.approx(100 / 6)
    # fcr_window_days = 1 (24 h): none -> 0 / 6
    assert one(fcr_store, "repeat_contact_rate", settings={"fcr_window_days": 1}, **JAN) == (0.0, 6)


def test_repeat_contact_fractional_window(fcr_store):
    # 1.5 days = 36 h: i6 -> i7 is exactly 36 h later -> counts; i1 (7 d) does not -> 1 / 6
    v, n = one(fcr_store, "repeat_contact_rate", settings={"fcr_window_days": 1.5}, **JAN)
    assert n == 6 and v == pytest.approx(100 / 6)


# -- handle, wait, SLA ----------------------------------------------------------------------------

@pytest.fixture
def time_store(make_store):
    return make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 2), handle_seconds=100, wait_seconds=30),
        ix("i2", "c1", datetime(2026, 1, 3), handle_seconds=200, wait_seconds=90),
        ix("i3", "c2", datetime(2026, 1, 4), wait_seconds=60),
        ix("i4", "c2", datetime(2026, 1, 5), "chat"),
        ix("i5", "c2", datetime(2026, 2, 5), handle_seconds=1000, wait_seconds=1000),  # outside
    ])


def test_avg_handle_time(time_store):
    # handle_seconds in January: 100, 200 (i3, i4 empty) -> 150 over 2
    assert one(time_store, "avg_handle_time", **JAN) == (150.0, 2)
    # by channel: chat has no handle time -> no row (n = 0); phone 150 over 2
    assert records(time_store, "avg_handle_time", by=["channel"], **JAN) == [("phone", 150.0, 2)]


def test_avg_wait_time(time_store):
    # wait_seconds: 30, 90, 60 -> 180 / 3 = 60
    assert one(time_store, "avg_wait_time", **JAN) == (60.0, 3)


def test_sla_attainment(time_store):
    # sla 60 s: 30 yes, 90 no, 60 yes (<=) -> 2 / 3
    v, n = one(time_store, "sla_attainment", **JAN)
    assert n == 3 and v == pytest.approx(200 / 3)
    # sla_wait_seconds = 30: only 30 -> 1 / 3
    time_store.set_setting("sla_wait_seconds", 30)
    v, n = one(time_store, "sla_attainment", **JAN)
    assert n == 3 and v == pytest.approx(100 / 3)
    # override 90: all three -> 100
    assert one(time_store, "sla_attainment", settings={"sla_wait_seconds": 90}, **JAN) == (100.0, 3)


# -- csat, ces, complaints, self-service, advisor recorded ------------------------------------------

def test_csat_and_ces(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 2), csat=5, ces=7),
        ix("i2", "c1", datetime(2026, 1, 3), csat=4, ces=5),
        ix("i3", "c2", datetime(2026, 1, 4), csat=3, ces=3),
        ix("i4", "c2", datetime(2026, 1, 5), "web", csat=1),
        ix("i5", "c3", datetime(2026, 1, 6)),
    ])
    # csat answers 5, 4, 3, 1 -> top-2-box 2 / 4 = 50 %
    assert one(st, "csat", **JAN) == (50.0, 4)
    # by channel: phone 5, 4, 3 -> 2/3; web 1 -> 0/1
    df = compute(st, "csat", by=["channel"], **JAN)
    assert list(df["channel"]) == ["phone", "web"] and list(df["n"]) == [3, 1]
    assert df["value"].tolist() == pytest.approx([200 / 3, 0.0])
    # ces answers 7, 5, 3 -> 15 / 3 = 5
    assert one(st, "ces", **JAN) == (5.0, 3)


def test_complaint_rate(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 2), reason="complaint"),
        ix("i2", "c1", datetime(2026, 1, 3), reason=" Complaint "),
        ix("i3", "c2", datetime(2026, 1, 4), reason="COMPLAINT"),
        ix("i4", "c2", datetime(2026, 1, 5), reason="complaints"),
        ix("i5", "c3", datetime(2026, 1, 6)),
        ix("i6", "c3", datetime(2026, 1, 7), reason="service"),
    ])
    # "complaint" in any case, trimmed: i1, i2, i3 -> 3 / 6
    assert one(st, "complaint_rate", **JAN) == (50.0, 6)


def test_self_service_share(make_store):
    st = make_store(
        customers=CUSTOMERS,
        channels=[dict(channel="web", kind="assisted")],     # overrides the default for "web"
        interactions=[
            ix("i1", "c1", datetime(2026, 1, 2), "phone"),
            ix("i2", "c1", datetime(2026, 1, 3), "web"),
            ix("i3", "c2", datetime(2026, 1, 4), "mobile"),
            ix("i4", "c2", datetime(2026, 1, 5), "kiosk"),
            ix("i5", "c3", datetime(2026, 1, 6), "chat"),
        ])
    # self-service: mobile, kiosk (web is assisted by the channels table) -> 2 / 5
    assert one(st, "self_service_share", **JAN) == (40.0, 5)


def test_advisor_logged_rate(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 2), "phone", advisor_id="a1"),
        ix("i2", "c1", datetime(2026, 1, 3), "phone", advisor_id="  "),   # blank = not recorded
        ix("i3", "c2", datetime(2026, 1, 4), "branch", advisor_id="a2"),
        ix("i4", "c2", datetime(2026, 1, 5), "web"),                       # self-service: not counted
    ])
    # assisted: i1, i2, i3; with advisor: i1, i3 -> 2 / 3
    v, n = one(st, "advisor_logged_rate", **JAN)
    assert n == 3 and v == pytest.approx(200 / 3)
    # by channel: branch 1/1, phone 1/2; web has no assisted contact -> no row
    assert records(st, "advisor_logged_rate", by=["channel"], **JAN) == [("branch", 100.0, 1), ("phone", 50.0, 2)]


def test_multichannel_rate(make_store):
    st = make_store(customers=CUSTOMERS, interactions=[
        ix("i1", "c1", datetime(2026, 1, 2), "phone"),
        ix("i2", "c1", datetime(2026, 2, 3), "web"),
        ix("i3", "c2", datetime(2026, 1, 4), "phone"),
        ix("i4", "c2", datetime(2026, 1, 5), "phone"),
        ix("i5", "c3", datetime(2026, 1, 6), "email"),
    ])
    q1 = dict(start=date(2026, 1, 1), end=date(2026, 3, 31))
    # c1 phone + web (2 channels), c2 phone only, c3 email only -> 1 / 3
    v, n = one(st, "multichannel_rate", **q1)
    assert n == 3 and v == pytest.approx(100 / 3)
    # only phone contacts: c1 and c2 used one channel each -> 0 / 2
    assert one(st, "multichannel_rate", channels=["phone"], **q1) == (0.0, 2)
    # by month: January c1 phone, c2 phone, c3 email -> 0/3; February c1 web -> 0/1
    assert records(st, "multichannel_rate", by=["period"], **q1) == [
        (date(2026, 1, 1), 0.0, 3), (date(2026, 2, 1), 0.0, 1)]
    # by segment: Private c2 0/1; Retail c1 yes, c3 no -> 1/2
    assert records(st, "multichannel_rate", by=["segment"], **q1) == [("Private", 0.0, 1), ("Retail", 50.0, 2)]
