"""Real exports through the CLI (issue 17): a realistic file per preset (tests/export_files.py) is
loaded with `load FILE [--preset NAME]` into a fresh store, and KPIs from the KPI API are compared
with numbers worked out here with pandas from the raw file -- never with the code under test."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from crm_metrics.data.store import open_store
from crm_metrics.delivery.cli import main
from crm_metrics.metrics.kpis import compute
from tests import export_files as ef

WINDOW = {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 6, 30)}


def cli(db: Path, *args: str) -> int:
    return main(["--db", str(db), *args])


def kpi(db: Path, kpi_id: str, **kw) -> tuple[float, int]:
    df = compute(open_store(db), kpi_id, **{**WINDOW, **kw})
    return float(df["value"].iloc[0]), int(df["n"].iloc[0])


def one(db: Path, sql: str):
    return open_store(db).cursor().execute(sql).fetchone()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "crm.duckdb"


def test_zendesk_tickets_with_offsets(db, tmp_path, capsys):
    f = ef.zendesk_tickets(tmp_path / "tickets.csv")
    assert cli(db, "load", str(f), "--preset", "zendesk-tickets") == 0
    out = capsys.readouterr().out
    assert "tickets.csv -> interactions" in out and "400 rows read" in out
    raw = pd.read_csv(f, dtype=str, keep_default_na=False)
    utc = pd.to_datetime(raw["Created at"], format="%Y-%m-%d %H:%M:%S %z", utc=True)
    inside = raw[(utc >= pd.Timestamp("2025-01-01", tz="UTC")) & (utc < pd.Timestamp("2025-07-01", tz="UTC"))]
    # a ticket created 2025-01-01 00:30 +0100 happened on 2024-12-31 in UTC: outside the window
    assert len(inside) < len(raw) or (utc.min() >= pd.Timestamp("2025-01-01", tz="UTC"))
    assert kpi(db, "contacts") == (float(len(inside)), len(inside))
    good = int((inside["Satisfaction Score"] == "Good").sum())
    bad = int((inside["Satisfaction Score"] == "Bad").sum())
    value, n = kpi(db, "csat")
    assert n == good + bad and value == pytest.approx(100.0 * good / (good + bad))  # Good -> 5, Bad -> 1
    resolved = int(raw["Status"].isin(["solved", "closed"]).sum())
    assert one(db, "SELECT count(*) FILTER (WHERE resolved), count(resolved) FROM interactions") == (resolved, 400)
    first = raw.iloc[0]
    stored = one(db, f"SELECT occurred_at FROM interactions WHERE interaction_id = '{first['Id']}'")[0]
    assert stored == utc.iloc[0].tz_convert(None).to_pydatetime()
    # the history names the analyst's file (its SHA-256, not the reshaped copy's) and the preset
    h = open_store(db).load_history()[0]
    assert h["preset"] == "zendesk-tickets" and h["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()


def test_zendesk_detected_from_headers_without_a_preset(db, tmp_path, capsys):
    f = ef.zendesk_tickets(tmp_path / "export-2025-05-01.csv", n=50)
    assert cli(db, "load", str(f)) == 0
    out = capsys.readouterr().out
    assert "preset zendesk-tickets (detected from the headers)" in out
    assert one(db, "SELECT count(*) FROM interactions")[0] == 50


def test_salesforce_accounts_then_cases_in_windows_1252(db, tmp_path, capsys):
    acc = ef.salesforce_accounts(tmp_path / "accounts.csv")
    cases = ef.salesforce_cases(tmp_path / "cases.csv")
    assert cli(db, "load", str(acc), "--preset", "salesforce-accounts") == 0
    assert cli(db, "load", str(cases), "--preset", "salesforce-cases") == 0
    out = capsys.readouterr().out
    assert "windows-1252" in out
    raw_acc = pd.read_csv(acc, dtype=str, keep_default_na=False)
    joined = pd.to_datetime(raw_acc["Created Date"], format="%m/%d/%Y")
    base = int((joined <= pd.Timestamp("2025-06-30")).sum())
    assert kpi(db, "customer_base")[0] == float(base)
    segments = dict(one(db, "SELECT map(list(segment), list(n)) FROM (SELECT segment, count(*) n FROM customers "
                            "GROUP BY segment)")[0])
    expected = raw_acc["Type"].replace("", "Unspecified").value_counts().to_dict()
    assert segments == expected
    raw = pd.read_csv(cases, dtype=str, keep_default_na=False, encoding="windows-1252")
    opened = pd.to_datetime(raw["Date/Time Opened"], format="%m/%d/%Y %I:%M %p")
    assert kpi(db, "contacts") == (float(len(raw)), len(raw))
    by_origin = compute(open_store(db), "contacts", by="channel", **WINDOW)
    got = dict(zip(by_origin["channel"], by_origin["n"]))
    assert got == raw["Case Origin"].str.lower().value_counts().to_dict()
    assert one(db, "SELECT count(*) FILTER (WHERE resolved) FROM interactions")[0] == int((raw["Status"] == "Closed").sum())
    assert one(db, "SELECT max(occurred_at) FROM interactions")[0] == opened.max().to_pydatetime()
    assert one(db, "SELECT count(*) FROM interactions i JOIN customers c USING (customer_id)")[0] == len(raw)


def test_hubspot_contacts_tickets_and_won_deals(db, tmp_path, capsys):
    contacts = ef.hubspot_contacts(tmp_path / "hubspot-crm-exports-all-contacts-2025-05-01.csv")
    tickets = ef.hubspot_tickets(tmp_path / "hubspot-crm-exports-all-tickets-2025-05-01.csv")
    deals = ef.hubspot_deals(tmp_path / "hubspot-crm-exports-all-deals-2025-05-01.csv")
    assert cli(db, "load", str(contacts), "--preset", "hubspot-contacts") == 0
    assert cli(db, "load", str(tickets), "--preset", "hubspot-tickets") == 0
    assert cli(db, "load", str(deals), "--preset", "hubspot-deals") == 0
    out = capsys.readouterr().out
    raw_c = pd.read_csv(contacts, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(raw_c.columns)[0] == "Record ID"  # the BOM is not part of the first header
    assert kpi(db, "customer_base")[0] == float(len(raw_c))  # all created before the window's end
    raw_t = pd.read_csv(tickets, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert kpi(db, "contacts") == (float(len(raw_t)), len(raw_t))
    assert one(db, "SELECT count(*) FILTER (WHERE resolved) FROM interactions")[0] == int(
        (raw_t["Ticket status"] == "Closed").sum())
    assert one(db, "SELECT count(*) FILTER (WHERE channel = 'web') FROM interactions")[0] == int(
        (raw_t["Source"] == "Form").sum())
    # a ticket associated with two contacts ("51007;51230") belongs to the first
    firsts = raw_t["Associated Contact IDs"].str.split(";").str[0]
    stored = dict(open_store(db).cursor().execute("SELECT interaction_id, customer_id FROM interactions").fetchall())
    assert stored == dict(zip(raw_t["Ticket ID"], firsts)) and raw_t["Associated Contact IDs"].str.contains(";").any()
    raw_d = pd.read_csv(deals, dtype=str, keep_default_na=False)
    won = raw_d[raw_d["Deal Stage"] == "Closed won"]
    value, n = kpi(db, "revenue")
    assert n == len(won) and value == pytest.approx(won["Amount"].astype(float).sum())
    assert f"{len(raw_d) - len(won):,} rows skipped" in out


def test_dynamics_semicolon_bom_european_dates(db, tmp_path, capsys):
    contacts, ids = ef.dynamics_contacts(tmp_path / "Active Contacts 14-03-2025 09-05-00.csv")
    cases = ef.dynamics_cases(tmp_path / "My Active Cases.csv", ids)
    assert cli(db, "load", str(contacts), "--preset", "dynamics-contacts") == 0
    assert cli(db, "load", str(cases), "--preset", "dynamics-cases") == 0
    out = capsys.readouterr().out
    assert "delimiter ';'" in out
    raw_c = pd.read_csv(contacts, dtype=str, keep_default_na=False, sep=";", encoding="utf-8-sig")
    joined = pd.to_datetime(raw_c["Created On"], format="%d.%m.%Y %H:%M")
    assert kpi(db, "customer_base")[0] == float((joined <= pd.Timestamp("2025-06-30 23:59")).sum())
    raw = pd.read_csv(cases, dtype=str, keep_default_na=False, sep=";", encoding="utf-8-sig")
    assert kpi(db, "contacts") == (float(len(raw)), len(raw))
    scored = raw[raw["Satisfaction"] != ""]
    top2 = int(scored["Satisfaction"].isin(["Very Satisfied", "Satisfied"]).sum())
    value, n = kpi(db, "csat")
    assert n == len(scored) and value == pytest.approx(100.0 * top2 / len(scored))
    assert one(db, "SELECT count(*) FILTER (WHERE channel = 'social') FROM interactions")[0] == int(
        raw["Origin"].isin(["Facebook", "Twitter"]).sum())
    assert one(db, "SELECT count(*) FROM interactions i JOIN customers c USING (customer_id)")[0] == len(raw)


# -- the rest of issue 17's engine side, through the CLI ---------------------------------------------
def test_plain_file_with_zendesk_style_offsets_loads_in_utc(db, tmp_path):
    f = tmp_path / "interactions.csv"
    f.write_text("interaction_id,customer_id,occurred_at,channel\n"
                 "i1,c1,2025-02-02 03:25:00 +0100,phone\n"   # 02:25 UTC
                 "i2,c1,2025-02-02 03:25:00 +01:00,phone\n"  # 02:25 UTC
                 "i3,c1,2025-02-02T03:25:00Z,phone\n"        # 03:25 UTC
                 "i4,c1,2025-02-02 03:25:00 UTC,phone\n"     # 03:25 UTC
                 "i5,c1,2025-02-01 23:25:00 -0500,phone\n")  # 04:25 UTC
    assert cli(db, "load", str(f)) == 0
    got = open_store(db).cursor().execute("SELECT interaction_id, strftime(occurred_at, '%H:%M') FROM interactions "
                                          "ORDER BY interaction_id").fetchall()
    assert got == [("i1", "02:25"), ("i2", "02:25"), ("i3", "03:25"), ("i4", "03:25"), ("i5", "04:25")]


def test_no_such_day_instead_of_a_format_message(db, tmp_path, capsys):
    f = tmp_path / "interactions.csv"
    f.write_text("interaction_id,customer_id,occurred_at,channel\n"
                 "i1,c1,2025-02-28 10:00:00 +0100,phone\ni2,c1,2025-02-30 10:00:00 +0100,phone\n")
    assert cli(db, "load", str(f)) == 1
    err = capsys.readouterr().err
    assert "line 3, column occurred_at, value '2025-02-30 10:00:00 +0100': no such day: February 2025 has 28 days, " \
           "not 30" in err
    assert "format" not in err.split("line 3")[1]


def test_no_such_day_in_a_presets_own_date_format(db, tmp_path, capsys):
    f = tmp_path / "cases.csv"
    f.write_text("Case Number,Account ID,Date/Time Opened,Case Origin,Status\n"
                 "1,A,2/28/2025 9:05 AM,Phone,New\n2,A,2/30/2025 9:05 AM,Email,Closed\n")
    assert cli(db, "load", str(f), "--preset", "salesforce-cases") == 1
    assert "line 3, column occurred_at, value '2025-02-30 09:05': no such day: February 2025 has 28 days, not 30" \
        in capsys.readouterr().err


def test_many_problems_summarised_per_column_and_rule_with_the_cell_list_written(db, tmp_path, capsys):
    f = ef.zendesk_tickets(tmp_path / "tickets.csv", n=300)
    text = f.read_text(encoding="utf-8").replace("Good", "Great")  # not in the preset's map, nor 1-5
    f.write_text(text, encoding="utf-8")
    great = text.count("Great")
    problems = tmp_path / "problems.csv"
    assert cli(db, "load", str(f), "--preset", "zendesk-tickets", "--problems", str(problems)) == 1
    err = capsys.readouterr().err
    rule = "must be a whole number from 1 to 5"
    assert f"tickets.csv: column csat: {great} values — {rule}; first at lines " in err
    assert f"({great} problems in 1 group of column and rule" in err
    cells = pd.read_csv(problems, dtype=str, keep_default_na=False)
    assert len(cells) == great and set(cells["value"]) == {"Great"} and set(cells["rule"]) == {rule}
    raw = pd.read_csv(tmp_path / "tickets.csv", dtype=str, keep_default_na=False)
    # lines in the analyst's file: the header is line 1, and some subjects span two lines
    with open(f, encoding="utf-8") as fh:
        physical = fh.read().split("\n")
    first = int(cells["line"].iloc[0])
    assert "Great" in physical[first - 1] or "Great" in physical[first]
    assert len(raw) == 300 and one(db, "SELECT count(*) FROM interactions")[0] == 0


def test_table_detected_from_the_headers_not_the_file_name(db, tmp_path, capsys):
    f = tmp_path / "transactions_march.csv"
    f.write_text("transaction_id,customer_id,occurred_on,product,amount,channel\nt1,c1,2025-03-01,Card,10.5,web\n")
    assert cli(db, "load", str(f)) == 0
    assert "transactions_march.csv -> transactions" in capsys.readouterr().out
    g = tmp_path / "customers_export.csv"  # the name says customers; the headers say surveys
    g.write_text("response_id,customer_id,answered_on,nps\nr1,c1,2025-03-01,9\n")
    assert cli(db, "load", str(g)) == 0
    assert "customers_export.csv -> surveys" in capsys.readouterr().out


def test_warnings_unknown_customers_replace_and_minutes(db, tmp_path, capsys):
    c = tmp_path / "customers.csv"
    c.write_text("customer_id,segment,joined_on\n" + "".join(f"c{i},Mass,2024-01-01\n" for i in range(10)))
    assert cli(db, "load", str(c)) == 0
    rows = "".join(f"i{i},{'c1' if i < 90 else 'x9'},2025-01-01 10:00,phone,{3 + i % 5}\n" for i in range(100))
    f = tmp_path / "interactions.csv"
    f.write_text("interaction_id,customer_id,occurred_at,channel,handle_seconds\n" + rows)
    capsys.readouterr()
    assert cli(db, "load", str(f)) == 0  # warnings keep exit status 0
    out = capsys.readouterr().out
    # 10 of 100 rows (10.0 %) have customer x9: above the 5 % default
    assert "WARNING interactions.csv: 10.0% of the rows (10 of 100) have a customer_id that is not in customers" in out
    # handle times 3..7 "seconds": median 5
    assert "handle_seconds: half the values are below 5 — that looks like minutes" in out
    assert cli(db, "load", str(f), "--convert", "handle_seconds=minutes", "--mode", "replace") == 0
    out = capsys.readouterr().out
    assert "100 previous rows removed (replace)" in out
    assert "WARNING interactions.csv: replace removed the 100 rows interactions held before and loaded 100" in out
    assert "looks like minutes" not in out
    assert one(db, "SELECT min(handle_seconds), max(handle_seconds) FROM interactions") == (180.0, 420.0)  # 3x60, 7x60
    open_store(db).set_setting("unknown_customer_warn_share", 0.2)
    assert cli(db, "load", str(f)) == 0
    assert "of the rows (10 of 100)" not in capsys.readouterr().out  # 10 % is under the 20 % now set


def test_currency_refused_without_rate_and_converted_with_one(db, tmp_path, capsys):
    f = tmp_path / "transactions.csv"
    f.write_text("transaction_id,customer_id,occurred_on,product,amount\nt1,c1,2025-03-01,Card,100.00\n"
                 "t2,c1,2025-03-02,Card,-20.00\n")
    assert cli(db, "load", str(f), "--currency", "EUR") == 1
    err = capsys.readouterr().err
    assert "the file's amounts are in EUR but the store's currency is USD" in err and "--rate" in err
    assert one(db, "SELECT count(*) FROM transactions")[0] == 0
    assert cli(db, "load", str(f), "--currency", "EUR", "--rate", "1.10") == 0
    assert "2 amounts converted from EUR to USD at 1 EUR = 1.1 USD" in capsys.readouterr().out
    assert kpi(db, "revenue") == (pytest.approx(88.0), 2)  # (100 - 20) x 1.10
    from crm_metrics.data.currency import store_currency
    assert store_currency(open_store(db)) == "USD"
    g = tmp_path / "sales_eur.csv"
    g.write_text("transaction_id,customer_id,occurred_on,product,amount,Currency\nt3,c1,2025-03-03,Card,50,EUR\n")
    assert cli(db, "load", str(g)) == 1
    assert "in EUR but the store's currency is USD" in capsys.readouterr().err


def test_export_options_travel_to_the_app_holding_the_store(tmp_path):
    """When the app holds the store, `load` hands the file over (crm_metrics.data.inbox): the preset,
    the value maps and the currency options go with it, and the warnings come back."""
    from tests.test_concurrency import ask, start_holder, stop
    from tests.test_concurrency import cli as cli_process
    db = tmp_path / "crm.duckdb"
    from crm_metrics.data.store import Store
    Store(db).close()
    holder = start_holder(db, "worker")
    try:
        f = ef.zendesk_tickets(tmp_path / "tickets.csv", n=40)
        code, out, err = cli_process(db, "load", str(f), "--preset", "zendesk-tickets",
                                     "--value", "channel:Closed ticket=email", "--wait", "60")
        assert code == 0, err
        assert "preset zendesk-tickets" in out and "WARNING tickets.csv: 100.0% of the rows (40 of 40)" in out
        assert ask(holder)["counts"]["interactions"] == 40
        tx = tmp_path / "transactions.csv"
        tx.write_text("transaction_id,customer_id,occurred_on,product,amount\nt1,c1,2025-03-01,Card,100\n")
        code, out, err = cli_process(db, "load", str(tx), "--currency", "EUR", "--wait", "60")
        assert code == 1 and "in EUR but the store's currency is USD" in err
        code, out, err = cli_process(db, "load", str(tx), "--currency", "EUR", "--rate", "1.5", "--wait", "60")
        assert code == 0 and "1 amounts converted from EUR to USD at 1 EUR = 1.5 USD" in out
    finally:
        stop(holder)
    assert one(db, "SELECT amount FROM transactions")[0] == 150.0  # 100 EUR x 1.5
    raw = pd.read_csv(f, dtype=str, keep_default_na=False)
    assert one(db, "SELECT count(*) FILTER (WHERE channel = 'email') FROM interactions")[0] == int(
        raw["Via"].isin(["Email", "Closed ticket"]).sum())


def test_amounts_that_look_like_another_currency_or_cents_are_warned_about(db, tmp_path, capsys):
    head = "transaction_id,customer_id,occurred_on,product,amount\n"
    a = tmp_path / "transactions.csv"
    a.write_text(head + "".join(f"a{i},c1,2025-03-01,Card,{100 + i}.00\n" for i in range(30)))  # median 114.50
    b = tmp_path / "transactions_april.csv"
    b.write_text(head + "".join(f"b{i},c1,2025-04-01,Card,{(100 + i) * 100}\n" for i in range(30)))  # x100: cents
    assert cli(db, "load", str(a)) == 0
    assert "amount:" not in capsys.readouterr().out
    assert cli(db, "load", str(b)) == 0
    out = capsys.readouterr().out
    # medians 11,450.00 and 114.50: 100 times
    assert "WARNING transactions_april.csv: amount: the file's median amount (11,450.00) is 100.0 times the " \
           "median of the table's other rows (114.50)" in out


def test_save_mapping_then_load_with_the_saved_preset(db, tmp_path, capsys):
    f = tmp_path / "calls.csv"
    f.write_text("Call ID,Caller,Started,Line,Talk minutes\n"
                 "k1,c1,2025-03-01 10:00,Inbound call,2.5\nk2,c2,2025-03-01 11:00,Web callback,4\n")
    args = ["--table", "interactions", "--map", "Call ID=interaction_id", "--map", "Caller=customer_id",
            "--map", "Started=occurred_at", "--map", "Line=channel", "--map", "Talk minutes=handle_seconds",
            "--value", "channel:Inbound call=phone", "--value", "channel:Web callback=web",
            "--convert", "handle_seconds=minutes"]
    assert cli(db, "load", str(f), *args, "--save-mapping", "our phone system") == 0
    assert "saved as your preset 'our phone system' (interactions)" in capsys.readouterr().out
    g = tmp_path / "calls_april.csv"
    g.write_text("Call ID,Caller,Started,Line,Talk minutes\nk3,c1,2025-04-01 10:00,Inbound call,1\n")
    assert cli(db, "load", str(g), "--preset", "our phone system") == 0
    rows = open_store(db).cursor().execute(
        "SELECT interaction_id, channel, handle_seconds FROM interactions ORDER BY 1").fetchall()
    assert rows == [("k1", "phone", 150.0), ("k2", "web", 240.0), ("k3", "phone", 60.0)]  # 2.5, 4, 1 minutes
    capsys.readouterr()
    assert cli(db, "load", str(g), "--preset", "our phone system", "--save-mapping", "zendesk-tickets") == 1
    assert "was loaded, but the mapping was not saved: 'zendesk-tickets' is a built-in preset" in capsys.readouterr().err


def test_unit_warning_on_the_careful_path_too(db, tmp_path, capsys):
    # a tab-separated file takes the careful path (staged text), whose rows are found by key
    f = tmp_path / "interactions.tsv"
    f.write_text("interaction_id\tcustomer_id\toccurred_at\tchannel\thandle_seconds\n"
                 + "".join(f"i{i}\tc1\t2025-01-01 10:00\tphone\t{90000 + i}\n" for i in range(30)))
    assert cli(db, "load", str(f), "--table", "interactions") == 0
    # median 90,014.5 s: over 10 hours
    assert "handle_seconds: the median is 90,014 seconds (over 10 hours) — that looks like milliseconds" \
        in capsys.readouterr().out
