"""The sample company generator: format, contract rules, determinism, and the story it tells.

KPIs are recomputed here with pandas, independently of the engine, following kpis.md.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_metrics.data.sample import DEFAULT_CUSTOMERS, generate
from crm_metrics.data.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"
FILES = [f"{t}.csv" for t in TABLES]
START, END = pd.Timestamp("2024-11-01"), pd.Timestamp("2026-10-31")
ASSISTED = {"branch", "phone", "email", "chat"}
SELF_SERVICE = {"web", "mobile"}
KPI_IDS = {
    "contacts", "contacts_per_customer", "fcr_rate", "repeat_contact_rate", "avg_handle_time",
    "avg_wait_time", "sla_attainment", "csat", "ces", "complaint_rate", "self_service_share",
    "advisor_logged_rate", "multichannel_rate", "upc", "coc", "secon", "relationship_share",
    "pseudo_relationship_share", "encounter_share", "customer_base", "new_customers",
    "retention_rate", "churn_rate", "clv", "revenue", "revenue_per_customer", "avg_order_value",
    "repeat_purchase_rate", "products_per_customer", "cross_sell_rate", "nps", "customer_match_rate",
}
HIGHER = {"fcr_rate", "csat", "ces", "nps", "relationship_share", "cross_sell_rate",
          "revenue_per_customer", "customer_match_rate"}
LOWER = {"avg_wait_time", "churn_rate"}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small_a")
    counts = generate(d, customers=300, seed=7)
    assert counts["customers"] == 300
    return d


@pytest.fixture(scope="module")
def default_fresh(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    d = tmp_path_factory.mktemp("default")
    return d, generate(d, customers=DEFAULT_CUSTOMERS, seed=42)


def raw(d: Path, table: str) -> pd.DataFrame:
    """Every cell as text, empty cell = ''."""
    return pd.read_csv(d / f"{table}.csv", dtype=str, keep_default_na=False)


class Company:
    """The CSVs parsed, with the per-row facts the KPIs need."""

    def __init__(self, d: Path) -> None:
        self.customers = pd.read_csv(d / "customers.csv", parse_dates=["joined_on", "left_on"])
        seg = self.customers.set_index("customer_id")["segment"]
        i = pd.read_csv(d / "interactions.csv", parse_dates=["occurred_at"])
        i["resolved"] = i["resolved"].map({True: True, False: False, "true": True, "false": False})
        i = i.sort_values(["customer_id", "occurred_at"], kind="stable")
        nxt = i.groupby("customer_id")["occurred_at"].shift(-1)
        i["repeat"] = (nxt - i["occurred_at"]) <= pd.Timedelta(days=7)
        i["segment"] = i["customer_id"].map(seg)
        self.interactions = i
        t = pd.read_csv(d / "transactions.csv", parse_dates=["occurred_on"])
        t["segment"] = t["customer_id"].map(seg)
        self.transactions = t
        s = pd.read_csv(d / "surveys.csv", parse_dates=["answered_on"])
        s["segment"] = s["customer_id"].map(seg)
        self.surveys = s
        self.goals = pd.read_csv(d / "goals.csv", dtype={"channel": str, "segment": str, "direction": str},
                                 parse_dates=["period_start", "period_end"])
        self.initiatives = pd.read_csv(d / "initiatives.csv", parse_dates=["go_live"])

    # -- filters --------------------------------------------------------------------------
    @staticmethod
    def _cut(df: pd.DataFrame, col: str, a, b, channel=None, segment=None, not_channel=None) -> pd.DataFrame:
        day = df[col].dt.normalize()
        m = (day >= a) & (day <= b)
        if channel:
            m &= df["channel"] == channel
        if not_channel:
            m &= df["channel"] != not_channel
        if segment:
            m &= df["segment"] == segment
        return df[m]

    def kpi(self, k: str, a=START, b=END, channel=None, segment=None, not_channel=None) -> float:
        a, b = pd.Timestamp(a), pd.Timestamp(b)
        x = self._cut(self.interactions, "occurred_at", a, b, channel, segment, not_channel)
        if k == "fcr_rate":
            r = x[x["resolved"].notna()]
            return 100 * (r["resolved"].astype(bool) & ~r["repeat"]).mean()
        if k == "repeat_contact_rate":
            return 100 * x["repeat"].mean()
        if k == "avg_wait_time":
            return x["wait_seconds"].mean()
        if k == "csat":
            return 100 * (x["csat"].dropna() >= 4).mean()
        if k == "ces":
            return x["ces"].mean()
        if k == "self_service_share":
            return 100 * x["channel"].isin(SELF_SERVICE).mean()
        if k == "relationship_share":
            y = x[x["channel"].isin(ASSISTED) & x["advisor_id"].notna()]
            g = y.groupby(["customer_id", "advisor_id"]).size().groupby(level=0).agg(["sum", "max"])
            return 100 * ((g["sum"] >= 2) & (g["max"] / g["sum"] >= 0.75)).mean()
        if k == "churn_rate":
            c = self.customers
            if segment:
                c = c[c["segment"] == segment]
            s = c[(c["joined_on"] < a) & (c["left_on"].isna() | (c["left_on"] >= a))]
            return 100 * (s["left_on"] <= b).mean()
        if k == "nps":
            s = self._cut(self.surveys, "answered_on", a, b, channel, segment)["nps"]
            return 100 * ((s >= 9).mean() - (s <= 6).mean())
        if k in ("revenue", "revenue_per_customer"):
            t = self._cut(self.transactions, "occurred_on", a, b, channel, segment, not_channel)
            if k == "revenue":
                return t["amount"].sum()
            return t["amount"].sum() / t["customer_id"].nunique()
        if k == "cross_sell_rate":
            t = self._cut(self.transactions, "occurred_on", pd.Timestamp("1900-01-01"), b, channel, segment)
            return 100 * (t.groupby("customer_id")["product"].nunique() >= 2).mean()
        if k == "customer_match_rate":
            known = set(self.customers["customer_id"])
            ids = pd.concat([x["customer_id"],
                             self._cut(self.transactions, "occurred_on", a, b)["customer_id"],
                             self._cut(self.surveys, "answered_on", a, b)["customer_id"]])
            return 100 * ids.isin(known).mean()
        raise KeyError(k)

    def goal_status(self, year: int = 2025) -> dict[str, tuple[float, str]]:
        """Each goal over its own period; a goal without one is an annual goal, judged here on
        ``year`` (a whole calendar year of data, so the period is final)."""
        out = {}
        for g in self.goals.itertuples():
            a = g.period_start if pd.notna(g.period_start) else pd.Timestamp(f"{year}-01-01")
            b = g.period_end if pd.notna(g.period_end) else pd.Timestamp(f"{year}-12-31")
            actual = self.kpi(g.kpi, a, b, channel=g.channel if isinstance(g.channel, str) else None,
                              segment=g.segment if isinstance(g.segment, str) else None)
            direction = g.direction if isinstance(g.direction, str) else (
                "at_least" if g.kpi in HIGHER else "at_most")
            tol = 0.05 if pd.isna(g.tolerance) else g.tolerance
            met = actual >= g.target if direction == "at_least" else actual <= g.target
            status = "met" if met else ("at_risk" if abs(actual - g.target) <= tol * abs(g.target) else "missed")
            out[g.goal_id] = (actual, status)
        return out


@pytest.fixture(scope="module")
def company() -> Company:
    return Company(SAMPLE_DATA)


@pytest.fixture(scope="module")
def small_company(small) -> Company:
    return Company(small)


# ------------------------------------------------------------------------------------------
# determinism and the committed sample
# ------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate(again, customers=300, seed=7)
    generate(other, customers=300, seed=8)
    for f in FILES:
        assert sha(small / f) == sha(again / f), f
    for f in ("customers.csv", "interactions.csv", "transactions.csv", "surveys.csv"):
        assert sha(small / f) != sha(other / f), f


def test_committed_sample_data_is_the_default_company(default_fresh):
    fresh, counts = default_fresh
    assert sorted(p.name for p in SAMPLE_DATA.glob("*.csv")) == sorted(FILES)
    for f in FILES:
        assert sha(SAMPLE_DATA / f) == sha(fresh / f), f"sample_data/{f} is stale: regenerate it"
    assert counts["customers"] == DEFAULT_CUSTOMERS
    assert sum((SAMPLE_DATA / f).stat().st_size for f in FILES) < 10_000_000


def test_returned_counts_are_rows_written(small):
    counts = generate(small.parent / "counts", customers=50, seed=1)
    assert list(counts) == list(TABLES)
    for t, n in counts.items():
        assert len(raw(small.parent / "counts", t)) == n


@pytest.mark.parametrize("n", [1, 2, 7])
def test_tiny_companies_work(tmp_path, n):
    counts = generate(tmp_path, customers=n, seed=3)
    assert counts["customers"] == n


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, customers=0)
    with pytest.raises(ValueError):
        generate(tmp_path, customers=10, seed=-1)


# ------------------------------------------------------------------------------------------
# the data contract
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", list(TABLES))
def test_file_follows_the_contract(small, table):
    t = TABLES[table]
    header = (small / f"{table}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == ",".join(t.column_names)
    df = raw(small, table)
    assert len(df) > 0
    assert df[t.key].is_unique
    for col in t.columns:
        v = df[col.name]
        if col.required:
            assert (v != "").all(), f"{table}.{col.name} has empty required cells"
        v = v[v != ""]
        if col.type == "date":
            assert v.str.match(DATE_RE).all(), col.name
        elif col.type == "timestamp":
            assert v.str.match(TS_RE).all(), col.name
        elif col.type == "boolean":
            assert v.isin(["true", "false"]).all(), col.name
        elif col.type in ("number", "integer"):
            x = pd.to_numeric(v, errors="raise")
            if col.type == "integer":
                assert (x == np.round(x)).all(), col.name
            if col.minimum is not None:
                assert (x >= col.minimum).all(), col.name
            if col.maximum is not None:
                assert (x <= col.maximum).all(), col.name
        if col.choices:
            assert v.isin(col.choices).all(), col.name


def test_dates_inside_the_window_and_lifecycles_consistent(small_company):
    c = small_company
    for df, col in ((c.interactions, "occurred_at"), (c.transactions, "occurred_on"), (c.surveys, "answered_on")):
        assert df[col].min() >= START and df[col].max() < END + pd.Timedelta(days=1)
    cu = c.customers
    assert (cu["left_on"].isna() | (cu["left_on"] > cu["joined_on"])).all()
    assert (cu["joined_on"] < START).mean() > 0.6        # most were customers before the window
    assert (cu["joined_on"] >= START).any() and cu["left_on"].notna().any()
    # nobody is contacted after leaving
    i = c.interactions.merge(cu[["customer_id", "left_on"]], on="customer_id")
    assert (i["left_on"].isna() | (i["occurred_at"].dt.normalize() <= i["left_on"])).all()
    # "later" contacts are strictly later: no two contacts of one customer at the same second
    assert not c.interactions.duplicated(["customer_id", "occurred_at"]).any()


def test_strategy_tables(company):
    seg = pd.read_csv(SAMPLE_DATA / "segments.csv")
    ch = pd.read_csv(SAMPLE_DATA / "channels.csv")
    assert set(seg["segment"]) == set(company.customers["segment"])
    assert set(seg["strategy"]) == {"relationship", "transactional"}
    assert dict(zip(ch["channel"], ch["kind"])) == {
        "branch": "assisted", "phone": "assisted", "email": "assisted", "chat": "assisted",
        "web": "self_service", "mobile": "self_service"}
    g = company.goals
    assert 10 <= len(g) <= 14
    assert set(g["kpi"]) <= KPI_IDS
    assert g.loc[g["kpi"] == "self_service_share", "direction"].eq("at_least").all()  # neutral KPI
    assert g["owner"].notna().all() and g["objective"].notna().all()
    assert g["period_start"].notna().any() and g["segment"].notna().any() and g["channel"].notna().any()
    ini = company.initiatives
    assert set(ini["kpi"].dropna()) <= KPI_IDS
    # every objective an initiative serves has goals
    assert set(ini["objective"].dropna()) <= set(g["objective"])


# ------------------------------------------------------------------------------------------
# realistic flaws
# ------------------------------------------------------------------------------------------
def test_realistic_flaws(company):
    i, t = company.interactions, company.transactions
    known = set(company.customers["customer_id"])
    unmatched = 1 - pd.concat([i["customer_id"], t["customer_id"]]).isin(known).mean()
    assert 0.01 <= unmatched <= 0.02
    assisted = i[i["channel"].isin(ASSISTED)]
    assert 0.05 <= assisted["advisor_id"].isna().mean() <= 0.08
    assert i.loc[i["channel"].isin(SELF_SERVICE), "advisor_id"].isna().all()
    assert 0.20 <= i["csat"].notna().mean() <= 0.30
    assert i["ces"].notna().sum() < i["csat"].notna().sum()
    ss = i[i["channel"].isin(SELF_SERVICE)]
    assert ss["wait_seconds"].isna().all() and 0.2 < ss["handle_seconds"].isna().mean() < 0.5
    assert 0.03 <= (i["reason"] == "complaint").mean() <= 0.08
    assert 0 < i["resolved"].isna().mean() < 0.1
    assert 0 < (t["amount"] < 0).mean() < 0.02
    assert 9 <= len(i) / len(company.customers) <= 11      # ~10 contacts per customer


# ------------------------------------------------------------------------------------------
# the story
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["small", "default"])
def test_small_business_is_a_relationship_strategy_run_on_encounters(which, small_company, company):
    c = small_company if which == "small" else company
    assert c.kpi("relationship_share", segment="Small Business") < 35
    assert c.kpi("relationship_share", segment="Private Banking") > 65
    assert c.kpi("relationship_share", segment="Premier") > 65


def test_misaligned_segment_is_less_satisfied_and_churns_more(company):
    for other in ("Private Banking", "Premier"):
        assert company.kpi("csat", segment="Small Business") < company.kpi("csat", segment=other) - 5
        assert company.kpi("nps", segment="Small Business") < company.kpi("nps", segment=other) - 30
        assert company.kpi("churn_rate", segment="Small Business") > company.kpi("churn_rate", segment=other) + 10


@pytest.mark.parametrize("which", ["small", "default"])
def test_phone_fcr_programme_lifts_phone_only(which, small_company, company):
    c = small_company if which == "small" else company
    i = c.interactions
    phone = i[i["channel"] == "phone"]
    after = phone["occurred_at"] >= "2025-11-01"
    res = phone["resolved"].dropna().astype(bool)
    assert res[after].mean() > res[~after].mean() + 0.05
    if which == "default":   # difference-in-differences over 90 days, as the impact page does
        b0, b1, a0, a1 = "2025-08-03", "2025-10-31", "2025-11-01", "2026-01-29"
        treated = c.kpi("fcr_rate", a0, a1, channel="phone") - c.kpi("fcr_rate", b0, b1, channel="phone")
        control = c.kpi("fcr_rate", a0, a1, not_channel="phone") - c.kpi("fcr_rate", b0, b1, not_channel="phone")
        assert treated > 6 and abs(control) < 3 and treated - control > 6
        rep_b = c.kpi("repeat_contact_rate", b0, b1, channel="phone")
        assert c.kpi("repeat_contact_rate", a0, a1, channel="phone") < rep_b - 2


@pytest.mark.parametrize("which", ["small", "default"])
def test_app_relaunch_shifts_work_to_the_customer(which, small_company, company):
    c = small_company if which == "small" else company
    last, prev = ("2026-05-01", "2026-10-31"), ("2025-11-01", "2026-04-30")
    assert c.kpi("self_service_share", *last) >= c.kpi("self_service_share", *prev) + 5
    assert c.kpi("ces", *last) < c.kpi("ces", *prev) - 0.2
    if which == "default":
        assert c.kpi("repeat_contact_rate", *last) > c.kpi("repeat_contact_rate", *prev)


def test_initiatives_tell_their_story(company):
    ini = company.initiatives.set_index("initiative_id")
    over = ini["cost"] / ini["budget"] - 1
    assert (over > 0.25).sum() == 1 and ini.loc[over.idxmax(), "channel"] == "mobile"
    assert (ini["kpi"].isna() & ini["objective"].isna()).sum() == 1
    fcr = ini[ini["kpi"] == "fcr_rate"].iloc[0]
    assert fcr["channel"] == "phone" and fcr["go_live"] == pd.Timestamp("2025-11-01")
    # the app relaunch is judged on customer effort in the mobile channel (self-service share cannot move
    # there: every mobile contact is self-service); effort there fell against the other channels
    app = ini[ini["channel"] == "mobile"].iloc[0]
    assert app["kpi"] == "ces" and app["go_live"] == pd.Timestamp("2026-04-01")
    b0, b1, a0, a1 = "2026-01-01", "2026-03-31", "2026-04-01", "2026-06-29"
    mobile = company.kpi("ces", a0, a1, channel="mobile") - company.kpi("ces", b0, b1, channel="mobile")
    others = company.kpi("ces", a0, a1, not_channel="mobile") - company.kpi("ces", b0, b1, not_channel="mobile")
    assert mobile - others < -0.5

    # first-year ROI per strategy.md (90-day windows, channel-scoped: control = other channels)
    def roi(r, w=90):
        g = r["go_live"]
        b0, b1, a0, a1 = g - pd.Timedelta(days=w), g - pd.Timedelta(days=1), g, g + pd.Timedelta(days=w - 1)
        ch = r["channel"]
        tb, ta = company.kpi("revenue", b0, b1, channel=ch), company.kpi("revenue", a0, a1, channel=ch)
        cb, ca = company.kpi("revenue", b0, b1, not_channel=ch), company.kpi("revenue", a0, a1, not_channel=ch)
        inc = ta - tb * (ca / cb)
        return (inc * 365 / w - r["cost"]) / r["cost"]

    channel_scoped = ini[ini["channel"].notna() & ini["segment"].isna()]
    rois = {k: roi(r) for k, r in channel_scoped.iterrows()}
    assert rois["INI-04"] == pytest.approx(-1.0)   # the chat assistant sells nothing
    assert rois["INI-01"] > 0 and rois["INI-02"] < 0


# Goals are judged on their own period; goals without one are annual goals (strategy.md). 2025 is a whole
# year of data: final statuses (G02: first half of 2026, also final). docs/sample-company.md
EXPECTED_GOALS_2025 = {
    "G01": "missed", "G02": "met", "G03": "at_risk", "G04": "missed", "G05": "met",
    "G06": "missed", "G07": "met", "G08": "met", "G09": "at_risk", "G10": "missed",
    "G11": "missed", "G12": "missed", "G13": "met", "G14": "at_risk",
}
# 2026 is in progress (data end on 2026-10-31): its status is the pace from the forecast (foresight.md),
# which the pandas model here does not recompute; the story is one goal on track, one at risk, one off.
EXPECTED_PACE_2026 = {
    "G01": "on_track", "G02": "met", "G03": "off_track", "G04": "on_track", "G05": "on_track",
    "G06": "off_track", "G07": "on_track", "G08": "at_risk", "G09": "off_track", "G10": "off_track",
    "G11": "off_track", "G12": "off_track", "G13": "on_track", "G14": "off_track",
}


def test_goal_statuses_in_2025(company):
    got = company.goal_status(2025)
    assert {k: s for k, (_, s) in got.items()} == EXPECTED_GOALS_2025
    assert set(EXPECTED_GOALS_2025.values()) == {"met", "at_risk", "missed"}


def test_goal_story_in_2026(sample_store):
    from crm_metrics.judgement.scorecard import scorecard
    card = scorecard(sample_store)      # default: the rows containing the data's last day (else the latest)
    assert dict(zip(card["goal_id"], card["status"])) == EXPECTED_PACE_2026
    in_progress = card[~card["final"]]
    assert set(in_progress["period_start"].astype(str)) == {"2026-01-01"}
    assert {"on_track", "at_risk", "off_track"} <= set(in_progress["status"])
