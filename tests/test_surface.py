"""What an executive sees: change arrows and colours, populations named, tables without "None",
goal lines over their own period, forms that save only on the button (issue 16)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store, close_all

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
UP, DOWN = MetricProto.MetricDirection.UP, MetricProto.MetricDirection.DOWN
GREEN, RED, GRAY = MetricProto.MetricColor.GREEN, MetricProto.MetricColor.RED, MetricProto.MetricColor.GRAY


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
    s = Store(path)
    load_sample(s)
    s.close()
    return path


@pytest.fixture
def db(sample_db, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "crm.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("CRM_DB", str(path))
    _reset()
    yield path
    _reset()


def _reset() -> None:
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


# -- 1. change arrows ------------------------------------------------------------------------------
def _cards_script() -> None:
    import dataclasses

    import streamlit as st

    from crm_metrics.metrics.kpis import get_kpi
    from ui import cards

    # one KPI of each unit; the better direction is set explicitly so that every unit is seen
    # with higher and lower is better (previous -> current: a rise, then a fall)
    for kpi_id in ("fcr_rate", "contacts", "avg_wait_time", "revenue", "upc", "ces"):
        for better in ("higher", "lower", "neutral"):
            k = dataclasses.replace(get_kpi(kpi_id), better=better, label=f"{kpi_id}|{better}|rise")
            cards.metric(st, k, 120.0, 100.0, 500)
            k = dataclasses.replace(k, label=f"{kpi_id}|{better}|fall")
            cards.metric(st, k, 100.0, 120.0, 500)
    k = dataclasses.replace(get_kpi("avg_wait_time"), label="unchanged")
    cards.metric(st, k, 60.0, 60.0, 500)


def test_card_arrow_and_colour_follow_the_sign_and_the_better_direction(db):
    at = AppTest.from_function(_cards_script, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    seen = {m.label: m for m in at.metric}
    unchanged = seen.pop("unchanged")
    assert (unchanged.delta, unchanged.proto.direction, unchanged.proto.color) == (
        "±0 s", MetricProto.MetricDirection.NONE, GRAY)
    assert len(seen) == 6 * 3 * 2
    expected_colour = {("higher", "rise"): GREEN, ("higher", "fall"): RED,
                       ("lower", "rise"): RED, ("lower", "fall"): GREEN,
                       ("neutral", "rise"): GRAY, ("neutral", "fall"): GRAY}
    for label, m in seen.items():
        _, better, move = label.split("|")
        assert m.proto.direction == (UP if move == "rise" else DOWN), (label, m.delta)
        assert m.proto.color == expected_colour[(better, move)], (label, m.delta)
        # a fall is written with an ASCII minus (a Unicode one reads as a rise)
        assert m.delta.startswith("-" if move == "fall" else "+"), (label, m.delta)
    # the change is 20 in the KPI's unit: 120 - 100
    assert seen["fcr_rate|higher|rise"].delta == "+20.0 pts"
    assert seen["avg_wait_time|lower|fall"].delta == "-20 s"
    assert seen["contacts|higher|fall"].delta == "-20"
    assert seen["revenue|higher|rise"].delta == "+$20.00"


def test_channels_cards_on_the_issue_view(db):
    """Channels, May-Oct 2026, phone + chat, Premier: each card's arrow follows the sign of its change."""
    at = open_page("pages/2_Channels.py", {"from": "2026-05-01", "to": "2026-10-31", "grain": "month",
                                           "channel": "phone,chat", "segment": "Premier"})
    better = {"Contacts": "neutral", "Average wait": "lower", "Customer effort score": "higher",
              "First-contact resolution": "higher", "CSAT (top-2-box)": "higher", "Self-service share": "neutral"}
    for m in at.metric:
        if not m.delta:
            continue
        assert "−" not in m.delta, m.delta
        if m.delta.startswith("±"):         # unchanged (self-service share is 0 for phone + chat)
            assert (m.proto.direction, m.proto.color) == (MetricProto.MetricDirection.NONE, GRAY), m.label
            continue
        falls = m.delta.startswith("-")
        assert m.proto.direction == (DOWN if falls else UP), (m.label, m.delta)
        b = better[m.label]
        want = GRAY if b == "neutral" else (GREEN if (b == "higher") != falls else RED)
        assert m.proto.color == want, (m.label, m.delta)


# -- 3. tables: nothing for the grid to print as "None" ----------------------------------------------
# every page that shows a table (Customers & value shows charts only)
PAGES = ["pages/1_Scorecard.py", "pages/2_Channels.py", "pages/3_Segments.py", "pages/4_Relationships.py",
         "pages/6_Initiatives.py", "pages/7_Data.py", "pages/8_Strategy.py"]
ISSUE_VIEW = {"from": "2026-05-01", "to": "2026-10-31", "grain": "month", "channel": "phone,chat",
              "segment": "Premier"}


@pytest.mark.parametrize("view", ["all data", "issue view"])
@pytest.mark.parametrize("script", PAGES)
def test_no_table_sends_a_null(db, script, view):
    """Dataframes are drawn on a canvas: check the data the page sends, not the page's text. The
    issue's view (May-Oct 2026, phone + chat, Premier) leaves some cells without a value."""
    at = open_page(script, ISSUE_VIEW if view == "issue view" else None)
    assert at.dataframe, "the page shows no table"
    for i, table in enumerate(at.dataframe):
        df = table.value
        nulls = df.isna()
        assert not nulls.any().any(), (i, list(df.columns[nulls.any()]), df[nulls.any(axis=1)].head())
        text = df.astype(str)
        assert not text.isin(["None", "nan", "NaN", "NaT", "<NA>"]).any().any(), (i, df.head())


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [m.label for m in at.metric]
    parts += [str(m.proto.help) for m in at.metric]
    for table in at.dataframe:
        df = table.value
        parts += [str(c) for c in df.columns] + [str(v) for v in df.astype(str).to_numpy().ravel()]
    # link targets (the "why?" links' URLs carry KPI ids by design) are not words a reader sees
    text = re.sub(r"\]\([^)]*\)", "]", "\n".join(parts))
    return re.sub(r"\S*\?kpi=\S*", "", text)  # and the link cells of the goal table (their URLs)


