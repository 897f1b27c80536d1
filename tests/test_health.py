"""Health checks: each one firing (warning / critical) and not firing (ok) on tiny hand-made data."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from conftest import fill_store

from crm_metrics.data.store import close_all
from crm_metrics.delivery.cli import main
from crm_metrics.judgement import health, strategy
from crm_metrics.judgement.checks import CHECKS, run_checks
from crm_metrics.judgement.health import HEALTH_CHECKS, Check, Finding, HealthContext

D = dt.date
MARCH = (D(2026, 3, 1), D(2026, 3, 31))


def ts(day: str, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} 10:00:00") + dt.timedelta(minutes=minute)


def by_check(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


def one(findings, check_id) -> Finding:
    found = by_check(findings, check_id)
    assert len(found) == 1, found
    return found[0]


# -- no_measurement -----------------------------------------------------------------------------------
CUSTOMERS = [{"customer_id": f"c{k}", "segment": "Gold", "joined_on": D(2025, 1, 1)} for k in range(1, 3)]
INTERACTIONS = [
    {"interaction_id": "i1", "customer_id": "c1", "occurred_at": ts("2026-03-02"), "channel": "phone",
     "advisor_id": "a1", "csat": 5},
    {"interaction_id": "i2", "customer_id": "c2", "occurred_at": ts("2026-03-05"), "channel": "phone",
     "advisor_id": "a1", "csat": 4},
]


def initiative(iid: str, kpi: str | None, objective: str | None) -> dict:
    return {"initiative_id": iid, "name": f"Project {iid}", "go_live": D(2026, 3, 1), "cost": 1000.0,
            "kpi": kpi, "objective": objective}


def test_no_measurement_critical_without_goals(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS,
                       initiatives=[initiative("I1", "csat", "Service")])
    f = one(run_checks(store, *MARCH), "no_measurement")
    assert f.severity == "critical"
    assert f.finding.startswith("no goals are set") and "1 initiative and 1 strategic objective" in f.finding


def test_no_measurement_warnings(make_store):
    store = make_store(
        customers=CUSTOMERS, interactions=INTERACTIONS,
        goals=[{"goal_id": "G1", "kpi": "csat", "target": 80, "objective": "Service"},
               {"goal_id": "G2", "kpi": "nps", "target": 20, "objective": "Loyalty"}],
        initiatives=[initiative("I1", "csat", "Service"),      # tied by KPI and objective
                     initiative("I2", "fcr_rate", "Growth"),   # neither: no goal on fcr_rate, none for Growth
                     initiative("I3", None, "Loyalty")])       # tied by objective
    found = by_check(run_checks(store, *MARCH), "no_measurement")
    assert [(f.severity, f.subject) for f in found] == [("warning", "Growth"), ("warning", "I2"), ("warning", "G2")]
    assert found[0].finding == "strategic objective 'Growth' has no goal (served by initiative I2)"
    assert found[1].finding == ("initiative Project I2 (I2) has no goal on its KPI (First-contact resolution) or its objective "
                                "(Growth)")
    # G2 is on nps and there are no surveys; a goal without a period is an annual goal (spec change):
    # its row is the calendar year 2026, whatever the window
    assert found[2].finding.startswith("goal G2 (Net Promoter Score, all customers, 2026-01-01..2026-12-31) has no data: "
                                       "Load surveys.csv")


def test_no_measurement_goal_without_data_in_its_scope(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS,
                       goals=[{"goal_id": "G1", "kpi": "csat", "target": 80, "channel": "email"}])
    f = one(run_checks(store, *MARCH), "no_measurement")
    assert f.severity == "warning" and f.subject == "G1"
    # the annual row 2026 (spec change: a goal's period no longer comes from the window)
    assert f.finding == ("goal G1 (CSAT (top-2-box), email, 2026-01-01..2026-12-31) has no data: no interactions in its "
                         "scope and period (n = 0)")


def test_no_measurement_ok(make_store):
    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS,
                       goals=[{"goal_id": "G1", "kpi": "csat", "target": 80, "objective": "Service"}],
                       initiatives=[initiative("I1", None, "Service")])
    f = one(run_checks(store, *MARCH), "no_measurement")
    assert f.severity == "ok"
    assert f.finding == ("1 goal on 1 strategic objective, all with data; 1 initiative, each tied to a goal "
                         "by KPI or objective")


# -- siloed_customer_data ------------------------------------------------------------------------------------
def silo_store(make_store, contacts: int, unknown: int, unlogged: int):
    """``contacts`` assisted phone contacts in March; the first ``unknown`` by customers not in
    customers, the last ``unlogged`` without an advisor."""
    rows = []
    for k in range(contacts):
        rows.append({"interaction_id": f"i{k}", "customer_id": f"x{k}" if k < unknown else "c1",
                     "occurred_at": ts("2026-03-02", k * 10), "channel": "phone",
                     "advisor_id": None if k >= contacts - unlogged else "a1"})
    return make_store(customers=CUSTOMERS, interactions=rows)


@pytest.mark.parametrize("contacts, unknown, unlogged, severity, text", [
    # 50 of 50 known, 50 of 50 with an advisor
    (50, 0, 0, "ok", "Known customers 100.0%; Advisor recorded 100.0% (thresholds:"),
    # 49 of 50 known = 98.0 (not below 98); 45 of 50 logged = 90.0 (not below 90): the boundaries are ok
    (50, 1, 5, "ok", "Known customers 98.0%; Advisor recorded 90.0% (thresholds:"),
    # 48 of 50 = 96.0 < 98; 45 of 50 = 90.0
    (50, 2, 5, "warning", "Known customers 96.0% (< 98); Advisor recorded 90.0%"),
    # 20 of 20 known; 17 of 20 logged = 85.0 < 90
    (20, 0, 3, "warning", "Known customers 100.0%; Advisor recorded 85.0% (< 90)"),
    # 8 of 10 known = 80.0 < 90; 7 of 10 logged = 70.0 < 75
    (10, 2, 3, "critical", "Known customers 80.0% (< 90); Advisor recorded 70.0% (< 75)"),
    # 9 of 10 = 90.0 is not below 90 (warning); 8 of 10 = 80.0 < 90 (warning)
    (10, 1, 2, "warning", "Known customers 90.0% (< 98); Advisor recorded 80.0% (< 90)"),
])
def test_siloed_customer_data(make_store, contacts, unknown, unlogged, severity, text):
    f = one(run_checks(silo_store(make_store, contacts, unknown, unlogged), *MARCH), "siloed_customer_data")
    assert f.severity == severity
    assert f.finding.startswith(text), f.finding


def test_siloed_counts_transactions_and_surveys_too(make_store):
    # 10 contacts, all known; 10 transactions of unknown customers -> 10 of 20 rows known = 50.0 < 90
    store = silo_store(make_store, 10, 0, 0)
    fill_store(store, {"transactions": [
        {"transaction_id": f"t{k}", "customer_id": "zz", "occurred_on": ts("2026-03-03"), "product": "p",
         "amount": 1.0} for k in range(10)]})
    f = one(run_checks(store, *MARCH), "siloed_customer_data")
    assert f.severity == "critical" and f.finding.startswith("Known customers 50.0% (< 90)")


# -- work_shifted_to_customer ----------------------------------------------------------------------------------
# March (31 days) is compared with 2026-01-29..2026-02-28.
def shift_store(make_store, *, prev=(10, 3), cur=(20, 7), ces=(6, 5), resolved=(True, True), repeat=False):
    """prev / cur = (contacts, of which web); every contact by its own customer, ces and resolved the
    same on every contact of the period; ``repeat``: the last March contact is a second contact of
    the previous one's customer, 1 minute later."""
    rows = []
    for period, day, (n, web), c, res in (("p", "2026-02-10", prev, ces[0], resolved[0]),
                                          ("m", "2026-03-10", cur, ces[1], resolved[1])):
        for k in range(n):
            cust = f"{period}{k}"
            if repeat and period == "m" and k == n - 1:
                cust = f"{period}{k - 1}"
            rows.append({"interaction_id": f"{period}{k}", "customer_id": cust, "occurred_at": ts(day, k),
                         "channel": "web" if k < web else "phone", "ces": c, "resolved": res})
    return make_store(interactions=rows)


