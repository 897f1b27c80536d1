"""Uploads exactly as the data contract says: one tiny hand-written file per rule."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crm_metrics.data.ingest import LoadRefused, detect_delimiter, load_file
from crm_metrics.data.store import Store

CUSTOMERS = "customer_id,segment,joined_on,left_on\nc1,Mass,2024-01-01,\nc2,Private,2024-02-01,2025-01-31\n"
INTERACTIONS_HEADER = ("interaction_id,customer_id,occurred_at,channel,advisor_id,reason,"
                       "handle_seconds,wait_seconds,resolved,csat,ces\n")


@pytest.fixture
def store(tmp_path) -> Store:
    st = Store(tmp_path / "crm.duckdb")
    yield st
    st.close()


def write(tmp_path: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_bytes(text.encode(encoding))
    return p


def snapshot(store: Store) -> tuple:
    cur = store.cursor()
    tables = ("customers", "interactions", "transactions", "surveys", "f_interactions", "load_history")
    return tuple(tuple(sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall()))) for t in tables)


def refused(store: Store, path: Path, **kw) -> LoadRefused:
    before = snapshot(store)
    with pytest.raises(LoadRefused) as exc:
        load_file(store, path, **kw)
    assert snapshot(store) == before, "a refused file must change nothing"
    return exc.value


# -- reading ---------------------------------------------------------------------------------
def test_customers_load_and_types(store, tmp_path):
    rep = load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    assert (rep.table, rep.rows_read, rep.inserted, rep.updated, rep.unchanged) == ("customers", 2, 2, 0, 0)
    rows = store.cursor().execute("SELECT customer_id, joined_on, left_on FROM customers ORDER BY 1").fetchall()
    assert rows == [("c1", dt.date(2024, 1, 1), None), ("c2", dt.date(2024, 2, 1), dt.date(2025, 1, 31))]


def test_header_names_match_case_spaces_hyphens_and_aliases(store, tmp_path):
    text = " Client ID ;Segment;Customer-Since;Left On;Notes\nc1;Mass;2024-01-01;;hello\n"
    rep = load_file(store, write(tmp_path, "customers.csv", text))
    assert rep.columns["customer_id"] == " Client ID "
    assert rep.columns["joined_on"] == "Customer-Since"
    assert rep.extra_columns == ["Notes"]
    assert "Notes" in rep.summary()


def test_explicit_mapping_wins_over_names_and_aliases(store, tmp_path):
    # 'customer_id' exists by name, but the uploader says the key is in 'crm key'.
    text = "customer_id,crm key,segment,joined_on\nwrong1,c1,Mass,2024-01-01\n"
    load_file(store, write(tmp_path, "customers.csv", text), mapping={"CRM Key": "customer_id"})
    assert store.cursor().execute("SELECT customer_id FROM customers").fetchall() == [("c1",)]


def test_mapping_to_unknown_column_is_refused(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", CUSTOMERS), mapping={"segment": "tier"})
    assert "no column 'tier'" in str(e)


def test_semicolon_bom_decimal_comma_and_european_dates(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    text = ("\ufefftransaction_id;customer_id;occurred_on;product;amount\n"
            "t1;c1;31.03.2025;Savings;1 234,50\n"
            "t2;c1;01.04.2025;Card;-10,25\n")
    rep = load_file(store, write(tmp_path, "transactions.csv", text))
    assert rep.delimiter == ";" and rep.rows_read == 2
    rows = store.cursor().execute("SELECT transaction_id, occurred_on, amount FROM transactions ORDER BY 1").fetchall()
    assert rows == [("t1", dt.datetime(2025, 3, 31), 1234.5), ("t2", dt.datetime(2025, 4, 1), -10.25)]


@pytest.mark.parametrize("encoding,word", [("windows-1251", "Частные клиенты"), ("windows-1252", "Clientèle privée")])
def test_windows_encodings_are_detected(store, tmp_path, encoding, word):
    text = f"customer_id;segment;joined_on\nc1;{word};01.02.2024\nc2;{word} Plus;02.02.2024\n"
    rep = load_file(store, write(tmp_path, "customers.csv", text, encoding=encoding))
    assert rep.encoding == encoding
    assert encoding in rep.summary()
    assert store.cursor().execute("SELECT segment FROM customers WHERE customer_id = 'c1'").fetchone()[0] == word


def test_named_encoding_is_used(store, tmp_path):
    text = "customer_id,segment,joined_on\nc1,Privé,2024-01-01\n"
    rep = load_file(store, write(tmp_path, "customers.csv", text, encoding="windows-1252"), encoding="cp1252")
    assert rep.encoding == "windows-1252"


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters_detected(delim):
    assert detect_delimiter(delim.join(["a", "b", "c"]) + "\n" + delim.join(["1", "2", "3"]) + "\n") == delim


def test_quoted_newlines_and_quotes(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    text = INTERACTIONS_HEADER + 'i1,c1,2024-05-01 10:00,phone,a1,"said ""hi""\nthen left",60,5,true,5,7\n'
    load_file(store, write(tmp_path, "interactions.csv", text))
    assert store.cursor().execute("SELECT reason FROM interactions").fetchone()[0] == 'said "hi"\nthen left'


def test_quoted_newline_shifts_reported_line(store, tmp_path):
    # The record starting on line 2 spans lines 2-3, so the bad record starts on line 4.
    text = (INTERACTIONS_HEADER + 'i1,c1,2024-05-01 10:00,phone,a1,"two\nlines",60,5,true,5,7\n'
            "i2,c1,2024-05-02 10:00,phone,a1,service,60,5,true,9,7\n")
    e = refused(store, write(tmp_path, "interactions.csv", text))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(4, "csat", "9")]


def test_timestamps_with_offsets_become_utc_and_naive_are_kept(store, tmp_path):
    text = (INTERACTIONS_HEADER + "i1,c1,2024-05-01T10:00:00+02:00,phone,,,,,,,\n"
            "i2,c1,2024-05-01T10:00:00Z,phone,,,,,,,\ni3,c1,2024-05-01 10:00,phone,,,,,,,\n")
    load_file(store, write(tmp_path, "interactions.csv", text))
    rows = dict(store.cursor().execute("SELECT interaction_id, occurred_at FROM interactions").fetchall())
    assert rows == {"i1": dt.datetime(2024, 5, 1, 8), "i2": dt.datetime(2024, 5, 1, 10), "i3": dt.datetime(2024, 5, 1, 10)}


@pytest.mark.parametrize("raw,expected", [("true", True), ("YES", True), ("y", True), ("T", True), ("1", True),
                                          ("false", False), ("No", False), ("n", False), ("f", False), ("0", False),
                                          ("", None)])
def test_booleans(store, tmp_path, raw, expected):
    text = INTERACTIONS_HEADER + f"i1,c1,2024-05-01 10:00,phone,,,,,{raw},,\n"
    load_file(store, write(tmp_path, "interactions.csv", text))
    assert store.cursor().execute("SELECT resolved FROM interactions").fetchone()[0] is expected


# -- one test per validation rule ----------------------------------------------------------------
def test_rule_missing_required_column(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", "customer_id,joined_on\nc1,2024-01-01\n"))
    [p] = e.report.problems
    assert p.column == "segment" and "required column 'segment' is missing" in p.rule
    assert "customers.csv" in str(e)


def test_rule_required_cell_empty(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", "customer_id,segment,joined_on\nc1,,2024-01-01\n"))
    assert [(p.line, p.column, p.rule) for p in e.report.problems] == [(2, "segment", "required value is empty")]


def test_rule_unparseable_number(store, tmp_path):
    text = INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,abc,,,,\n"
    e = refused(store, write(tmp_path, "interactions.csv", text))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(2, "handle_seconds", "abc")]
    assert "must be a number" in e.report.problems[0].rule


def test_rule_negative_seconds(store, tmp_path):
    text = INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,,-5,,,\n"
    e = refused(store, write(tmp_path, "interactions.csv", text))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(2, "wait_seconds", "-5")]
    assert ">= 0" in e.report.problems[0].rule


@pytest.mark.parametrize("column,value,pos", [("csat", "6", 9), ("csat", "0", 9), ("csat", "4.5", 9),
                                              ("ces", "8", 10)])
def test_rule_integer_ranges(store, tmp_path, column, value, pos):
    cells = ["i1", "c1", "2024-05-01 10:00", "phone", "", "", "", "", "", "", ""]
    cells[pos] = value
    e = refused(store, write(tmp_path, "interactions.csv", INTERACTIONS_HEADER + ",".join(cells) + "\n"))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(2, column, value)]


def test_rule_nps_range(store, tmp_path):
    text = "response_id,customer_id,answered_on,nps\nr1,c1,2024-01-01,11\nr2,c1,2024-01-02,10\n"
    e = refused(store, write(tmp_path, "surveys.csv", text))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(2, "nps", "11")]


def test_rule_bad_boolean(store, tmp_path):
    text = INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,,,maybe,,\n"
    e = refused(store, write(tmp_path, "interactions.csv", text))
    assert [(p.column, p.value) for p in e.report.problems] == [("resolved", "maybe")]


def test_rule_bad_date(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", "customer_id,segment,joined_on\nc1,Mass,2024-13-45\n"))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(2, "joined_on", "2024-13-45")]


def test_rule_ambiguous_dates_refused_with_request_for_format(store, tmp_path):
    text = "customer_id,segment,joined_on\nc1,Mass,03/04/2024\nc2,Mass,05/06/2024\n"
    e = refused(store, write(tmp_path, "customers.csv", text))
    assert e.report.problems[0].column == "joined_on"
    assert "ambiguous" in e.report.problems[0].rule and "ISO" in e.report.problems[0].rule


def test_unambiguous_slash_dates_load(store, tmp_path):
    # 25/04 can only be day/month, so the whole column reads as dd/mm/yyyy.
    text = "customer_id,segment,joined_on\nc1,Mass,03/04/2024\nc2,Mass,25/04/2024\n"
    load_file(store, write(tmp_path, "customers.csv", text))
    got = dict(store.cursor().execute("SELECT customer_id, joined_on FROM customers").fetchall())
    assert got == {"c1": dt.date(2024, 4, 3), "c2": dt.date(2024, 4, 25)}


def test_rule_bad_choice(store, tmp_path):
    e = refused(store, write(tmp_path, "segments.csv", "segment,strategy\nMass,sometimes\n"))
    assert [(p.column, p.value) for p in e.report.problems] == [("strategy", "sometimes")]
    assert "relationship, transactional" in e.report.problems[0].rule


def test_rule_duplicate_key_in_file(store, tmp_path):
    text = "customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Mass,2024-01-01\nc1,Private,2024-01-01\n"
    e = refused(store, write(tmp_path, "customers.csv", text))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(4, "customer_id", "c1")]
    assert "duplicate" in e.report.problems[0].rule


def test_rule_ragged_row_refused(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", "customer_id,segment,joined_on\nc1,Mass,2024-01-01,extra,more\n"))
    assert "well-formed" in str(e)


def test_rule_binary_file_refused(store, tmp_path):
    e = refused(store, write(tmp_path, "customers.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10))
    assert "binary" in str(e) or "not" in str(e)


def test_unknown_table_refused(store, tmp_path):
    e = refused(store, write(tmp_path, "misc.csv", "foo,bar\n1,2\n"))
    assert "which table" in str(e)


def test_problems_list_first_20_and_the_count(store, tmp_path):
    rows = "".join(f"c{i},Mass,not-a-date\n" for i in range(25))
    e = refused(store, write(tmp_path, "customers.csv", "customer_id,segment,joined_on\n" + rows))
    assert e.report.problem_count == 25 and len(e.report.problems) == 20
    assert [p.line for p in e.report.problems] == list(range(2, 22))
    # beyond 20 problems: one summary per column and rule, the full list kept for the download
    assert "column joined_on: 25 values" in e.report.summary() and "first at lines 2, 3, 4, 5, 6" in e.report.summary()
    assert len(e.report.all_problems) == 25 and [s.count for s in e.report.summaries] == [25]


def test_bad_value_far_past_the_sniffer_sample_reported_with_its_line(store, tmp_path):
    good = "".join(f"i{i},c1,2024-05-01 10:00,phone,a1,service,60,5,true,5,7\n" for i in range(40_000))
    lines = (INTERACTIONS_HEADER + good).splitlines(keepends=True)
    # line 30 000 of the file (header is line 1) gets a csat of 9
    lines[29_999] = lines[29_999].replace(",true,5,7", ",true,9,7")
    e = refused(store, write(tmp_path, "interactions.csv", "".join(lines)))
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(30_000, "csat", "9")]


# -- merge / replace / history -------------------------------------------------------------------
def test_merge_insert_update_unchanged_and_reload(store, tmp_path):
    p = write(tmp_path, "customers.csv", CUSTOMERS)
    first = load_file(store, p)
    again = load_file(store, p)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = write(tmp_path, "customers2.csv",
                    "customer_id,segment,joined_on\nc1,Mass,2024-01-01\nc2,Premier,2024-02-01\nc3,Mass,2024-03-01\n")
    rep = load_file(store, changed, table="customers")
    # c1 identical (left_on empty both times); c2 changed segment and left_on; c3 new
    assert (rep.inserted, rep.updated, rep.unchanged) == (1, 1, 1)
    assert store.cursor().execute("SELECT count(*) FROM customers").fetchone()[0] == 3
    assert [h["load_id"] for h in store.load_history()] == [3, 2, 1]
    assert first.load_id == 1


def test_replace_empties_the_table_first(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    p = write(tmp_path, "c2.csv", "customer_id,segment,joined_on\nc9,Mass,2024-01-01\n")
    rep = load_file(store, p, table="customers", mode="replace")
    assert (rep.inserted, rep.removed) == (1, 2)
    assert store.cursor().execute("SELECT customer_id FROM customers").fetchall() == [("c9",)]


def test_load_history_records_everything(store, tmp_path):
    p = write(tmp_path, "customers.csv", CUSTOMERS)
    load_file(store, p, loaded_by="ana@bank.example")
    [h] = store.load_history()
    assert h["table_name"] == "customers" and h["file_name"] == "customers.csv" and h["mode"] == "merge"
    assert h["rows_read"] == 2 and h["inserted"] == 2 and h["loaded_by"] == "ana@bank.example"
    import hashlib
    assert h["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert isinstance(h["loaded_at"], dt.datetime)


def test_unmatched_customer_ids_are_kept_and_counted(store, tmp_path):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    text = INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,,,,,\ni2,zz,2024-05-01 11:00,phone,,,,,,,\n"
    rep = load_file(store, write(tmp_path, "interactions.csv", text))
    assert rep.unmatched == 1 and "not in customers" in rep.summary()
    facts = store.cursor().execute("SELECT interaction_id, segment, known FROM f_interactions ORDER BY 1").fetchall()
    assert facts == [("i1", "Mass", True), ("i2", "(unknown)", False)]


def test_files_may_arrive_in_any_order(store, tmp_path):
    text = INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,,,,,\n"
    load_file(store, write(tmp_path, "interactions.csv", text))
    assert store.cursor().execute("SELECT segment FROM f_interactions").fetchone()[0] == "(unknown)"
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    assert store.cursor().execute("SELECT segment FROM f_interactions").fetchone()[0] == "Mass"


def test_derived_next_contact_is_strictly_later_any_channel(store, tmp_path):
    text = (INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,phone,,,,,,,\n"
            "i2,c1,2024-05-01 10:00,email,,,,,,,\ni3,c1,2024-05-03 09:00,web,,,,,,,\n"
            "i4,c2,2024-05-02 09:00,web,,,,,,,\n")
    load_file(store, write(tmp_path, "interactions.csv", text))
    got = dict(store.cursor().execute("SELECT interaction_id, next_contact_at FROM f_interactions").fetchall())
    assert got == {"i1": dt.datetime(2024, 5, 3, 9), "i2": dt.datetime(2024, 5, 3, 9), "i3": None, "i4": None}
    kinds = dict(store.cursor().execute("SELECT channel, kind FROM f_interactions").fetchall())
    assert kinds == {"phone": "assisted", "email": "assisted", "web": "self_service"}


def test_channels_table_overrides_default_kind(store, tmp_path):
    load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS_HEADER + "i1,c1,2024-05-01 10:00,web,,,,,,,\n"))
    load_file(store, write(tmp_path, "channels.csv", "channel,kind\nweb,assisted\n"))
    assert store.cursor().execute("SELECT kind FROM f_interactions").fetchone()[0] == "assisted"


def test_data_version_moves_only_when_data_changes(store, tmp_path):
    p = write(tmp_path, "customers.csv", CUSTOMERS)
    v0 = store.data_version()
    load_file(store, p)
    v1 = store.data_version()
    load_file(store, p)
    assert v1 > v0 and store.data_version() == v1


def test_tab_file_with_decimal_commas(store, tmp_path):
    text = "transaction_id\tcustomer_id\toccurred_on\tproduct\tamount\nt1\tc1\t2025-03-31\tCard\t12,5\n"
    load_file(store, write(tmp_path, "transactions.csv", text))
    assert store.cursor().execute("SELECT amount FROM transactions").fetchone()[0] == 12.5


def test_comma_file_with_quoted_thousands(store, tmp_path):
    text = 'transaction_id,customer_id,occurred_on,product,amount\nt1,c1,2025-03-31,Card,"1,234.50"\n'
    load_file(store, write(tmp_path, "transactions.csv", text))
    assert store.cursor().execute("SELECT amount FROM transactions").fetchone()[0] == 1234.5


# -- the fast path and the careful path ----------------------------------------------------------
# A clean file is loaded in one pass (plans from a sample, every rule checked as rows are written);
# anything unusual rolls that back and the careful path decides. These tests pin which path ran.
import crm_metrics.data.ingest as ingest_mod  # noqa: E402
from crm_metrics.data.load import fast as fast_mod  # noqa: E402


@pytest.fixture
def paths(monkeypatch):
    """Count the careful path's runs (the fast path is whatever loads without it)."""
    calls = {"careful": 0}
    real = ingest_mod.load_careful

    def careful(*a, **kw):
        calls["careful"] += 1
        return real(*a, **kw)

    monkeypatch.setattr(ingest_mod, "load_careful", careful)
    return calls


