"""The sample company: Northwind Bank, a fictional retail bank with 24 months of CRM data.

``generate(out_dir, customers=5000, seed=42)`` writes one CSV per table of the data contract
(customers, interactions, transactions, surveys, initiatives, goals, segments, channels) and
returns the number of rows written per table.

The data window is fixed: 2024-11-01 .. 2026-10-31 (not relative to today). Everything is drawn
from one ``numpy`` Generator family seeded by ``seed``: the same arguments give byte-identical
files. Generation is vectorised; the contacts, sales and surveys are generated per block of
customers and appended to the CSV files, so a million customers (about ten million contacts)
fit in a few GB of memory.

The data tells a story a first-time user discovers in the dashboard (docs/sample-company.md):

1. *Small Business* has a relationship strategy but is served by whoever is free in a large pool
   of advisors (low continuity, a minority of "relationship" customers); its CSAT and NPS are
   lower and its churn higher than the other relationship segments (Private Banking, Premier),
   whose customers mostly see their own advisor.
2. The *Phone first-call resolution programme* (go-live 2025-11-01) lifts first-contact
   resolution on the phone; other channels stay flat (difference-in-differences shows it).
3. The *Mobile app relaunch* (go-live 2026-04-01) raises the self-service share while effort
   gets worse (CES falls, repeat contacts rise): work shifted onto the customer.
4. Initiatives: one far over budget, one without KPI or objective (technology before
   strategy), at least one with a negative first-year ROI.
5. Goals judged over the whole window are a mix of met, at risk and missed.
6. Realistic flaws: ~1.5 % of fact rows reference unknown customers, ~6 % of assisted contacts
   carry no advisor, surveys answered for ~25 % of contacts, no wait time in self-service
   channels and missing handle times for some of them, a few refunds.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crm_metrics.data.schema import TABLES

# --------------------------------------------------------------------------------------------
# Fixed calendar
# --------------------------------------------------------------------------------------------
PERIOD_START = date(2024, 11, 1)
PERIOD_END = date(2026, 10, 31)
N_DAYS = (PERIOD_END - PERIOD_START).days + 1  # 730
_START64 = np.datetime64(PERIOD_START.isoformat(), "D")
_START_DOW = PERIOD_START.weekday()  # Monday = 0

PHONE_FCR_GO_LIVE = date(2025, 11, 1)
APP_RELAUNCH_GO_LIVE = date(2026, 4, 1)
CHAT_ASSISTANT_GO_LIVE = date(2025, 9, 15)
PREMIER_WELCOME_GO_LIVE = date(2026, 1, 12)

DEFAULT_CUSTOMERS = 5000
BLOCK_CUSTOMERS = 100_000  # customers per generation block (contacts, sales, surveys)

COMPANY = "Northwind Bank"

CHANNELS = ("branch", "phone", "email", "chat", "web", "mobile")
CHANNEL_KINDS = ("assisted", "assisted", "assisted", "assisted", "self_service", "self_service")
BRANCH, PHONE, EMAIL, CHAT, WEB, MOBILE = range(6)
ASSISTED = np.array([k == "assisted" for k in CHANNEL_KINDS])

REASONS = ("service", "inquiry", "sales", "complaint")
REASON_P = np.array([0.56, 0.29, 0.115, 0.035])

PRODUCTS = ("current account", "savings account", "credit card", "mortgage", "personal loan",
            "investment fund", "insurance", "business loan", "merchant services")
# median revenue per event (USD) and log-normal spread
PRODUCT_MEDIAN = np.array([45.0, 90.0, 150.0, 1600.0, 380.0, 700.0, 240.0, 1400.0, 320.0])
PRODUCT_SIGMA = 0.5

SALES_CHANNELS = (BRANCH, PHONE, WEB, MOBILE)

REGIONS = ("Capital", "North", "South", "East", "West")
ACQUISITION = ("branch", "phone", "web", "mobile", "referral")


@dataclass(frozen=True)
class SegmentSpec:
    name: str
    strategy: str
    statement: str
    share: float            # of the customer base
    prefix: str             # advisor id prefix
    customers_per_advisor: float
    min_pool: int
    p_assigned: float       # chance an assisted contact goes to the assigned advisor ...
    served_share: float     # ... for this share of the segment's customers (the others: P_ASSIGNED_LOW)
    annual_churn: float
    new_share: float        # fraction of customers who joined inside the data window
    tenure_years: float     # mean tenure of customers who joined before the window
    max_tenure_years: float
    contact_rate: float     # relative matters per customer-year
    channel_w: tuple[float, ...]   # branch, phone, email, chat, web, mobile
    csat_base: float
    nps_mu: float
    txn_rate: float         # revenue events per customer-year
    amount_mult: float
    product_w: tuple[float, ...]
    sales_channel_w: tuple[float, ...]  # branch, phone, web, mobile
    region_w: tuple[float, ...]
    acquisition_w: tuple[float, ...]
    complaint_mult: float


SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec(
        "Private Banking", "relationship",
        "Every client has a named private banker who knows their affairs and is reachable directly.",
        share=0.05, prefix="PB", customers_per_advisor=30, min_pool=2, p_assigned=0.94, served_share=0.98,
        annual_churn=0.035, new_share=0.10, tenure_years=11, max_tenure_years=35, contact_rate=1.45,
        channel_w=(0.28, 0.30, 0.16, 0.04, 0.10, 0.12), csat_base=0.30, nps_mu=8.7,
        txn_rate=3.0, amount_mult=3.0,
        product_w=(0.10, 0.15, 0.08, 0.12, 0.02, 0.38, 0.15, 0.0, 0.0),
        sales_channel_w=(0.55, 0.25, 0.10, 0.10), region_w=(0.45, 0.15, 0.15, 0.10, 0.15),
        acquisition_w=(0.40, 0.05, 0.03, 0.02, 0.50), complaint_mult=0.8),
    SegmentSpec(
        "Premier", "relationship",
        "Affluent customers get a dedicated Premier manager and proactive advice.",
        share=0.13, prefix="PR", customers_per_advisor=110, min_pool=3, p_assigned=0.92, served_share=0.96,
        annual_churn=0.06, new_share=0.14, tenure_years=8, max_tenure_years=30, contact_rate=1.25,
        channel_w=(0.22, 0.28, 0.10, 0.06, 0.14, 0.20), csat_base=0.22, nps_mu=8.3,
        txn_rate=2.2, amount_mult=1.6,
        product_w=(0.14, 0.20, 0.18, 0.16, 0.06, 0.16, 0.10, 0.0, 0.0),
        sales_channel_w=(0.40, 0.25, 0.15, 0.20), region_w=(0.32, 0.17, 0.17, 0.17, 0.17),
        acquisition_w=(0.45, 0.10, 0.12, 0.08, 0.25), complaint_mult=0.9),
    SegmentSpec(
        "Small Business", "relationship",
        "Each business owner has a relationship manager who understands the business.",
        share=0.12, prefix="SB", customers_per_advisor=12, min_pool=12, p_assigned=0.85, served_share=0.22,
        annual_churn=0.15, new_share=0.18, tenure_years=6, max_tenure_years=25, contact_rate=1.35,
        channel_w=(0.20, 0.34, 0.12, 0.06, 0.14, 0.14), csat_base=-0.30, nps_mu=6.9,
        txn_rate=2.6, amount_mult=1.5,
        product_w=(0.20, 0.08, 0.10, 0.0, 0.0, 0.04, 0.12, 0.24, 0.22),
        sales_channel_w=(0.40, 0.30, 0.15, 0.15), region_w=(0.25, 0.20, 0.20, 0.15, 0.20),
        acquisition_w=(0.55, 0.20, 0.15, 0.05, 0.05), complaint_mult=1.6),
    SegmentSpec(
        "Mass Retail", "transactional",
        "Serve everyday banking needs quickly and at low cost, digital first.",
        share=0.45, prefix="MR", customers_per_advisor=300, min_pool=8, p_assigned=0.0, served_share=0.0,
        annual_churn=0.09, new_share=0.18, tenure_years=9, max_tenure_years=40, contact_rate=0.90,
        channel_w=(0.12, 0.26, 0.05, 0.09, 0.20, 0.28), csat_base=0.05, nps_mu=7.8,
        txn_rate=1.1, amount_mult=1.0,
        product_w=(0.28, 0.20, 0.22, 0.07, 0.13, 0.02, 0.08, 0.0, 0.0),
        sales_channel_w=(0.25, 0.20, 0.25, 0.30), region_w=(0.20, 0.20, 0.20, 0.20, 0.20),
        acquisition_w=(0.45, 0.10, 0.25, 0.20, 0.0), complaint_mult=1.0),
    SegmentSpec(
        "Young Digital", "transactional",
        "Win young customers with a great mobile app; self-service first, people when it matters.",
        share=0.25, prefix="YD", customers_per_advisor=500, min_pool=5, p_assigned=0.0, served_share=0.0,
        annual_churn=0.13, new_share=0.38, tenure_years=2.5, max_tenure_years=7, contact_rate=0.95,
        channel_w=(0.03, 0.10, 0.03, 0.14, 0.15, 0.55), csat_base=0.10, nps_mu=7.9,
        txn_rate=1.2, amount_mult=0.7,
        product_w=(0.36, 0.16, 0.30, 0.01, 0.12, 0.02, 0.03, 0.0, 0.0),
        sales_channel_w=(0.05, 0.10, 0.25, 0.60), region_w=(0.30, 0.18, 0.18, 0.17, 0.17),
        acquisition_w=(0.05, 0.02, 0.33, 0.60, 0.0), complaint_mult=0.9),
)
SEGMENT_NAMES = tuple(s.name for s in SEGMENTS)

# Contacts per customer over the 24 months, averaged over the customers in customers.csv.
CONTACTS_PER_CUSTOMER = 10.0
_FOLLOWUP_FACTOR = 1.275  # contacts per matter (first contact + follow-ups), for calibration
GHOST_SHARE = 0.015       # fact rows whose customer is missing from customers.csv
ADVISOR_MISSING = 0.06    # assisted contacts with no advisor recorded
SURVEYED = np.array([0.28, 0.28, 0.20, 0.28, 0.22, 0.22])  # share of contacts with a CSAT answer
CES_GIVEN = 0.80          # of the surveyed, share who also answer the effort question
RESOLVED_EMPTY = np.array([0.02, 0.02, 0.10, 0.03, 0.12, 0.12])
REFUND_SHARE = 0.008
P_ASSIGNED_LOW = 0.15     # relationship customers whose advisor is never free
MAIN_PRODUCT_SHARE = 0.6  # revenue events on the customer's main product
PREMIER_WELCOME_LIFT = 0.12  # extra Premier sales after the welcome journey went live

# hour-of-day profiles per channel (24 weights)
_H = np.zeros((6, 24))
_H[BRANCH, 9:17] = [6, 8, 9, 10, 9, 8, 7, 5]
_H[PHONE, 8:20] = [6, 9, 10, 10, 9, 8, 8, 8, 7, 6, 5, 3]
_H[EMAIL] = [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 6, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 5, 4, 4, 3, 2]
_H[CHAT, 8:22] = [4, 6, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 5, 4]
_H[WEB] = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 5, 6, 6, 6, 7, 7, 6, 6, 6, 6, 6, 7, 7, 6, 4, 2]
_H[MOBILE] = [1.5, 0.8, 0.5, 0.4, 0.4, 0.8, 2, 5, 7, 6, 5, 5, 7, 7, 5, 5, 5, 6, 7, 8, 8, 7, 5, 3]
HOUR_CDF = np.cumsum(_H / _H.sum(axis=1, keepdims=True), axis=1)
HOUR_CDF[:, -1] = 1.0

# where a follow-up contact goes, by the channel of the contact that did not resolve the matter
ESCALATION = np.array([
    # branch phone email chat  web  mobile
    [0.45, 0.35, 0.10, 0.02, 0.03, 0.05],   # from branch
    [0.15, 0.65, 0.08, 0.04, 0.03, 0.05],   # from phone
    [0.08, 0.40, 0.40, 0.04, 0.04, 0.04],   # from email
    [0.06, 0.40, 0.10, 0.36, 0.04, 0.04],   # from chat
    [0.08, 0.42, 0.06, 0.12, 0.22, 0.10],   # from web
    [0.08, 0.45, 0.04, 0.12, 0.06, 0.25],   # from mobile
])
ESCALATION_CDF = np.cumsum(ESCALATION / ESCALATION.sum(axis=1, keepdims=True), axis=1)
ESCALATION_CDF[:, -1] = 1.0

# chance a contact resolves the matter (before the initiatives change it)
P_RESOLVE = np.array([0.88, 0.76, 0.70, 0.76, 0.72, 0.74])
P_RESOLVE_PHONE_AFTER = 0.90     # Phone first-call resolution programme
P_RESOLVE_MOBILE_AFTER = 0.58    # relaunched app: customers get stuck more often
MOBILE_BOOST = 1.35              # extra mobile weight after the relaunch (x (1 + boost))

# CSAT / CES latent-score effects per channel
CSAT_CHANNEL = np.array([0.35, 0.0, -0.25, 0.05, -0.05, 0.15])
CES_CHANNEL = np.array([0.50, 0.15, -0.35, 0.25, 0.0, 0.55])
CES_MOBILE_AFTER = -1.25
CSAT_MOBILE_AFTER = -0.35
CSAT_CUTS = np.array([-1.9, -1.2, -0.3, 1.0])         # 1|2, 2|3, 3|4, 4|5
CES_CUTS = np.array([-2.4, -1.7, -1.0, -0.3, 0.5, 1.4])  # 1|2 ... 6|7

MONTH_SEASON = np.array([1.18, 1.05, 1.06, 1.00, 0.98, 0.95, 0.86, 0.84, 1.00, 1.04, 1.02, 0.92])
WEEKDAY_CONTACT = np.array([1.18, 1.06, 1.02, 1.00, 1.04, 0.55, 0.35])
WEEKDAY_SALES = np.array([1.15, 1.10, 1.05, 1.05, 1.10, 0.45, 0.10])


# --------------------------------------------------------------------------------------------
# Strategy tables and initiatives
# --------------------------------------------------------------------------------------------
OBJ_WALLET = "Grow share of wallet with affluent customers"
OBJ_COST = "Lower cost to serve"
OBJ_KEEP = "Keep the customers we have"
OBJ_KNOW = "Know our customers: one customer view"
OBJ_SB = "Be the small-business owner's bank"

# (initiative_id, name, go_live, cost, budget, channel, segment, kpi, objective); cost and
# budget in USD for the default company of 5,000 customers, scaled with the company's size.
INITIATIVES = (
    ("INI-01", "Phone first-call resolution programme", "2025-11-01", 62_000, 70_000,
     "phone", "", "fcr_rate", OBJ_COST),
    # judged on customer effort inside the mobile channel: self-service share cannot move there (every
    # mobile contact is self-service), effort can, and the relaunch made the app harder to use
    ("INI-02", "Mobile app relaunch", "2026-04-01", 318_000, 220_000,
     "mobile", "", "ces", OBJ_COST),
    ("INI-03", "New CRM platform licence upgrade", "2025-03-03", 145_000, 150_000,
     "", "", "", ""),
    ("INI-04", "Chat assistant for the contact centre", "2025-09-15", 48_000, 50_000,
     "chat", "", "avg_wait_time", OBJ_COST),
    ("INI-05", "Private banker workstation", "2025-06-02", 58_000, 52_000,
     "", "Private Banking", "relationship_share", OBJ_WALLET),
    ("INI-06", "Premier welcome journey", "2026-01-12", 45_000, 50_000,
     "", "Premier", "cross_sell_rate", OBJ_WALLET),
)

# (goal_id, kpi, target, direction, channel, segment, period_start, period_end, tolerance,
#  objective, owner). Goals without a period are annual goals: one scorecard row per calendar year,
#  targets for one year (a year's churn, a year's relationship share, a year's revenue per customer).
#  Data end on 2026-10-31, so 2026 is in progress: G01, G04, G05, G07, G13 on track, G08 at risk,
#  the others off track; G02 (first half of 2026) is final and met.
GOALS = (
    ("G01", "fcr_rate", 75, "", "phone", "", "", "", "", OBJ_COST, "Head of Contact Centre"),
    ("G02", "fcr_rate", 72, "", "phone", "", "2026-01-01", "2026-06-30", "", OBJ_COST,
     "Head of Contact Centre"),
    ("G03", "avg_wait_time", 63, "", "phone", "", "", "", "", OBJ_COST, "Head of Contact Centre"),
    ("G04", "self_service_share", 45, "at_least", "", "", "", "", "", OBJ_COST, "Head of Digital"),
    ("G05", "csat", 82, "", "", "", "", "", "", OBJ_KEEP, "Chief Customer Officer"),
    ("G06", "nps", 25, "", "", "", "", "", "0.10", OBJ_KEEP, "Chief Customer Officer"),
    ("G07", "churn_rate", 15, "", "", "", "", "", "", OBJ_KEEP, "Chief Customer Officer"),
    ("G08", "relationship_share", 70, "", "", "Private Banking", "", "", "", OBJ_WALLET,
     "Head of Private Banking"),
    ("G09", "relationship_share", 70, "", "", "Premier", "", "", "", OBJ_WALLET, "Head of Premier"),
    ("G10", "relationship_share", 60, "", "", "Small Business", "", "", "", OBJ_SB,
     "Head of Small Business"),
    ("G11", "churn_rate", 12, "", "", "Small Business", "", "", "", OBJ_SB, "Head of Small Business"),
    ("G12", "cross_sell_rate", 72, "", "", "Premier", "", "", "", OBJ_WALLET, "Head of Premier"),
    ("G13", "revenue_per_customer", 4000, "", "", "Private Banking", "", "", "", OBJ_WALLET,
     "Head of Private Banking"),
    ("G14", "customer_match_rate", 99.5, "", "", "", "", "", "", OBJ_KNOW, "Chief Data Officer"),
)


def _num(v: float | int | str) -> str:
    if v == "" or v is None:
        return ""
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)


def _static_tables(scale: float) -> dict[str, list[list[str]]]:
    """The small tables as rows of CSV cells (costs scaled with the company's size)."""
    def money(x: float) -> str:
        x = x * scale
        return _num(round(x, -2) if x >= 1000 else round(x))

    initiatives = [[i, n, g, money(c), money(b), ch, sg, k, o]
                   for (i, n, g, c, b, ch, sg, k, o) in INITIATIVES]
    goals = [[g[0], g[1], _num(g[2]), *g[3:8], _num(g[8]), g[9], g[10]] for g in GOALS]
    segments = [[s.name, s.strategy, s.statement] for s in SEGMENTS]
    channels = [[c, k] for c, k in zip(CHANNELS, CHANNEL_KINDS)]
    return {"initiatives": initiatives, "goals": goals, "segments": segments, "channels": channels}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _day_index(d: date) -> int:
    return (d - PERIOD_START).days


def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day of the window: day of week, month index 0-11, and the contact / sales weights."""
    days = _START64 + np.arange(N_DAYS)
    dow = (np.arange(N_DAYS) + _START_DOW) % 7
    month = days.astype("datetime64[M]").astype(int) % 12
    w_contact = WEEKDAY_CONTACT[dow] * MONTH_SEASON[month]
    w_sales = WEEKDAY_SALES[dow] * (0.5 + 0.5 * MONTH_SEASON[month])
    cum_c = np.concatenate([[0.0], np.cumsum(w_contact)])
    cum_s = np.concatenate([[0.0], np.cumsum(w_sales)])
    return dow, cum_c, cum_s


def _ramp(day: np.ndarray, go_live: date, ramp_days: int) -> np.ndarray:
    """0 before go-live, rising linearly to 1 over ``ramp_days``."""
    return np.clip((day - _day_index(go_live) + 1) / ramp_days, 0.0, 1.0)


def _draw_days(rng: np.random.Generator, cum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A day in [a, b] (inclusive, day indices) per row, following the weights behind ``cum``."""
    lo, hi = cum[a], cum[b + 1]
    u = lo + rng.random(a.size) * (hi - lo)
    d = np.searchsorted(cum, u, side="right") - 1
    return np.clip(d, a, b)


def _pick(rng: np.random.Generator, cdf_rows: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw from per-row cumulative probabilities (n x k)."""
    u = rng.random(cdf_rows.shape[0])[:, None]
    return np.minimum((u >= cdf_rows).sum(axis=1), cdf_rows.shape[1] - 1)


def _seconds_of_day(rng: np.random.Generator, ch: np.ndarray) -> np.ndarray:
    hour = _pick(rng, HOUR_CDF[ch])
    return hour * 3600 + rng.integers(0, 3600, ch.size)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    s = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    s = pc.utf8_lpad(s, width=width, padding="0")
    return pc.binary_join_element_wise(prefix, s, "")


def _take(labels: list[str] | tuple[str, ...], idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Strings ``labels[idx]``; null where ``mask`` is False (or idx < 0)."""
    idx = np.asarray(idx, dtype=np.int64)
    valid = idx >= 0 if mask is None else (mask & (idx >= 0))
    dict_arr = pa.DictionaryArray.from_arrays(
        pa.array(np.where(valid, idx, 0), pa.int32(), mask=~valid), pa.array(list(labels), pa.string()))
    return dict_arr.cast(pa.string())


def _ts(seconds: np.ndarray) -> pa.Array:
    """Seconds since the window start -> timestamp[s]."""
    base = _START64.astype("datetime64[s]")
    return pa.array(base + seconds.astype("timedelta64[s]"))


def _int_or_null(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), pa.int64(), mask=~mask)


def _bool_or_null(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array(values.astype(bool), pa.bool_(), mask=~mask)


class _CsvOut:
    """One CSV file written in pieces, header = the contract's column names.

    Generated tables go through pyarrow unquoted (their values come from fixed vocabularies;
    arrow refuses a value that would need quoting); the small strategy tables go through the
    csv module, which quotes only where needed (e.g. a statement with a comma)."""

    def __init__(self, path: Path, table: str) -> None:
        self.columns = TABLES[table].column_names
        self.fh = open(path, "wb")
        self.fh.write((",".join(self.columns) + "\n").encode())
        self.rows = 0
        self.opts = pacsv.WriteOptions(include_header=False, quoting_style="none")

    def write(self, t: pa.Table) -> None:
        assert tuple(t.column_names) == self.columns, (t.column_names, self.columns)
        pacsv.write_csv(t, self.fh, self.opts)
        self.rows += t.num_rows

    def write_rows(self, rows: list[list[str]]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.fh.write(buf.getvalue().encode("utf-8"))
        self.rows += len(rows)

    def close(self) -> None:
        self.fh.close()


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------
@dataclass
class _Population:
    """Everybody the company's systems know about, including 'ghosts' missing from customers.csv."""
    seg: np.ndarray         # segment index
    joined: np.ndarray      # day index relative to the window start (negative = before)
    left: np.ndarray        # day index, or -1 << 30 when still a customer
    ghost: np.ndarray       # bool: not in customers.csv
    advisor: np.ndarray     # index into the segment's pool, -1 = none
    p_own: np.ndarray       # chance an assisted contact reaches the assigned advisor
    product: np.ndarray     # the customer's main product (most revenue events are on it)
    mood: np.ndarray        # latent satisfaction (N(0,1))
    activity: np.ndarray    # contact propensity multiplier
    region: np.ndarray
    acq: np.ndarray         # acquisition channel index, -1 = unknown
    pool: np.ndarray        # advisor pool size per segment
    pool_offset: np.ndarray  # offset of each segment's pool in the global advisor list
    advisor_ids: list[str]

    def __post_init__(self) -> None:
        self.first = np.maximum(self.joined, 0)   # first active day inside the window
        self.last = np.where(self.left >= 0, np.minimum(self.left, N_DAYS - 1), N_DAYS - 1)


NOT_LEFT = -(1 << 30)


def _population(rng: np.random.Generator, customers: int) -> _Population:
    n_ghost = int(round(customers * GHOST_SHARE))
    total = customers + n_ghost
    shares = np.array([s.share for s in SEGMENTS])
    counts = np.floor(shares * total).astype(int)
    counts[np.argsort(-(shares * total - counts))[: total - counts.sum()]] += 1
    seg = rng.permutation(np.repeat(np.arange(len(SEGMENTS)), counts))

    mood = rng.standard_normal(total)
    activity = rng.gamma(2.0, 0.5, total)
    new_share = np.array([s.new_share for s in SEGMENTS])[seg]
    is_new = rng.random(total) < new_share
    _, cum_c, _ = _calendar()
    joined_new = _draw_days(rng, cum_c, np.zeros(total, np.int64), np.full(total, N_DAYS - 1, np.int64))
    tenure_mean = np.array([s.tenure_years for s in SEGMENTS])[seg]
    tenure_max = np.array([s.max_tenure_years for s in SEGMENTS])[seg]
    tenure = np.minimum(rng.exponential(tenure_mean), tenure_max * rng.uniform(0.6, 1.0, total))
    joined_old = -1 - np.floor(tenure * 365.25).astype(np.int64)
    joined = np.where(is_new, joined_new, joined_old)

    churn = np.array([s.annual_churn for s in SEGMENTS])[seg]
    hazard = -np.log1p(-churn) / 365.25 * np.exp(-0.35 * mood)
    # new customers: a little extra early churn (buyer's remorse)
    hazard = hazard * np.where(is_new, 1.15, 1.0)
    exposure_start = np.maximum(joined + 1, 0)
    left = exposure_start + np.floor(rng.exponential(1.0 / hazard)).astype(np.int64)
    left = np.where(left <= N_DAYS - 1, left, NOT_LEFT)

    pool = np.array([max(s.min_pool, int(np.ceil(c / s.customers_per_advisor)))
                     for s, c in zip(SEGMENTS, counts)])
    pool_offset = np.concatenate([[0], np.cumsum(pool)[:-1]])
    advisor_ids = [f"{s.prefix}-{i + 1:0{max(3, len(str(p)))}d}"
                   for s, p in zip(SEGMENTS, pool) for i in range(p)]
    relationship = np.array([s.strategy == "relationship" for s in SEGMENTS])[seg]
    advisor = np.floor(rng.random(total) * pool[seg]).astype(np.int64)
    has_advisor = relationship & (rng.random(total) < 0.97)
    advisor = np.where(has_advisor, advisor, -1)
    served = rng.random(total) < np.array([s.served_share for s in SEGMENTS])[seg]
    p_own = np.where(served, np.array([s.p_assigned for s in SEGMENTS])[seg], P_ASSIGNED_LOW)
    p_own = np.where(has_advisor, p_own, 0.0)
    pw = np.array([s.product_w for s in SEGMENTS])
    product = _pick(rng, np.cumsum(pw / pw.sum(axis=1, keepdims=True), axis=1)[seg])

    region_cdf = np.cumsum(np.array([s.region_w for s in SEGMENTS]), axis=1)
    region = _pick(rng, region_cdf[seg])
    acq_w = np.array([s.acquisition_w for s in SEGMENTS])
    acq_cdf = np.cumsum(acq_w / acq_w.sum(axis=1, keepdims=True), axis=1)
    acq = _pick(rng, acq_cdf[seg])
    acq = np.where(rng.random(total) < 0.03, -1, acq)

    ghost = np.zeros(total, bool)
    ghost[rng.choice(total, n_ghost, replace=False)] = True

    # ids follow the order customers joined (as a CRM would number them)
    order = np.argsort(joined, kind="stable")
    return _Population(seg=seg[order], joined=joined[order], left=left[order], ghost=ghost[order],
                       advisor=advisor[order], p_own=p_own[order], product=product[order], mood=mood[order], activity=activity[order],
                       region=region[order], acq=acq[order], pool=pool, pool_offset=pool_offset,
                       advisor_ids=advisor_ids)


def _customers_table(pop: _Population, width: int) -> pa.Table:
    keep = ~pop.ghost
    idx = np.flatnonzero(keep)
    joined = _START64 + pop.joined[idx]
    left_known = pop.left[idx] >= 0
    left = _START64 + np.where(left_known, pop.left[idx], 0)
    adv = pop.advisor[idx]
    adv_global = np.where(adv >= 0, pop.pool_offset[pop.seg[idx]] + adv, -1)
    return pa.table({
        "customer_id": _ids("C", idx + 1, width),
        "segment": _take(SEGMENT_NAMES, pop.seg[idx]),
        "joined_on": pa.array(joined),
        "left_on": pa.array(left, mask=~left_known),
        "advisor_id": _take(pop.advisor_ids, adv_global),
        "region": _take(REGIONS, pop.region[idx]),
        "acquisition_channel": _take(ACQUISITION, pop.acq[idx]),
    })


# --------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------
def _channel_multipliers() -> np.ndarray:
    """Per day x channel weight multipliers: slow digital drift plus the app relaunch."""
    day = np.arange(N_DAYS)
    m = np.ones((N_DAYS, 6))
    m[:, WEB] *= 1.0 + 0.04 * day / 365
    m[:, MOBILE] *= (1.0 + 0.06 * day / 365) * (1.0 + MOBILE_BOOST * _ramp(day, APP_RELAUNCH_GO_LIVE, 45))
    m[:, BRANCH] *= 1.0 - 0.05 * day / 365
    return m


def _contacts_block(rng: np.random.Generator, pop: _Population, lo: int, hi: int,
                    episode_scale: float, cum_c: np.ndarray, dow: np.ndarray) -> dict[str, np.ndarray]:
    cust = np.arange(lo, hi)
    seg = pop.seg[cust]
    a, b = pop.first[cust], pop.last[cust]
    rate = np.array([s.contact_rate for s in SEGMENTS])[seg] * pop.activity[cust]
    mass = (cum_c[b + 1] - cum_c[a]) / 365.0
    n_ep = rng.poisson(rate * mass * episode_scale)
    e_cust = np.repeat(cust, n_ep)
    e_seg = pop.seg[e_cust]
    e_a, e_b = pop.first[e_cust], pop.last[e_cust]
    day = _draw_days(rng, cum_c, e_a, e_b)

    chw = np.array([s.channel_w for s in SEGMENTS])[e_seg] * _channel_multipliers()[day]
    cdf = np.cumsum(chw / chw.sum(axis=1, keepdims=True), axis=1)
    ch = _pick(rng, cdf)
    reason = _pick(rng, np.tile(np.cumsum(REASON_P), (ch.size, 1)))
    comp_mult = np.array([s.complaint_mult for s in SEGMENTS])[e_seg]
    reason = np.where((reason != 3) & (rng.random(ch.size) < REASON_P[3] * (comp_mult - 1).clip(0)), 3, reason)
    sec = _seconds_of_day(rng, ch)
    # branches are closed on Sundays: move to Monday (or Saturday at the end of a relationship)
    sunday_branch = (ch == BRANCH) & (dow[day] == 6)
    day = np.where(sunday_branch, np.where(day + 1 <= e_b, day + 1, np.maximum(day - 1, e_a)), day)
    ts = day.astype(np.int64) * 86400 + sec

    parts = []
    cur = {"cust": e_cust, "ts": ts, "ch": ch, "reason": reason, "round": np.zeros(ch.size, np.int8)}
    for rnd in range(3):
        n = cur["ch"].size
        d = cur["ts"] // 86400
        ch = cur["ch"]
        p = P_RESOLVE[ch].copy()
        phone_after = _ramp(d, PHONE_FCR_GO_LIVE, 14)
        p = np.where(ch == PHONE, p + (P_RESOLVE_PHONE_AFTER - P_RESOLVE[PHONE]) * phone_after, p)
        mobile_after = _ramp(d, APP_RELAUNCH_GO_LIVE, 45)
        p = np.where(ch == MOBILE, p + (P_RESOLVE_MOBILE_AFTER - P_RESOLVE[MOBILE]) * mobile_after, p)
        p = p - 0.06 * cur["round"]  # harder matters survive into follow-ups
        resolved = rng.random(n) < p
        cur["resolved"] = resolved
        parts.append(cur)
        if rnd == 2:
            break
        follow = ~resolved & (rng.random(n) < 0.82)
        f = np.flatnonzero(follow)
        f_cust = cur["cust"][f]
        f_ch = _pick(rng, ESCALATION_CDF[cur["ch"][f]])
        delay_h = rng.lognormal(np.log(26.0), 1.05, f.size)
        f_day = (cur["ts"][f] + (delay_h * 3600).astype(np.int64)) // 86400
        f_sec = _seconds_of_day(rng, f_ch)
        f_ts = f_day * 86400 + f_sec
        f_ts = np.where(f_ts <= cur["ts"][f], f_ts + 86400, f_ts)
        f_dayi = f_ts // 86400
        f_sun = (f_ch == BRANCH) & (dow[np.minimum(f_dayi, N_DAYS - 1)] == 6)
        f_ts = f_ts + np.where(f_sun, 86400, 0)
        ok = (f_ts // 86400) <= pop.last[f_cust]
        f_reason = np.where(rng.random(f.size) < 0.10, 3, cur["reason"][f])
        cur = {"cust": f_cust[ok], "ts": f_ts[ok], "ch": f_ch[ok], "reason": f_reason[ok],
               "round": np.full(int(ok.sum()), rnd + 1, np.int8)}

    c = {k: np.concatenate([p_[k] for p_ in parts]) for k in parts[0]}
    order = np.lexsort((c["cust"], c["ts"]))
    c = {k: v[order] for k, v in c.items()}
    # no two contacts of one customer at the same second ("later" must be strictly later)
    by_c = np.lexsort((c["ts"], c["cust"]))
    dup = np.zeros(by_c.size, bool)
    dup[1:] = (c["cust"][by_c][1:] == c["cust"][by_c][:-1]) & (c["ts"][by_c][1:] == c["ts"][by_c][:-1])
    c["ts"][by_c[dup]] += 1
    return c


def _interactions_table(rng: np.random.Generator, pop: _Population, c: dict[str, np.ndarray],
                        first_id: int, id_width: int, cust_width: int) -> pa.Table:
    n = c["ch"].size
    cust, ch, ts = c["cust"], c["ch"], c["ts"]
    day = ts // 86400
    seg = pop.seg[cust]
    assisted = ASSISTED[ch]
    specs = SEGMENTS

    # advisor: relationship customers reach their assigned advisor with p_own, else anyone free
    p_assigned = pop.p_own[cust] * np.where(ch == CHAT, 0.6, 1.0)
    own = pop.advisor[cust]
    to_own = (own >= 0) & (rng.random(n) < p_assigned)
    random_adv = np.floor(rng.random(n) * pop.pool[seg]).astype(np.int64)
    adv_local = np.where(to_own, own, random_adv)
    adv_global = pop.pool_offset[seg] + adv_local
    adv_logged = assisted & (rng.random(n) >= ADVISOR_MISSING)
    with_own = assisted & to_own

    # times
    mobile_after = _ramp(day, APP_RELAUNCH_GO_LIVE, 45)
    chat_after = _ramp(day, CHAT_ASSISTANT_GO_LIVE, 21)
    month = ((_START64 + day).astype("datetime64[M]").astype(int)) % 12
    handle_med = np.array([900.0, 330.0, 420.0, 480.0, 160.0, 120.0])[ch]
    handle_med = handle_med * np.where(ch == MOBILE, 1.0 + 0.5 * mobile_after, 1.0)
    handle = np.round(rng.lognormal(np.log(handle_med), 0.55)).astype(np.int64)
    wait_med = np.array([300.0, 42.0, 0.0, 55.0, 0.0, 0.0])[ch]
    wait_med = wait_med * np.where(ch == PHONE, MONTH_SEASON[month] ** 3, 1.0)
    wait_med = wait_med * np.where(ch == CHAT, 1.0 - 0.6 * chat_after, 1.0)
    wait = np.round(rng.lognormal(np.log(np.maximum(wait_med, 1.0)), 0.9)).astype(np.int64)
    has_wait = np.isin(ch, (BRANCH, PHONE, CHAT)) & (rng.random(n) >= 0.01)
    has_handle = np.where(assisted, rng.random(n) >= 0.01, rng.random(n) >= 0.35)

    # resolved as recorded: true when resolved, sometimes (optimistically) true when not
    actual = c["resolved"]
    recorded = actual | (rng.random(n) < 0.15)
    has_resolved = rng.random(n) >= RESOLVED_EMPTY[ch]

    # surveys on the contact
    mood = pop.mood[cust]
    csat_base = np.array([s.csat_base for s in specs])[seg]
    wait_pen = np.where(has_wait, np.clip((wait - 60) / 300.0, 0, 1.0), 0.0)
    lat = (0.9 + csat_base + CSAT_CHANNEL[ch] + np.where(actual, 0.55, -1.1) - 0.35 * (c["round"] > 0)
           + 0.45 * with_own - 0.6 * wait_pen + CSAT_MOBILE_AFTER * (ch == MOBILE) * mobile_after
           + 0.35 * mood + rng.standard_normal(n))
    csat = 1 + (lat[:, None] > CSAT_CUTS[None, :]).sum(axis=1)
    lat_e = (0.3 + CES_CHANNEL[ch] + np.where(actual, 0.7, -1.2) - 0.5 * (c["round"] > 0)
             + 0.2 * with_own + CES_MOBILE_AFTER * (ch == MOBILE) * mobile_after
             + 0.2 * mood + rng.standard_normal(n))
    ces = 1 + (lat_e[:, None] > CES_CUTS[None, :]).sum(axis=1)
    surveyed = rng.random(n) < SURVEYED[ch]
    ces_given = surveyed & (rng.random(n) < CES_GIVEN)
    has_reason = rng.random(n) >= 0.015

    return pa.table({
        "interaction_id": _ids("I", np.arange(first_id, first_id + n), id_width),
        "customer_id": _ids("C", cust + 1, cust_width),
        "occurred_at": _ts(ts),
        "channel": _take(CHANNELS, ch),
        "advisor_id": _take(pop.advisor_ids, np.where(adv_logged, adv_global, -1)),
        "reason": _take(REASONS, c["reason"], has_reason),
        "handle_seconds": _int_or_null(handle, has_handle),
        "wait_seconds": _int_or_null(wait, has_wait),
        "resolved": _bool_or_null(recorded, has_resolved),
        "csat": _int_or_null(csat, surveyed),
        "ces": _int_or_null(ces, ces_given),
    })


# --------------------------------------------------------------------------------------------
# Sales and surveys
# --------------------------------------------------------------------------------------------
def _transactions_table(rng: np.random.Generator, pop: _Population, lo: int, hi: int,
                        cum_s: np.ndarray, first_id: int, id_width: int, cust_width: int) -> pa.Table:
    cust = np.arange(lo, hi)
    seg = pop.seg[cust]
    a, b = pop.first[cust], pop.last[cust]
    premier = SEGMENT_NAMES.index("Premier")
    rate = np.array([s.txn_rate for s in SEGMENTS])[seg] * np.sqrt(pop.activity[cust]) * np.exp(0.15 * pop.mood[cust])
    rate = rate * np.where(seg == premier, 1.0 + PREMIER_WELCOME_LIFT, 1.0)
    mass = (cum_s[b + 1] - cum_s[a]) / (cum_s[-1] / N_DAYS * 365.0)
    n_tx = rng.poisson(rate * mass)
    t_cust = np.repeat(cust, n_tx)
    t_seg = pop.seg[t_cust]
    day = _draw_days(rng, cum_s, pop.first[t_cust], pop.last[t_cust])
    # Premier: drawn at the lifted rate, thinned back to the normal rate before the welcome journey
    lift = 1.0 + PREMIER_WELCOME_LIFT * _ramp(day, PREMIER_WELCOME_GO_LIVE, 30)
    keep = (t_seg != premier) | (rng.random(day.size) < lift / (1.0 + PREMIER_WELCOME_LIFT))
    t_cust, t_seg, day = t_cust[keep], t_seg[keep], day[keep]
    n = t_cust.size

    pw = np.array([s.product_w for s in SEGMENTS])
    product = _pick(rng, np.cumsum(pw / pw.sum(axis=1, keepdims=True), axis=1)[t_seg])
    product = np.where(rng.random(n) < MAIN_PRODUCT_SHARE, pop.product[t_cust], product)
    mult = np.array([s.amount_mult for s in SEGMENTS])[t_seg]
    amount = rng.lognormal(np.log(PRODUCT_MEDIAN[product] * mult), PRODUCT_SIGMA)
    refund = rng.random(n) < REFUND_SHARE
    amount = np.where(refund, -np.minimum(amount, rng.uniform(15, 250, n)), amount)
    amount = np.round(amount, 2)

    sw = np.array([s.sales_channel_w for s in SEGMENTS])[t_seg].copy()
    sw[:, 1] *= 1.0 + 0.60 * _ramp(day, PHONE_FCR_GO_LIVE, 30)          # phone: callers now buy
    sw[:, 3] *= 1.0 + 0.60 * _ramp(day, APP_RELAUNCH_GO_LIVE, 45)       # mobile: new app sells
    # mortgages and business loans are not sold in the app or on the web
    big = np.isin(product, (3, 7))
    sw[big, 2:] *= 0.1
    sch = _pick(rng, np.cumsum(sw / sw.sum(axis=1, keepdims=True), axis=1))
    ch = np.array(SALES_CHANNELS)[sch]
    has_ch = rng.random(n) >= 0.01
    sec = _seconds_of_day(rng, ch)
    ts = day.astype(np.int64) * 86400 + sec
    order = np.lexsort((t_cust, ts))
    return pa.table({
        "transaction_id": _ids("T", np.arange(first_id, first_id + n), id_width),
        "customer_id": _ids("C", t_cust[order] + 1, cust_width),
        "occurred_on": _ts(ts[order]),
        "product": _take(PRODUCTS, product[order]),
        "amount": pa.array(amount[order], pa.float64()),
        "channel": _take(CHANNELS, ch[order], has_ch[order]),
    })


def _surveys_table(rng: np.random.Generator, pop: _Population, lo: int, hi: int,
                   cum_c: np.ndarray, first_id: int, id_width: int, cust_width: int) -> pa.Table:
    cust = np.arange(lo, hi)
    a, b = pop.first[cust], pop.last[cust]
    years = (b - a + 1) / 365.0
    n_s = rng.poisson(0.45 * years)
    s_cust = np.repeat(cust, n_s)
    seg = pop.seg[s_cust]
    day = _draw_days(rng, cum_c, pop.first[s_cust], pop.last[s_cust])
    n = s_cust.size
    mu = np.array([s.nps_mu for s in SEGMENTS])[seg] + 1.1 * pop.mood[s_cust]
    # the relaunched app annoys mobile-first customers a little
    mu = mu - 0.4 * (seg == SEGMENT_NAMES.index("Young Digital")) * _ramp(day, APP_RELAUNCH_GO_LIVE, 60)
    nps = np.clip(np.round(mu + 1.6 * rng.standard_normal(n)), 0, 10).astype(np.int64)
    sch = _pick(rng, np.tile(np.cumsum([0.55, 0.15, 0.20, 0.10]), (n, 1)))
    ch = np.array([EMAIL, WEB, MOBILE, PHONE])[sch]
    order = np.lexsort((s_cust, day))
    return pa.table({
        "response_id": _ids("R", np.arange(first_id, first_id + n), id_width),
        "customer_id": _ids("C", s_cust[order] + 1, cust_width),
        "answered_on": pa.array(_START64 + day[order]),
        "nps": pa.array(nps[order], pa.int64()),
        "channel": _take(CHANNELS, ch[order]),
    })


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------
def generate(out_dir: str | Path, customers: int = DEFAULT_CUSTOMERS, seed: int = 42) -> dict[str, int]:
    """Write Northwind Bank's CSV files (one per table of the data contract) into ``out_dir``.

    ``customers`` is the number of rows of customers.csv (about 10 contacts each over the 24
    months). Same ``customers`` and ``seed`` give byte-identical files. Returns rows per table.
    """
    customers = int(customers)
    if customers < 1:
        raise ValueError("customers must be at least 1")
    seed = int(seed)
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng([seed, 0])
    pop = _population(rng, customers)
    total = pop.seg.size
    cust_width = max(7, len(str(total)))
    id_width = max(8, len(str(total * 40)))

    dow, cum_c, cum_s = _calendar()
    # matters per customer-year so that contacts average CONTACTS_PER_CUSTOMER per known customer
    rate = np.array([s.contact_rate for s in SEGMENTS])[pop.seg] * pop.activity
    mass = (cum_c[pop.last + 1] - cum_c[pop.first]) / 365.0
    episode_scale = CONTACTS_PER_CUSTOMER * total / (_FOLLOWUP_FACTOR * float((rate * mass).sum()))

    counts: dict[str, int] = {}
    w = _CsvOut(out / "customers.csv", "customers")
    w.write(_customers_table(pop, cust_width))
    w.close()
    counts["customers"] = w.rows

    outs = {t: _CsvOut(out / f"{t}.csv", t) for t in ("interactions", "transactions", "surveys")}
    try:
        for block, lo in enumerate(range(0, total, BLOCK_CUSTOMERS)):
            hi = min(lo + BLOCK_CUSTOMERS, total)
            brng = np.random.default_rng([seed, 1, block])
            c = _contacts_block(brng, pop, lo, hi, episode_scale, cum_c, dow)
            outs["interactions"].write(_interactions_table(
                brng, pop, c, outs["interactions"].rows + 1, id_width, cust_width))
            del c
            outs["transactions"].write(_transactions_table(
                brng, pop, lo, hi, cum_s, outs["transactions"].rows + 1, id_width, cust_width))
            outs["surveys"].write(_surveys_table(
                brng, pop, lo, hi, cum_c, outs["surveys"].rows + 1, id_width, cust_width))
    finally:
        for o in outs.values():
            o.close()
    counts.update({t: o.rows for t, o in outs.items()})

    for name, table in _static_tables(customers / DEFAULT_CUSTOMERS).items():
        w = _CsvOut(out / f"{name}.csv", name)
        w.write_rows(table)
        w.close()
        counts[name] = w.rows
    return {t: counts[t] for t in TABLES}


__all__ = ["generate", "DEFAULT_CUSTOMERS", "PERIOD_START", "PERIOD_END", "SEGMENTS", "CHANNELS"]
