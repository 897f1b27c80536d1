"""Strategy editing: validation messages, audit log and revert, channel kinds, settings, CSV."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from crm_metrics.data.ingest import LoadRefused, load_file
from crm_metrics.delivery.cli import main
from crm_metrics.judgement import strategy
from crm_metrics.judgement.strategy import StrategyError
from crm_metrics.metrics.kpis import compute

D = dt.date


def ts(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} 10:00:00")


CUSTOMERS = [
    {"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1), "acquisition_channel": "partner"},
    {"customer_id": "c2", "segment": "Basic", "joined_on": D(2025, 1, 1)},
]
# phone, web, chat, phone: by the default kinds only web is self-service -> 1 of 4 = 25 %
INTERACTIONS = [
    {"interaction_id": "i1", "customer_id": "c1", "occurred_at": ts("2026-03-02"), "channel": "phone"},
    {"interaction_id": "i2", "customer_id": "c2", "occurred_at": ts("2026-03-03"), "channel": "web"},
    {"interaction_id": "i3", "customer_id": "c1", "occurred_at": ts("2026-03-04"), "channel": "chat"},
    {"interaction_id": "i4", "customer_id": "c2", "occurred_at": ts("2026-03-05"), "channel": "phone"},
]
GOAL = {"goal_id": "G1", "kpi": "csat", "target": 80, "segment": "Gold", "period_start": "2026-01-01",
        "period_end": "2026-03-31", "tolerance": 0.1, "objective": "Service", "owner": "Ann"}


@pytest.fixture
def store(make_store):
    return make_store(customers=CUSTOMERS, interactions=INTERACTIONS)


def goal_row(store, goal_id="G1") -> dict:
    df = strategy.goals(store)
    rows = df[df["goal_id"] == goal_id].to_dict(orient="records")
    return rows[0] if rows else None


def ssshare(store) -> float:
    return float(compute(store, "self_service_share")["value"].iloc[0])


# -- validation ---------------------------------------------------------------------------------------
def test_upsert_goal_inserts_normalised_row(store):
    cid = strategy.upsert_goal(store, GOAL, user="ann")
    assert cid == 1
    assert goal_row(store) == {"goal_id": "G1", "kpi": "csat", "target": 80.0, "direction": None,
                               "channel": None, "segment": "Gold", "period_start": D(2026, 1, 1),
                               "period_end": D(2026, 3, 31), "tolerance": 0.1, "objective": "Service",
                               "owner": "Ann"}


@pytest.mark.parametrize("change, message", [
    ({"kpi": "fcr"}, "kpi: unknown KPI 'fcr' (did you mean fcr_rate?); known KPIs: contacts, contacts_per_customer,"),
    ({"kpi": "self_service_share", "segment": None},
     "direction: KPI self_service_share (Self-service share) is neutral (neither higher nor lower is better)"),
    ({"direction": "more"}, "direction: must be at_least or at_most, got 'more'"),
    ({"segment": "Platinum"}, "segment: unknown segment 'Platinum': it appears neither in the data"),
    ({"channel": "fax"}, "channel: unknown channel 'fax'"),
    ({"tolerance": -0.1}, "tolerance: must be >= 0 (a fraction of |target|, e.g. 0.05), got -0.1"),
    ({"period_start": "2026-03-01", "period_end": "2026-01-31"},
     "period_end: 2026-01-31 is before period_start 2026-03-01"),
    ({"target": "eighty"}, "target: must be a number in the KPI's unit (%), got 'eighty'"),
    ({"target": None}, "target: required"),
    ({"period_start": "1st of March"}, "period_start: must be a date (YYYY-MM-DD), got '1st of March'"),
    ({"targt": 5}, "unknown goal field 'targt'; goal fields are: goal_id, kpi, target,"),
    ({"kpi": "multichannel_rate", "channel": "phone", "segment": None},
     "channel: KPI multichannel_rate (Multichannel customers) cannot be scoped to a channel; it supports: segment,"),
])
def test_goal_validation_messages(store, change, message):
    with pytest.raises(StrategyError) as e:
        strategy.upsert_goal(store, {**GOAL, **change}, user="ann")
    assert str(e.value).startswith(message), str(e.value)
    assert strategy.goals(store).empty and strategy.list_changes(store).empty


def test_unknown_segment_lists_known_ones(store):
    with pytest.raises(StrategyError, match=r"known segments: Basic, Gold"):
        strategy.upsert_goal(store, {**GOAL, "segment": "Platinum"})


def test_neutral_kpi_with_direction_is_accepted(store):
    strategy.upsert_goal(store, {"goal_id": "G2", "kpi": "self_service_share", "target": 40, "direction": "At_Most"})
    assert goal_row(store, "G2")["direction"] == "at_most"


def test_scope_names_take_the_spelling_in_use(store, make_store):
    strategy.upsert_goal(store, {**GOAL, "segment": " gold ", "channel": "PHONE"})
    row = goal_row(store)
    assert (row["segment"], row["channel"]) == ("Gold", "phone")
    # a channel seen only as a customer's acquisition channel is known too
    strategy.upsert_goal(store, {"goal_id": "G3", "kpi": "new_customers", "target": 5, "channel": "partner"})
    # a segment declared in the segments table (no customers yet) is known
    strategy.set_segment_strategy(store, "Platinum", "relationship", user="ann", allow_new=True)
    strategy.upsert_goal(store, {**GOAL, "goal_id": "G4", "segment": "Platinum"})
    assert goal_row(store, "G4")["segment"] == "Platinum"


def test_partial_update_keeps_other_fields(store):
    strategy.upsert_goal(store, GOAL, user="ann")
    assert strategy.upsert_goal(store, {"goal_id": "G1", "target": "85,5"}, user="bob") == 2
    row = goal_row(store)
    assert (row["target"], row["owner"], row["segment"]) == (85.5, "Ann", "Gold")
    assert strategy.upsert_goal(store, {"goal_id": "G1", "target": 85.5}) is None     # nothing changed
    strategy.upsert_goal(store, {"goal_id": "G1", "owner": ""})
    assert goal_row(store)["owner"] is None


# -- audit log and revert --------------------------------------------------------------------------------
def test_audit_log_records_every_change(store):
    v0 = store.data_version()
    strategy.upsert_goal(store, GOAL, user="ann")
    strategy.upsert_goal(store, {"goal_id": "G1", "target": 85}, user="bob")
    assert store.data_version() == v0 + 2
    ch = strategy.list_changes(store)
    assert list(ch["change_id"]) == [2, 1]
    assert list(ch["action"]) == ["update", "insert"]
    assert list(ch["changed_by"]) == ["bob", "ann"]
    assert set(ch["table_name"]) == {"goals"} and set(ch["key"]) == {"G1"}
    first, second = ch.iloc[1], ch.iloc[0]
    assert first["before"] is None and json.loads(first["after"])["target"] == 80.0
    assert json.loads(second["before"])["target"] == 80.0 and json.loads(second["after"])["target"] == 85.0
    assert json.loads(second["after"])["period_start"] == "2026-01-01"
    assert isinstance(first["changed_at"], dt.datetime)


def test_revert_goal_edit_restores_previous_values(store):
    strategy.upsert_goal(store, GOAL, user="ann")
    strategy.upsert_goal(store, {"goal_id": "G1", "target": 85, "owner": "Bob", "segment": None}, user="bob")
    cid = strategy.revert_change(store, 2, user="carl")
    assert cid == 3
    row = goal_row(store)
    assert (row["target"], row["owner"], row["segment"]) == (80.0, "Ann", "Gold")
    last = strategy.list_changes(store).iloc[0]
    assert (last["action"], last["changed_by"], last["source"]) == ("update", "carl", "revert of change 2")
    # reverting the revert brings the edit back
    assert strategy.revert_change(store, 3) == 4
    assert goal_row(store)["target"] == 85.0
    # reverting again what is already in place changes nothing (and records nothing)
    assert strategy.revert_change(store, 3) is None
    assert len(strategy.list_changes(store)) == 4


def test_revert_delete_restores_the_row(store):
    strategy.upsert_goal(store, GOAL, user="ann")
    before = goal_row(store)
    cid = strategy.delete_goal(store, "G1", user="bob")
    assert goal_row(store) is None
    assert strategy.list_changes(store).iloc[0]["action"] == "delete"
    strategy.revert_change(store, cid)
    assert goal_row(store) == before
    assert strategy.list_changes(store).iloc[0]["action"] == "insert"


def test_revert_insert_removes_the_row(store):
    strategy.upsert_goal(store, GOAL)
    strategy.revert_change(store, 1)
    assert goal_row(store) is None


def test_delete_and_revert_refusals(store):
    with pytest.raises(StrategyError, match="there is no goal 'G9' to delete"):
        strategy.delete_goal(store, "G9")
    with pytest.raises(StrategyError, match="there is no change 42"):
        strategy.revert_change(store, 42)


# -- segments --------------------------------------------------------------------------------------------
def test_segment_strategy_edit(store):
    strategy.set_segment_strategy(store, "gold", "Relationship", "A named banker", user="ann")
    assert strategy.segments(store).to_dict(orient="records") == [
        {"segment": "Gold", "strategy": "relationship", "statement": "A named banker"}]
    strategy.set_segment_strategy(store, "Gold", "transactional")              # statement kept
    assert strategy.segments(store).iloc[0]["statement"] == "A named banker"
    strategy.set_segment_strategy(store, "Gold", "transactional", statement=None)  # statement cleared
    assert strategy.segments(store).iloc[0]["statement"] is None
    with pytest.raises(StrategyError, match="strategy: must be relationship or transactional, got 'loyal'"):
        strategy.set_segment_strategy(store, "Gold", "loyal")
    with pytest.raises(StrategyError, match="segment: unknown segment 'Platinum'"):
        strategy.set_segment_strategy(store, "Platinum", "relationship")
    cid = strategy.delete_segment(store, "Gold")
    assert strategy.segments(store).empty
    strategy.revert_change(store, cid)
    assert strategy.segments(store).iloc[0]["strategy"] == "transactional"


# -- channels ---------------------------------------------------------------------------------------------
def test_channel_kind_edit_changes_self_service_share(store):
    assert ssshare(store) == pytest.approx(25.0)            # web: 1 of 4
    v0 = store.data_version()
    cid = strategy.set_channel_kind(store, "Chat", "self-service", user="ann")
    assert strategy.channels(store).to_dict(orient="records") == [{"channel": "chat", "kind": "self_service"}]
    assert ssshare(store) == pytest.approx(50.0)            # web + chat: 2 of 4
    assert store.data_version() == v0 + 1
    strategy.revert_change(store, cid)
    assert ssshare(store) == pytest.approx(25.0)
    strategy.set_channel_kind(store, "web", "assisted")
    assert ssshare(store) == pytest.approx(0.0)             # nothing self-service
    strategy.delete_channel(store, "web")                   # back to the default by name
    assert ssshare(store) == pytest.approx(25.0)
    kinds = strategy.channel_kinds(store).set_index("channel")
    assert kinds.loc["web", "kind"] == "self_service" and kinds.loc["web", "source"] == "default"
    assert kinds.loc["phone", "contacts"] == 2


def test_channel_kind_validation(store):
    with pytest.raises(StrategyError, match="kind: must be assisted or self_service, got 'robot'"):
        strategy.set_channel_kind(store, "chat", "robot")
    with pytest.raises(StrategyError, match="channel: unknown channel 'fax'"):
        strategy.set_channel_kind(store, "fax", "assisted")
    strategy.set_channel_kind(store, "fax", "assisted", allow_new=True)
    assert "fax" in set(strategy.channels(store)["channel"])


# -- settings ----------------------------------------------------------------------------------------------
def test_settings_edit_validation_and_revert(store):
    cid = strategy.set_setting(store, "alignment_threshold", "60", user="ann")
    assert store.settings()["alignment_threshold"] == 60.0
    with pytest.raises(StrategyError, match="alignment_threshold: must be at most 100, got 150"):
        strategy.set_setting(store, "alignment_threshold", 150)
    with pytest.raises(StrategyError, match="alignment_threshold: must be a number >= 0, got 'abc'"):
        strategy.set_setting(store, "alignment_threshold", "abc")
    with pytest.raises(StrategyError, match="setting: unknown setting 'colour'; known settings: fcr_window_days,"):
        strategy.set_setting(store, "colour", "red")
    with pytest.raises(StrategyError, match="fcr_window_days: must be > 0, got 0"):
        strategy.set_setting(store, "fcr_window_days", 0)
    strategy.set_setting(store, "currency", "EUR")
    assert store.settings()["currency"] == "EUR"
    strategy.revert_change(store, cid)
    assert store.settings()["alignment_threshold"] == 50.0      # the default again
    strategy.set_setting(store, "currency", None)               # reset
    assert store.settings()["currency"] == "USD"
    assert strategy.list_changes(store, table="settings").iloc[0]["action"] == "delete"
    frame = strategy.settings_frame(store).set_index("key")
    assert bool(frame.loc["currency", "changed"]) is False


# -- CSV import / export --------------------------------------------------------------------------------------
GOALS_CSV = ("goal_id,kpi,target,direction,channel,segment,period_start,period_end,tolerance,objective,owner\n"
             "G1,csat,80,,,Gold,2026-01-01,2026-03-31,0.1,Service,Ann\n"
             "G2,self_service_share,40.5,at_most,phone,,,,,,\n")


def test_export_import_round_trip(store, make_store):
    strategy.upsert_goal(store, GOAL)
    strategy.upsert_goal(store, {"goal_id": "G2", "kpi": "self_service_share", "target": 40.5,
                                 "direction": "at_most", "channel": "phone"})
    strategy.set_segment_strategy(store, "Gold", "relationship", 'Named banker, "always" reachable')
    strategy.set_channel_kind(store, "chat", "self_service")
    text = strategy.export_csv(store, "goals")
    assert text == GOALS_CSV
    other = make_store()
    for table in ("goals", "segments", "channels"):
        rep = strategy.import_csv(other, table, strategy.export_csv(store, table), user="bob")
        assert rep.ok
        assert strategy.export_csv(other, table) == strategy.export_csv(store, table)
    assert strategy.goals(other).equals(strategy.goals(store))
    assert strategy.segments(other).iloc[0]["statement"] == 'Named banker, "always" reachable'
    # every imported row is in the audit log, by the importing user
    ch = strategy.list_changes(other, table="goals")
    assert list(ch["key"]) == ["G2", "G1"] and set(ch["source"]) == {"load goals.csv"}
    assert set(ch["changed_by"]) == {"bob"} and set(ch["action"]) == {"insert"}
    # importing the same file again changes nothing and records nothing
    strategy.import_csv(other, "goals", text)
    assert len(strategy.list_changes(other, table="goals")) == 2


def test_import_replace_records_deletes(store, make_store):
    strategy.import_csv(store, "goals", GOALS_CSV)
    rep = strategy.import_csv(store, "goals", GOALS_CSV.splitlines()[0] + "\n" + GOALS_CSV.splitlines()[1] + "\n",
                              mode="replace")
    assert rep.ok and list(strategy.goals(store)["goal_id"]) == ["G1"]
    last = strategy.list_changes(store).iloc[0]
    assert (last["key"], last["action"]) == ("G2", "delete")
    strategy.revert_change(store, int(last["change_id"]))
    assert list(strategy.goals(store)["goal_id"]) == ["G1", "G2"]


def test_csv_goals_refused_with_line_numbers(store, tmp_path, capsys):
    bad = ("goal_id,kpi,target,direction,channel,period_start,period_end\n"
           "G1,csat,80,,,,\n"
           "G2,fcr,70,,,,\n"
           "G3,self_service_share,40,,,,\n"
           "G4,contacts,10,at_most,,2026-03-01,2026-02-01\n"
           "G5,multichannel_rate,30,,phone,,\n")
    f = tmp_path / "goals.csv"
    f.write_text(bad)
    with pytest.raises(LoadRefused) as e:
        # the plain load path, given the rules beyond the contract as the CLI, the app and the inbox give them
        load_file(store, f, table_rules=strategy.staged_problems)
    probs = [(p.line, p.column, p.value) for p in e.value.report.problems]
    assert probs == [(3, "kpi", "fcr"), (4, "direction", None), (5, "period_end", "2026-02-01"),
                     (6, "channel", "phone")]
    text = e.value.report.summary()
    assert "line 3, column kpi, value 'fcr': unknown KPI 'fcr' (did you mean fcr_rate?)" in text
    assert "line 4, column direction: KPI self_service_share (Self-service share) is neutral" in text
    assert strategy.goals(store).empty and strategy.list_changes(store).empty
    with pytest.raises(LoadRefused):
        strategy.import_csv(store, "goals", bad)
    # the CLI's `load goals.csv`: refused the same way, exit 1
    assert main(["load", "--db", str(tmp_path / "cli.duckdb"), str(f)]) == 1
    assert "line 3, column kpi, value 'fcr': unknown KPI 'fcr'" in capsys.readouterr().err


def test_csv_goal_kpi_in_capitals_gets_a_hint(store):
    with pytest.raises(LoadRefused) as e:
        strategy.import_csv(store, "goals", "goal_id,kpi,target\nG1,CSAT,80\n")
    assert "KPI ids are lower case: write csat" in e.value.report.summary()


def test_csv_load_does_not_require_known_scope(make_store):
    # files may arrive in any order: goals before customers is fine
    empty = make_store()
    rep = strategy.import_csv(empty, "goals", "goal_id,kpi,target,segment\nG1,csat,80,Platinum\n")
    assert rep.ok and strategy.goals(empty).iloc[0]["segment"] == "Platinum"


def test_settings_csv_round_trip(store, make_store):
    strategy.set_setting(store, "margin", 0.35)
    text = strategy.export_csv(store, "settings")
    assert "margin,0.35\n" in text and text.startswith("key,value\n")
    other = make_store()
    strategy.import_settings_csv(other, text, user="bob")
    assert other.settings() == store.settings()
    with pytest.raises(StrategyError, match="line 2: margin: must be >= 0, got -1"):
        strategy.import_settings_csv(other, "key,value\nmargin,-1\n")