def test_work_shifted_fires_when_effort_rose_with_self_service(make_store):
    # self-service 3 of 10 = 30.0 -> 7 of 20 = 35.0: +5.0 points (exactly the threshold); ces 6 -> 5
    # fcr: all resolved, no repeat -> 100.0 both; repeat_contact_rate 0.0 both
    f = one(run_checks(shift_store(make_store), *MARCH), "work_shifted_to_customer")
    assert f.severity == "warning"
    assert f.finding == ("Self-service share 35.0% vs 30.0% (+5.0 points, 2026-03-01..2026-03-31 vs "
                         "2026-01-29..2026-02-28); Customer effort score 5.0 vs 6.0 (fell); First-contact resolution 100.0% vs 100.0% (unchanged); "
                         "Repeat contacts 0.0% vs 0.0% (unchanged)")


def test_work_shifted_fires_when_fcr_fell(make_store):
    # ces the same; March contacts not resolved -> fcr 100.0 -> 0.0
    f = one(run_checks(shift_store(make_store, ces=(6, 6), resolved=(True, False)), *MARCH),
            "work_shifted_to_customer")
    assert f.severity == "warning" and "First-contact resolution 0.0% vs 100.0% (fell)" in f.finding


def test_work_shifted_fires_when_repeat_contacts_rose(make_store):
    # the 20th March contact repeats the 19th's customer 1 minute later: 1 of 20 = 5.0 vs 0.0;
    # fcr: the 19th contact is followed by another -> 19 of 20 = 95.0 vs 100.0 (fell too)
    f = one(run_checks(shift_store(make_store, ces=(6, 6), repeat=True), *MARCH), "work_shifted_to_customer")
    assert f.severity == "warning"
    assert "Repeat contacts 5.0% vs 0.0% (rose)" in f.finding and "First-contact resolution 95.0% vs 100.0% (fell)" in f.finding


