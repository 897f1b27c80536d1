"""Page compositions: KPI matrix, cohort retention, goals in view, filter choices."""
from __future__ import annotations

import datetime as dt

from crm_metrics.metrics.views import cohort_retention, filter_choices, goals_in_view, kpi_matrix

D = dt.date


def test_cohort_retention_hand_computed(make_store):
    store = make_store(customers=[
        # cohort 2026-01: three customers; one leaves in Feb, one in March
        {"customer_id": "a", "segment": "S", "joined_on": D(2026, 1, 5)},
        {"customer_id": "b", "segment": "S", "joined_on": D(2026, 1, 20), "left_on": D(2026, 2, 10)},
        {"customer_id": "c", "segment": "S", "joined_on": D(2026, 1, 31), "left_on": D(2026, 3, 31)},
        # cohort 2026-02: one customer, leaves on the last day of February (not retained at M0 end)
        {"customer_id": "d", "segment": "T", "joined_on": D(2026, 2, 1), "left_on": D(2026, 2, 28)},
    ], interactions=[{"interaction_id": "i", "customer_id": "a", "occurred_at": dt.datetime(2026, 3, 31, 9),
                      "channel": "phone"}])
    df = cohort_retention(store, start=D(2026, 1, 1), end=D(2026, 3, 31))
    got = {(r.cohort, r.month): (r.customers, round(r.retained, 6)) for r in df.itertuples()}
    assert got == {
        # Jan cohort: end of Jan all 3 there (100); end of Feb b left (2/3); end of Mar c left on
        # 31.03 = the month end, so not "left_on > month_end" -> 1/3
        (D(2026, 1, 1), 0): (3, 100.0), (D(2026, 1, 1), 1): (3, round(200 / 3, 6)),
        (D(2026, 1, 1), 2): (3, round(100 / 3, 6)),
        # Feb cohort: d left on 28.02 = Feb's end -> 0 at M0, 0 at M1 (end of March)
        (D(2026, 2, 1), 0): (1, 0.0), (D(2026, 2, 1), 1): (1, 0.0),
    }
    seg = cohort_retention(store, start=D(2026, 1, 1), end=D(2026, 3, 31), segments=["T"])
    assert list(seg["customers"]) == [1, 1]


def test_kpi_matrix_side_by_side(make_store):
    store = make_store(interactions=[
        {"interaction_id": "1", "customer_id": "a", "occurred_at": dt.datetime(2026, 1, 1, 9), "channel": "phone",
         "csat": 5},
        {"interaction_id": "2", "customer_id": "b", "occurred_at": dt.datetime(2026, 1, 2, 9), "channel": "phone",
         "csat": 2},
        {"interaction_id": "3", "customer_id": "a", "occurred_at": dt.datetime(2026, 1, 3, 9), "channel": "web"},
    ])
    df = kpi_matrix(store, ["contacts", "csat", "multichannel_rate"], "channel")
    # multichannel_rate cannot be split by channel: left out. csat: phone 1 of 2 top-2-box = 50 %
    assert list(df.columns) == ["channel", "Contacts", "CSAT (top-2-box)"]
    assert df.to_dict("records")[0] == {"channel": "phone", "Contacts": 2.0, "CSAT (top-2-box)": 50.0}
    assert df.iloc[1]["channel"] == "web" and df.iloc[1]["Contacts"] == 1.0
    assert df.iloc[1]["CSAT (top-2-box)"] != df.iloc[1]["CSAT (top-2-box)"]  # NaN: no answers on web


def test_goals_in_view_and_choices(make_store):
    store = make_store(goals=[
        {"goal_id": "g1", "kpi": "csat", "target": 80.0},
        {"goal_id": "g2", "kpi": "csat", "target": 90.0, "channel": "phone"},
        {"goal_id": "g3", "kpi": "csat", "target": 70.0, "segment": "Mass"},
        {"goal_id": "g4", "kpi": "nps", "target": 10.0},
    ], interactions=[{"interaction_id": "1", "customer_id": "a", "occurred_at": dt.datetime(2026, 1, 1, 9),
                      "channel": "phone"}])
    assert [g["goal_id"] for g in goals_in_view(store, "csat")] == ["g1"]
    assert [g["goal_id"] for g in goals_in_view(store, "csat", ["phone"])] == ["g1", "g2"]
    assert [g["goal_id"] for g in goals_in_view(store, "csat", ["phone", "web"], ["Mass"])] == ["g1", "g3"]
    c = filter_choices(store)
    assert c["channels"] == ["phone"] and c["first"] == D(2026, 1, 1) and c["last"] == D(2026, 1, 1)
