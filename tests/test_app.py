"""The app in Streamlit's AppTest: every page opened directly, filters, upload, goal edits, roles."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store, close_all

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "app.py": "What did our CRM bring us?",
    "pages/1_Scorecard.py": "What did our CRM bring us?",
    "pages/2_Channels.py": "Channels",
    "pages/3_Segments.py": "Segments",
    "pages/4_Relationships.py": "Relationships vs encounters",
    "pages/5_Customers_and_value.py": "Customers & value",
    "pages/6_Initiatives.py": "Initiatives",
    "pages/7_Data.py": "Data",
    "pages/8_Strategy.py": "Strategy",
    "pages/9_Why.py": "Why did it move?",
}
TIMEOUT = 120


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    """The sample company loaded once; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
    st_ = Store(path)
    load_sample(st_)
    st_.close()
    return path


@pytest.fixture
def db(sample_db, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "crm.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("CRM_DB", str(path))
    _reset()
    yield path
    _reset()


def shown(markdown: str) -> str:
    """What a reader sees of a markdown body where text from data is escaped (backslashes gone)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _reset() -> None:
    # Streamlit caches are process-wide and survive between AppTest runs.
    st.cache_data.clear()
    st.cache_resource.clear()
    close_all()


def open_page(script: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric_value(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def save_goal_target(at, goal_id: str, target: str) -> None:
    """On the Strategy page: pick the goal, type the target, press Save goal."""
    at.selectbox(key="goal_pick").set_value(goal_id).run()
    {t.label: t for t in at.text_input}["Target (in the KPI's unit)"].set_value(target)
    [b for b in at.button if b.label == "Save goal"][0].click().run()


@pytest.mark.parametrize("script,title", PAGES.items())
def test_every_page_opened_directly_renders(db, script, title):
    at = open_page(script)
    assert at.title[0].value == title
    assert any("fictional sample company" in i.value for i in at.info), "the sample banner is shown"
    assert not at.error


def test_scorecard_shows_goals_statuses_and_health(db):
    at = open_page("app.py")
    text = " ".join(m.value for m in at.markdown)
    assert "Relationship strategy on encounters" in text and "Small Business" in text
    for word in ("Met", "At risk", "Missed"):
        assert word in text
    subheaders = [s.value for s in at.subheader]
    assert "Health checks" in subheaders and "Goals against actuals" in subheaders
    assert len(at.dataframe) >= 3  # one goal table per strategic objective


def test_channel_filter_changes_the_numbers(db):
    at = open_page("pages/2_Channels.py")
    all_contacts = metric_value(at, "Contacts")
    at = open_page("pages/2_Channels.py", {"channel": "phone"})
    assert metric_value(at, "Contacts") != all_contacts
    assert at.multiselect(key="f_ch").value == ["phone"]


def test_window_and_grain_come_from_the_url(db):
    at = open_page("pages/2_Channels.py", {"from": "2026-01-01", "to": "2026-03-31", "grain": "week"})
    assert at.date_input(key="f_window").value == (__import__("datetime").date(2026, 1, 1),
                                                   __import__("datetime").date(2026, 3, 31))
    assert at.selectbox(key="f_grain").value == "week"
    assert at.query_params["from"] == ["2026-01-01"] or at.query_params["from"] == "2026-01-01"


def test_filter_change_is_written_to_the_url(db):
    at = open_page("pages/2_Channels.py")
    at.multiselect(key="f_ch").set_value(["chat"]).run()
    assert not at.exception
    qp = at.query_params["channel"]
    assert (qp if isinstance(qp, str) else qp[0]) == "chat"


def test_upload_through_the_data_page_lands_and_scorecard_changes(db):
    before = open_page("app.py")
    before_text = " ".join(m.value for m in before.markdown)
    # A goal file adding one goal on a KPI without any other goal: the scorecard gains a goal.
    goals = b"goal_id,kpi,target,objective,owner\nG99,complaint_rate,1.0,Fewer complaints,Head of Service\n"
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(("goals.csv", goals, "text/csv")).run()
    assert not at.exception
    load = [b for b in at.button if b.label.startswith("Load 1 file")]
    assert load, [b.label for b in at.button]
    load[0].click().run()
    assert not at.exception
    assert any("goals.csv -> goals" in shown(s.value) for s in at.success), [e.value for e in at.error]
    after = open_page("app.py")
    after_text = " ".join(m.value for m in after.markdown)
    assert "Fewer complaints" in after_text and "Fewer complaints" not in before_text


def test_refused_upload_shows_line_and_changes_nothing(db):
    bad = b"goal_id,kpi,target\nG98,not_a_kpi,1\n"
    at = open_page("pages/7_Data.py")
    at.file_uploader(key="upload_files").set_value(("goals.csv", bad, "text/csv")).run()
    [b for b in at.button if b.label.startswith("Load")][0].click().run()
    assert not at.exception
    assert any("refused" in e.value for e in at.error)
    s = Store(db)
    try:
        assert s.cursor().execute("SELECT count(*) FROM goals WHERE goal_id = 'G98'").fetchone()[0] == 0
    finally:
        s.close()


def test_goal_edited_on_strategy_page_persists(db):
    at = open_page("pages/8_Strategy.py")
    save_goal_target(at, "G05", "88.5")
    assert not at.exception
    close_all()
    s = Store(db)
    try:
        assert s.cursor().execute("SELECT target FROM goals WHERE goal_id = 'G05'").fetchone()[0] == 88.5
    finally:
        s.close()


def test_goal_edit_validation_message(db):
    at = open_page("pages/8_Strategy.py")
    save_goal_target(at, "G05", "lots")
    assert not at.exception
    assert any("target" in e.value for e in at.error)


def test_empty_store_with_only_interactions_shows_every_page(tmp_path, monkeypatch):
    """A store with only interactions: every page still renders and says what to load."""
    path = tmp_path / "crm.duckdb"
    s = Store(path)
    from crm_metrics.data.ingest import load_file

    load_file(s, ROOT / "sample_data" / "interactions.csv")
    s.close()
    monkeypatch.setenv("CRM_DB", str(path))
    _reset()
    for script in PAGES:
        at = open_page(script)
        assert not at.exception
    at = open_page("pages/5_Customers_and_value.py")
    assert any("customers.csv" in i.value or "transactions.csv" in i.value for i in at.info) or \
        any("customers.csv" in c.value for c in at.caption)
    _reset()


def test_replace_upload_then_undo_on_data_page(db):
    at = open_page("pages/7_Data.py")
    at.radio[0].set_value("replace")
    at.file_uploader(key="upload_files").set_value(
        ("goals.csv", b"goal_id,kpi,target\nONLY,csat,50\n", "text/csv")).run()
    at.checkbox(key="replace_confirm").check().run()  # a replace that removes rows is asked first
    [b for b in at.button if b.label.startswith("Load 1 file")][0].click().run()
    assert not at.exception
    s = Store(db)
    try:
        assert s.cursor().execute("SELECT list(goal_id) FROM goals").fetchone()[0] == ["ONLY"]
        replace_id = s.cursor().execute("SELECT max(load_id) FROM load_history").fetchone()[0]
    finally:
        s.close()
    undo_box = [sb for sb in at.selectbox if sb.label == "Undo a load"][0]
    undo_box.set_value(replace_id)
    [b for b in at.button if b.label == "Undo this load"][0].click().run()
    assert not at.exception
    s = Store(db)
    try:
        # the sample company's 14 goals are back
        assert s.cursor().execute("SELECT count(*) FROM goals").fetchone()[0] == 14
    finally:
        s.close()


# -- reruns on a cache hit (issue #6) -------------------------------------------------------------
def _page_summary(at: AppTest) -> dict[str, object]:
    """What a page shows, in comparable form: metric cards, table contents, charts and texts."""
    return {
        "metrics": [(m.label, m.value, m.proto.delta, m.help) for m in at.metric],
        "captions": [c.value for c in at.caption],
        "markdown": [m.value for m in at.markdown],
        "infos": [i.value for i in at.info],
        "frames": [(list(d.value.columns), d.value.shape, d.value.astype(str).values.tolist()) for d in at.dataframe],
        "charts": [c.proto.spec for c in at.get("plotly_chart")],
    }


@pytest.mark.parametrize("script", ["app.py", "pages/4_Relationships.py", "pages/5_Customers_and_value.py",
                                    "pages/6_Initiatives.py", "pages/8_Strategy.py"])
def test_rerun_on_a_cache_hit_shows_the_same_page(db, script):
    """Panels are rendered in cached functions and replayed on a rerun: the page must not change."""
    at = open_page(script)
    first = _page_summary(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _page_summary(at) == first
    assert first["metrics"] or first["frames"]


def test_downloads_are_made_when_clicked(db):
    """A download button carries no file: the CSV is made when it is clicked (not on every rerun)."""
    at = open_page("pages/4_Relationships.py")
    buttons = at.get("download_button")
    assert len(buttons) == 4
    for b in buttons:
        assert b.proto.deferred_file_id and not b.proto.url


def test_scorecard_offers_the_board_pack_as_pdf_and_html(db):
    """Issue 16: the board pack is downloadable from the Scorecard page in both formats, made when
    asked for (the PDF takes Chromium a few seconds)."""
    at = open_page("pages/1_Scorecard.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download PDF" not in labels and "Download HTML" not in labels
    at.button(key="prep_report").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "PDF cannot be made" in w.value]
    files = {b.proto.label: b.proto.url for b in at.get("download_button")}
    assert files["Download PDF"].endswith(".pdf")
    assert files["Download HTML"].endswith(".html")


def test_a_changed_setting_shows_on_the_next_run(db):
    """Cached panels are keyed on the data version: a change made elsewhere shows at once."""
    at = open_page("pages/5_Customers_and_value.py")
    assert metric_value(at, "Revenue").startswith("$")
    from crm_metrics.judgement import strategy

    s = Store(db)
    try:
        strategy.set_setting(s, "currency", "EUR")
    finally:
        s.close()
    at.run()
    assert not at.exception
    assert metric_value(at, "Revenue").startswith("€")


def test_goal_edit_shows_in_the_goal_table_at_once(db):
    at = open_page("pages/8_Strategy.py")
    save_goal_target(at, "G05", "88.5")
    assert not at.exception
    goals = at.dataframe[0].value
    # the goals table reads in words: the KPI's label, the target in its unit
    assert goals.loc[goals["Id"] == "G05", "Goal"].iloc[0].startswith("CSAT (top-2-box) ≥ 88.5%")


def _goal_rows(at: AppTest) -> dict[tuple[str, str], dict]:
    """Every goal row on the Scorecard page's tables, by (goal id, period)."""
    out = {}
    for d in at.dataframe:
        df = d.value.data if hasattr(d.value, "data") else d.value   # a Styler or a DataFrame
        if "ID" in df.columns and "Status" in df.columns:
            for r in df.to_dict(orient="records"):
                out[(r["ID"], r["Period"])] = r
    return out


def test_same_goal_under_three_windows_same_status_on_the_page(db):
    # G07 (churn <= 15 %, all customers) is an annual goal; its 2026 row is in progress (data end
    # 2026-10-31). Whatever the window (the sidebar's default, Aug-Oct 2026 -- the window that showed
    # "met, attainment 862 %" before -- or 2025-06-01..2026-10-31 which also lists its 2025 row), the 2026
    # row is the same: same status, same actual, same forecast.
    key = ("G07", "2026-01-01 – 2026-12-31 (in progress)")
    seen = []
    for query in ({}, {"from": "2026-08-01", "to": "2026-10-31"}, {"from": "2025-06-01", "to": "2026-10-31"}):
        _reset()
        rows = _goal_rows(open_page("app.py", query))
        assert key in rows, sorted(rows)
        r = rows[key]
        seen.append((r["Status"], r["Actual"], r["Forecast (80 %)"], r["Chance of meeting"]))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][0] == "↗ On track" and seen[0][1].endswith("to date")
    # the last window also lists the 2025 row (final)
    assert ("G07", "2025-01-01 – 2025-12-31") in rows
