"""The Customers & value page's predicted-value section in Streamlit's AppTest, opened directly."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store, close_all

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/5_Customers_and_value.py"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
    s = Store(path)
    load_sample(s)
    s.close()
    return path


def _reset() -> None:
    # Streamlit caches are process-wide: every test starts without cached fits
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


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_section_renders_on_the_sample_store(db):
    at = open_page()
    assert "Predicted value and churn risk" in [h.value for h in at.subheader]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Predicted CLV, next 52 weeks"].startswith("$")
    assert labels["Value at risk"].endswith("%")
    assert "nan" not in " ".join(labels.values()).lower()
    frames = [d.value for d in at.dataframe]
    by_segment = next(f for f in frames if "Segment" in f.columns)
    by_class = next(f for f in frames if "Relationship class" in f.columns)
    assert {"Mass Retail", "Premier", "Private Banking"} <= set(by_segment["Segment"])
    assert set(by_class["Relationship class"]) <= {"relationship", "pseudo-relationship", "encounter",
                                                   "no assisted contact"}
    assert not by_segment.isna().any().any() and not by_class.isna().any().any()
    # the holdout validation chart (predicted vs actual by x) and the class chart are drawn
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Repeat purchases per customer" in s for s in specs)
    assert any("Predicted CLV by relationship class" in s for s in specs)
    # the sample company has a few valuable customers the model believes gone: their list is offered
    # for download, the CSV made when the button is clicked
    buttons = [b for b in at.get("download_button") if "at-risk" in b.proto.label]
    assert len(buttons) == 1 and buttons[0].proto.deferred_file_id


def test_a_model_that_cannot_be_fitted_shows_a_message(db):
    # only first purchases left: no repeat purchases, the models cannot be fitted
    s = Store(db)
    try:
        cur = s.cursor()
        cur.execute("BEGIN")
        cur.execute("DELETE FROM transactions WHERE transaction_id NOT IN "
                    "(SELECT min(transaction_id) FROM transactions GROUP BY customer_id)")
        s.refresh_facts(cur, Store.facts_for(["transactions"]))
        s.bump_version(cur)
        cur.execute("COMMIT")
    finally:
        s.close()
    at = open_page()
    infos = [i.value for i in at.info]
    assert any(i.startswith("The customer-value models cannot be fitted: no repeat purchases among") for i in infos)
    assert not [m for m in at.metric if m.label == "Value at risk"]


def test_segment_filter_narrows_the_tables_not_the_model(db):
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=180)
    at.query_params["segment"] = "Premier"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    by_segment = next(d.value for d in at.dataframe if "Segment" in d.value.columns)
    assert list(by_segment["Segment"]) == ["Premier"]
    # the model is the one fitted on every customer: its parameters do not depend on the filter
    full = open_page()
    params = [m.value for m in at.markdown if "BG/NBD" in m.value]
    assert params and params == [m.value for m in full.markdown if "BG/NBD" in m.value]