def test_clean_file_takes_the_fast_path(store, tmp_path, paths):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    rep = load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS_HEADER
                                 + "i1,c1,2025-03-01 10:00:00,phone,a1,billing,300,20,true,5,6\n"
                                 + "i2,c9,2025-03-02 11:00:00,web,,,,,,,\n"))
    assert paths["careful"] == 0
    assert (rep.rows_read, rep.inserted, rep.unmatched) == (2, 2, 1)
    cur = store.cursor()
    assert cur.execute("SELECT interaction_id, handle_seconds, resolved FROM interactions ORDER BY 1").fetchall() == [
        ("i1", 300.0, True), ("i2", None, None)]
    # the facts were rebuilt in the same load
    assert cur.execute("SELECT count(*) FROM f_interactions").fetchone()[0] == 2
    # a merge of the same file into a filled table: the fast path too, nothing changes
    rep2 = load_file(store, write(tmp_path, "interactions.csv", INTERACTIONS_HEADER
                                  + "i1,c1,2025-03-01 10:00:00,phone,a1,billing,300,20,true,5,6\n"
                                  + "i2,c9,2025-03-02 11:00:00,web,,,,,,,\n"))
    assert paths["careful"] == 0
    assert (rep2.inserted, rep2.updated, rep2.unchanged) == (0, 0, 2)


