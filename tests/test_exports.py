"""Presets, value maps, header-based table detection and the reshape step on their own (issue 17).
The loads through the CLI, with KPIs, are in tests/test_export_presets.py."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crm_metrics.data.detect import best_table, name_hint, rank_tables
from crm_metrics.data.mappings import delete_mapping, find_preset, save_mapping, saved_presets
from crm_metrics.data.peek import distinct_values, sample_values
from crm_metrics.data.presets import PRESETS, UNIT_CONVERSIONS, ValueMap, detect_preset, get_preset
from crm_metrics.data.reshape import ReshapeRefused, plan_for, reshape
from crm_metrics.data.store import Store
from crm_metrics.data.timeparse import iso_text, parse_time
from tests import export_files as ef


def rows_of(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


@pytest.mark.parametrize("text, utc", [
    ("2025-02-02 03:25:00 +0100", "2025-02-02 02:25:00"),
    ("2025-02-02 03:25:00 +01:00", "2025-02-02 02:25:00"),
    ("2025-02-02 03:25:00+0100", "2025-02-02 02:25:00"),
    ("2025-02-02 03:25:00 Z", "2025-02-02 03:25:00"),
    ("2025-02-02 03:25:00 UTC", "2025-02-02 03:25:00"),
    ("2025-02-01 23:25:00 -0500", "2025-02-02 04:25:00"),
])
def test_offsets_in_every_form_read_by_one_format(text, utc):
    t = parse_time(text, "%Y-%m-%d %H:%M:%S %z")
    assert t is not None
    assert iso_text(t, as_date=False) == utc


def test_every_builtin_preset_is_detected_from_its_own_export(tmp_path):
    files = {
        "zendesk-tickets": ef.zendesk_tickets(tmp_path / "z.csv", n=5),
        "salesforce-accounts": ef.salesforce_accounts(tmp_path / "sa.csv", n=5),
        "hubspot-contacts": ef.hubspot_contacts(tmp_path / "hc.csv", n=5),
        "hubspot-tickets": ef.hubspot_tickets(tmp_path / "ht.csv", n=5),
        "hubspot-deals": ef.hubspot_deals(tmp_path / "hd.csv", n=5),
    }
    for name, path in files.items():
        headers = next(csv.reader(open(path, encoding="utf-8-sig")))
        assert detect_preset(headers).name == name
    cases = ef.salesforce_cases(tmp_path / "sc.csv", n=5)
    headers = next(csv.reader(open(cases, encoding="windows-1252")))
    assert detect_preset(headers).name == "salesforce-cases"
    contacts, ids = ef.dynamics_contacts(tmp_path / "dc.csv", n=5)
    headers = next(csv.reader(open(contacts, encoding="utf-8-sig"), delimiter=";"))
    assert detect_preset(headers).name == "dynamics-contacts"
    dcases = ef.dynamics_cases(tmp_path / "dk.csv", ids, n=5)
    headers = next(csv.reader(open(dcases, encoding="utf-8-sig"), delimiter=";"))
    assert detect_preset(headers).name == "dynamics-cases"
    # a contract-shaped file needs no preset
    assert detect_preset(["interaction_id", "customer_id", "occurred_at", "channel"]) is None
    assert len(PRESETS) == 8


def test_zendesk_preset_maps_exactly_what_the_issue_states(tmp_path):
    src = tmp_path / "tickets.csv"
    src.write_text(
        "Id,Requester external id,Created at,Via,Assignee,Satisfaction Score,Status\n"
        "1,C1,2025-02-02 03:25:00 +0100,Phone call (incoming),Ann,Good,solved\n"
        "2,C2,2025-02-02 03:25:00 +0100,Phone call (outgoing),,Bad,closed\n"
        "3,C3,2025-02-02 03:25:00 +0100,Voicemail,,Offered,open\n"
        "4,C4,2025-02-02 03:25:00 +0100,Email,,Unoffered,pending\n"
        "5,C5,2025-02-02 03:25:00 +0100,Web form,,,hold\n"
        "6,C6,2025-02-02 03:25:00 +0100,Web service (API),,,new\n"
        "7,C7,2025-02-02 03:25:00 +0100,Chat,,,solved\n"
        "8,C8,2025-02-02 03:25:00 +0100,Messaging,,,solved\n"
        "9,C9,2025-02-02 03:25:00 +0100,Mobile SDK,,,solved\n", encoding="utf-8")
    plan = plan_for("interactions", next(csv.reader(open(src))), preset=get_preset("zendesk-tickets"))
    reshape(src, tmp_path / "out.csv", plan, encoding="utf-8", delimiter=",")
    out = rows_of(tmp_path / "out.csv")
    assert [r["channel"] for r in out] == ["phone", "phone", "phone", "email", "web", "web", "chat", "chat", "mobile"]
    assert [r["csat"] for r in out] == ["5", "1", "", "", "", "", "", "", ""]
    assert [r["resolved"] for r in out] == ["true", "true", "false", "false", "false", "false", "true", "true", "true"]
    assert {r["occurred_at"] for r in out} == {"2025-02-02 02:25:00"}  # 03:25 at +01:00 is 02:25 UTC
    assert [r["customer_id"] for r in out][:2] == ["C1", "C2"] and out[0]["advisor_id"] == "Ann"


def test_source_lines_point_at_the_analysts_file(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text('Id,Requester external id,Created at,Via,Status,Subject\n'
                   '1,C1,2025-02-02 03:25:00 +0100,Email,solved,"two\nlines"\n'
                   '2,C2,2025-02-30 03:25:00 +0100,Email,solved,x\n', encoding="utf-8")
    plan = plan_for("interactions", next(csv.reader(open(src))), preset=get_preset("zendesk-tickets"))
    res = reshape(src, tmp_path / "out.csv", plan, encoding="utf-8", delimiter=",")
    # record 2 starts on line 4 of the source (record 1 spans lines 2-3), on line 3 of the output
    assert res.source_line(3) == 4 and res.source_line(2) == 2 and res.source_line(1) == 1
    # no such day: written in ISO form, for the load to say "no such day" with the line
    assert rows_of(tmp_path / "out.csv")[1]["occurred_at"] == "2025-02-30 03:25"
    assert res.extra_columns == ["Subject"]


def test_us_or_european_day_order_settled_by_the_values(tmp_path):
    src = tmp_path / "cases.csv"
    src.write_text("Case Number,Account ID,Date/Time Opened,Case Origin,Status\n"
                   "1,A,03/04/2025 10:00,Phone,New\n2,A,25/04/2025 10:00,Email,Closed\n")
    plan = plan_for("interactions", next(csv.reader(open(src))), preset=get_preset("salesforce-cases"))
    res = reshape(src, tmp_path / "out.csv", plan, encoding="utf-8", delimiter=",")
    assert res.formats["occurred_at"] == "%d/%m/%Y %H:%M"  # 25/04 cannot be month/day
    assert [r["occurred_at"] for r in rows_of(tmp_path / "out.csv")] == ["2025-04-03 10:00:00", "2025-04-25 10:00:00"]


def test_keep_rows_skips_and_counts(tmp_path):
    src = ef.hubspot_deals(tmp_path / "deals.csv", n=60)
    headers = next(csv.reader(open(src)))
    res = reshape(src, tmp_path / "out.csv", plan_for("transactions", headers, preset=get_preset("hubspot-deals")),
                  encoding="utf-8", delimiter=",")
    raw = rows_of(src)
    won = [r for r in raw if r["Deal Stage"] == "Closed won"]
    assert res.rows_in == 60 and res.skipped == 60 - len(won)
    assert [r["transaction_id"] for r in rows_of(tmp_path / "out.csv")] == [r["Record ID"] for r in won]


def test_currency_refused_without_rate_converted_with_one(tmp_path):
    src = tmp_path / "tx.csv"
    src.write_text("transaction_id,customer_id,occurred_on,product,amount,currency\n"
                   "t1,c1,2025-01-01,Card,100.00,EUR\nt2,c1,2025-01-02,Card,50,USD\n")
    headers = next(csv.reader(open(src)))
    with pytest.raises(ReshapeRefused, match=r"in EUR but the store's currency is USD.*1 EUR = \? USD"):
        reshape(src, tmp_path / "o.csv", plan_for("transactions", headers), encoding="utf-8", delimiter=",")
    res = reshape(src, tmp_path / "o.csv", plan_for("transactions", headers, rate=1.08), encoding="utf-8",
                  delimiter=",")
    assert [r["amount"] for r in rows_of(tmp_path / "o.csv")] == ["108.0", "50"]  # 100 EUR x 1.08; USD as is
    assert res.currency == "EUR" and res.converted_rows == 1
    two = tmp_path / "two.csv"
    two.write_text("transaction_id,customer_id,occurred_on,product,amount,currency\n"
                   "t1,c1,2025-01-01,Card,1,EUR\nt2,c1,2025-01-01,Card,1,GBP\n")
    with pytest.raises(ReshapeRefused, match="several currencies"):
        reshape(two, tmp_path / "o.csv", plan_for("transactions", headers, rate=1.1), encoding="utf-8", delimiter=",")


def test_file_currency_option_and_decimal_comma(tmp_path):
    src = tmp_path / "tx.csv"
    src.write_text("transaction_id;customer_id;occurred_on;product;amount\nt1;c1;01.02.2025;Card;1.234,50\n")
    headers = next(csv.reader(open(src), delimiter=";"))
    res = reshape(src, tmp_path / "o.csv", plan_for("transactions", headers, currency="eur", rate=2),
                  encoding="utf-8", delimiter=";")
    assert rows_of(tmp_path / "o.csv", ";")[0]["amount"] == "2469,0"  # 1234.50 x 2, written the file's way
    assert res.currency == "EUR"


def test_conversion_minutes_to_seconds_and_general_value_map(tmp_path):
    src = tmp_path / "interactions.csv"
    src.write_text("interaction_id,customer_id,occurred_at,channel,handle_seconds\n"
                   "i1,c1,2025-01-01 10:00,Phone call,4.5\ni2,c1,2025-01-01 11:00,Web form,\n")
    plan = plan_for("interactions", next(csv.reader(open(src))),
                    value_maps={"channel": ValueMap({"Phone call": "phone", "Web form": "web"})},
                    conversions={"handle_seconds": UNIT_CONVERSIONS["minutes"]})
    reshape(src, tmp_path / "o.csv", plan, encoding="utf-8", delimiter=",")
    out = rows_of(tmp_path / "o.csv")
    assert [r["channel"] for r in out] == ["phone", "web"]
    assert [r["handle_seconds"] for r in out] == ["270.0", ""]  # 4.5 min x 60


def test_table_detected_from_headers_file_name_only_a_hint():
    tx = ["transaction_id", "customer_id", "occurred_on", "product", "amount", "channel"]
    assert best_table(tx, "transactions_march.csv") == "transactions"
    assert best_table(tx, "customers.csv") == "transactions"  # the headers win over the name
    assert rank_tables(tx)[0].table == "transactions" and rank_tables(tx)[0].complete
    assert name_hint("transactions_march.csv") == "transactions"
    assert best_table(["foo", "bar"], "surveys.csv") == "surveys"  # nothing fits: the name decides
    assert best_table(["foo", "bar"], "data.csv") is None


def test_peek_samples_and_distinct_values(tmp_path):
    src = ef.zendesk_tickets(tmp_path / "z.csv", n=50)
    samples = sample_values(src, encoding="utf-8", delimiter=",")
    assert len(samples["Via"]) == 3 and all(samples["Via"])
    got = dict(distinct_values(src, "satisfaction score", encoding="utf-8", delimiter=","))
    raw = [r["Satisfaction Score"] for r in rows_of(src)]
    assert got == {v: raw.count(v) for v in set(raw)}
    with pytest.raises(KeyError):
        distinct_values(src, "nope", encoding="utf-8", delimiter=",")


def test_saved_mappings_are_presets_of_the_store(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    try:
        assert saved_presets(store) == {}
        save_mapping(store, "our phone system", table="interactions",
                     columns={"Call ID": "interaction_id", "Caller": "customer_id", "Start": "occurred_at"},
                     value_maps={"channel": ValueMap({"Inbound": "phone"}, other=None)},
                     conversions={"handle_seconds": UNIT_CONVERSIONS["minutes"]}, constants={"channel": "phone"})
        p = find_preset(store, "our phone system")
        assert p.saved and p.table == "interactions" and p.columns["Call ID"] == "interaction_id"
        assert p.value_maps["channel"].other is None and p.conversions["handle_seconds"].factor == 60.0
        assert find_preset(store, "zendesk-tickets").name == "zendesk-tickets"
        with pytest.raises(ValueError, match="built-in"):
            save_mapping(store, "zendesk-tickets", table="interactions", columns={})
        with pytest.raises(ValueError, match="no column"):
            save_mapping(store, "bad", table="interactions", columns={"x": "nope"})
        assert delete_mapping(store, "our phone system") and saved_presets(store) == {}
    finally:
        store.close()


def test_inspect_file_ranks_tables_detects_the_preset_and_shows_samples(tmp_path):
    from crm_metrics.data.ingest import inspect_file
    z = ef.zendesk_tickets(tmp_path / "export.csv", n=20)
    insp = inspect_file(z)
    assert insp.table == "interactions" and insp.preset == "zendesk-tickets" and insp.preset_detected
    assert insp.columns["customer_id"] == "Requester external id" and insp.missing_required == []
    assert len(insp.samples["Via"]) == 3 and "Subject" in insp.extra_columns
    plain = tmp_path / "transactions_march.csv"
    plain.write_text("transaction_id,customer_id,occurred_on,product\nt1,c1,2025-03-01,Card\n")
    insp = inspect_file(plain)
    # amount is missing: no table fits completely; the file name suggests transactions
    assert insp.table == "transactions" and insp.missing_required == ["amount"] and insp.preset is None
    assert insp.candidates[0].table == "transactions" and insp.candidates[0].missing_required == ("amount",)
    insp = inspect_file(plain, mapping={"product": "amount"})
    assert insp.missing_required == ["product"]