def test_segments_tables_say_whom_they_count(db):
    """Small Business customers differ between the two tables because they count different people:
    each says whom (customers at the end of the window vs customers with an advisor contact)."""
    at = open_page("pages/3_Segments.py")
    alignment, kpis = at.dataframe[0].value, at.dataframe[1].value
    assert "Customers with an advisor contact" in alignment.columns
    measured = dict(zip(kpis["KPI"], kpis["Measured over"]))
    assert measured["Customers"] == "customers at the end of the window"
    assert measured["Churn"] == "customers at the start of the window"
    assert measured["Relationship customers"] == "customers with an advisor contact"


def test_words_not_internal_ids(db):
    """Health findings name KPIs by their labels; the change log is in sentences, not JSON."""
    at = open_page("pages/1_Scorecard.py")
    text = _texts(at)
    for internal in ("relationship_share", "customer_match_rate", "self_service_share", "churn_rate"):
        assert internal not in text, internal
    at = open_page("pages/8_Strategy.py")
    log = at.dataframe[-1].value
    assert list(log.columns) == ["#", "When", "Who", "Change", "Source"]
    assert not log["Change"].str.contains("{", regex=False).any()
    assert "Added goal G02: First-contact resolution ≥ 72.0% (phone, Jan–Jun 2026)" in set(log["Change"])


def test_roi_says_annualised(db):
    at = open_page("pages/6_Initiatives.py")
    assert "First-year ROI (annualised)" in at.dataframe[0].value.columns
    assert "First-year ROI (annualised)" in [m.label for m in at.metric]
    # a window-sensitive KPI (relationship share, INI-05) per week: the chart says each week stands alone
    at.selectbox(key="impact_pick").set_value("INI-05").run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("each week measured on its own" in s for s in titles)


# -- 5. forms --------------------------------------------------------------------------------------
def _change_count(path: Path) -> int:
    close_all()
    s = Store(path)
    try:
        return int(s.cursor().execute("SELECT count(*) FROM strategy_changes").fetchone()[0])
    finally:
        s.close()


def _forms(at: AppTest) -> dict[str, object]:
    """The form blocks of the page by their form id."""
    found: dict[str, object] = {}

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if getattr(node, "type", None) == "form" and proto is not None:
            found[proto.form.form_id] = proto.form
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return found


def test_goal_form_saves_only_on_its_button_and_once(db):
    at = open_page("pages/8_Strategy.py")
    goal_form = _forms(at)["goal_form"]
    assert goal_form.enter_to_submit is False          # Enter in a field does not save a half-typed goal
    before = _change_count(db)
    _reset()
    at = open_page("pages/8_Strategy.py")
    texts = {t.label: t for t in at.text_input}
    texts["Goal id"].set_value("G99")
    texts["Target (in the KPI's unit)"].set_value("")   # half-filled: no target yet
    [b for b in at.button if b.label == "Save goal"][0].click().run()
    assert not at.exception
    # the message stands beside the field it is about, and nothing was recorded
    assert [e.value for e in at.error if e.value.startswith("target:")], [e.value for e in at.error]
    assert _change_count(db) == before
    _reset()
    at = open_page("pages/8_Strategy.py")
    texts = {t.label: t for t in at.text_input}
    texts["Goal id"].set_value("G99")
    texts["Target (in the KPI's unit)"].set_value("80")
    [s for s in at.selectbox if s.label == "KPI"][0].set_value("fcr_rate")
    texts["Period start (YYYY-MM-DD; both empty = an annual goal, one row per year)"].set_value("2026-01-01")
    texts["Period end"].set_value("2026-06-30")
    texts["Owner"].set_value("Head of Service")
    [b for b in at.button if b.label == "Save goal"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # one save of a goal with five fields typed -> one change-log entry
    assert _change_count(db) == before + 1
    assert at.selectbox(key="goal_pick").value == "G99"


# -- 4. goal lines ----------------------------------------------------------------------------------
def test_goal_lines_over_their_own_period_on_their_channel(db):
    """Channels, no channel filter, trend of first-contact resolution by channel: the phone goals
    (G01 75 over the window viewed, G02 72 over Jan-Jun 2026) are drawn on phone's line, G02 only
    from 2026-01-01 to 2026-06-30, each labelled with the goal in words."""
    import json

    at = open_page("pages/2_Channels.py")
    spec = json.loads([c for c in at.get("plotly_chart") if "First-contact resolution" in c.proto.spec][-1].proto.spec)
    layout = spec["layout"]
    labels = [a["text"] for a in layout.get("annotations", [])]
    assert "Goal: First-contact resolution ≥ 72.0% (phone, Jan–Jun 2026)" in labels
    assert "Goal: First-contact resolution ≥ 75.0% (phone, the window viewed)" in labels
    lines = [s for s in layout["shapes"] if s["type"] == "line"]
    g02 = [s for s in lines if s["y0"] == 72.0]
    assert [(s["x0"][:10], s["x1"][:10]) for s in g02] == [("2026-01-01", "2026-06-30")]
    phone = [tr for tr in spec["data"] if tr["name"] == "phone"][0]
    assert g02[0]["line"]["color"] == phone["line"]["color"]
    assert not any("goal G0" in t for t in labels)