def test_work_shifted_ok_when_experience_held(make_store):
    # +5.0 points but ces 6 -> 6, fcr 100 -> 100, repeats 0 -> 0
    f = one(run_checks(shift_store(make_store, ces=(6, 6)), *MARCH), "work_shifted_to_customer")
    assert f.severity == "ok"
    assert f.finding.startswith("Self-service share 35.0% vs 30.0% (+5.0 points")
    assert f.finding.endswith("effort, resolution and repeat contacts did not get worse")


def test_work_shifted_ok_when_self_service_rose_less_than_5_points(make_store):
    # 3 of 10 = 30.0 -> 8 of 25 = 32.0: +2.0 points, even though ces fell 6 -> 5
    f = one(run_checks(shift_store(make_store, cur=(25, 8)), *MARCH), "work_shifted_to_customer")
    assert f.severity == "ok" and "(+2.0 points" in f.finding and "Customer effort score 5.0 vs 6.0 (fell)" in f.finding
    assert f.finding.endswith("self-service share rose by less than 5 points")


def test_work_shifted_ok_without_a_previous_period(make_store):
    store = shift_store(make_store)
    f = one(run_checks(store), "work_shifted_to_customer")     # window = all data: nothing before it
    assert f.severity == "ok" and f.finding.startswith("cannot compare self-service share: no contacts in the "
                                                       "previous period")


