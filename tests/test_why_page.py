"""The "why" view in AppTest: opened directly from its URL, the decomposition and the records,
customer ids masked for viewers, and the links from KPI cards."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_app import ROOT, TIMEOUT, _reset, db, open_page, sample_db  # noqa: F401  (fixtures)
from test_roles import AUTH

from crm_metrics.data.store import Store
from crm_metrics.metrics.kpis import compute

VIEW = {"kpi": "fcr_rate", "by": "channel", "from": "2026-09-01", "to": "2026-09-30"}


def _n(db_path, kpi_id: str) -> int:
    st_ = Store(db_path)
    try:
        return int(compute(st_, kpi_id, start="2026-09-01", end="2026-09-30")["n"].iloc[0])
    finally:
        st_.close()


def _records_frame(at: AppTest):
    return [d.value for d in at.dataframe if "interaction_id" in d.value.columns][0]


def test_why_page_opened_from_its_url(db):
    n = _n(db, "fcr_rate")
    _reset()
    at = open_page("pages/9_Why.py", VIEW)
    assert at.selectbox(key="why_kpi").value == "fcr_rate" and at.selectbox(key="why_by").value == "channel"
    # the sentence names channels from the data, so it is escaped markdown: compare the text it shows
    sentence = [m.value.replace("\\", "") for m in at.markdown
                if m.value.replace("\\", "").startswith("**First-contact resolution")]
    assert sentence and ("rose" in sentence[0] or "fell" in sentence[0] or "did not change" in sentence[0])
    assert any("2026-08-02 – 2026-08-31 → 2026-09-01 – 2026-09-30, by channel" in c.value for c in at.caption)
    groups = [d.value for d in at.dataframe if "contribution" in d.value.columns][0]
    assert set(groups["channel"]) == {"branch", "chat", "email", "mobile", "phone", "web"}
    assert any(c.value.startswith(f"{n:,} contacts in 2026-09-01 – 2026-09-30") for c in at.caption)
    assert len(_records_frame(at)) == 100  # one page
    assert any("more than the 100 a page shows" in i.value for i in at.info)
    assert at.query_params["kpi"] == "fcr_rate" and at.query_params["by"] == "channel"


def test_refused_kpi_says_why_and_still_has_records(db):
    n = _n(db, "churn_rate")  # |S|: the records of churn are the customers on the books when September began
    _reset()
    at = open_page("pages/9_Why.py", {**VIEW, "kpi": "churn_rate", "by": "segment"})
    assert any("cannot be decomposed" in i.value for i in at.info)
    assert any(c.value.startswith(f"{n:,} customers in 2026-09-01 – 2026-09-30") for c in at.caption)


def _as(email: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/9_Why.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = {"analysts": ["ana@bank.example"]}
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    for k, v in VIEW.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_viewers_see_pseudonyms_analysts_see_ids(db):
    viewer = _records_frame(_as("exec@bank.example"))["customer_id"]
    assert viewer.str.startswith("c_").all()
    _reset()
    analyst = _records_frame(_as("ana@bank.example"))["customer_id"]
    assert analyst.str.startswith("C").all()


def test_kpi_cards_link_to_the_why_view(db):
    at = open_page("pages/2_Channels.py", {"from": "2026-09-01", "to": "2026-09-30"})
    assert any("[why?](/Why?kpi=fcr_rate&from=2026-09-01&to=2026-09-30)" in c.value for c in at.caption)
