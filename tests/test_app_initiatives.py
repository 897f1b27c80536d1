"""The Initiatives page in Streamlit's AppTest (strategy.md, "How sure are we?"): the effect with its
interval and verdict, pre-trend and placebo, the counterfactual band without control, ROI annualised;
and initiatives' go-lives marked on the trend charts of their KPI and scope."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store, close_all

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
    s = Store(path)
    load_sample(s)
    s.close()
    return path


def _reset() -> None:
    # Streamlit caches are process-wide and survive between AppTest runs.
    st.cache_data.clear()
    st.cache_resource.clear()
    close_all()


@pytest.fixture
def db(sample_db, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "crm.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("CRM_DB", str(path))
    _reset()
    yield path
    _reset()


def open_page(script: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_initiatives_table_shows_interval_verdict_tests_and_annualised_roi(db):
    at = open_page("pages/6_Initiatives.py")
    table = at.dataframe[0].value
    for col in ("Effect [95 %]", "Verdict", "Pre-trend p", "Placebo p", "First-year ROI (annualised)"):
        assert col in table.columns
    verdicts = dict(zip(table["Initiative"].str[:6], table["Verdict"]))
    # docs/sample-company.md, "Initiatives"
    assert verdicts == {"INI-01": "✔ improved", "INI-02": "✖ worsened", "INI-03": "○ no detectable effect",
                        "INI-04": "✔ improved", "INI-05": "○ no detectable effect", "INI-06": "⚠ doubtful"}
    ini01 = table[table["Initiative"].str.startswith("INI-01")].iloc[0]
    assert ini01["Effect [95 %]"] == "+9.8 pts [+6.1 pts, +13.5 pts]"
    assert ini01["First-year ROI (annualised)"].startswith("✔ +351% [")
    ini06 = table[table["Initiative"].str.startswith("INI-06")].iloc[0]
    assert ini06["Pre-trend p"] == "< 0.001"


def test_detail_effect_error_bar_and_placebo(db):
    at = open_page("pages/6_Initiatives.py")          # INI-01 selected first
    m = metrics(at)
    assert m["Effect"] == "+9.8 pts" and m["Verdict"] == "✔ improved"
    assert m["First-year ROI (annualised)"] == "+351%"
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    bar = [s for s in specs if "effect with its 95 % interval" in s]
    assert bar and '"error_x"' in bar[0] and "Placebo (pretend go-live)" in bar[0]
    assert any("pre-trend p 0.315" in c.value and "placebo" in c.value for c in at.caption)


def test_counterfactual_band_for_an_initiative_without_control(db):
    at = open_page("pages/6_Initiatives.py")
    at.selectbox(key="impact_pick").set_value("INI-03").run()
    assert not at.exception, [e.value for e in at.exception]
    assert metrics(at)["Verdict"] == "○ no detectable effect"
    weekly = [c.proto.spec for c in at.get("plotly_chart") if "weekly: treated vs control" in c.proto.spec]
    assert weekly and "Counterfactual 95 %" in weekly[0] and '"fill":"toself"' in weekly[0].replace(" ", "")


def test_go_live_marked_on_the_trend_of_its_kpi_and_scope(db):
    # INI-05 (Private Banking) is measured on relationship_share: the Relationships page's trend of it
    # by segment, over all segments, marks its go-live 2025-06-02; no other initiative is on that KPI
    at = open_page("pages/4_Relationships.py")
    specs = [c.proto.spec for c in at.get("plotly_chart") if "Relationship customers by segment" in c.proto.spec]
    assert specs and "INI-05 go-live" in specs[0]
    assert "INI-01 go-live" not in specs[0]
