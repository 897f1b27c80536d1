"""The Data page plans a load (issue 17): table and export format detected from the headers, the
contract's labels with three sample values, Load disabled until every required column is mapped,
value mapping, warnings instead of the green tick, a replace asked first, refusals summarised per
column with the cell list to download, the store's currency beside a transactions file."""
from __future__ import annotations

from pathlib import Path

from test_app import _reset, db, open_page, sample_db, shown  # noqa: F401  (fixtures)

from crm_metrics.data.store import Store


def upload(at, name: str, data: bytes):
    at.file_uploader(key="upload_files").set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load_button(at):
    return next(b for b in at.button if b.label.startswith("Load 1 file"))


def query(db: Path, sql: str) -> list[tuple]:
    s = Store(db)  # a second connection to the app's file (reads only: the app's is locked down)
    try:
        return s.cursor().execute(sql).fetchall()
    finally:
        s.close()


def _spooled(db: Path) -> list[Path]:
    return [p for p in (db.parent / "uploads").rglob("*") if p.is_file()]


# -- detection -------------------------------------------------------------------------------------------
def test_table_detected_from_the_headers_not_the_name(db):
    at = open_page("pages/7_Data.py")
    upload(at, "transactions_march.csv",
           b"transaction_id,customer_id,occurred_on,product,amount,channel\nT1,C0000001,2026-03-02,mortgage,120.5,branch\n")
    assert at.selectbox(key="tbl_transactions_march.csv_").value == "transactions"
    assert any("Best match from the headers: **transactions** (6 of 6 columns" in c.value for c in at.caption)
    # a file named after nothing: the headers alone tell
    at = open_page("pages/7_Data.py")
    upload(at, "export.csv", b"customer_id,segment,joined_on\nN1,Retail,2025-01-01\n")
    assert at.selectbox(key="tbl_export.csv_").value == "customers"


def test_zendesk_export_detected_as_its_preset(db, tmp_path):
    from export_files import zendesk_tickets
    data = zendesk_tickets(tmp_path / "t.csv", n=30).read_bytes()
    at = open_page("pages/7_Data.py")
    upload(at, "tickets.csv", data)
    assert at.selectbox(key="preset_tickets.csv").value == "zendesk-tickets"
    assert any("Detected from the headers: **Zendesk — tickets export**" in c.value for c in at.caption)
    assert at.selectbox(key="tbl_tickets.csv_zendesk-tickets").value == "interactions"
    # the preset feeds the contract's columns: Requester external id -> Customer ID
    assert at.selectbox(key="map_tickets.csv_interactions_zendesk-tickets_customer_id").value == "Requester external id"


# -- mapping ----------------------------------------------------------------------------------------------
GERMAN = "Kunde,Segment,Seit\nK1,Retail,2025-01-01\nK2,Business,2025-02-01\nK3,Retail,2025-03-01\nK4,Retail,2025-04-01\n"


def test_load_disabled_until_every_required_column_is_mapped(db):
    at = open_page("pages/7_Data.py")
    upload(at, "customers.csv", GERMAN.encode())
    at.checkbox(key="reset_before_load").uncheck().run()  # keep the sample: this test is about mapping
    assert at.selectbox(key="tbl_customers.csv_").value == "customers"
    assert load_button(at).disabled
    warning = " ".join(w.value for w in at.warning)
    assert "Customer ID (customer_id)" in warning and "Joined on (joined_on)" in warning
    box = at.selectbox(key="map_customers.csv_customers__customer_id")
    assert box.label == "Customer ID (required)"
    # three sample values beside each column of the file: K1, K2, K3 (not K4)
    assert "Kunde  ·  e.g. K1, K2, K3" in box.options
    box.set_value("Kunde").run()
    assert load_button(at).disabled  # joined_on still unmapped
    assert "Joined on (joined_on)" in " ".join(w.value for w in at.warning)
    at.selectbox(key="map_customers.csv_customers__joined_on").set_value("Seit").run()
    assert not load_button(at).disabled
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    # 4 rows in the file, 4 new customers; the sample's 5,000 stay: 5,004
    assert query(db, "SELECT count(*) FROM customers")[0][0] == 5004
    assert query(db, "SELECT joined_on::VARCHAR FROM customers WHERE customer_id = 'K2'") == [("2025-02-01",)]
    assert _spooled(db) == []