# -- relationship_strategy_on_encounters ---------------------------------------------------------------------------
ALIGN_CUSTOMERS = [
    {"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c2", "segment": "Gold", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c3", "segment": "Basic", "joined_on": D(2025, 1, 1), "left_on": D(2026, 3, 15)},
    {"customer_id": "c4", "segment": "Basic", "joined_on": D(2025, 1, 1)},
    {"customer_id": "c5", "segment": "Mass", "joined_on": D(2025, 1, 1)},
]


def _contact(i, c, day, advisor, csat):
    return {"interaction_id": i, "customer_id": c, "occurred_at": ts(day), "channel": "branch",
            "advisor_id": advisor, "csat": csat}


ALIGN_INTERACTIONS = [
    _contact("x1", "c1", "2026-03-02", "a1", 5), _contact("x2", "c1", "2026-03-09", "a1", 5),   # relationship
    _contact("x3", "c2", "2026-03-03", "a1", 4), _contact("x4", "c2", "2026-03-10", "a2", 2),   # pseudo
    _contact("x5", "c3", "2026-03-04", "a3", 1),                                                # encounter
    _contact("x6", "c4", "2026-03-05", "a3", 2), _contact("x7", "c4", "2026-03-12", "a4", 3),
    _contact("x8", "c4", "2026-03-19", "a4", None),                                             # pseudo (2/3)
    _contact("x9", "c5", "2026-03-06", "a5", 5), _contact("x10", "c5", "2026-03-13", "a5", 5),  # relationship
]
ALIGN_SURVEYS = [
    {"response_id": "s1", "customer_id": "c1", "answered_on": D(2026, 3, 20), "nps": 10},
    {"response_id": "s2", "customer_id": "c2", "answered_on": D(2026, 3, 20), "nps": 9},
    {"response_id": "s3", "customer_id": "c3", "answered_on": D(2026, 3, 10), "nps": 0},
    {"response_id": "s4", "customer_id": "c4", "answered_on": D(2026, 3, 20), "nps": 8},
]
ALIGN_SEGMENTS = [
    {"segment": "Gold", "strategy": "relationship"},
    {"segment": "Basic", "strategy": "relationship"},
    {"segment": "Mass", "strategy": "transactional"},
]


@pytest.fixture
def align_store(make_store):
    return make_store(customers=ALIGN_CUSTOMERS, interactions=ALIGN_INTERACTIONS, surveys=ALIGN_SURVEYS,
                      segments=ALIGN_SEGMENTS)


def test_relationship_strategy_on_encounters_critical(align_store):
    f = one(run_checks(align_store, *MARCH), "relationship_strategy_on_encounters")
    assert (f.severity, f.subject) == ("critical", "Basic")
    # Basic: c3 encounter, c4 pseudo (UPC 2/3 < 0.75) -> 0 / 50 / 50 of 2; csat 1, 2, 3 -> 0 of 3;
    # nps 0, 8 -> (0 - 1) / 2 = -50; churn: c3 left on March 15th -> 1 of 2 = 50.
    # Aligned Gold + Mass: csat 5, 5, 4, 2, 5, 5 -> 5 of 6 = 83.3; nps 10, 9 -> 100; nobody left -> 0
    assert f.finding == ("segment 'Basic': strategy relationship, Relationship customers 0.0% (< 50%) of 2 customers "
                         "with advisor contacts (pseudo-relationship 50.0%, encounter 50.0%); CSAT (top-2-box) 0.0%, Net Promoter Score -50.0, "
                         "Churn 50.0% — aligned segments (Gold, Mass): CSAT (top-2-box) 83.3%, Net Promoter Score 100.0, Churn 0.0%")


def test_relationship_strategy_one_finding_per_misaligned_segment(align_store):
    strategy.set_setting(align_store, "alignment_threshold", 60)     # Gold 50 < 60 too
    found = by_check(run_checks(align_store, *MARCH), "relationship_strategy_on_encounters")
    assert [(f.severity, f.subject) for f in found] == [("critical", "Basic"), ("critical", "Gold")]
    # the only aligned segment left is Mass: csat 2 of 2 = 100; no survey -> n/a; churn 0
    assert found[1].finding.endswith("— aligned segments (Mass): CSAT (top-2-box) 100.0%, Net Promoter Score n/a, Churn 0.0%")


def test_relationship_strategy_ok(align_store):
    strategy.set_segment_strategy(align_store, "Basic", "transactional")
    f = one(run_checks(align_store, *MARCH), "relationship_strategy_on_encounters")
    assert f.severity == "ok"
    assert f.finding == "every relationship-strategy segment has Relationship customers ≥ 50%: Gold 50.0% of 2"


def test_relationship_strategy_ok_without_segment_strategies(make_store):
    store = make_store(customers=ALIGN_CUSTOMERS, interactions=ALIGN_INTERACTIONS)
    f = one(run_checks(store, *MARCH), "relationship_strategy_on_encounters")
    assert f.severity == "ok" and "segments table is empty" in f.finding


# -- the registry ---------------------------------------------------------------------------------------------------
def test_registry_has_the_four_checks_in_order():
    ids = [c.id for c in CHECKS]
    assert ids[:4] == ["no_measurement", "siloed_customer_data", "work_shifted_to_customer",
                       "relationship_strategy_on_encounters"]


def test_every_check_returns_at_least_one_finding_on_an_empty_store(make_store):
    found = run_checks(make_store())
    assert {f.check_id for f in found} == {c.id for c in CHECKS}
    assert one(found, "no_measurement").severity == "critical"
    assert all(f.severity in ("ok", "warning", "critical") for f in found)


def test_checks_are_an_explicit_tuple_and_a_custom_check_shares_values(make_store):
    # the list of checks is explicit (no registration at import time): a tuple, ids unique
    assert isinstance(CHECKS, tuple) and len({c.id for c in CHECKS}) == len(CHECKS)
    calls = []

    def run(ctx: HealthContext):
        # shared values are computed once per run and reusable by every check
        a = ctx.shared("answer", lambda: calls.append(1) or 42)
        b = ctx.shared("answer", lambda: calls.append(1) or 0)
        v, n = ctx.value("csat")
        return [Finding("custom", "Custom", "warning", f"{a} {b} {v} {n}", "look", subject="x")]

    store = make_store(customers=CUSTOMERS, interactions=INTERACTIONS)
    f = one(health.run_checks(store, *MARCH, (*HEALTH_CHECKS, Check("custom", "Custom", "nothing", run))), "custom")
    assert f.finding == "42 42 100.0 2" and calls == [1]                   # csat: 5 and 4 -> 2 of 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = "ok"  # type: ignore[misc]


def test_a_check_returning_nothing_reports_ok(make_store):
    quiet = Check("quiet", "Quiet", "nothing", lambda ctx: [])
    assert [(f.check_id, f.severity) for f in health.run_checks(make_store(), checks=[quiet])] == [("quiet", "ok")]


# -- command line ------------------------------------------------------------------------------------------------------
def test_cli_health_json_table_csv(align_store, capsys):
    db = align_store.path
    try:
        assert main(["health", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert (out["from"], out["to"]) == ("2026-03-01", "2026-03-31")
        rel = [f for f in out["findings"] if f["id"] == "relationship_strategy_on_encounters"]
        assert rel and set(rel[0]) == {"id", "title", "severity", "subject", "finding", "next_step"}
        assert (rel[0]["severity"], rel[0]["subject"]) == ("critical", "Basic")
        assert main(["health", "--db", db, "--format", "csv"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "id,title,severity,subject,finding,next_step"
        assert main(["health", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
        text = capsys.readouterr().out
        assert "[CRITICAL] relationship_strategy_on_encounters (Basic):" in text and "next:" in text
        with pytest.raises(SystemExit) as e:
            main(["health", "--db", db, "--format", "xml"])
        assert e.value.code == 2
    finally:
        close_all()
