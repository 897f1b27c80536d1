"""Goals judged on their own period, annual goals, forecasts of periods in progress, the previous-period
rule and the backtest (strategy.md Scorecard, foresight.md), on hand-made stores.

Every expected number is worked out by hand in the comments; none is taken from the code under test.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from crm_metrics.data.store import close_all
from crm_metrics.delivery.cli import main
from crm_metrics.judgement import ets, forecast, strategy
from crm_metrics.judgement.forecast import backtest, combine, pace, simulate
from crm_metrics.judgement.goals import covered_previous, goal_periods, previous_window
from crm_metrics.judgement.scorecard import scorecard
from crm_metrics.metrics.kpis import KPIS, compute

D = dt.date
CUSTOMERS = [{"customer_id": f"c{i}", "segment": "Gold", "joined_on": D(2024, 1, 1)} for i in (1, 2)]


def _contacts(per_month: list[int], march: int) -> list[dict]:
    """``per_month[i]`` contacts in month i from January 2025, then ``march`` contacts in March 2026
    up to the 20th (the last one on 2026-03-20: the data's last day)."""
    rows, k = [], 0
    for i, count in enumerate(per_month):
        y, m = 2025 + i // 12, i % 12 + 1
        for j in range(count):
            rows.append({"interaction_id": f"i{k}", "customer_id": "c1", "channel": "phone",
                         "occurred_at": dt.datetime(y, m, 1 + j % 28, 9, j // 28)})
            k += 1
    for j in range(march):
        day = 20 if j == march - 1 else 1 + j % 19
        rows.append({"interaction_id": f"i{k}", "customer_id": "c2", "channel": "phone",
                     "occurred_at": dt.datetime(2026, 3, day, 9, j)})
        k += 1
    return rows


# 2 contacts every month from January 2025 to February 2026 (14 months), 2 in March 2026 to the 20th.
FLAT = _contacts([2] * 14, 2)


@pytest.fixture
def flat(make_store):
    return make_store(customers=CUSTOMERS, interactions=FLAT, goals=[
        {"goal_id": "A", "kpi": "contacts", "target": 24, "direction": "at_least", "objective": "Volume"},
        {"goal_id": "B", "kpi": "contacts", "target": 25, "direction": "at_least", "objective": "Volume"},
    ])


# -- periods and the previous-period rule ------------------------------------------------------------
def test_goal_periods_annual_and_own():
    # no period: one per calendar year the data (2025-01-01..2026-03-20) touches
    assert goal_periods(None, None, D(2025, 1, 1), D(2026, 3, 20)) == [
        (D(2025, 1, 1), D(2025, 12, 31)), (D(2026, 1, 1), D(2026, 12, 31))]
    assert goal_periods("2026-01-01", "2026-06-30", D(2025, 1, 1), D(2026, 3, 20)) == [
        (D(2026, 1, 1), D(2026, 6, 30))]


def test_previous_period_only_when_covered_whole():
    # Jan-Mar 2025 (90 days): previous 2024-10-03..2024-12-31; data from 2024-11-01 -> not covered
    assert covered_previous(D(2025, 1, 1), D(2025, 3, 31), D(2024, 11, 1)) is None
    # Apr-Jun 2025 (91 days): previous 2024-12-31..2025-03-31, starts on/after 2024-11-01 -> covered
    assert covered_previous(D(2025, 4, 1), D(2025, 6, 30), D(2024, 11, 1)) == (D(2024, 12, 31), D(2025, 3, 31))
    # a calendar year: the year before; data from its first day -> covered
    assert covered_previous(D(2026, 1, 1), D(2026, 12, 31), D(2025, 1, 1)) == (D(2025, 1, 1), D(2025, 12, 31))
    assert covered_previous(D(2026, 1, 1), D(2026, 12, 31), D(2025, 1, 2)) is None


def test_previous_window_on_a_store(flat):
    # data from 2025-01-01: March 2026's previous (2026-01-29..2026-02-28) is covered; 2025-01-01..01-31's is not
    assert previous_window(flat, D(2026, 3, 1), D(2026, 3, 31)) == (D(2026, 1, 29), D(2026, 2, 28))
    assert previous_window(flat, D(2025, 1, 1), D(2025, 1, 31)) is None


# -- annual goals: one row per calendar year; a year in progress is never missed ---------------------------
def test_annual_goal_one_row_per_year_and_the_year_in_progress_is_paced(flat):
    df = scorecard(flat, D(2025, 1, 1), D(2026, 12, 31))
    a = df[df["goal_id"] == "A"].set_index("period_start")
    assert list(a.index) == [D(2025, 1, 1), D(2026, 1, 1)]
    y25, y26 = a.loc[D(2025, 1, 1)], a.loc[D(2026, 1, 1)]
    # 2025: final, 12 x 2 = 24 contacts >= 24 -> met; no forecast fields
    assert bool(y25["final"]) is True and y25["actual"] == 24 and y25["status"] == "met"
    assert y25["forecast"] != y25["forecast"] and y25["forecast_method"] is None
    # 2026: data to 2026-03-20 -> in progress; to date Jan 2 + Feb 2 + Mar 2 = 6 (far below 24, not "missed")
    assert bool(y26["final"]) is False and y26["actual"] == 6 and y26["actual_to_date"] == 6
    # elapsed: 31 + 28 + 20 = 79 of 365 days
    assert y26["elapsed_share"] == pytest.approx(79 / 365)
    # constant history (14 months of 2) -> every path is 2 a month: 6 observed + March's 11 days left
    # (11/31 x 2) + April..December 9 x 2 = 24 + 22/31 = 24.709677
    assert y26["forecast"] == pytest.approx(24 + 22 / 31)
    assert y26["forecast_low"] == pytest.approx(24 + 22 / 31) and y26["forecast_high"] == pytest.approx(24 + 22 / 31)
    assert y26["p_meet"] == 1.0 and y26["status"] == "on_track"
    assert y26["attainment"] == pytest.approx(100 * (24 + 22 / 31) / 24)   # the forecast / target
    assert y26["forecast_method"] == "constant history, monthly, 14 points"
    # previous of 2026 = 2025 (covered: data from 2025-01-01) = 24; change = 6 - 24
    assert y26["previous"] == 24 and y26["change"] == -18
    # B: target 25 > 24.71 on every path -> p_meet 0 -> off track, still not missed
    b = df[(df["goal_id"] == "B") & (df["period_start"] == D(2026, 1, 1))].iloc[0]
    assert (b["p_meet"], b["status"]) == (0.0, "off_track")
    assert "missed" not in set(df[~df["final"]]["status"])


def test_same_goal_under_three_windows_same_row(flat):
    rows = [scorecard(flat, *w).set_index(["goal_id", "period_start"]).loc[("A", D(2026, 1, 1))]
            for w in ((D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 1, 1), D(2026, 12, 31)), (None, None))]
    for r in rows:
        assert (r["period_end"], r["status"], r["actual"], r["n"]) == (D(2026, 12, 31), "on_track", 6, 6)
        assert r["forecast"] == pytest.approx(24 + 22 / 31)
    # the default lists only the row containing the data's last day (2026-03-20): one per goal
    assert len(scorecard(flat)) == 2
    # a window in 2025 lists the 2025 rows only
    assert set(scorecard(flat, D(2025, 6, 1), D(2025, 6, 30))["period_start"]) == {D(2025, 1, 1)}


def test_cli_same_goal_under_three_windows(flat, capsys):
    path = flat.path
    close_all()
    seen = []
    for window in (["--from", "2026-03-01", "--to", "2026-03-31"], ["--from", "2026-01-01", "--to", "2026-12-31"], []):
        assert main(["scorecard", "--db", path, "--format", "json", *window]) == 0
        out = json.loads(capsys.readouterr().out)
        row = [g for g in out["goals"] if g["goal_id"] == "A" and g["period_start"] == "2026-01-01"][0]
        seen.append((row["status"], row["actual"], row["period_end"], row["final"], row["p_meet"]))
    assert seen == [("on_track", 6.0, "2026-12-31", False, 1.0)] * 3
    close_all()


def test_fixed_seed_identical_output(make_store):
    # a noisy history: the simulation is random, the seed makes it reproducible
    counts = [3, 5, 2, 6, 4, 7, 3, 5, 6, 4, 8, 5, 6, 7]
    store = make_store(customers=CUSTOMERS, interactions=_contacts(counts, 4),
                       goals=[{"goal_id": "A", "kpi": "contacts", "target": 60, "direction": "at_least"}])
    a = scorecard(store)
    forecast._MEMO.clear()   # fit and simulate again (not the remembered forecast)
    ets.clear_simulations()  # nor the remembered simulation of the same series
    b = scorecard(store)
    cols = ["forecast", "forecast_low", "forecast_high", "p_meet", "status"]
    assert a[cols].to_dict(orient="records") == b[cols].to_dict(orient="records")
    assert a.iloc[0]["forecast_low"] < a.iloc[0]["forecast"] < a.iloc[0]["forecast_high"]


def test_clear_trend_lands_on_the_right_side_of_the_target(make_store):
    # 1, 2, ..., 14 contacts a month (Jan 2025..Feb 2026), 10 in March to the 20th: 2026 to date 13 + 14 + 10 = 37.
    # Even flat at 14 a month the year ends at 37 + 11/31 x 14 + 9 x 14 = 168 > 100; rising by one a month,
    # at most 37 + 15 x 11/31 + (16 + ... + 24) = 37 + 5.3 + 180 = 222 < 400.
    store = make_store(customers=CUSTOMERS, interactions=_contacts(list(range(1, 15)), 10), goals=[
        {"goal_id": "LOW", "kpi": "contacts", "target": 100, "direction": "at_least"},
        {"goal_id": "HIGH", "kpi": "contacts", "target": 400, "direction": "at_least"}])
    df = scorecard(store).set_index("goal_id")
    assert df.loc["LOW", "status"] == "on_track" and df.loc["LOW", "p_meet"] == 1.0
    assert df.loc["HIGH", "status"] == "off_track" and df.loc["HIGH", "p_meet"] == 0.0
    assert 168 <= df.loc["LOW", "forecast"] <= 222
    assert df.loc["LOW", "forecast_method"] == "ETS damped trend, monthly, 14 points"


# -- the pure parts -------------------------------------------------------------------------------------
def test_simulate_constant_history_is_exact():
    paths, method = simulate(np.array([5.0] * 8), 3, "month")
    assert paths.shape == (1000, 3) and (paths == 5.0).all() and method == "constant history, monthly, 8 points"


@pytest.mark.parametrize("kpi, observed, paths, fractions, mean_n, expected", [
    # sum: 10 + 4 observed + 0.5 x 6 + 1 x 6 = 23
    ("contacts", [(10, 10), (4, 4)], [[6.0, 6.0]], [0.5, 1.0], 0.0, 23.0),
    # ratio: (50 x 4 + 100 x 2 x 0.5 + 100 x 2 x 1) / (4 + 2 x 1.5) = (200 + 100 + 200) / 7
    ("csat", [(50, 4)], [[100.0, 100.0]], [0.5, 1.0], 2.0, 500 / 7),
    # survival (churn): 1 - (1 - 0.10)(1 - 0.5 x 0.20)(1 - 0.20) = 1 - 0.9 x 0.9 x 0.8 = 0.352 -> 35.2 %
    ("churn_rate", [(10, 100)], [[20.0, 20.0]], [0.5, 1.0], 0.0, 35.2),
    # survival (retention): 0.9 x (1 - 0.5 x 0.2) x 0.8 = 0.648 -> 64.8 %
    ("retention_rate", [(90, 100)], [[80.0, 80.0]], [0.5, 1.0], 0.0, 64.8),
    # stock: the path's value at the period's end
    ("customer_base", [(100, 100)], [[110.0, 120.0]], [0.5, 1.0], 0.0, 120.0),
])
def test_combine_by_kind(kpi, observed, paths, fractions, mean_n, expected):
    got = combine(KPIS[kpi], observed, np.array(paths), fractions, mean_n)
    assert got[0] == pytest.approx(expected)


@pytest.mark.parametrize("p, status", [(0.7, "on_track"), (0.69, "at_risk"), (0.3, "at_risk"),
                                       (0.29, "off_track"), (None, "no_data")])
def test_pace_thresholds(p, status):
    assert pace(p, {"pace_on_track": 0.7, "pace_off_track": 0.3}) == status


def test_pace_settings_are_validated(flat):
    with pytest.raises(strategy.StrategyError, match="at most 1"):
        strategy.set_setting(flat, "pace_on_track", 1.5)
    with pytest.raises(strategy.StrategyError, match="must not exceed"):
        strategy.set_setting(flat, "pace_off_track", 0.8)      # above pace_on_track 0.7
    strategy.set_setting(flat, "pace_on_track", 0.9)
    assert flat.settings()["pace_on_track"] == 0.9


# -- every ratio, sum and stock KPI: the monthly values combine into the quarter's exactly -----------------
COMBINABLE = [k for k in KPIS.values() if k.kind in ("ratio", "sum", "stock")]


@pytest.mark.parametrize("kpi", [k.id for k in COMBINABLE])
def test_monthly_values_combine_into_the_quarter(sample_store, kpi):
    k = KPIS[kpi]
    q = compute(sample_store, kpi, start=D(2026, 4, 1), end=D(2026, 6, 30))
    m = compute(sample_store, kpi, start=D(2026, 4, 1), end=D(2026, 6, 30), by=("period",), grain="month")
    assert len(m) == 3
    v, n = m["value"].to_numpy(), m["n"].to_numpy()
    if k.kind == "sum":
        combined = v.sum()                       # Σ vᵢ
    elif k.kind == "ratio":
        combined = (v * n).sum() / n.sum()       # Σ nᵢ·vᵢ ÷ Σ nᵢ
    else:
        combined = v[-1]                         # stock: the last month's value
    assert combined == pytest.approx(float(q["value"].iloc[0]), rel=1e-9, abs=1e-9)


# -- bad input: clear words, never a traceback ------------------------------------------------------------
def test_bad_input_rows(make_store, capsys):
    store = make_store(customers=CUSTOMERS, interactions=FLAT, goals=[
        {"goal_id": "NPS", "kpi": "nps", "target": 20},                                # no surveys at all
        {"goal_id": "OLD", "kpi": "contacts", "target": 5, "direction": "at_least",
         "period_start": D(2020, 1, 1), "period_end": D(2020, 12, 31)},                 # wholly before the data
        {"goal_id": "NEXT", "kpi": "contacts", "target": 5, "direction": "at_least",
         "period_start": D(2027, 1, 1), "period_end": D(2027, 12, 31)},                 # wholly after it
        {"goal_id": "ZERO", "kpi": "contacts", "target": 0, "direction": "at_least"},   # target 0
    ])
    df = scorecard(store, D(2020, 1, 1), D(2027, 12, 31)).set_index(["goal_id", "period_start"])
    nps = df.loc[("NPS", D(2026, 1, 1))]
    assert nps["status"] == "no_data" and nps["forecast_method"].startswith("no value so far")
    old = df.loc[("OLD", D(2020, 1, 1))]
    assert (bool(old["final"]), old["status"], old["n"]) == (True, "no_data", 0)
    nxt = df.loc[("NEXT", D(2027, 1, 1))]
    assert (bool(nxt["final"]), nxt["status"]) == (False, "no_data")
    assert nxt["forecast_method"] == "the period has not started in the data yet"
    zero = df.loc[("ZERO", D(2026, 1, 1))]
    # 24.71 >= 0 on every path: on track; attainment would divide by the target 0 -> null
    assert zero["status"] == "on_track" and zero["attainment"] != zero["attainment"]
    # and the CLI says the same without a traceback
    path = store.path
    close_all()
    assert main(["scorecard", "--db", path, "--from", "2020-01-01", "--to", "2027-12-31"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "no_data" in out.out
    close_all()


def test_too_short_history_is_no_data(make_store):
    # data from 2026-01-01: two complete months before 2026-03-20 -> fewer than 6 points
    rows = [r for r in FLAT if r["occurred_at"] >= dt.datetime(2026, 1, 1)]
    store = make_store(customers=CUSTOMERS, interactions=rows,
                       goals=[{"goal_id": "A", "kpi": "contacts", "target": 24, "direction": "at_least"}])
    r = scorecard(store).iloc[0]
    assert (r["status"], r["forecast_method"], r["actual_to_date"]) == ("no_data", "too little history", 6)
    assert r["forecast"] != r["forecast"] and r["p_meet"] != r["p_meet"]


# -- backtest -----------------------------------------------------------------------------------------------
def test_backtest_on_constant_volumes(flat):
    bt = backtest(flat, "contacts", horizon=2)
    # months Jan 2025..Feb 2026 (14; March is incomplete): origins at months 7..13 (6 points before each,
    # 2 months after) -> 7 origins, each forecasting 2 + 2 = 4 against an actual 4: MAPE 0, coverage 100 %
    assert len(bt.origins) == 7 and bt.origins[0]["origin"] == D(2025, 7, 1)
    assert all(o["actual"] == 4 and o["forecast"] == 4 for o in bt.origins)
    assert (bt.mape, bt.coverage) == (0.0, 100.0)


def test_backtest_cli(flat, capsys):
    path = flat.path
    close_all()
    assert main(["backtest", "contacts", "--db", path, "--horizon", "2", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["kpi"], out["origins"], out["mape"], out["coverage"]) == ("contacts", 7, 0.0, 100.0)
    assert main(["backtest", "contacts", "--db", path, "--horizon", "2"]) == 0
    assert "MAPE 0.0 %; 80 % interval coverage 100.0 % (7 of 7 outcomes inside)" in capsys.readouterr().out
    assert main(["backtest", "relationship_share", "--db", path]) == 1
    assert "per-customer KPI" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["backtest", "contacts", "--db", path, "--horizon", "0"])
    assert e.value.code == 2
    close_all()


# -- a public data set: CDNOW (tests/data/README.md), loaded as transactions ---------------------------------
def _cdnow_rows() -> list[dict]:
    from pathlib import Path
    rows = []
    text = (Path(__file__).parent / "data" / "cdnow_sample.txt").read_text()
    for i, line in enumerate(text.splitlines()):
        cid, _, day, _, amount = line.split()
        rows.append({"transaction_id": f"t{i}", "customer_id": cid, "product": "CD", "amount": float(amount),
                     "occurred_on": dt.datetime.strptime(day, "%Y%m%d")})
    return rows


def test_backtest_monthly_revenue_on_cdnow(make_store):
    store = make_store(transactions=_cdnow_rows())
    bt = backtest(store, "revenue", horizon=1)
    # 18 months (1997-01..1998-06): origins at months 7..18 (6 months of history before each) -> 12
    assert len(bt.origins) == 12
    # July 1997: 284 purchases summing to 10,866.23 USD; June 1998: 172 summing to 5,590.87 (awk over the file)
    assert (bt.origins[0]["origin"], bt.origins[0]["actual"]) == (D(1997, 7, 1), pytest.approx(10866.23))
    assert (bt.origins[-1]["origin"], bt.origins[-1]["actual"]) == (D(1998, 6, 1), pytest.approx(5590.87))
    assert bt.mape > 0 and 0 <= bt.coverage <= 100


def test_a_series_simulated_again_is_the_same_and_a_copy():
    # Two goals on one KPI and scope share their history: the second simulation is the remembered
    # one (no second fit), handed out as a copy so that clipping one goal's paths leaves the other's.
    ets.clear_simulations()
    y = np.array([3.0, 5, 2, 6, 4, 7, 3, 5, 6, 4, 8, 5, 6, 7])
    a, method_a = simulate(y, 4, "month")
    a[:] = -1.0
    b, method_b = simulate(y.copy(), 4, "month")
    ets.clear_simulations()
    c, _ = simulate(y, 4, "month")   # fitted afresh: the fixed seed gives the same paths
    assert method_a == method_b == "ETS damped trend, monthly, 14 points"
    assert b.shape == (1000, 4) and (b != -1.0).all()
    assert np.array_equal(b, c)
