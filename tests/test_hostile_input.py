"""Hostile input: size limits, SQL injection through headers / values / names, DuckDB locked into its
data folder, and malformed files of every kind -- a clear refusal or a correct load, never a crash,
and a refused file changes nothing."""
from __future__ import annotations

import os
import random
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_metrics.data.ingest import LoadRefused, load_file
from crm_metrics.data.load import reading
from crm_metrics.data.schema import TABLES
from crm_metrics.data.store import Store
from crm_metrics.delivery.cli import main

CUSTOMERS = ("customer_id,segment,joined_on,left_on,region\n"
             "c1,Mass,2024-01-01,,North\nc2,Private,2024-02-01,2025-01-31,South\nc3,Mass,2023-05-06,,\n")
INTERACTIONS = ("interaction_id,customer_id,occurred_at,channel,advisor_id,reason,handle_seconds,"
                "wait_seconds,resolved,csat,ces\n"
                "i1,c1,2024-05-01 10:00,phone,a1,billing,300,20,yes,5,2\n"
                "i2,c2,2024-05-02 11:30:00,web,,card,,,no,,\n"
                "i3,c1,2024-05-03T09:15:00Z,branch,a2,\"loan, mortgage\",1200.5,0,true,4,1\n")
INJECTION = 'a"; DROP TABLE customers; --'


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "crm.duckdb")
    yield s
    s.close()


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def fingerprint(store: Store) -> tuple:
    """Row counts of every table (facts included), the load history and the data version."""
    cur = store.cursor()
    names = list(TABLES) + ["f_interactions", "f_transactions", "f_surveys", "load_snapshots"]
    counts = tuple(cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in names)
    tables = tuple(sorted(r[0] for r in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()))
    return counts, tables, repr(store.load_history()), store.data_version()


def refused(store: Store, path: Path, **kw) -> LoadRefused:
    before = fingerprint(store)
    with pytest.raises(LoadRefused) as e:
        load_file(store, path, **kw)
    assert fingerprint(store) == before, "a refused file must change nothing"
    assert e.value.report.problems and str(e.value)
    return e.value


