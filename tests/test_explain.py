"""Why did it move? (explain.md): the mix-and-rate decomposition, its refusals, the records behind a
number and pseudonymised customer ids. Expected numbers are computed by hand in the comments."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from crm_metrics.data.pseudonyms import pseudonymise, reveal_customer_ids
from crm_metrics.data.store import Store
from crm_metrics.judgement.strategy import StrategyError, normalise_setting
from crm_metrics.metrics.explain import (
    contributions_sentence,
    decompose,
    explain,
    groups_table,
    refusal,
    sentence,
    waterfall,
)
from crm_metrics.metrics.kpis import KPIS, KpiError, compute
from crm_metrics.metrics.records import mask_customer_ids, records

ROOT = Path(__file__).resolve().parent.parent
JAN = {"start": "2026-02-01", "end": "2026-02-28", "vs_start": "2026-01-01", "vs_end": "2026-01-31"}


def contacts(month: int, spec: dict[str, tuple[int, int]], tag: str, first_day: int = 1) -> list[dict]:
    """``spec``: channel -> (contacts, complaints) in 2026-<month> from ``first_day`` on; one customer
    per contact."""
    rows = []
    for ch, (n, complaints) in spec.items():
        for i in range(n):
            rows.append({"interaction_id": f"{tag}{ch}{i}", "customer_id": f"{tag}{ch}{i}",
                         "occurred_at": f"2026-{month:02d}-{first_day + i:02d} 10:00:00", "channel": ch,
                         "reason": "complaint" if i < complaints else "service"})
    return rows


def by_channel(ex) -> dict[str, dict]:
    return {g["channel"]: g for g in ex.to_json()["groups"]}


# -- hand-computed decompositions (complaint_rate = 100 × complaints ÷ contacts) -------------------------
def test_pure_mix_shift(make_store):
    # Jan: phone 2 contacts (1 complaint: r = 50), web 2 (0: r = 0) -> w 0.5 / 0.5, R_A = 25
    # Feb: phone 6 (3: r = 50),            web 2 (0: r = 0) -> w 0.75 / 0.25, R_B = 37.5
    # phone: mix = (0.75 − 0.5)(50 + 50)/2 = 12.5, rate = (50 − 50)(...) = 0
    # web:   mix = (0.25 − 0.5)(0 + 0)/2 = 0,      rate = 0
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 0)}, "a")
                    + contacts(2, {"phone": (6, 3), "web": (2, 0)}, "b"))
    ex = explain(st, "complaint_rate", by=["channel"], **JAN)
    doc = ex.to_json()
    assert (doc["previous"], doc["current"], doc["change"]) == pytest.approx((25.0, 37.5, 12.5), abs=1e-12)
    assert (doc["mix"], doc["rate"]) == pytest.approx((12.5, 0.0), abs=1e-12)
    g = by_channel(ex)
    assert g["phone"] == {"channel": "phone", "n_prev": 2, "n_cur": 6, "value_prev": 50.0, "value_cur": 50.0,
                          "mix": 12.5, "rate": 0.0, "contribution": 12.5}
    assert g["web"]["mix"] == 0.0 and g["web"]["contribution"] == 0.0
    assert [x["channel"] for x in doc["groups"]] == ["phone", "web"]  # |contribution| largest first
    assert set(doc) == {"kpi", "unit", "current", "previous", "change", "mix", "rate", "groups"}
    assert doc["kpi"] == "complaint_rate" and doc["unit"] == "%"


def test_pure_rate_shift(make_store):
    # Jan: phone 2 (1: r = 50), web 2 (0: r = 0)  -> R_A = 0.5·50 + 0.5·0 = 25
    # Feb: phone 2 (2: r = 100), web 2 (0: r = 0) -> R_B = 50; weights unchanged (0.5 / 0.5)
    # phone: mix = 0 · (50 + 100)/2 = 0, rate = (100 − 50)(0.5 + 0.5)/2 = 25; web: 0 and 0
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 0)}, "a")
                    + contacts(2, {"phone": (2, 2), "web": (2, 0)}, "b"))
    ex = explain(st, "complaint_rate", by=["channel"], **JAN)
    assert (ex.change, ex.mix, ex.rate) == pytest.approx((25.0, 0.0, 25.0), abs=1e-12)
    g = by_channel(ex)
    assert (g["phone"]["mix"], g["phone"]["rate"], g["phone"]["contribution"]) == pytest.approx((0.0, 25.0, 25.0))
    assert sentence(ex) == "Complaint rate rose 25.0 points: phone's own Complaint rate rose (+25.0)."


def test_group_present_in_one_period_only(make_store):
    # Jan: phone 2 (1: r = 50), web 2 (1: r = 50), no branch        -> R_A = 50
    # Feb: phone 2 (1: r = 50), branch 2 (2: r = 100), no web       -> R_B = 75, ΔR = 25
    # web:    w 0.5 -> 0, r taken 50 in Feb:  mix = (0 − 0.5)(50 + 50)/2 = −25, rate = 0
    # branch: w 0 -> 0.5, r taken 100 in Jan: mix = (0.5 − 0)(100 + 100)/2 = 50, rate = 0
    # phone:  mix = 0, rate = 0.                 Σ = 50 − 25 + 0 = 25 = ΔR
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 1)}, "a")
                    + contacts(2, {"phone": (2, 1), "branch": (2, 2)}, "b"))
    ex = explain(st, "complaint_rate", by=["channel"], **JAN)
    assert (ex.previous, ex.current, ex.change) == pytest.approx((50.0, 75.0, 25.0), abs=1e-12)
    doc = ex.to_json()
    assert [x["channel"] for x in doc["groups"]] == ["branch", "web", "phone"]
    g = by_channel(ex)
    assert g["branch"] == {"channel": "branch", "n_prev": 0, "n_cur": 2, "value_prev": None, "value_cur": 100.0,
                           "mix": 50.0, "rate": 0.0, "contribution": 50.0}
    assert g["web"] == {"channel": "web", "n_prev": 2, "n_cur": 0, "value_prev": 50.0, "value_cur": None,
                        "mix": -25.0, "rate": 0.0, "contribution": -25.0}
    assert ex.mix == pytest.approx(25.0) and ex.rate == pytest.approx(0.0)


def test_waterfall_runs_from_previous_to_current_with_the_rest_summed(make_store):
    # the one-period-only case: 50 -> branch +50, web −25, phone 0 -> 75
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 1)}, "a")
                    + contacts(2, {"phone": (2, 1), "branch": (2, 2)}, "b"))
    ex = explain(st, "complaint_rate", by=["channel"], **JAN)
    w = waterfall(ex, top=1)
    assert w["step"].tolist() == ["2026-01-01 – 2026-01-31", "branch", "the other 2", "2026-02-01 – 2026-02-28"]
    assert w["value"].tolist() == pytest.approx([50.0, 50.0, -25.0, 75.0])
    assert w["measure"].tolist() == ["absolute", "relative", "relative", "absolute"]
    t = groups_table(ex).set_index("channel")
    assert t.loc["web", ["weight_prev_pct", "weight_cur_pct"]].tolist() == pytest.approx([50.0, 0.0])


def test_sum_kpi_contribution_is_the_change_of_each_group(make_store):
    # contacts: Jan phone 2, web 2; Feb phone 6, web 2 -> phone +4, web 0; change 8 − 4 = 4
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 0)}, "a")
                    + contacts(2, {"phone": (6, 3), "web": (2, 0)}, "b"))
    ex = explain(st, "contacts", by=["channel"], **JAN)
    assert (ex.previous, ex.current, ex.change) == (4.0, 8.0, 4.0)
    g = by_channel(ex)
    assert (g["phone"]["contribution"], g["phone"]["mix"], g["web"]["contribution"]) == (4.0, 0.0, 0.0)
    assert sentence(ex) == "Contacts rose 4: phone (+4) contributed most."


def test_decompose_mixed_shift_by_hand():
    # A: x n 1 r 10, y n 3 r 30 -> w .25/.75, R_A = 2.5 + 22.5 = 25
    # B: x n 3 r 20, y n 1 r 40 -> w .75/.25, R_B = 15 + 10 = 25 (ΔR = 0)
    # x: mix = (.75 − .25)(10 + 20)/2 = 7.5,  rate = (20 − 10)(.25 + .75)/2 = 5    -> 12.5
    # y: mix = (.25 − .75)(30 + 40)/2 = −17.5, rate = (40 − 30)(.75 + .25)/2 = 5   -> −12.5
    a = pd.DataFrame({"channel": ["x", "y"], "value": [10.0, 30.0], "n": [1, 3]})
    b = pd.DataFrame({"channel": ["x", "y"], "value": [20.0, 40.0], "n": [3, 1]})
    g = decompose("ratio", a, b, ("channel",)).set_index("channel")
    assert g.loc["x", ["mix", "rate", "contribution"]].tolist() == pytest.approx([7.5, 5.0, 12.5])
    assert g.loc["y", ["mix", "rate", "contribution"]].tolist() == pytest.approx([-17.5, 5.0, -12.5])


def test_sentence_names_the_largest_rate_and_the_mix_shift(make_store):
    # Jan: phone 4 (2: r 50), web 4 (0: r 0)          -> w .5/.5, R_A = 25
    # Feb: phone 2 (0: r 0),  web 6 (0: r 0)          -> w .25/.75, R_B = 0, ΔR = −25
    # phone: mix = (.25 − .5)(50 + 0)/2 = −6.25, rate = (0 − 50)(.5 + .25)/2 = −18.75
    # web:   mix = (.75 − .5)(0 + 0)/2 = 0,      rate = 0
    # mix total −6.25: contacts moved from phone (r 50 before) to web (r 0 after): web is lower
    st = make_store(interactions=contacts(1, {"phone": (4, 2), "web": (4, 0)}, "a")
                    + contacts(2, {"phone": (2, 0), "web": (6, 0)}, "b"))
    ex = explain(st, "complaint_rate", by=["channel"], **JAN)
    assert sentence(ex) == ("Complaint rate fell 25.0 points: phone's own Complaint rate fell (−18.8), and contacts "
                            "moved from phone to web, where Complaint rate is lower (−6.2).")
    assert contributions_sentence(ex) == ("Complaint rate fell 25.0 points against 2026-01-01 – 2026-01-31; largest "
                                          "contributions by channel: phone (−25.0).")


def test_report_says_where_a_missed_goal_moved(make_store):
    # Goal: complaint_rate ≤ 10 over February (28 days) -> previous period Jan 4 – Jan 31, which the
    # data covers exactly (its first contact is on Jan 4: "on or after the data's first day").
    # Jan (from the 4th): phone 2 (1 complaint), web 2 (0) -> R_A = 25
    # Feb:                phone 6 (3), web 2 (0)           -> R_B = 37.5: missed, change +12.5
    # phone: mix (0.75 − 0.5)(50 + 50)/2 = 12.5, rate 0; web: 0 (shown as zero, so not named)
    from crm_metrics.delivery.report import render_html
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 0)}, "a", 4)
                    + contacts(2, {"phone": (6, 3), "web": (2, 0)}, "b"),
                    goals=[{"goal_id": "G1", "kpi": "complaint_rate", "target": 10.0, "direction": "at_most",
                            "period_start": "2026-02-01", "period_end": "2026-02-28"}],
                    # a survey answer on Feb 28: the data reach the goal's last day, so February is final
                    # (a period in progress is judged on its pace, never missed: strategy.md)
                    surveys=[{"response_id": "s1", "customer_id": "x", "answered_on": "2026-02-28", "nps": 9}])
    html = render_html(st)
    # the goal is named in words (the board pack shows no ids), then the sentence
    item = html.split("<li data-why='G1'><b>", 1)[1].split("</li>", 1)[0]
    name, sentence = item.split("</b>: ", 1)
    assert name.startswith("Complaint rate") and "G1" not in name
    assert sentence == ("Complaint rate rose 12.5 points against 2026-01-04 – 2026-01-31; "
                        "largest contributions by channel: phone (+12.5).")


# -- the property: contributions add up to the change on the sample ---------------------------------------
RATIO_KPIS = [k.id for k in KPIS.values() if k.kind == "ratio"]
SPLITS = (("channel",), ("segment",), ("region",), ("channel", "segment"))


@pytest.mark.parametrize("kpi_id", RATIO_KPIS)
def test_contributions_sum_to_the_change_for_every_ratio_kpi(sample_store, kpi_id):
    kpi = KPIS[kpi_id]
    allowed = [d for d in SPLITS if refusal(kpi, d) is None]
    if kpi_id == "customer_match_rate":
        assert not allowed  # split by period only: nothing to decompose
        return
    assert allowed, kpi_id
    window = {"start": "2026-09-01", "end": "2026-09-30"}
    whole = {p: compute(sample_store, kpi_id, start=s, end=e)["value"].iloc[0]
             for p, (s, e) in {"cur": ("2026-09-01", "2026-09-30"), "prev": ("2026-08-02", "2026-08-31")}.items()}
    for dims in allowed:
        ex = explain(sample_store, kpi_id, by=dims, **window)
        assert (ex.vs_start.isoformat(), ex.vs_end.isoformat()) == ("2026-08-02", "2026-08-31")
        assert abs(ex.groups["contribution"].sum() - ex.change) < 1e-9, dims
        assert abs(ex.mix + ex.rate - ex.change) < 1e-9, dims
        # R = Σ w·r equals the KPI over all units, in both periods
        assert abs(ex.current - whole["cur"]) < 1e-9 and abs(ex.previous - whole["prev"]) < 1e-9, dims
        c = ex.groups["contribution"].abs().tolist()
        assert c == sorted(c, reverse=True)


# -- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kpi_id, dims, words", [
    ("churn_rate", ["segment"], "survival KPI"),
    ("customer_base", ["segment"], "stock KPI"),
    ("upc", ["segment"], "distinct KPI"),
    ("new_customers", ["channel"], "a customer can use several channels"),
    ("fcr_rate", ["period"], "compares two periods"),
    ("customer_match_rate", ["channel"], "cannot be split by channel"),
    ("fcr_rate", [], "at least one dimension"),
])
def test_refusals_say_why(sample_store, kpi_id, dims, words):
    with pytest.raises(KpiError, match=words):
        explain(sample_store, kpi_id, by=dims, start="2026-09-01", end="2026-09-30")


def test_previous_period_outside_the_data_is_refused(sample_store):
    # the sample's interactions begin 2024-11-01: November's previous period (Oct 2 – 31) is not covered
    with pytest.raises(KpiError, match="does not cover the previous period 2024-10-02 – 2024-10-31"):
        explain(sample_store, "fcr_rate", by=["channel"], start="2024-11-01", end="2024-11-30")


def run_cli(*args: str, db: Path) -> tuple[int, str, str]:
    env = {**os.environ, "CRM_DB": str(db)}
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def tiny_db(tmp_path, make_store) -> Path:
    """A closed store file for the CLI: Jan/Feb complaints, a customer with a formula-like channel."""
    st = make_store(interactions=contacts(1, {"phone": (2, 1), "web": (2, 0)}, "a")
                    + contacts(2, {"phone": (6, 3), "=cmd|' /C calc'!A0": (2, 0)}, "b"))
    path = Path(st.path)
    st.close()
    return path


def test_cli_explain_json_and_refusal(tiny_db):
    code, out, err = run_cli("explain", "complaint_rate", "--by", "channel", "--from", "2026-02-01", "--to",
                             "2026-02-28", "--vs-from", "2026-01-01", "--vs-to", "2026-01-31", "--format", "json",
                             db=tiny_db)
    assert code == 0, err
    doc = json.loads(out)
    # Jan: phone 2 (1), web 2 (0): R_A = 25. Feb: phone 6 (3), "=cmd" 2 (0): R_B = 37.5
    assert doc["previous"] == 25.0 and doc["current"] == 37.5 and doc["change"] == 12.5
    code, out, err = run_cli("explain", "churn_rate", "--by", "segment", db=tiny_db)
    assert code == 1 and "refused:" in err and "Traceback" not in err and out == ""


def test_cli_records_masks_ids_and_escapes_csv(tiny_db):
    code, out, err = run_cli("records", "complaint_rate", "--from", "2026-02-01", "--to", "2026-02-28",
                             "--format", "csv", db=tiny_db)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 8  # phone 6 + "=cmd" 2 contacts in February
    assert all(r["customer_id"].startswith("c_") for r in rows)  # pseudonymised by default
    assert {r["channel"] for r in rows} == {"phone", "'=cmd|' /C calc'!A0"}  # escaped against formulas
    code, out, _ = run_cli("records", "complaint_rate", "--from", "2026-02-01", "--to", "2026-02-28",
                           "--show-customer-ids", "--format", "json", db=tiny_db)
    doc = json.loads(out)
    assert code == 0 and doc["n"] == 8 and doc["customer_ids"] == "shown"
    assert doc["value"] == 37.5  # 3 complaints of 8 contacts: 100 × 3 ÷ 8
    assert sorted(r["customer_id"] for r in doc["records"])[0] == "b=cmd|' /C calc'!A00"


# -- records ------------------------------------------------------------------------------------------
UNIT_KPIS = [k.id for k in KPIS.values() if k.units is not None]


def test_which_kpis_have_records():
    # every ratio and sum KPI except the match rate (rows of three tables) has unit-level records
    for k in KPIS.values():
        if k.kind in ("ratio", "sum") and k.id != "customer_match_rate":
            assert k.units is not None, k.id
    with pytest.raises(KpiError, match="no unit-level records"):
        records(None, "upc")


@pytest.mark.parametrize("kpi_id", UNIT_KPIS)
def test_records_count_is_n_and_recompute_the_value(sample_store, kpi_id):
    kpi = KPIS[kpi_id]
    for scope in ({"start": "2025-01-01", "end": "2025-06-30"},
                  {"start": "2026-03-01", "end": "2026-03-31", "channels": ["phone", "mobile"],
                   "segments": ["Mass Retail"]}):
        rec = records(sample_store, kpi_id, **scope)
        kp = compute(sample_store, kpi_id, **scope)
        assert len(rec.frame) == rec.n == int(kp["n"].iloc[0]), scope
        # recomputed here from the rows, not by the engine: mean (sum for additive KPIs) of value
        vals = rec.frame["value"].astype(float)
        again = vals.sum() if kpi.additive else (vals.mean() if len(vals) else float("nan"))
        assert again == pytest.approx(kp["value"].iloc[0], rel=1e-9, nan_ok=True), scope
        cols = list(rec.frame.columns)
        assert cols[-1] == "value" and "customer_id" in cols[:2]


def test_fcr_records_by_hand(make_store):
    # c1: contact a (resolved) then b 3 days later -> a is repeated: 0; b (resolved, no later): 100
    # c2: contact c not resolved: 0; contact d with resolved empty: not a unit of FCR
    st = make_store(interactions=[
        {"interaction_id": "a", "customer_id": "c1", "occurred_at": "2026-01-01 09:00:00", "channel": "phone",
         "resolved": True},
        {"interaction_id": "b", "customer_id": "c1", "occurred_at": "2026-01-04 09:00:00", "channel": "web",
         "resolved": True},
        {"interaction_id": "c", "customer_id": "c2", "occurred_at": "2026-01-05 09:00:00", "channel": "phone",
         "resolved": False},
        {"interaction_id": "d", "customer_id": "c2", "occurred_at": "2026-01-20 09:00:00", "channel": "phone"},
    ])
    rec = records(st, "fcr_rate", start="2026-01-01", end="2026-01-31")
    f = rec.frame.set_index("interaction_id")
    assert list(f.index) == ["a", "b", "c"] and rec.n == 3
    assert f["next_contact_within_window"].tolist() == [True, False, False]  # c's next (d) is 15 days later
    assert f["value"].tolist() == [0.0, 100.0, 0.0]
    assert rec.value == pytest.approx(100 / 3)  # 1 of 3 contacts with an outcome
    assert list(rec.frame.columns) == ["interaction_id", "customer_id", "channel", "segment", "region", "advisor_id",
                                       "occurred_at", "resolved", "next_contact_at", "next_contact_within_window",
                                       "value"]
    page = records(st, "fcr_rate", start="2026-01-01", end="2026-01-31", limit=2)
    assert len(page.frame) == 2 and page.n == 3 and page.truncated


# -- pseudonymised customer ids --------------------------------------------------------------------------
def test_pseudonyms_are_keyed_and_stable_within_a_store(tmp_path):
    a = Store(tmp_path / "a.duckdb")
    first = pseudonymise(a, ["C1", "C2", "C1"])
    assert first[0] == first[2] != first[1] and all(p.startswith("c_") and "C1" not in p for p in first)
    a.close()
    a = Store(tmp_path / "a.duckdb")  # the key is kept in the store: the same pseudonyms after reopening
    assert pseudonymise(a, ["C1"]) == [first[0]]
    b = Store(tmp_path / "b.duckdb")  # another store, another key
    assert pseudonymise(b, ["C1"]) != [first[0]]
    a.close()
    b.close()


def test_masking_by_role_and_setting(make_store):
    st = make_store(interactions=contacts(1, {"phone": (2, 1)}, "a"))
    assert st.settings()["show_customer_ids"] is False
    assert not reveal_customer_ids("viewer", st.settings())
    assert reveal_customer_ids("analyst", st.settings())
    st.set_setting("show_customer_ids", "yes")
    assert st.settings()["show_customer_ids"] is True and reveal_customer_ids("viewer", st.settings())
    with pytest.raises(ValueError, match="true or false"):
        st.set_setting("show_customer_ids", "maybe")
    assert normalise_setting("show_customer_ids", "off") == "false"
    with pytest.raises(StrategyError):
        normalise_setting("show_customer_ids", "2")
    rec = records(st, "complaint_rate", start="2026-01-01", end="2026-01-31")
    masked = mask_customer_ids(st, rec.frame)
    assert sorted(rec.frame["customer_id"]) == ["aphone0", "aphone1"]
    assert not set(masked["customer_id"]) & {"aphone0", "aphone1"}
    assert masked.drop(columns="customer_id").equals(rec.frame.drop(columns="customer_id"))