def test_a_bad_value_after_the_sample_goes_to_the_careful_path(store, tmp_path, paths, monkeypatch):
    monkeypatch.setattr(fast_mod, "FAST_SAMPLE_ROWS", 2)
    rows = "".join(f"i{k},c1,2025-03-01 10:00:00,phone,a1,,{k},,,,\n" for k in range(5))
    e = refused(store, write(tmp_path, "interactions.csv", INTERACTIONS_HEADER + rows
                             + "i9,c1,2025-03-01 10:00:00,phone,a1,,-5,,,,\n"))
    assert paths["careful"] == 1
    # line 1 is the header, rows i0..i4 are lines 2..6, the bad one is line 7
    assert [(p.line, p.column) for p in e.report.problems] == [(7, "handle_seconds")]


def test_a_date_format_the_sample_did_not_see_is_decided_on_the_whole_file(store, tmp_path, paths, monkeypatch):
    # the sample (2 rows) is all ISO; later rows are dd.mm.yyyy: the careful path plans on every row
    monkeypatch.setattr(fast_mod, "FAST_SAMPLE_ROWS", 2)
    text = ("customer_id,segment,joined_on\nc1,Mass,2024-01-05\nc2,Mass,2024-02-06\n"
            "c3,Mass,31.03.2024\nc4,Mass,01.04.2024\n")
    rep = load_file(store, write(tmp_path, "customers.csv", text))
    assert paths["careful"] == 1 and rep.inserted == 4
    got = store.cursor().execute("SELECT customer_id, joined_on FROM customers ORDER BY 1").fetchall()
    assert got == [("c1", dt.date(2024, 1, 5)), ("c2", dt.date(2024, 2, 6)),
                   ("c3", dt.date(2024, 3, 31)), ("c4", dt.date(2024, 4, 1))]