def test_value_editor_shows_distinct_values_with_counts(db):
    body = ("interaction_id,customer_id,occurred_at,channel\n"
            "I1,C0000001,2026-01-05 10:00,Phone call\nI2,C0000001,2026-01-05 11:00,Phone call\n"
            "I3,C0000002,2026-01-06 09:00,Web form\nI4,C0000003,2026-01-06 09:30,Phone call\n")
    at = open_page("pages/7_Data.py")
    upload(at, "interactions.csv", body.encode())
    at.multiselect(key="vm_cols_interactions.csv_interactions").set_value(["channel"]).run()
    labels = [t.label for t in at.text_input if t.key and t.key.startswith("val_interactions.csv_channel_")]
    # Phone call: I1, I2, I4 = 3 rows; Web form: I3 = 1 row; most frequent first
    assert labels == ["Phone call · 3 rows", "Web form · 1 row"]


# -- after a load -----------------------------------------------------------------------------------------
def test_unknown_customers_warn_instead_of_the_green_tick(db):
    body = ("interaction_id,customer_id,occurred_at,channel\n"
            "X1,NOBODY1,2026-01-05 10:00,phone\nX2,NOBODY2,2026-01-05 11:00,phone\n"
            "X3,C0000001,2026-01-06 09:00,phone\n")
    at = open_page("pages/7_Data.py")
    upload(at, "interactions.csv", body.encode())
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.success
    text = shown(" ".join(w.value for w in at.warning))
    # 2 of the 3 rows have a customer not in customers: 66.7 % > 5 %
    assert "66.7% of the rows (2 of 3)" in text and "was loaded into interactions, but check" in text
    assert _spooled(db) == []


def test_replace_that_removes_rows_is_asked_first_and_warned(db):
    at = open_page("pages/7_Data.py")
    at.radio[0].set_value("replace")
    upload(at, "goals.csv", b"goal_id,kpi,target\nONLY,csat,50\n")
    confirm = at.checkbox(key="replace_confirm")
    assert "removes the 14 rows goals holds now" in confirm.label  # the sample's 14 goals
    assert load_button(at).disabled
    confirm.check().run()
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.success
    assert any("replace removed the 14 rows goals held before and loaded 1" in shown(w.value) for w in at.warning)
    assert query(db, "SELECT list(goal_id) FROM goals")[0][0] == ["ONLY"]


def test_refusal_summarised_per_column_with_the_cells_downloadable(db):
    body = b"goal_id,kpi,target,tolerance\nB1,csat,lots,\nB2,csat,many,\nB3,csat,1,-0.5\n"
    at = open_page("pages/7_Data.py")
    upload(at, "goals.csv", body)
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("refused" in e.value for e in at.error)
    summary = next(d.value for d in at.dataframe if "first lines" in d.value.columns)
    by_column = {r["column"]: r for r in summary.to_dict("records")}
    # target: lines 2 and 3 (B1 "lots", B2 "many") -> 2 rows; tolerance: line 4 (B3, -0.5 < 0) -> 1 row
    assert by_column["target"]["rows"] == 2 and by_column["target"]["first lines"] == "2, 3"
    assert by_column["target"]["first values"] == "lots, many"
    assert by_column["tolerance"]["rows"] == 1 and by_column["tolerance"]["first lines"] == "4"
    assert by_column["tolerance"]["rule"] == "must be a number >= 0"
    assert [b for b in at.get("download_button") if "cell by cell" in b.proto.label]
    assert query(db, "SELECT count(*) FROM goals WHERE goal_id LIKE 'B_'")[0][0] == 0
    assert _spooled(db) == []


def test_store_currency_shown_beside_a_transactions_file(db):
    at = open_page("pages/7_Data.py")
    upload(at, "transactions.csv",
           b"transaction_id,customer_id,occurred_on,product,amount\nT9,C0000001,2026-03-02,mortgage,120.5\n")
    assert any("the store's currency, **USD**" in c.value for c in at.caption)
    assert at.text_input(key="cur_transactions.csv").value == "USD"


