"""The registry, the compute API's contract (errors, grains, periods, shape) and the generated SQL."""
from __future__ import annotations

import itertools
from dataclasses import FrozenInstanceError
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlglot

from crm_metrics.metrics.kpis import (
    DIMENSIONS,
    KPIS,
    Kpi,
    KpiError,
    MissingDataError,
    build_sql,
    compute,
    get_kpi,
    render_kpi_reference,
)

SPEC_ORDER = [
    "contacts", "contacts_per_customer", "fcr_rate", "repeat_contact_rate", "avg_handle_time", "avg_wait_time",
    "sla_attainment", "csat", "ces", "complaint_rate", "self_service_share", "advisor_logged_rate",
    "multichannel_rate", "upc", "coc", "secon", "relationship_share", "pseudo_relationship_share",
    "encounter_share", "customer_base", "new_customers", "retention_rate", "churn_rate", "clv", "revenue",
    "revenue_per_customer", "avg_order_value", "repeat_purchase_rate", "products_per_customer",
    "cross_sell_rate", "nps", "customer_match_rate",
]


def ix(iid, cust, when, channel="phone", **kw):
    return dict(interaction_id=iid, customer_id=cust, occurred_at=when, channel=channel, **kw)


# -- registry -----------------------------------------------------------------------------------

def test_registry_order_and_fields():
    assert list(KPIS) == SPEC_ORDER
    for kid, k in KPIS.items():
        assert isinstance(k, Kpi) and k.id == kid and get_kpi(kid) is k
        assert k.label and k.description and k.formula and k.n_label
        assert k.unit in ("count", "%", "ratio", "seconds", "score", "currency")
        assert k.better in ("higher", "lower", "neutral")
        assert k.family in k.families
        assert set(k.dimensions) <= set(DIMENSIONS)
        assert k.tables and set(k.tables) <= {"customers", "interactions", "transactions", "surveys"}
    with pytest.raises(FrozenInstanceError):
        KPIS["nps"].label = "x"  # type: ignore[misc]


def test_spec_facts():
    # labels, units, better and special dimension rules straight from kpis.md
    assert KPIS["fcr_rate"].label == "First-contact resolution" and KPIS["fcr_rate"].better == "higher"
    assert KPIS["repeat_contact_rate"].better == "lower" and KPIS["churn_rate"].better == "lower"
    assert KPIS["clv"].unit == "currency" and KPIS["nps"].unit == "score" and KPIS["upc"].unit == "ratio"
    assert "channel" not in KPIS["multichannel_rate"].dimensions
    assert KPIS["customer_match_rate"].dimensions == ("period",)
    for kid in ("advisor_logged_rate", "multichannel_rate", "customer_match_rate"):
        assert "data_quality" in KPIS[kid].families
    assert {k.family for k in KPIS.values()} == {"service", "relationships", "customers", "value", "data_quality"}
    assert KPIS["nps"].tables == ("surveys",) and KPIS["clv"].tables == ("customers", "transactions")


# -- errors -------------------------------------------------------------------------------------

@pytest.fixture
def small(make_store):
    return make_store(
        customers=[dict(customer_id="c1", segment="A", joined_on=date(2025, 1, 1))],
        interactions=[ix("i1", "c1", datetime(2026, 1, 7, 8)), ix("i2", "c1", datetime(2026, 1, 11, 23, 59)),
                      ix("i3", "c1", datetime(2026, 1, 12, 0)), ix("i4", "c1", datetime(2026, 3, 31, 12), "web"),
                      ix("i5", "c1", datetime(2026, 4, 1, 12))],
    )


def test_unknown_kpi(small):
    with pytest.raises(KpiError, match="Unknown KPI 'nope'.*contacts"):
        compute(small, "nope")
    with pytest.raises(KpiError, match="Unknown KPI"):
        get_kpi("nope")


def test_unsupported_dimension(small):
    with pytest.raises(KpiError) as e:
        compute(small, "multichannel_rate", by=["channel"])
    msg = str(e.value)
    assert "Multichannel customers (multichannel_rate)" in msg and "channel" in msg
    assert "segment, period, region" in msg
    with pytest.raises(KpiError, match=r"Known customers \(customer_match_rate\) cannot be split by segment"):
        compute(small, "customer_match_rate", by=["segment"])
    with pytest.raises(KpiError, match="unknown dimension 'product'"):
        compute(small, "contacts", by=["product"])


def test_bad_grain_and_window(small):
    with pytest.raises(KpiError, match="unknown grain 'fortnight'.*day, week, month, quarter, year"):
        compute(small, "contacts", by=["period"], grain="fortnight")
    with pytest.raises(KpiError, match="starts .* after it ends"):
        compute(small, "contacts", start=date(2026, 2, 1), end=date(2026, 1, 1))
    with pytest.raises(KpiError, match="must be a date"):
        compute(small, "contacts", start="yesterday")