def test_duplicate_keys_are_reported_by_the_careful_path(store, tmp_path, paths):
    e = refused(store, write(tmp_path, "customers.csv", CUSTOMERS + "c1,Mass,2024-01-01,\n"))
    assert paths["careful"] == 1
    assert [(p.line, p.column, p.value) for p in e.report.problems] == [(4, "customer_id", "c1")]


def test_the_load_memory_cap_is_lifted_afterwards(store, tmp_path, monkeypatch):
    cur = store.cursor()
    before = cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    monkeypatch.setenv("CRM_LOAD_MEMORY_LIMIT", "300MB")
    seen = {}
    real = fast_mod.may_have_duplicates

    def spy(c, table, key):
        seen["limit"] = c.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        return real(c, table, key)

    monkeypatch.setattr(fast_mod, "may_have_duplicates", spy)
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    assert seen["limit"] != before  # capped during the load (DuckDB reports it in its own units)
    assert cur.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before


def test_a_bad_load_memory_setting_is_named_and_changes_nothing(store, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_LOAD_MEMORY_LIMIT", "lots")
    before = snapshot(store)
    with pytest.raises(ValueError, match="CRM_LOAD_MEMORY_LIMIT: not a memory size: 'lots'"):
        load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    assert snapshot(store) == before


def test_an_incremental_refresh_runs_under_a_limit_sized_to_its_customers(store, tmp_path, monkeypatch):
    # a merge touching 2 customers refreshes their facts under 256 MB + 2 KB x 2 -> 257 MB (rounded up),
    # and the load's own cap (300 MB here) is back afterwards, then DuckDB's default after the load
    from crm_metrics.data import facts as facts_mod
    from crm_metrics.data.load import memory

    assert (memory.refresh_limit_mb(0), memory.refresh_limit_mb(2), memory.refresh_limit_mb(10_000)) == (256, 257, 276)
    cur = store.cursor()
    before = cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    load_file(store, write(tmp_path, "interactions.csv",
                           "interaction_id,customer_id,occurred_at,channel\ni1,c1,2024-01-02 10:00,phone\n"))
    monkeypatch.setenv("CRM_LOAD_MEMORY_LIMIT", "300MB")
    seen = {}
    real = facts_mod.refresh

    def spy(c, names, touched=None):
        seen["limit"] = c.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        seen["touched"] = touched
        return real(c, names, touched)

    monkeypatch.setattr(facts_mod, "refresh", spy)
    load_file(store, write(tmp_path, "interactions.csv",
                           "interaction_id,customer_id,occurred_at,channel\ni2,c1,2024-01-03 10:00,phone\n"
                           "i3,c2,2024-01-03 11:00,email\n"))
    assert seen["touched"] is not None
    assert seen["limit"] == "245.0 MiB"  # 257 MB as DuckDB shows it (257e6 / 2**20 = 245.1)
    assert cur.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
