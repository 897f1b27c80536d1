"""Text from data shown as text (no markdown link or image from a loaded value reaches a viewer as
markup), and no table download that writes formula cells raw."""
from __future__ import annotations

import re
import tomllib

import streamlit as st
from test_app import ROOT, _reset, db, open_page, sample_db, shown  # noqa: F401  (fixtures)

from crm_metrics.data.ingest import load_file
from crm_metrics.data.store import Store, close_all

LINK = "[Session expired, sign in again](https://evil.example)"
IMAGE = "![x](https://evil.example/p.png)"


def _bodies(at) -> list[str]:
    """Every markdown body the page rendered: markdown, captions, alerts, headings."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


def _unescaped_link_or_image(body: str) -> bool:
    # a link/image is `[text](url)` with neither bracket escaped
    return re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?!\\)", body) is not None


def test_link_and_image_in_goal_objective_shown_as_text(db, tmp_path):
    csv = tmp_path / "goals.csv"
    csv.write_text("goal_id,kpi,target,objective,owner\n"
                   f'G77,complaint_rate,1.0,"{LINK}",Head of Service\n'
                   f'G78,csat,80,"{IMAGE}",Head of Service\n', encoding="utf-8")
    close_all()
    s = Store(db)
    try:
        load_file(s, csv)
    finally:
        s.close()
    _reset()
    at = open_page("pages/1_Scorecard.py")
    assert not at.exception, [e.value for e in at.exception]
    bodies = _bodies(at)
    # both objectives are headings on the Scorecard, shown as written ...
    assert any(shown(b) == f"#### {LINK}" for b in bodies), bodies
    assert any(shown(b) == f"#### {IMAGE}" for b in bodies), bodies
    # ... and no body makes a link or an image of them
    for b in bodies:
        if "evil.example" in b:
            assert not _unescaped_link_or_image(b), b
            assert "https://evil.example" not in b  # the URL's punctuation is escaped too


def test_table_toolbar_download_disabled():
    """Streamlit's table toolbar writes CSV cells raw: it is off in the config and in app.py; the
    app's own buttons (output.safe_csv) escape formulas instead."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    try:
        st.set_option("client.disableDataExport", False)
        at = open_page("app.py")
        assert not at.exception
        assert st.get_option("client.disableDataExport") is True
    finally:
        st.set_option("client.disableDataExport", True)


def test_every_download_button_escapes_formulas():
    """The CSV download buttons all go through output.safe_csv (the report is HTML, escaped by
    crm_metrics.delivery.report)."""
    sources = {p: p.read_text() for p in [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]}
    calls = [(p.name, m.group(0)) for p, text in sources.items()
             for m in re.finditer(r"st\.download_button\([^\n]*\n?[^\n]*", text)]
    assert calls
    for name, call in calls:
        assert "safe_csv" in call or "safe=True" in call or "report_html" in call, (name, call)


def test_chart_text_from_data_is_plain():
    """A channel named like a link shows as text in a chart's legend, ticks and bar texts."""
    import pandas as pd
    import plotly.express as px

    from ui.widgets import plain_plotly

    evil = '<a href="https://evil.example">phone</a>'
    df = pd.DataFrame({"channel": [evil, "chat"], "value": [1.0, 2.0], "period": ["2026-01", "2026-01"]})
    fig = plain_plotly(px.bar(df, x="channel", y="value", color="channel", text="channel"))
    shown = [fig.data[0].name, *fig.data[0].x, *fig.data[0].text]
    assert all("<a" not in str(v) for v in shown), shown
    assert fig.data[0].name == '&lt;a href="https://evil.example"&gt;phone&lt;/a&gt;'
    assert fig.data[1].name == "chat"
    fig.add_hline(y=1.5, annotation_text='goal <a href="https://evil.example">G1</a>: 1.5')
    assert "<a" not in plain_plotly(fig).layout.annotations[0].text


def test_every_chart_goes_through_plain_plotly():
    calls = [(p.name, line) for p in [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]
             for line in p.read_text().splitlines() if "st.plotly_chart(" in line]
    expected = '    st.plotly_chart(plain_plotly(fig), width="stretch", config=config, key=key)'
    assert calls == [("widgets.py", expected)], calls