def test_missing_data(small):
    with pytest.raises(MissingDataError) as e:
        compute(small, "nps")
    assert str(e.value) == "Load surveys.csv to see Net Promoter Score."
    assert e.value.tables == ("surveys",) and isinstance(e.value, KpiError)
    with pytest.raises(MissingDataError, match="Load transactions.csv to see Revenue."):
        compute(small, "revenue")


def test_missing_data_every_table(make_store):
    st = make_store()
    with pytest.raises(MissingDataError) as e:
        compute(st, "clv")
    assert e.value.tables == ("customers", "transactions")
    assert str(e.value) == "Load customers.csv and transactions.csv to see Customer lifetime value."


# -- shape, grains, periods -----------------------------------------------------------------------

def test_default_window_is_data_span(small):
    # span Jan 7 .. Apr 1: all five contacts
    df = compute(small, "contacts")
    assert list(df.columns) == ["value", "n"] and df["n"].tolist() == [5]
    assert str(df["value"].dtype) == "float64" and str(df["n"].dtype) == "int64"


def test_half_open_windows(small):
    # only a start: to the end of the data (Apr 1) -> Mar 31 and Apr 1
    assert compute(small, "contacts", start=date(2026, 3, 1))["n"].tolist() == [2]
    # only an end: from the start of the data (Jan 7) -> Jan 7, 11, 12
    assert compute(small, "contacts", end=date(2026, 1, 31))["n"].tolist() == [3]
    # a start after the data: an empty one-day window, not an error
    assert compute(small, "contacts", start=date(2027, 1, 1))["n"].tolist() == [0]


