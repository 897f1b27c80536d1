"""Own company first (issue 17): the store tells the sample company's rows from the analyst's own,
removes the sample (engine and CLI) and puts it back on undo; the report words itself on it.

Expected counts are the line counts of the committed sample files minus their header row:
customers.csv 5,001 lines -> 5,000; interactions.csv 49,790 -> 49,789; transactions.csv 12,174 ->
12,173; surveys.csv 3,675 -> 3,674; initiatives.csv 7 -> 6; goals.csv 15 -> 14; segments.csv 6 -> 5;
channels.csv 7 -> 6.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_metrics.data.bootstrap import ensure_sample, load_sample
from crm_metrics.data.ingest import load_file
from crm_metrics.data.reset import ResetError, last_reset, reset_sample, store_contents
from crm_metrics.data.store import Store
from crm_metrics.data.undo import UndoError, undo_load, undoable_loads
from crm_metrics.delivery.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_COUNTS = {"customers": 5000, "interactions": 49789, "transactions": 12173, "surveys": 3674,
                 "initiatives": 6, "goals": 14, "segments": 5, "channels": 6}
EMPTY_COUNTS = dict.fromkeys(SAMPLE_COUNTS, 0)
OWN_CUSTOMERS = ("customer_id,segment,joined_on\n"
                 "OWN1,Retail,2025-01-01\n"
                 "OWN2,Business,2025-02-01\n")
# G05 as the sample has it, but with another target: the analyst's goal now, so it stays
SAMPLE_G05 = next(line for line in (ROOT / "sample_data" / "goals.csv").read_text().splitlines()
                  if line.startswith("G05,"))


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("own") / "sample.duckdb"
    s = Store(path)
    load_sample(s)
    s.close()
    return path


@pytest.fixture
def store(sample_file, tmp_path) -> Store:
    path = tmp_path / "crm.duckdb"
    shutil.copy(sample_file, path)
    s = Store(path)
    yield s
    s.close()


def counts(store: Store) -> dict[str, int]:
    return store.row_counts()


def load_own(store: Store, tmp_path: Path, name: str = "customers.csv", text: str = OWN_CUSTOMERS) -> None:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    load_file(store, f, loaded_by="analyst")


def edited_g05() -> str:
    cells = SAMPLE_G05.split(",")
    assert cells[2] != "99"
    cells[2] = "99"
    return ",".join(cells)


# -- what the store holds ----------------------------------------------------------------------------
def test_contents_empty_sample_mixed_own(store, tmp_path):
    assert store_contents(Store(tmp_path / "empty.duckdb")) == "empty"
    assert store_contents(store) == "sample"
    load_own(store, tmp_path)
    assert store_contents(store) == "mixed"
    reset_sample(store, user="analyst")
    assert store_contents(store) == "own"


def test_an_edited_sample_goal_alone_does_not_make_the_store_own(store, tmp_path):
    header = (ROOT / "sample_data" / "goals.csv").read_text().splitlines()[0]
    load_own(store, tmp_path, "goals.csv", f"{header}\n{edited_g05()}\n")
    assert store_contents(store) == "sample"  # goals are settings, not data


# -- reset and its undo --------------------------------------------------------------------------------
def test_reset_removes_the_sample_keeps_own_rows_and_undo_restores_all(store, tmp_path):
    load_own(store, tmp_path)
    header = (ROOT / "sample_data" / "goals.csv").read_text().splitlines()[0]
    load_own(store, tmp_path, "goals.csv", f"{header}\n{edited_g05()}\n")
    before = {t: sorted(store.cursor().execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in SAMPLE_COUNTS}
    rep = reset_sample(store, user="analyst")
    # own: the 2 customers loaded; the goal edited (G05, target 99); everything else was the sample's
    assert counts(store) == {**EMPTY_COUNTS, "customers": 2, "goals": 1}
    assert store.cursor().execute("SELECT goal_id, target FROM goals").fetchall() == [("G05", 99.0)]
    # removed: the sample's rows; 14 goals minus the edited one = 13
    assert rep.removed == {**SAMPLE_COUNTS, "goals": 13}
    assert len(rep.load_ids) == 8 and rep.reset_id == rep.load_ids[0]
    modes = store.cursor().execute("SELECT DISTINCT mode, removed FROM load_history WHERE load_id >= ? "
                                   "AND table_name = 'interactions'", [rep.reset_id]).fetchall()
    assert modes == [("reset", 49789)]
    assert store.cursor().execute("SELECT count(*) FROM f_interactions").fetchone()[0] == 0
    assert undoable_loads(store)[0] == rep.reset_id and last_reset(store) == rep.reset_id

    undo = undo_load(store, rep.load_ids[3], user="analyst")  # any entry undoes the whole reset
    assert undo.restored == 5000 + 49789 + 12173 + 3674 + 6 + 13 + 5 + 6  # = 70,666
    after = {t: sorted(store.cursor().execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in SAMPLE_COUNTS}
    assert after == before
    assert store_contents(store) == "mixed"
    assert store.cursor().execute("SELECT count(*) FROM f_interactions").fetchone()[0] == 49789
    assert last_reset(store) is None
    with pytest.raises(UndoError, match="already undone"):
        undo_load(store, rep.reset_id)


def test_reset_on_a_store_without_the_sample_is_refused(tmp_path):
    s = Store(tmp_path / "own.duckdb")
    load_own(s, tmp_path)
    with pytest.raises(ResetError, match="nothing to remove"):
        reset_sample(s)
    assert counts(s) == {**EMPTY_COUNTS, "customers": 2}
    s.close()


def test_a_load_after_the_reset_stands_in_the_way_of_its_undo(store, tmp_path):
    rep = reset_sample(store)
    load_own(store, tmp_path)
    with pytest.raises(UndoError, match="loaded again"):
        undo_load(store, rep.reset_id)
    assert counts(store) == {**EMPTY_COUNTS, "customers": 2}


def test_a_reset_store_is_not_given_the_sample_again_at_start(store):
    reset_sample(store)
    assert ensure_sample(store) == []
    assert counts(store) == EMPTY_COUNTS and store_contents(store) == "empty"


# -- the command line ----------------------------------------------------------------------------------
def test_cli_reset_then_undo(store, capsys):
    path = store.path
    store.close()
    from crm_metrics.data.store import close_all
    close_all()
    assert main(["reset", "--sample", "--db", path]) == 0
    out = capsys.readouterr().out
    assert "removed the sample company" in out and "5,000 customers" in out and "49,789 interactions" in out
    # the sample's 8 loads are 1..8, so the reset's first entry is load 9
    assert "undo --load-id 9" in out
    assert main(["reset", "--sample", "--db", path]) == 1
    assert "nothing to remove" in capsys.readouterr().err
    assert main(["undo", "--load-id", "9", "--db", path]) == 0
    close_all()
    s = Store(path)
    try:
        assert counts(s) == SAMPLE_COUNTS
    finally:
        s.close()


def test_cli_reset_needs_the_sample_flag(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["reset", "--db", str(tmp_path / "crm.duckdb")])
    assert e.value.code == 2


def test_cli_reset_in_a_child_process(store):
    path = store.path
    store.close()
    p = subprocess.run([sys.executable, "-m", "crm_metrics", "--db", path, "reset", "--sample"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr


# -- the report's wording ------------------------------------------------------------------------------
def _header(store: Store) -> str:
    from crm_metrics.delivery.report.data import collect
    from crm_metrics.delivery.report.sections import section_header
    return section_header(collect(store))


def test_report_says_sample_only_for_the_sample(store, tmp_path):
    assert "shows the <b>sample company</b>" in _header(store)
    load_own(store, tmp_path)
    mixed = _header(store)
    assert "mixes <b>your data with the sample company</b>" in mixed and "shows the <b>sample" not in mixed
    reset_sample(store)
    own = _header(store)
    assert "sample" not in own.lower()


# -- the app -------------------------------------------------------------------------------------------
@pytest.fixture
def app_db(sample_file, tmp_path, monkeypatch) -> Path:
    from test_app import _reset
    path = tmp_path / "app" / "crm.duckdb"
    path.parent.mkdir()
    shutil.copy(sample_file, path)
    monkeypatch.setenv("CRM_DB", str(path))
    _reset()
    yield path
    _reset()


def _counts_at(path: Path) -> dict[str, int]:
    from crm_metrics.data.store import close_all
    close_all()  # the app's connection: DuckDB lets one process hold a file once
    s = Store(path)
    try:
        return counts(s)
    finally:
        s.close()


def _banners(at) -> str:
    return " ".join([i.value for i in at.info] + [w.value for w in at.warning])


def test_app_banner_sample_mixed_own(app_db, tmp_path):
    from test_app import _reset, open_page
    at = open_page("pages/2_Channels.py")
    assert "fictional sample company" in _banners(at)
    _reset()  # the app's connection goes: a test process holds a file once
    s = Store(app_db)
    load_own(s, tmp_path)
    s.close()
    at = open_page("pages/2_Channels.py")
    text = _banners(at)
    assert "your own data together with Northwind Bank" in text and "fictional sample company" not in text
    _reset()
    s = Store(app_db)
    reset_sample(s)
    s.close()
    at = open_page("pages/2_Channels.py")
    assert "Northwind" not in _banners(at) and "sample" not in _banners(at)


def test_app_reset_button_then_undo(app_db):
    from test_app import open_page
    at = open_page("pages/7_Data.py")
    button = at.button(key="reset_sample")
    assert button.disabled  # the confirmation first
    at.checkbox(key="reset_confirm").check().run()
    at.button(key="reset_sample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("removed the sample company" in s.value for s in at.success)
    assert "fictional sample company" not in _banners(at)
    assert not [b for b in at.button if b.key == "reset_sample"]  # nothing left to remove
    at.button(key="undo_reset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("undone" in s.value for s in at.success)
    assert "fictional sample company" in _banners(at)
    assert _counts_at(app_db) == SAMPLE_COUNTS


def test_app_own_customers_upload_removes_the_sample_first(app_db):
    from test_app import open_page
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(("customers.csv", OWN_CUSTOMERS.encode(), "text/csv")).run()
    assert at.checkbox(key="reset_before_load").value is True  # offered, ticked
    next(b for b in at.button if b.label.startswith("Load 1 file")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _counts_at(app_db) == {**EMPTY_COUNTS, "customers": 2}
    assert not list((app_db.parent / "uploads").rglob("*.csv"))  # no upload left on disk


def test_app_reset_offered_to_analysts_only(app_db):
    from test_roles import run_as
    viewer = run_as("pages/7_Data.py", "exec@bank.example")
    assert not [b for b in viewer.button if b.key in ("reset_sample", "undo_reset")]
    analyst = run_as("pages/7_Data.py", "ana@bank.example")
    assert [b for b in analyst.button if b.key == "reset_sample"]