# -- value mapping and presets, applied by the load ------------------------------------------------------
MINUTES = ("interaction_id,customer_id,occurred_at,channel,csat,handle_seconds\n"
           "I1,C0000001,2026-01-05 10:00,Phone call,Good,2\n"
           "I2,C0000001,2026-01-05 11:00,Phone call,Bad,3.5\n"
           "I3,C0000002,2026-01-06 09:00,Web form,,1\n"
           "I4,C0000003,2026-01-06 09:30,Phone call,Good,0.5\n")


def test_value_mapping_and_unit_conversion_applied(db):
    at = open_page("pages/7_Data.py")
    upload(at, "interactions.csv", MINUTES.encode())
    at.multiselect(key="vm_cols_interactions.csv_interactions").set_value(["channel", "csat", "handle_seconds"]).run()
    values = {t.label: t for t in at.text_input if t.key and t.key.startswith("val_interactions.csv_channel_")}
    values["Phone call · 3 rows"].input("phone")
    values["Web form · 1 row"].input("web")
    csat = {s.label: s for s in at.selectbox if s.key and s.key.startswith("val_interactions.csv_csat_")}
    assert set(csat) == {"Good · 2 rows", "Bad · 1 row", "(empty) · 1 row"}
    csat["Good · 2 rows"].set_value("5")
    csat["Bad · 1 row"].set_value("1")
    at.selectbox(key="unit_interactions.csv_handle_seconds").set_value("minutes")
    at.run()
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("interactions.csv -> interactions" in shown(s.value) for s in at.success), \
        [w.value for w in at.warning] + [e.value for e in at.error]
    rows = query(db, "SELECT interaction_id, channel, csat, handle_seconds FROM interactions "
                     "WHERE interaction_id IN ('I1', 'I2', 'I3', 'I4') ORDER BY interaction_id")
    # minutes x 60: 2 -> 120, 3.5 -> 210, 1 -> 60, 0.5 -> 30; Good -> 5, Bad -> 1, empty stays missing
    assert rows == [("I1", "phone", 5, 120.0), ("I2", "phone", 1, 210.0), ("I3", "web", None, 60.0),
                    ("I4", "phone", 5, 30.0)]


def test_zendesk_export_loaded_with_its_preset_warns_of_unknown_customers(db, tmp_path):
    import pandas as pd
    from export_files import zendesk_tickets
    path = zendesk_tickets(tmp_path / "t.csv", n=30)
    at = open_page("pages/7_Data.py")
    upload(at, "tickets.csv", path.read_bytes())
    assert not load_button(at).disabled
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    # the requesters (CUST-000nn) are not the sample's customers: 30 of 30 unknown -> a warning, no tick
    assert not at.success
    assert any("100.0% of the rows (30 of 30)" in shown(w.value) for w in at.warning), [w.value for w in at.warning]
    src = pd.read_csv(path, dtype=str, keep_default_na=False)
    loaded = query(db, "SELECT count(*), count(*) FILTER (WHERE resolved) FROM interactions "
                       "WHERE customer_id LIKE 'CUST-%'")[0]
    assert loaded == (30, int(src["Status"].isin(["solved", "closed"]).sum()))


def test_a_saved_mapping_is_offered_and_detected_for_the_next_file(db):
    at = open_page("pages/7_Data.py")
    upload(at, "kunden.csv", GERMAN.encode())
    at.selectbox(key="tbl_kunden.csv_").set_value("customers").run()
    at.selectbox(key="map_kunden.csv_customers__customer_id").set_value("Kunde").run()
    at.selectbox(key="map_kunden.csv_customers__joined_on").set_value("Seit").run()
    at.text_input(key="save_name_kunden.csv").input("our-crm-customers").run()
    at.button(key="save_map_kunden.csv").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved as our\\-crm\\-customers" in s.value or "Saved as our-crm-customers" in s.value
               for s in at.success), [s.value for s in at.success]
    # the next file of that shape: the saved mapping is detected, every required column mapped at once
    at = open_page("pages/7_Data.py")
    upload(at, "kunden_april.csv", b"Kunde,Segment,Seit\nK9,Retail,2025-04-09\n")
    assert at.selectbox(key="preset_kunden_april.csv").value == "our-crm-customers"
    assert at.selectbox(key="tbl_kunden_april.csv_our-crm-customers").value == "customers"
    assert not load_button(at).disabled
