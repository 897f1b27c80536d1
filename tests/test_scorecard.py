"""Scorecard, objective roll-up and strategy alignment on tiny hand-made stores.

Every expected number is worked out by hand in the comments; none is taken from the code under test.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from crm_metrics.judgement import strategy
from crm_metrics.delivery.cli import main
from crm_metrics.judgement.scorecard import (
    ALIGNMENT_COLUMNS, SCORECARD_COLUMNS, alignment, attainment, judge, objective_rollup, scorecard,
)
from crm_metrics.data.store import close_all

D = dt.date
MARCH = (D(2026, 3, 1), D(2026, 3, 31))
# The goals below are judged on March: a goal's status belongs to its own period (strategy.md), so
# they state it; the window passed to scorecard() only chooses which rows are listed.
MARCH_P = {"period_start": MARCH[0], "period_end": MARCH[1]}


def ts(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} {hour:02d}:00:00")


CUSTOMERS = [
    {"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c2", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c3", "segment": "Basic", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c4", "segment": "Basic", "joined_on": D(2025, 1, 1)},
]
# March: 4 contacts, csat 5, 4, 2, 3 -> top-2-box 2/4 = 50.0; one complaint -> 25.0; one web -> 25.0
# Previous period of March (31 days): 2026-01-29..2026-02-28 -> i5, i6: csat 100.0, complaints 0.0, web 50.0
# i0 (2026-01-05) makes the data cover that previous period whole; i9 (2026-04-01) makes March final.
INTERACTIONS = [
    {"interaction_id": "i0", "customer_id": "c3", "occurred_at": ts("2026-01-05"), "channel": "phone",
     "reason": "service"},
    {"interaction_id": "i9", "customer_id": "c4", "occurred_at": ts("2026-04-01"), "channel": "phone",
     "reason": "service"},
    {"interaction_id": "i1", "customer_id": "c1", "occurred_at": ts("2026-03-02"), "channel": "phone",
     "reason": "complaint", "csat": 5},
    {"interaction_id": "i2", "customer_id": "c2", "occurred_at": ts("2026-03-05"), "channel": "phone",
     "reason": "service", "csat": 4},
    {"interaction_id": "i3", "customer_id": "c3", "occurred_at": ts("2026-03-10"), "channel": "web",
     "reason": "service", "csat": 2},
    {"interaction_id": "i4", "customer_id": "c4", "occurred_at": ts("2026-03-20"), "channel": "phone",
     "reason": "service", "csat": 3},
    {"interaction_id": "i5", "customer_id": "c1", "occurred_at": ts("2026-02-10"), "channel": "phone",
     "reason": "service", "csat": 5},
    {"interaction_id": "i6", "customer_id": "c2", "occurred_at": ts("2026-02-11"), "channel": "web",
     "reason": "service", "csat": 5},
]
FEB = {"period_start": D(2026, 2, 1), "period_end": D(2026, 2, 28)}
GOALS = [
    {"goal_id": "G01", "kpi": "csat", "target": 50, "objective": "Service", "owner": "Ann", **MARCH_P},
    {"goal_id": "G02", "kpi": "csat", "target": 62.5, "tolerance": 0.2, "objective": "Service", **MARCH_P},
    {"goal_id": "G03", "kpi": "csat", "target": 62.6, "tolerance": 0.2, "objective": "Service", **MARCH_P},
    {"goal_id": "G04", "kpi": "complaint_rate", "target": 25, "objective": "Cost", **MARCH_P},
    {"goal_id": "G05", "kpi": "complaint_rate", "target": 20, "tolerance": 0.25, "objective": "Cost", **MARCH_P},
    {"goal_id": "G06", "kpi": "complaint_rate", "target": 20, "tolerance": 0.2, "objective": "Cost", **MARCH_P},
    {"goal_id": "G07", "kpi": "self_service_share", "target": 20, "direction": "at_least", **MARCH_P},
    {"goal_id": "G08", "kpi": "csat", "target": 60, "channel": "phone", "objective": "Service", **MARCH_P},
    {"goal_id": "G09", "kpi": "csat", "target": 90, "segment": "Gold", "objective": "Service", **MARCH_P},
    {"goal_id": "G10", "kpi": "csat", "target": 90, "objective": "Service", **FEB},
    {"goal_id": "G11", "kpi": "nps", "target": 20, "objective": "Value", **MARCH_P},
    {"goal_id": "G12", "kpi": "complaint_rate", "target": 0, "direction": "at_least", "objective": "Cost", **MARCH_P},
    {"goal_id": "G13", "kpi": "complaint_rate", "target": 5, "objective": "Cost", **FEB},
    {"goal_id": "G14", "kpi": "revenue", "target": 1000, "objective": "Value", **MARCH_P},
]


@pytest.fixture
def card(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS, goals=GOALS)
    # a window over February and March lists the March goals and the February ones (G10, G13)
    return store, scorecard(store, D(2026, 2, 1), MARCH[1]).set_index("goal_id")


# -- pure rules: status boundaries and attainment --------------------------------------------------
@pytest.mark.parametrize("actual, status", [
    (80.0, "met"),       # exactly on target
    (85.0, "met"),
    (76.0, "at_risk"),   # |76 - 80| = 4 = 0.05 x 80: exactly at the tolerance
    (75.9, "missed"),    # 4.1 > 4
    (None, "no_data"),
])
def test_judge_at_least(actual, status):
    assert judge(actual, 80, "at_least", 0.05) == status


@pytest.mark.parametrize("actual, status", [
    (60.0, "met"),       # exactly on target
    (10.0, "met"),
    (63.0, "at_risk"),   # |63 - 60| = 3 = 0.05 x 60
    (63.1, "missed"),
    (None, "no_data"),
])
def test_judge_at_most(actual, status):
    assert judge(actual, 60, "at_most", 0.05) == status


def test_judge_default_tolerance_is_5_percent():
    assert judge(95.0, 100, "at_least") == "at_risk"    # 5 = 0.05 x 100
    assert judge(94.9, 100, "at_least") == "missed"


def test_attainment_and_division_by_zero():
    assert attainment(76, 80, "at_least") == pytest.approx(95.0)          # 76 / 80
    assert attainment(63, 60, "at_most") == pytest.approx(95.238095238)   # 60 / 63
    assert attainment(5, 0, "at_least") is None                           # / target 0
    assert attainment(0, 5, "at_most") is None                            # / actual 0
    assert attainment(None, 5, "at_most") is None


# -- the scorecard on a store ----------------------------------------------------------------------
def test_columns_are_the_spec_fields(card):
    _, df = card
    assert ["goal_id", *df.columns] == SCORECARD_COLUMNS


def test_exactly_on_target_at_tolerance_and_beyond_at_least(card):
    _, df = card
    # csat March = 50.0 (2 of 4 answers are 4 or 5)
    assert df.loc["G01", "actual"] == pytest.approx(50.0)
    assert df.loc["G01", "n"] == 4
    assert df.loc["G01", "status"] == "met" and df.loc["G01", "attainment"] == pytest.approx(100.0)
    # target 62.5, tolerance 0.2: |50 - 62.5| = 12.5 = 0.2 x 62.5 -> at_risk; 50 / 62.5 = 80 %
    assert df.loc["G02", "status"] == "at_risk" and df.loc["G02", "attainment"] == pytest.approx(80.0)
    # target 62.6: |50 - 62.6| = 12.6 > 0.2 x 62.6 = 12.52 -> missed; 50 / 62.6 = 79.872 %
    assert df.loc["G03", "status"] == "missed" and df.loc["G03", "attainment"] == pytest.approx(79.8722045)


def test_at_most_from_the_kpi_better_direction(card):
    _, df = card
    # complaint_rate is "lower is better" -> at_most; March = 1 complaint of 4 contacts = 25.0
    assert df.loc["G04", "direction"] == "at_most"
    assert df.loc["G04", "actual"] == pytest.approx(25.0)
    assert df.loc["G04", "status"] == "met"                       # exactly on target
    # target 20, tolerance 0.25: |25 - 20| = 5 = 0.25 x 20 -> at_risk; 20 / 25 = 80 %
    assert df.loc["G05", "status"] == "at_risk" and df.loc["G05", "attainment"] == pytest.approx(80.0)
    # tolerance 0.2: 5 > 4 -> missed
    assert df.loc["G06", "status"] == "missed"


def test_neutral_kpi_goal_with_direction(card):
    _, df = card
    # self_service_share March: 1 web contact of 4 = 25.0; at_least 20 -> met; 25 / 20 = 125 %
    r = df.loc["G07"]
    assert (r["direction"], r["actual"], r["status"]) == ("at_least", pytest.approx(25.0), "met")
    assert r["attainment"] == pytest.approx(125.0)


def test_scope_channel_and_segment(card):
    _, df = card
    # phone in March: i1 (5), i2 (4), i4 (3) -> 2 of 3 = 66.667; 66.667 / 60 = 111.11 %
    assert df.loc["G08", "actual"] == pytest.approx(200 / 3) and df.loc["G08", "n"] == 3
    assert df.loc["G08", "channel"] == "phone" and df.loc["G08", "attainment"] == pytest.approx(111.1111111)
    # Gold (c1, c2) in March: i1 (5), i2 (4) -> 100.0 of 2
    assert df.loc["G09", "actual"] == pytest.approx(100.0) and df.loc["G09", "n"] == 2
    assert df.loc["G09", "segment"] == "Gold" and df.loc["G09", "status"] == "met"


def test_goal_own_period_vs_window(card):
    _, df = card
    # each goal is judged over its own period (spec change: no longer over the viewed window) ...
    assert (df.loc["G01", "period_start"], df.loc["G01", "period_end"]) == MARCH
    assert bool(df.loc["G01", "final"]) is True             # the data reaches 2026-04-01 > 2026-03-31
    # ... a goal with its own period over that period: February has i5 (5), i6 (5) -> 100.0 of 2
    assert (df.loc["G10", "period_start"], df.loc["G10", "period_end"]) == (D(2026, 2, 1), D(2026, 2, 28))
    assert df.loc["G10", "actual"] == pytest.approx(100.0) and df.loc["G10", "n"] == 2


def test_previous_period_and_change(card):
    _, df = card
    # previous of March (31 days) = 2026-01-29..2026-02-28: i5 (5), i6 (5) -> csat 100.0
    assert df.loc["G01", "previous"] == pytest.approx(100.0)
    assert df.loc["G01", "change"] == pytest.approx(-50.0)        # 50 - 100
    # complaints: 0 of 2 -> 0.0; change 25 - 0 = +25
    assert df.loc["G04", "previous"] == pytest.approx(0.0) and df.loc["G04", "change"] == pytest.approx(25.0)
    # self-service: 1 web of 2 -> 50.0; change 25 - 50 = -25
    assert df.loc["G07", "previous"] == pytest.approx(50.0) and df.loc["G07", "change"] == pytest.approx(-25.0)
    # February's previous period (2026-01-04..2026-01-31) starts before the data's first day (2026-01-05,
    # i0): the data does not cover it whole -> null (spec change: partly covered periods have no value)
    assert df.loc["G10", "previous"] != df.loc["G10", "previous"]  # NaN
    assert df.loc["G10", "change"] != df.loc["G10", "change"]


def test_attainment_null_where_division_by_zero(card):
    _, df = card
    # at_least with target 0: 25 / 0 -> null (status still met: 25 >= 0)
    assert df.loc["G12", "status"] == "met" and df.loc["G12", "attainment"] != df.loc["G12", "attainment"]
    # at_most over February: complaints 0 of 2 = 0.0 -> 5 / 0 -> null; 0 <= 5 met
    assert df.loc["G13", "actual"] == pytest.approx(0.0) and df.loc["G13", "status"] == "met"
    assert df.loc["G13", "attainment"] != df.loc["G13", "attainment"]


def test_no_data_when_the_kpi_table_is_empty(card):
    _, df = card
    for goal in ("G11", "G14"):                  # nps: no surveys; revenue: no transactions
        r = df.loc[goal]
        assert r["status"] == "no_data" and r["n"] == 0
        assert r["actual"] != r["actual"] and r["attainment"] != r["attainment"]


def test_low_confidence_all_small(card):
    _, df = card
    assert df["low_confidence"].all()            # every n here is at most 4


@pytest.mark.parametrize("contacts, low", [(29, True), (30, False)])
def test_low_confidence_boundary(make_store, contacts, low):
    store = make_store(
        customers=[{"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1)}],
        interactions=[{"interaction_id": f"i{k}", "customer_id": "c1", "occurred_at": ts("2026-03-02", 0) +
                       dt.timedelta(minutes=k), "channel": "phone", "csat": 5} for k in range(contacts)],
        goals=[{"goal_id": "G1", "kpi": "csat", "target": 90}])
    r = scorecard(store, *MARCH).iloc[0]
    assert r["n"] == contacts and bool(r["low_confidence"]) is low and r["actual"] == pytest.approx(100.0)


def test_window_only_selects_rows(card):
    # spec change: the window no longer sets a goal's period, it lists the rows overlapping it.
    store, _ = card
    # Without a window: each goal's row whose period contains the data's last day (2026-04-01), else its
    # latest: March for the March goals, February for G10 and G13 -> every goal once, same numbers.
    df = scorecard(store).set_index("goal_id")
    assert len(df) == 14 and df.loc["G01", "actual"] == pytest.approx(50.0)
    assert (df.loc["G10", "period_start"], df.loc["G10", "period_end"]) == (D(2026, 2, 1), D(2026, 2, 28))
    # A window on April overlaps none of these periods; one on 2026-02-15..2026-02-20 lists G10, G13 only.
    assert scorecard(store, D(2026, 4, 1), D(2026, 4, 30)).empty
    assert sorted(scorecard(store, D(2026, 2, 15), D(2026, 2, 20))["goal_id"]) == ["G10", "G13"]


def test_goal_with_only_period_start_runs_to_the_end_of_its_year(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS,
                       goals=[{"goal_id": "G1", "kpi": "csat", "target": 50, "period_start": D(2026, 3, 10)}])
    r = scorecard(store, *MARCH).iloc[0]
    # 2026-03-10..2026-12-31, data to 2026-04-01: i3 (2), i4 (3) (i9 has no answer) -> 0 of 2 = 0.0;
    # in progress (never "missed"), and with 3 monthly points of history too little to forecast.
    assert (r["period_start"], r["period_end"]) == (D(2026, 3, 10), D(2026, 12, 31))
    assert r["actual"] == pytest.approx(0.0) and r["n"] == 2 and bool(r["final"]) is False
    assert r["status"] == "no_data" and r["forecast_method"] == "too little history"


def test_tolerance_objective_owner_carried(card):
    _, df = card
    assert df.loc["G01", "tolerance"] == pytest.approx(0.05)      # default
    assert df.loc["G02", "tolerance"] == pytest.approx(0.2)
    assert (df.loc["G01", "objective"], df.loc["G01", "owner"]) == ("Service", "Ann")
    assert df.loc["G01", "label"] == "CSAT (top-2-box)" and df.loc["G01", "unit"] == "%"


def test_empty_store_no_goals(make_store):
    df = scorecard(make_store())
    assert df.empty and list(df.columns) == SCORECARD_COLUMNS


# -- roll-up per strategic objective ------------------------------------------------------------------
def test_objective_rollup_counts(card):
    _, df = card
    roll = objective_rollup(df.reset_index()).set_index("objective")
    # columns: goals, met, on_track, at_risk, off_track, missed, no_data (on/off track: spec change)
    # Service: G01 met, G02 at_risk, G03 missed, G08 met, G09 met, G10 met
    assert roll.loc["Service"].tolist() == [6, 4, 0, 1, 0, 1, 0]
    # Cost: G04 met, G05 at_risk, G06 missed, G12 met, G13 met
    assert roll.loc["Cost"].tolist() == [5, 3, 0, 1, 0, 1, 0]
    # Value: G11, G14 no_data
    assert roll.loc["Value"].tolist() == [2, 0, 0, 0, 0, 0, 2]
    # G07 has no objective
    assert roll.loc["(no objective)"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert list(roll.index) == ["Cost", "Service", "Value", "(no objective)"]


def test_objective_rollup_lists_objectives_without_goals(card):
    _, df = card
    roll = objective_rollup(df.reset_index(), objectives=["Growth"]).set_index("objective")
    assert roll.loc["Growth"].tolist() == [0, 0, 0, 0, 0, 0, 0]


# -- strategy alignment ---------------------------------------------------------------------------------
ALIGN_CUSTOMERS = [
    {"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c2", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c3", "segment": "Basic", "joined_on": D(2025, 1, 1), "left_on": D(2026, 3, 15)},
    {"customer_id": "c4", "segment": "Basic", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c5", "segment": "Mass", "joined_on": D(2025, 1, 1)},
]


def _contact(i: str, c: str, day: str, advisor: str, csat: int | None) -> dict:
    return {"interaction_id": i, "customer_id": c, "occurred_at": ts(day), "channel": "branch",
            "advisor_id": advisor, "csat": csat}


ALIGN_INTERACTIONS = [
    _contact("x1", "c1", "2026-03-02", "a1", 5), _contact("x2", "c1", "2026-03-09", "a1", 5),   # UPC 1: relationship
    _contact("x3", "c2", "2026-03-03", "a1", 4), _contact("x4", "c2", "2026-03-10", "a2", 2),   # UPC 1/2: pseudo
    _contact("x5", "c3", "2026-03-04", "a3", 1),                                                # N = 1: encounter
    _contact("x6", "c4", "2026-03-05", "a3", 2), _contact("x7", "c4", "2026-03-12", "a4", 3),
    _contact("x8", "c4", "2026-03-19", "a4", None),                                             # UPC 2/3: pseudo
    _contact("x9", "c5", "2026-03-06", "a5", 5), _contact("x10", "c5", "2026-03-13", "a5", 5),  # UPC 1: relationship
]
ALIGN_SURVEYS = [
    {"response_id": "s1", "customer_id": "c1", "answered_on": D(2026, 3, 20), "nps": 10},
    {"response_id": "s2", "customer_id": "c2", "answered_on": D(2026, 3, 20), "nps": 9},
    {"response_id": "s3", "customer_id": "c3", "answered_on": D(2026, 3, 10), "nps": 0},
    {"response_id": "s4", "customer_id": "c4", "answered_on": D(2026, 3, 20), "nps": 8},
]
ALIGN_SEGMENTS = [
    {"segment": "Gold", "strategy": "relationship", "statement": "A named banker for everyone"},
    {"segment": "Basic", "strategy": "relationship"},
    {"segment": "Mass", "strategy": "transactional"},
]


@pytest.fixture
def align_store(make_store):
    return make_store(customers=ALIGN_CUSTOMERS, interactions=ALIGN_INTERACTIONS, surveys=ALIGN_SURVEYS,
                      segments=ALIGN_SEGMENTS)


def test_alignment_table(align_store):
    df = alignment(align_store, *MARCH)
    assert list(df.columns) == ALIGNMENT_COLUMNS
    al = df.set_index("segment")
    # Gold: c1 relationship, c2 pseudo -> 50 / 50 / 0 of 2; 50 is not below 50 -> aligned
    # csat: 5, 5, 4, 2 -> 3 of 4 = 75; nps: 10, 9 -> 100; churn: nobody left -> 0
    g = al.loc["Gold"]
    assert (g["relationship_share"], g["pseudo_relationship_share"], g["encounter_share"]) == (50.0, 50.0, 0.0)
    assert (g["n"], bool(g["misaligned"]), g["statement"]) == (2, False, "A named banker for everyone")
    assert (g["csat"], g["nps"], g["churn_rate"]) == (pytest.approx(75.0), pytest.approx(100.0), 0.0)
    # Basic: c3 encounter, c4 pseudo -> 0 / 50 / 50 -> relationship strategy below 50: misaligned
    # csat: 1, 2, 3 -> 0 of 3 = 0; nps: 0 (detractor), 8 (passive) -> (0 - 1) / 2 = -50;
    # churn: c3 and c4 on the books on March 1st, c3 left on March 15th -> 1 / 2 = 50
    b = al.loc["Basic"]
    assert (b["relationship_share"], b["pseudo_relationship_share"], b["encounter_share"]) == (0.0, 50.0, 50.0)
    assert (b["n"], bool(b["misaligned"])) == (2, True)
    assert (b["csat"], b["nps"], b["churn_rate"]) == (0.0, pytest.approx(-50.0), pytest.approx(50.0))
    # Mass: transactional, never misaligned, even at 100 % relationship; no survey -> nps null
    m = al.loc["Mass"]
    assert (m["relationship_share"], m["n"], bool(m["misaligned"])) == (100.0, 1, False)
    assert m["nps"] != m["nps"] and m["csat"] == pytest.approx(100.0)


def test_alignment_threshold_setting(align_store):
    strategy.set_setting(align_store, "alignment_threshold", 60, user="t")
    al = alignment(align_store, *MARCH).set_index("segment")
    assert bool(al.loc["Gold", "misaligned"]) is True      # 50 < 60
    assert bool(al.loc["Basic", "misaligned"]) is True


def test_alignment_empty_without_segments(make_store):
    store = make_store(customers=ALIGN_CUSTOMERS, interactions=ALIGN_INTERACTIONS)
    df = alignment(store, *MARCH)
    assert df.empty and list(df.columns) == ALIGNMENT_COLUMNS


# -- command line -----------------------------------------------------------------------------------------
@pytest.fixture
def cli_db(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS, goals=GOALS[:2],
                       segments=[{"segment": "Gold", "strategy": "relationship"}])
    yield store.path
    close_all()


def test_cli_scorecard_json(cli_db, capsys):
    code = main(["scorecard", "--db", cli_db, "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["from"], out["to"]) == ("2026-03-01", "2026-03-31")
    g1 = out["goals"][0]
    assert list(g1) == SCORECARD_COLUMNS
    assert (g1["goal_id"], g1["status"], g1["actual"], g1["n"], g1["previous"]) == ("G01", "met", 50.0, 4, 100.0)
    assert (g1["period_start"], g1["low_confidence"]) == ("2026-03-01", True)
    assert out["objectives"] == [{"objective": "Service", "goals": 2, "met": 1, "on_track": 0, "at_risk": 1,
                                  "off_track": 0, "missed": 0, "no_data": 0}]
    # a final period: no forecast fields
    assert (g1["final"], g1["forecast"], g1["p_meet"], g1["forecast_method"]) == (True, None, None, None)
    assert out["alignment"][0]["segment"] == "Gold" and out["alignment"][0]["misaligned"] is False


def test_cli_scorecard_csv_and_table(cli_db, capsys):
    assert main(["scorecard", "--db", cli_db, "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(SCORECARD_COLUMNS) and lines[1].startswith("G01,csat,CSAT (top-2-box),%,")
    assert main(["scorecard", "--db", cli_db]) == 0
    out = capsys.readouterr().out
    assert "G02" in out and "at_risk" in out and "per strategic objective" in out


def test_cli_scorecard_usage_and_refusal(cli_db, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["scorecard", "--db", cli_db, "--from", "March"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["scorecard", "--db", cli_db, "--from", "2026-04-01", "--to", "2026-03-01"])
    assert e.value.code == 2
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    assert main(["scorecard", "--db", str(blocker / "crm.duckdb")]) == 1
    assert "refused" in capsys.readouterr().err