def test_empty_single_row(small):
    df = compute(small, "fcr_rate", start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert len(df) == 1 and df["value"].isna().all() and df["n"].tolist() == [0]
    df = compute(small, "fcr_rate", by=["channel"], start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert list(df.columns) == ["channel", "value", "n"] and len(df) == 0


def test_iso_week_starts_monday(small):
    # Wednesday 2026-01-07 and Sunday 2026-01-11 are in the ISO week of Monday 2026-01-05;
    # Monday 2026-01-12 00:00 starts the next week
    df = compute(small, "contacts", by=["period"], grain="week", start=date(2026, 1, 7), end=date(2026, 1, 18))
    assert list(df["period"]) == [date(2026, 1, 5), date(2026, 1, 12)]
    assert df["n"].tolist() == [2, 1]
    assert all(type(p) is date for p in df["period"])


def test_quarter_year_day_grains(small):
    # Jan 7, Jan 11, Jan 12, Mar 31 in Q1; Apr 1 in Q2
    df = compute(small, "contacts", by=["period"], grain="quarter", start=date(2026, 1, 1), end=date(2026, 6, 30))
    assert list(df["period"]) == [date(2026, 1, 1), date(2026, 4, 1)] and df["n"].tolist() == [4, 1]
    df = compute(small, "contacts", by=["period"], grain="year", start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert list(df["period"]) == [date(2026, 1, 1)] and df["n"].tolist() == [5]
    df = compute(small, "contacts", by=["period"], grain="day", start=date(2026, 1, 11), end=date(2026, 1, 12))
    assert list(df["period"]) == [date(2026, 1, 11), date(2026, 1, 12)] and df["n"].tolist() == [1, 1]
    # a window starting mid-quarter: the period is still named by the quarter's first day
    df = compute(small, "contacts", by=["period"], grain="quarter", start=date(2026, 3, 15), end=date(2026, 4, 30))
    assert list(df["period"]) == [date(2026, 1, 1), date(2026, 4, 1)] and df["n"].tolist() == [1, 1]


def test_columns_follow_by_order_and_rows_are_sorted(small):
    df = compute(small, "contacts", by=["period", "channel"], start=date(2026, 1, 1), end=date(2026, 4, 30))
    assert list(df.columns) == ["period", "channel", "value", "n"]
    assert [tuple(r) for r in df[["period", "channel", "n"]].itertuples(index=False)] == [
        (date(2026, 1, 1), "phone", 3), (date(2026, 3, 1), "web", 1), (date(2026, 4, 1), "phone", 1)]
    df = compute(small, "contacts", by=["channel", "period"], start=date(2026, 1, 1), end=date(2026, 4, 30))
    assert list(df.columns) == ["channel", "period", "value", "n"]
    assert list(df["channel"]) == ["phone", "phone", "web"]


def test_dates_accept_datetimes_and_strings(small):
    a = compute(small, "contacts", start="2026-01-01", end="2026-01-31")
    b = compute(small, "contacts", start=datetime(2026, 1, 1, 15), end=datetime(2026, 1, 31))
    assert a["n"].tolist() == b["n"].tolist() == [3]


def test_filter_values_are_bound_not_formatted(small):
    evil = "phone') OR 1=1 --"
    df = compute(small, "contacts", channels=[evil], start=date(2026, 1, 1), end=date(2026, 4, 30))
    assert df["n"].tolist() == [0]
    sql, params = build_sql("contacts", start=date(2026, 1, 1), end=date(2026, 1, 31), channels=[evil, "web"],
                            segments=["A'B"], settings={"sla_wait_seconds": 5})
    assert evil not in sql and "A'B" not in sql and "2026" not in sql
    assert params["ch0"] == evil and params["ch1"] == "web" and params["sg0"] == "A'B"


# -- SQL portability ------------------------------------------------------------------------------

def _some_requests():
    """Every KPI with no dimension, each single dimension, each pair, and all of its dimensions."""
    for kid, k in KPIS.items():
        combos = [c for r in (0, 1, 2) for c in itertools.combinations(k.dimensions, r)]
        if len(k.dimensions) > 2:
            combos.append(k.dimensions)
        for by in combos:
            yield kid, by


@pytest.mark.parametrize("kid", list(KPIS))
def test_sql_transpiles_to_spark(kid):
    # every combination of the KPI's dimensions (weekly), and all of them at the other grains
    k = KPIS[kid]
    requests = [(by, "week") for r in range(len(k.dimensions) + 1) for by in itertools.combinations(k.dimensions, r)]
    requests += [(k.dimensions, g) for g in ("day", "month", "quarter", "year")]
    for by, grain in requests:
        sql, params = build_sql(kid, start=date(2026, 1, 15), end=date(2026, 3, 31), by=by, grain=grain,
                                channels=["phone", "web"], segments=["A"])
        out = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
        assert len(out) == 1
        for name in params:
            assert f":{name}" in out[0]
        for banned in ("list_contains", "unnest", "qualify", "filter (", "::", "group by all"):
            assert banned not in sql.lower(), (kid, by, banned)


def test_every_division_is_guarded():
    # x / NULLIF(y, 0) everywhere: no engine (Spark in ANSI mode included) ever divides by zero
    for kid, k in KPIS.items():
        for by in ((), k.dimensions):
            sql, _ = build_sql(kid, start=date(2026, 1, 1), end=date(2026, 3, 31), by=by)
            for div in sqlglot.parse_one(sql, read="duckdb").find_all(sqlglot.exp.Div):
                assert isinstance(div.expression, sqlglot.exp.Nullif), (kid, by, div.sql())


def test_every_dimension_combination_runs(make_store):
    # a smoke test over every KPI × many combinations of its dimensions, with and without filters
    st = make_store(
        customers=[dict(customer_id="c1", segment="A", joined_on=date(2025, 1, 1), acquisition_channel="web"),
                   dict(customer_id="c2", segment="B", joined_on=date(2026, 1, 10), left_on=date(2026, 2, 5))],
        interactions=[ix("i1", "c1", datetime(2026, 1, 2, 10), advisor_id="a1", resolved=True, csat=5),
                      ix("i2", "c1", datetime(2026, 1, 5, 10), advisor_id="a2"),
                      ix("i3", "c9", datetime(2026, 2, 5, 10), "web")],
        transactions=[dict(transaction_id="t1", customer_id="c1", occurred_on=datetime(2026, 1, 3), product="p",
                           amount=10.0)],
        surveys=[dict(response_id="s1", customer_id="c1", answered_on=date(2026, 1, 4), nps=9)],
    )
    for i, (kid, by) in enumerate(_some_requests()):
        kw = {"channels": ["phone", "web"], "segments": ["A", "(unknown)"]} if i % 2 else {}
        df = compute(st, kid, by=by, grain="week", **kw)
        assert list(df.columns) == [*by, "value", "n"]
        if not by:
            assert len(df) == 1
        else:
            assert (df["n"] > 0).all()


# -- generated reference ----------------------------------------------------------------------------

def test_docs_are_up_to_date():
    path = Path(__file__).resolve().parents[1] / "docs" / "kpis.md"
    expected = render_kpi_reference()
    actual = path.read_text(encoding="utf-8") if path.exists() else ""
    assert actual == expected, (
        "docs/kpis.md is out of date with the KPI registry; regenerate it with\n"
        "    .venv/bin/python -m crm_metrics.metrics.kpis.docs > docs/kpis.md")


def test_docs_mention_every_kpi():
    text = render_kpi_reference()
    for kid, k in KPIS.items():
        assert f"`{kid}`" in text and k.label in text
    assert "## Edge cases and choices" in text
