"""Customer value read from the store: the summary from transactions (refunds left out, same-day
purchases once), relationship classes, value at risk, refusals. Hand-computed expectations."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crm_metrics.metrics import customer_value as cv
from crm_metrics.metrics import customer_value_store as cs


def tx(i: int, cust: str, when: str, amount: float) -> dict:
    return {"transaction_id": f"T{i}", "customer_id": cust, "occurred_on": when, "product": "p", "amount": amount}


def contact(i: int, cust: str, advisor: str | None, when: str = "2024-01-02 10:00", channel: str = "branch") -> dict:
    return {"interaction_id": f"I{i}", "customer_id": cust, "occurred_at": when, "channel": channel,
            "advisor_id": advisor}


CUSTOMERS = [
    {"customer_id": "C1", "segment": "Gold", "joined_on": "2023-01-01", "acquisition_channel": "branch"},
    {"customer_id": "C2", "segment": "Silver", "joined_on": "2023-01-01", "acquisition_channel": "web"},
    {"customer_id": "C3", "segment": "Silver", "joined_on": "2023-01-01", "acquisition_channel": "web"},
    {"customer_id": "C4", "segment": "Gold", "joined_on": "2023-01-01", "acquisition_channel": "branch"},
]
TRANSACTIONS = [
    tx(1, "C1", "2024-01-01 10:00", 10.0), tx(2, "C1", "2024-01-01 15:00", 5.0),   # one purchase day: 15
    tx(3, "C1", "2024-01-15 10:00", 40.0), tx(4, "C1", "2024-01-20 10:00", -30.0),  # refund: not a purchase
    tx(5, "C1", "2024-02-05 10:00", 8.0),                                           # after calibration
    tx(6, "C2", "2024-01-08 10:00", 20.0), tx(7, "C2", "2024-01-22 10:00", 0.0),    # a free item is a purchase day
    tx(8, "C3", "2024-01-29 10:00", 12.0),
    tx(9, "C4", "2024-01-10 10:00", 100.0),
]
INTERACTIONS = [
    contact(1, "C1", "A1"), contact(2, "C1", "A1", "2024-01-05 10:00"), contact(3, "C1", "A1", "2024-01-09 10:00"),
    contact(4, "C2", "A1"), contact(5, "C2", "A2", "2024-01-06 10:00"),
    contact(6, "C3", "A2"),
    contact(7, "C4", None), contact(8, "C4", "A3", "2024-01-03 10:00", channel="web"),  # no assisted contact with an advisor
    contact(9, "C3", "A1", "2024-03-01 10:00"),        # after calibration: does not count
]


@pytest.fixture
def store(make_store):
    return make_store(customers=CUSTOMERS, transactions=TRANSACTIONS, interactions=INTERACTIONS)


def test_summary_from_the_store_by_hand(store):
    cal, hold = cs.resolve_calibration(store, dt.date(2024, 1, 29))
    assert (cal, hold) == (dt.date(2024, 1, 29), dt.date(2024, 2, 5))   # the holdout runs to the last purchase
    s = cs.load_summary(store, cal, "week", hold).set_index("customer_id")
    assert list(s.index) == ["C1", "C2", "C3", "C4"]
    # C1: purchase days 01-01 (15) and 01-15 (40); the 01-20 refund is left out
    assert (s.loc["C1", "x"], s.loc["C1", "t_x"], s.loc["C1", "T"]) == (1, 2.0, 4.0)   # 14 ÷ 7, 28 ÷ 7
    assert s.loc["C1", "monetary"] == 40.0 and s.loc["C1", "past_value"] == 55.0
    assert s.loc["C1", "holdout_x"] == 1                                                # 02-05
    # C2: 01-08 (20) and the free 01-22 (0): x = 1, monetary 0, T = 21 days = 3 weeks
    assert (s.loc["C2", "x"], s.loc["C2", "t_x"], s.loc["C2", "T"], s.loc["C2", "monetary"]) == (1, 2.0, 3.0, 0.0)
    assert (s.loc["C3", "x"], s.loc["C3", "T"]) == (0, 0.0)                             # first purchase on the end day
    assert s.loc["C4", "segment"] == "Gold" and s.loc["C4", "acquisition_channel"] == "branch"
    # relationship classes (threshold 0.75): C1 3 contacts all with A1, UPC 1 -> relationship; C2 one with
    # A1 and one with A2, UPC 0.5 -> pseudo; C3 one contact by the end day -> encounter; C4 none with an advisor
    assert s["relationship_class"].to_dict() == {"C1": "relationship", "C2": "pseudo-relationship",
                                                 "C3": "encounter", "C4": cs.NO_CONTACT}


def test_segment_filter_and_default_calibration(store):
    cal, hold = cs.resolve_calibration(store, None)
    assert (cal, hold) == (dt.date(2024, 2, 5), None)
    s = cs.load_summary(store, cal, "day", None, segments=["Silver"])
    assert sorted(s["customer_id"]) == ["C2", "C3"]
    assert s.set_index("customer_id").loc["C3", "T"] == 7.0     # 01-29 .. 02-05 in days


def test_too_few_customers_is_refused(store):
    with pytest.raises(cv.CustomerValueError, match="too few customers to fit the purchase model: 4"):
        cs.customer_value(store, calibration_end=dt.date(2024, 1, 29))


def test_empty_store_is_refused(make_store):
    st = make_store(customers=CUSTOMERS)
    with pytest.raises(cv.CustomerValueError, match="load transactions.csv first"):
        cs.customer_value(st)


def test_calibration_before_the_data_is_refused(store):
    with pytest.raises(cv.CustomerValueError, match="calibration end 2023-12-01 is before the first purchase"):
        cs.resolve_calibration(store, dt.date(2023, 12, 1))


def test_no_repeat_purchases_is_refused(make_store):
    rows = [tx(i, f"K{i:02d}", f"2024-01-{i + 1:02d} 10:00", 10.0) for i in range(12)]
    st = make_store(transactions=rows)
    with pytest.raises(cv.CustomerValueError, match="no repeat purchases among the 12 customers"):
        cs.customer_value(st)


def _value(frame: pd.DataFrame) -> cs.CustomerValue:
    model = cs.CustomerValueModel(calibration_end=dt.date(2024, 1, 1), unit="week",
                                  bgnbd=cv.BgNbdFit(1, 1, 1, 1, 0, len(frame)),
                                  gamma_gamma=cv.GammaGammaFit(1, 2, 1, 0, len(frame)), holdout=None)
    return cs.CustomerValue(model=model, horizon_weeks=52, margin=1, annual_discount_rate=0.1, customers=frame)


def test_value_at_risk_by_hand():
    # ten customers with past value 1 .. 10: the top quintile (2 of 10) is past value >= 9
    frame = pd.DataFrame({
        "customer_id": [f"K{i}" for i in range(1, 11)], "segment": ["S"] * 10, "relationship_class": ["encounter"] * 10,
        "past_value": np.arange(1.0, 11.0),
        "p_alive": [0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.3],
        "clv": [5.0, 10, 10, 10, 10, 10, 10, 10, 20, 15],
        "expected_purchases": [1.0] * 10, "x": [1] * 10, "t_x": [1.0] * 10, "T": [2.0] * 10,
    })
    var = cs.value_at_risk(_value(frame))
    # at risk: K10 only (past 10, P(alive) 0.3); K9 is alive enough (0.6), K1 is not in the top quintile
    assert var.customers == 1 and var.past_value_threshold == 9.0
    assert var.at_risk_value == 15.0 and var.total_value == 110.0       # 5 + 7 × 10 + 20 + 15
    assert var.share == pytest.approx(15 / 110)
    assert cs.at_risk_customers(_value(frame))["customer_id"].tolist() == ["K10"]


def test_clv_by_segment_by_hand():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["X", "X", "Y"],
                          "relationship_class": ["relationship", "encounter", "relationship"],
                          "acquisition_channel": ["web"] * 3, "clv": [10.0, 20.0, 5.0],
                          "p_alive": [1.0, 0.5, 0.8], "past_value": [1.0, 3.0, 2.0]})
    by = cs.clv_by(_value(frame), "segment").set_index("segment")
    assert by.loc["X", "customers"] == 2 and by.loc["X", "clv_total"] == 30.0 and by.loc["X", "clv_mean"] == 15.0
    assert by.loc["X", "p_alive_mean"] == 0.75 and by.loc["Y", "clv_total"] == 5.0
    rel = cs.clv_by(_value(frame), "relationship_class").set_index("relationship_class")
    assert rel.loc["relationship", "clv_total"] == 15.0


def test_sample_company_fits_and_predicts(sample_store):
    v = cs.customer_value(sample_store, horizon_weeks=52)
    rec = cs.model_record(v.model)
    assert set(rec) == {"calibration_end", "unit", "bgnbd", "gamma_gamma", "holdout"}
    assert set(rec["bgnbd"]) == {"r", "alpha", "a", "b", "loglik", "customers"}
    assert set(rec["gamma_gamma"]) == {"p", "q", "gamma", "loglik", "customers"}
    assert rec["holdout"] is None
    rows = cs.prediction_rows(v)
    assert list(rows.columns) == list(cs.PREDICT_COLUMNS)
    assert np.isfinite(rows[["expected_purchases", "p_alive", "expected_spend", "clv"]].to_numpy(dtype=float)).all()
    assert ((rows["p_alive"] > 0) & (rows["p_alive"] <= 1)).all()
    assert 0 <= cs.value_at_risk(v).share <= 1


def test_settings_margin_and_annual_discount_rate(make_store):
    from crm_metrics.judgement import strategy
    from crm_metrics.judgement.strategy import StrategyError

    # 24 customers with 1 to 4 purchase days at varied gaps over up to 200 days
    rows, i = [], 0
    for c in range(24):
        for d in (0, 5 + 3 * c, 40 + 7 * c, 200 - c)[: 1 + c % 4]:
            rows.append(tx(i, f"K{c:02d}", (dt.date(2024, 1, 1) + dt.timedelta(days=d)).isoformat(), 10.0 + c + d))
            i += 1
    st_ = make_store(transactions=rows)
    base = cs.customer_value(st_, horizon_weeks=52)
    assert (base.margin, base.annual_discount_rate) == (1.0, 0.10)        # the defaults
    strategy.set_setting(st_, "margin", 0.5)
    strategy.set_setting(st_, "annual_discount_rate", 0.0)
    changed = cs.customer_value(st_, horizon_weeks=52)
    # same fits; CLV × 0.5 (margin) ÷ 1.1^-(364/365/2) (no discount any more) = × 0.5 × 1.1^0.49863
    ratio = changed.customers["clv"] / base.customers["clv"]
    assert np.allclose(ratio, 0.5 * 1.1 ** (364 / 365 / 2))
    with pytest.raises(StrategyError, match="annual_discount_rate: must be >= 0"):
        strategy.set_setting(st_, "annual_discount_rate", -0.1)


def test_at_risk_csv_is_formula_escaped():
    from crm_metrics.delivery import output

    frame = pd.DataFrame({
        "customer_id": ["=HYPERLINK(\"x\")", "K2"], "segment": ["+S", "S"], "relationship_class": ["encounter"] * 2,
        "past_value": [10.0, 1.0], "p_alive": [0.1, 0.9], "clv": [1.0, 5.0], "expected_purchases": [0.1, 1.0],
        "x": [1, 1], "t_x": [1.0, 1.0], "T": [9.0, 2.0]})
    text = output.safe_csv(cs.at_risk_customers(_value(frame))).decode()
    # one customer in the top quintile (past value >= 10) with P(alive) < 0.5; its text cells escaped
    assert text.splitlines()[1].startswith('"\'=HYPERLINK(""x"")",')
    assert ",'+S," in text.splitlines()[1]


def _random_history(seed: int) -> tuple[list[dict], list[dict]]:
    """Customers with random purchase days: same-day purchases, free items, refunds, purchases after
    the calibration end, customers whose first purchase is after it."""
    rng = np.random.default_rng(seed)
    customers, transactions = [], []
    for c in range(60):
        cid = f"R{c:03d}"
        customers.append({"customer_id": cid, "segment": ["Gold", "Silver"][c % 2], "joined_on": "2023-01-01",
                          "acquisition_channel": ["web", "branch"][c % 2]})
        for _ in range(int(rng.integers(1, 9))):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 120)))
            amount = float(rng.choice([-20.0, 0.0, round(float(rng.uniform(1, 200)), 2)], p=[0.1, 0.1, 0.8]))
            transactions.append(tx(len(transactions), cid, f"{day} {int(rng.integers(8, 18)):02d}:00", amount))
    return customers, transactions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summary_in_sql_equals_the_reference_definition(make_store, seed):
    # load_summary aggregates in SQL for speed; cv.rfm_summary (pandas) is the reference definition:
    # the same transactions (purchases = amount >= 0) must give the same per-customer summary
    customers, transactions = _random_history(seed)
    store = make_store(customers=customers, transactions=transactions)
    cal, hold = dt.date(2024, 3, 15), dt.date(2024, 4, 29)
    got = cs.load_summary(store, cal, "week", hold).set_index("customer_id")
    frame = pd.DataFrame(transactions)
    purchases = frame[frame["amount"] >= 0].rename(columns={"occurred_on": "day"})
    want = cv.rfm_summary(purchases[["customer_id", "day", "amount"]], cal, "week", holdout_end=hold)
    want = want.set_index("customer_id")
    assert list(got.index) == list(want.index)
    for col in ("x", "holdout_x"):
        assert got[col].tolist() == want[col].tolist()
    for col in ("t_x", "T", "monetary", "past_value"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-12, equal_nan=True)
    assert got["segment"].to_dict() == {c["customer_id"]: c["segment"] for c in customers if c["customer_id"] in got.index}