# -- size limit --------------------------------------------------------------------------------------
def test_upload_size_limit_is_enforced_with_a_clear_message(store, tmp_path, monkeypatch):
    load_file(store, write(tmp_path, "customers.csv", CUSTOMERS))
    big = CUSTOMERS + "".join(f"x{i},Mass,2024-01-01,,\n" for i in range(200))
    monkeypatch.setenv("CRM_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    e = refused(store, write(tmp_path, "customers2.csv", big), table="customers")
    assert "CRM_MAX_UPLOAD_MB" in str(e) and "MB" in str(e)
    monkeypatch.setenv("CRM_MAX_UPLOAD_MB", "1")
    assert load_file(store, write(tmp_path, "customers3.csv", big), table="customers").inserted == 200


# -- SQL injection -------------------------------------------------------------------------------------
def test_hostile_header_is_only_a_name(store, tmp_path):
    text = f'customer_id,segment,joined_on,"{INJECTION.replace(chr(34), chr(34) * 2)}"\nc1,Mass,2024-01-01,x\n'
    rep = load_file(store, write(tmp_path, "customers.csv", text))
    assert rep.extra_columns == [INJECTION]
    assert store.cursor().execute("SELECT customer_id FROM customers").fetchall() == [("c1",)]


def test_hostile_header_mapped_onto_a_column(store, tmp_path):
    text = f'customer_id,"{INJECTION.replace(chr(34), chr(34) * 2)}",joined_on\nc1,Mass,2024-01-01\n'
    rep = load_file(store, write(tmp_path, "customers.csv", text), mapping={INJECTION: "segment"})
    assert rep.columns["segment"] == INJECTION
    assert store.cursor().execute("SELECT segment FROM customers").fetchall() == [("Mass",)]
    # a hostile mapping target is refused by name, not executed
    e = refused(store, write(tmp_path, "c2.csv", text), table="customers", mapping={"segment": INJECTION})
    assert "has no column" in str(e)


def test_hostile_values_table_and_file_names_are_data(store, tmp_path):
    values = ["'); DROP TABLE customers; --", "x' OR '1'='1", "\\'; SELECT 1; --", "${jndi:ldap://x}"]
    text = "customer_id,segment,joined_on\n" + "".join(
        f'"{v.replace(chr(34), chr(34) * 2)}",{"Mass" if i else v.replace(",", " ")},2024-01-01\n'
        for i, v in enumerate(values))
    name = "x'; DROP TABLE load_history; --.csv"
    rep = load_file(store, write(tmp_path, "any.csv", text), table="customers", file_name=name,
                    loaded_by="bob'); DELETE FROM customers; --")
    assert rep.inserted == 4
    assert sorted(r[0] for r in store.cursor().execute("SELECT customer_id FROM customers").fetchall()) == sorted(values)
    h = store.load_history()[0]
    assert h["file_name"] == name and h["loaded_by"].startswith("bob')")
    e = refused(store, write(tmp_path, "c.csv", CUSTOMERS), table="customers; DROP TABLE customers")
    assert "cannot tell which table" in str(e)


# -- DuckDB locked into its folder -----------------------------------------------------------------------
def test_lock_down_blocks_files_outside_while_loads_still_work(store, tmp_path):
    outside = write(tmp_path, "outside.csv", "a,b\n1,2\n")
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM read_csv(?)", [str(outside)]).fetchone()[0] == 1  # before
    allowed = store.lock_down()
    assert store.spool_dir + os.sep in allowed and store.locked_down
    for sql in ("SELECT * FROM read_csv('/etc/passwd')",
                f"SELECT * FROM read_csv('{outside}')",
                f"SELECT * FROM read_csv('{store.spool_dir}/../outside.csv')",
                f"COPY (SELECT 1) TO '{tmp_path / 'leak.csv'}'",
                f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
                "INSTALL httpfs"):
        with pytest.raises(duckdb.Error):
            store.cursor().execute(sql).fetchall()
    assert not (tmp_path / "leak.csv").exists()
    # it cannot be switched back on
    with pytest.raises(duckdb.Error):
        store.cursor().execute("SET enable_external_access = true")
    # a load from the spool folder works...
    spooled = write(Path(store.spool_dir), "customers.csv", CUSTOMERS)
    assert load_file(store, spooled).inserted == 3
    # ...and so does one from elsewhere (copied into the spool first), also one that is transcoded
    text = "customer_id,segment,joined_on\nc7,Частные клиенты,2024-01-01\n"
    assert load_file(store, write(tmp_path, "customers.csv", text.encode("windows-1251"))).inserted == 1
    assert not any(p.name.startswith("crm-load-") for p in Path(store.spool_dir).iterdir()), "temp files cleaned"
    # another store in the same process is not affected
    other = Store(tmp_path / "other" / "crm.duckdb")
    try:
        assert other.cursor().execute("SELECT count(*) FROM read_csv(?)", [str(outside)]).fetchone()[0] == 1
    finally:
        other.close()
    assert store.lock_down() == allowed  # idempotent


# -- malformed files -------------------------------------------------------------------------------------
HEADER = "customer_id,segment,joined_on\n"
MALFORMED: dict[str, tuple[bytes, str | None]] = {
    # name: (content, a word of the refusal's message; None: it must load)
    "empty": (b"", "empty"),
    "only_bom": (b"\xef\xbb\xbf", "byte-order mark"),
    "only_newlines": (b"\n\n\r\n", "header"),
    "binary": (bytes(range(256)) * 40, "binary"),
    "nul_in_a_value": ((HEADER + "c1,Ma\x00ss,2024-01-01\n").encode(), "NUL"),
    "nul_late_in_file": ((HEADER + "c1,Mass,2024-01-01\n" * 5000 + "c\x00,Mass,2024-01-01\n").encode(), "NUL"),
    "utf16": ((HEADER + "c1,Mass,2024-01-01\n").encode("utf-16"), "UTF-16"),
    "huge_field": ((HEADER + "c1," + "x" * 11_000_000 + ",2024-01-01\n").encode(), "10 MB"),
    "too_many_columns": ((HEADER.strip() + "," + ",".join(f"x{i}" for i in range(10_001)) + "\n").encode(),
                         "columns"),
    "unterminated_quote": ((HEADER + 'c1,"Mass,2024-01-01\nc2,Mass,2024-01-01\n').encode(), "unterminated"),
    "ragged_rows": ((HEADER + "c1,Mass\nc2,Mass,2024-01-01,extra\n").encode(), "2 fields where the header has 3"),
    "header_garbage": (b'"""\n', "column"),
    "invalid_utf8_named_utf8": ((HEADER + "c1,Массовый,2024-01-01\n").encode("windows-1251"), "UTF-8"),
    # correct loads
    "header_only": (HEADER.encode(), None),
    "bom_and_header_and_crlf": (b"\xef\xbb\xbf" + (HEADER + "c1,Mass,2024-01-01\n").replace("\n", "\r\n").encode(), None),
    "cr_only_line_endings": ((HEADER + "c1,Mass,2024-01-01\nc2,Private,2024-02-01\n").replace("\n", "\r").encode(), None),
    "deeply_nested_quotes": ((HEADER + 'c1,"' + '""' * 5000 + 'Mass' + '""' * 5000 + '",2024-01-01\n').encode(), None),
    "big_but_allowed_cell": ((HEADER + "c1," + "y" * 2_000_000 + ",2024-01-01\n").encode(), None),
    "thousands_of_columns": ((HEADER.strip() + "," + ",".join(f"x{i}" for i in range(3000)) + "\n"
                              + "c1,Mass,2024-01-01" + ",v" * 3000 + "\n").encode(), None),
    "windows_1252": ((HEADER + "c1,Clientèle privée,2024-01-01\n").encode("windows-1252"), None),
    "quoted_newlines_and_delims": ((HEADER + 'c1,"Mass,\nwith ""quotes""\r\nand lines",2024-01-01\n').encode(), None),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_is_refused_clearly_or_loaded(store, tmp_path, case):
    data, word = MALFORMED[case]
    load_file(store, write(tmp_path, "customers.csv", "customer_id,segment,joined_on\nc0,Mass,2023-01-01\n"))
    path = write(tmp_path, "case.csv", data)  # a neutral name: the message alone must say why
    kw = {"table": "customers"}
    if case == "invalid_utf8_named_utf8":
        kw["encoding"] = "utf-8"
    if word is None:
        rep = load_file(store, path, **kw)
        assert rep.ok
        if case == "cr_only_line_endings":
            assert rep.rows_read == 2
        if case == "deeply_nested_quotes":
            seg = store.cursor().execute("SELECT segment FROM customers WHERE customer_id = 'c1'").fetchone()[0]
            assert seg == '"' * 5000 + "Mass" + '"' * 5000
        if case == "thousands_of_columns":
            assert len(rep.extra_columns) == 3000 and "and 2980 more" in rep.summary()
    else:
        e = refused(store, path, **kw)
        assert word.lower() in str(e).lower(), str(e)
        assert len(str(e)) < 2000, "the message must not echo a huge line"


def test_cli_never_shows_a_traceback_for_a_malformed_file(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    bad = write(tmp_path, "customers.csv", bytes(range(256)) * 10)
    assert main(["load", "--db", str(db), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err


# -- generated corpus ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    s = Store(d / "crm.duckdb")
    load_file(s, write(d, "customers.csv", CUSTOMERS))
    load_file(s, write(d, "interactions.csv", INTERACTIONS))
    yield s, d
    s.close()


def check_load(store: Store, folder: Path, data: bytes, table: str) -> None:
    """The property: a load either succeeds or raises LoadRefused, and a refusal changes nothing."""
    path = folder / f"{table}_case.csv"
    path.write_bytes(data)
    before = fingerprint(store)
    try:
        rep = load_file(store, path, table=table)
    except LoadRefused as e:
        assert e.report.problem_count >= 1 and e.report.problems
        assert fingerprint(store) == before, "a refused file changed the store"
        return
    assert rep.ok and rep.load_id is not None


CSV_CHARS = list('abc019,;|\t "\'\n\r.-:/') + ["é", "Ж", "\x00", "\ufeff", "€", "\\"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@FAST
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_crash(shared_store, data):
    store, folder = shared_store
    check_load(store, folder, data, "customers")


@FAST
@given(header=st.sampled_from(["", "customer_id,segment,joined_on\n", "customer_id;segment;joined_on;left_on\n",
                               "\ufeffcustomer_id\tsegment\tjoined_on\n"]),
       body=st.text(alphabet=st.sampled_from(CSV_CHARS), max_size=400))
def test_random_text_never_crashes(shared_store, header, body):
    store, folder = shared_store
    check_load(store, folder, (header + body).encode("utf-8"), "customers")


MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["insert", "delete", "replace", "duplicate_line", "truncate"]),
    st.floats(min_value=0, max_value=1),
    st.sampled_from([b'"', b",", b"\n", b"\r", b"\x00", b";", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"-1",
                     b"1e999", b"99999999999999999999", b"nan", b"", b"  ", b"2024-13-45", b"\t"])),
    min_size=1, max_size=6)


def mutate(data: bytes, ops) -> bytes:
    for op, where, chunk in ops:
        i = int(where * len(data))
        if op == "insert":
            data = data[:i] + chunk + data[i:]
        elif op == "delete":
            data = data[:i] + data[i + max(len(chunk), 1):]
        elif op == "replace":
            data = data[:i] + chunk + data[i + 1:]
        elif op == "duplicate_line":
            lines = data.split(b"\n")
            j = int(where * (len(lines) - 1))
            lines.insert(j, lines[j])
            data = b"\n".join(lines)
        else:
            data = data[:max(i, 1)]
    return data


@FAST
@given(table=st.sampled_from(["customers", "interactions"]), ops=MUTATIONS)
def test_mutations_of_a_valid_file_never_crash(shared_store, table, ops):
    store, folder = shared_store
    valid = (CUSTOMERS if table == "customers" else INTERACTIONS).encode()
    check_load(store, folder, mutate(valid, ops), table)


def test_the_valid_files_used_for_mutations_load(shared_store):
    store, folder = shared_store
    for table, text in (("customers", CUSTOMERS), ("interactions", INTERACTIONS)):
        check_load(store, folder, text.encode(), table)
        assert store.load_history()[0]["table_name"] == table


def test_random_seeded_fuzz_of_wide_and_long_lines(store, tmp_path):
    rnd = random.Random(7)
    for _ in range(15):
        cols = rnd.choice([1, 2, 3, 50, 500])
        rows = [",".join(rnd.choice(["", "x", '"', '""', "a,b", "\r", "é"]) * rnd.randint(0, 3)
                         for _ in range(cols)) for _ in range(rnd.randint(0, 20))]
        check_load(store, tmp_path, ("customer_id,segment,joined_on\n" + "\n".join(rows)).encode(), "customers")


def test_a_file_the_locked_down_store_may_not_read_is_not_called_malformed(store, tmp_path):
    # DuckDB's permission error names no CSV fault: the refusal must not say "a quote is misplaced"
    store.lock_down()
    try:
        store.cursor().execute(f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')").fetchall()
    except duckdb.Error as e:
        problem = reading.csv_error(e)
    assert "may not read this file" in problem.rule and "quote" not in problem.rule
