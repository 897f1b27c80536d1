"""The Data page's uploads: two files with one name, spooled copies removed after a load or a
refusal, and spooled files of a previous run removed when the app starts."""
from __future__ import annotations

import os
import time
from pathlib import Path

from test_app import _reset, db, open_page, sample_db, shown  # noqa: F401  (fixtures)

GOALS_A = b"goal_id,kpi,target,objective,owner\nG91,complaint_rate,1.0,First file,Head of Service\n"
GOALS_B = b"goal_id,kpi,target,objective,owner\nG92,complaint_rate,2.0,Second file,Head of Service\n"


def _spooled(db: Path) -> list[Path]:
    return [p for p in (db.parent / "uploads").rglob("*") if p.is_file()]


def test_two_uploads_with_one_name_both_load(db):
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(
        [("goals.csv", GOALS_A, "text/csv"), ("goals.csv", GOALS_B, "text/csv")]).run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [sb.label for sb in at.selectbox if sb.label.startswith("Table for")]
    assert len(labels) == 2 and labels[0] != labels[1], labels
    next(b for b in at.button if b.label == "Load 2 files").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len([s for s in at.success if "goals.csv -> goals" in shown(s.value)]) == 2


def test_spooled_upload_removed_after_load(db):
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(("goals.csv", GOALS_A, "text/csv")).run()
    assert len(_spooled(db)) == 1  # spooled while it is being mapped
    next(b for b in at.button if b.label.startswith("Load 1 file")).click().run()
    assert not at.exception
    assert any("goals.csv -> goals" in shown(s.value) for s in at.success)
    assert _spooled(db) == []


def test_spooled_upload_removed_after_refusal(db):
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(
        ("goals.csv", b"goal_id,kpi,target\nG98,not_a_kpi,1\n", "text/csv")).run()
    assert len(_spooled(db)) == 1
    next(b for b in at.button if b.label.startswith("Load")).click().run()
    assert any("refused" in e.value for e in at.error)
    assert _spooled(db) == []


def test_spooled_upload_removed_when_deselected(db):
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(("goals.csv", GOALS_A, "text/csv")).run()
    assert len(_spooled(db)) == 1
    at.file_uploader(key="upload_files").set_value([]).run()
    assert not at.exception
    assert _spooled(db) == []


def test_spool_of_a_previous_run_removed_at_start(db):
    uploads = db.parent / "uploads"
    old_session = uploads / "session-old"
    old_session.mkdir(parents=True)
    (old_session / "abc.csv").write_bytes(b"x" * 1000)
    stray = uploads / "stray.csv"
    stray.write_bytes(b"y")
    # written twelve days ago, long before this test process (the app's process) started
    long_ago = time.time() - 12 * 24 * 3600
    for p in (old_session / "abc.csv", old_session, stray):
        os.utime(p, (long_ago, long_ago))
    at = open_page("pages/7_Data.py")
    assert not at.exception
    assert not old_session.exists() and not stray.exists()


def test_refused_upload_shows_problem_values_cut(db):
    long_kpi = "x" * 5000  # an unknown KPI id of 5,000 characters
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(
        ("goals.csv", f"goal_id,kpi,target\nG97,{long_kpi},1\n".encode(), "text/csv")).run()
    next(b for b in at.button if b.label.startswith("Load")).click().run()
    assert not at.exception
    assert any("refused" in e.value for e in at.error)
    problems = next(d.value for d in at.dataframe if "rule" in d.value.columns)  # one line per column and rule
    values = [str(v) for v in problems["first values"] if v is not None]
    assert values and all(len(v) <= 200 for v in values), [len(v) for v in values]
    assert any(v.startswith("xxxx") for v in values)
