"""Issue 18, findings 4 and 7 (engine side): no row lost without a word, one encoding per file,
messages of a readable length. Real files in tmp_path, a real DuckDB store, no mocks."""
from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from crm_metrics.data.ingest import LoadRefused, load_file
from crm_metrics.data.load import records
from crm_metrics.data.load.reading import MAX_LINE_BYTES
from crm_metrics.data.store import Store
from crm_metrics.delivery.cli import main

HEADER = b"customer_id,segment,joined_on\n"


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "crm.duckdb")
    yield s
    s.close()


def put(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    return path


def refused(store: Store, path: Path, **kw) -> str:
    before = (store.data_version(), repr(store.load_history()),
              store.cursor().execute("SELECT count(*) FROM customers").fetchone()[0])
    with pytest.raises(LoadRefused) as e:
        load_file(store, path, **kw)
    after = (store.data_version(), repr(store.load_history()),
             store.cursor().execute("SELECT count(*) FROM customers").fetchone()[0])
    assert after == before, "a refused file changes nothing"
    return str(e.value)


# -- finding 4: a last line over ~200 MB without a newline -----------------------------------------
def write_huge_last_line(path: Path) -> Path:
    """Header, one good row, then a 210 MB last line without a line break: DuckDB 2.0's reader
    returns 1 row for it and no error (the load said "1 rows read", exit 0)."""
    with open(path, "wb") as f:
        f.write(HEADER + b"c1,Mass,2024-01-01\nc2,")
        block = b"x" * 10_000_000
        for _ in range(21):
            f.write(block)
        f.write(b",2024-01-01")  # no newline at the end
    return path


def test_a_210_mb_last_line_without_newline_is_refused_not_dropped(store, tmp_path, capsys):
    path = write_huge_last_line(tmp_path / "customers.csv")
    msg = refused(store, path)
    assert "line 3" in msg and "longer than 10 MB" in msg, msg
    assert len(msg) < 500, "the message names the line, it does not echo it"
    # the CLI: exit 1, the reason on stderr, no traceback
    assert main(["load", "--db", str(tmp_path / "cli.duckdb"), str(path)]) == 1
    err = capsys.readouterr().err
    assert "longer than 10 MB" in err and "Traceback" not in err


def test_the_row_count_check_itself_catches_the_row_duckdb_drops(store, tmp_path, monkeypatch):
    """With the long-line check out of the way (its limit raised above the line, DuckDB's own
    limit kept at 10 MB), the same file reaches DuckDB's reader, which returns 1 row of 2: the
    independent count (2 data rows) refuses it."""
    path = write_huge_last_line(tmp_path / "customers.csv")
    real = records.Records

    class WideLines(real):
        def __init__(self, delimiter: str = ",", max_line: int = MAX_LINE_BYTES) -> None:
            super().__init__(delimiter, 400_000_000)

    monkeypatch.setattr(records, "Records", WideLines)
    msg = refused(store, path)
    assert "the file has 2 data rows but the CSV reader read 1" in msg, msg


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_file_whose_rows_all_arrive_still_loads(store, tmp_path, newline):
    # the forms of line the count must agree with DuckDB on: empty lines (skipped by DuckDB), a
    # quoted value with line breaks and "" escapes, a quote inside an unquoted value, no final break
    text = ("customer_id,segment,joined_on\n"
            "c1,Mass,2024-01-01\n\n"
            'c2,"Private\nand ""more""\n\nstill",2024-01-02\n'
            'c3,TV 55" screen,2024-01-03\n\n\n'
            "c4,Mass,2024-01-04").replace("\n", newline)
    rep = load_file(store, put(tmp_path, text.encode()))
    assert rep.rows_read == 4 and rep.inserted == 4  # c1..c4


# -- the independent count agrees with a CSV reader, whatever the chunking ------------------------
def reference_count(data: bytes) -> int:
    """Non-empty records by Python's csv module (DuckDB skips empty lines), header included."""
    rows = csv.reader(io.StringIO(data.decode("latin-1"), newline=""))
    return sum(1 for r in rows if r)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_record_count_matches_a_csv_reader_for_any_chunking(chunk):
    rnd = random.Random(chunk)
    parts = ["x", ",", "\n", "\r\n", "\r", "a,b,c", '"q\nq"', '"a""b"', '"\r\n\r\n"', "é"]
    for _ in range(300):
        data = ("h1,h2,h3\n" + "".join(rnd.choice(parts) for _ in range(rnd.randint(0, 20)))).encode()
        if data.count(b'"') % 2:
            continue  # an unterminated quote: a refused file, nothing to count
        r = records.Records()
        for i in range(0, len(data), chunk):
            r.feed(data[i:i + chunk])
        assert r.records() == reference_count(data), data


def test_a_line_longer_than_the_limit_is_found_at_any_size():
    r = records.Records(max_line=10)
    for piece in (b"a,b\n", b"0123456789", b"0\nok\n"):  # line 2 has 11 bytes, across two chunks
        r.feed(piece)
    assert r.long_line_at == 4
    r = records.Records(max_line=10)
    r.feed(b"a,b\n0123456789\n")  # exactly 10 bytes: allowed
    assert r.long_line_at is None


# -- finding 7: mixed encodings ---------------------------------------------------------------------
def test_a_utf8_file_with_a_windows_1252_line_is_refused_naming_the_line(store, tmp_path):
    data = (HEADER + "c1,Zürich,2024-01-01\nc2,Mass,2024-01-02\n".encode()
            + "c3,Genève,2024-01-03\n".encode("windows-1252"))
    msg = refused(store, put(tmp_path, data))
    assert "line 4" in msg and "mixes two encodings" in msg and "line 2 is UTF-8" in msg, msg


def test_a_windows_1252_file_with_a_utf8_line_is_refused_naming_the_line(store, tmp_path):
    data = (HEADER + "c1,Genève,2024-01-01\n".encode("windows-1252")
            + "c2,Zürich,2024-01-02\n".encode())
    msg = refused(store, put(tmp_path, data))
    assert "line 3 is UTF-8" in msg and "line 2 is not UTF-8" in msg, msg


def test_a_file_entirely_in_windows_1252_still_loads(store, tmp_path):
    data = HEADER + "c1,Zürich,2024-01-01\nc2,Genève,2024-01-02\n".encode("windows-1252")
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    rep = load_file(store, path)
    assert rep.encoding == "windows-1252" and rep.inserted == 2
    got = store.cursor().execute("SELECT segment FROM customers ORDER BY customer_id").fetchall()
    assert got == [("Zürich",), ("Genève",)]


def test_naming_the_encoding_loads_a_file_that_really_is_windows_1252(store, tmp_path):
    # "Ã¼" written in windows-1252 happens to be valid UTF-8: whoever knows the file says so
    data = HEADER + "c1,Ã¼ber,2024-01-01\nc2,Genève,2024-01-02\n".encode("windows-1252")
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    assert "mixes two encodings" in refused(store, path)
    assert load_file(store, path, encoding="windows-1252").inserted == 2


# -- finding 7: long messages -------------------------------------------------------------------------
def test_a_1_mb_cell_gives_a_short_message(store, tmp_path):
    cell = "9" * 1_000_000  # not a date
    path = tmp_path / "customers.csv"
    path.write_text(f"customer_id,segment,joined_on\nc1,Mass,{cell}\n")
    msg = refused(store, path)
    assert "…(1,000,000 characters)" in msg and len(msg) < 600, len(msg)
    assert ("9" * 80 + "…") in msg


def test_a_1_mb_header_gives_a_short_message(store, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("h" * 1_000_000 + ",segment\nc1,Mass\n")
    msg = refused(store, path)
    assert "required column" in msg and "…(1,000,000 characters)" in msg and len(msg) < 1000, len(msg)
