"""Issue 18, finding 6 (report side): text from loaded data is shown as text in the report -- no
link, image or markup from a goal's objective or owner, an initiative's name or a segment's name.
The sample company with hostile values, loaded through the ordinary load into a real store."""
from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store
from crm_metrics.delivery import report

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
LINK = "[Session expired…](https://evil.example)"
IMAGE = "![x](https://evil.example/p.png)"
TAG = "<img src=x onerror=alert(1)>"
ANCHOR = '<a href="https://evil.example">click</a>'
CLOSE_SCRIPT = "</script><img src=x onerror=alert(2)>"
SEGMENT = "<a href=https://evil.example>Premier</a>"  # no comma or quote: a plain replace in every file


def csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("hostile")
    for f in SAMPLE.glob("*.csv"):
        text = f.read_text(encoding="utf-8").replace("Premier", SEGMENT)
        if f.name == "goals.csv":
            text = text.replace(",Lower cost to serve,Head of Contact Centre\n",
                                f",{csv_text(LINK + ' ' + TAG)},{csv_text(IMAGE + ' ' + ANCHOR)}\n", 1)
        if f.name == "initiatives.csv":
            text = text.replace("Phone first-call resolution programme", csv_text(ANCHOR + CLOSE_SCRIPT), 1)
        (folder / f.name).write_text(text, encoding="utf-8")
    store = Store(folder / "crm.duckdb")
    try:
        load_sample(store, folder)
        goals = store.cursor().execute("SELECT objective, owner FROM goals WHERE goal_id = 'G01'").fetchall()
        assert goals == [(LINK + " " + TAG, IMAGE + " " + ANCHOR)], "the hostile values are loaded as they are"
        yield report.render_html(store)
    finally:
        store.close()


def test_no_link_or_image_from_data_in_the_report(hostile_html):
    html = hostile_html
    assert not re.search(r"<a\s+href\s*=\s*[\"']?https?://evil\.example", html, re.I)
    assert not re.search(r"<img\b", html, re.I)
    assert "</script><img" not in html
    # the values are there, as text
    assert htmllib.escape(LINK + " " + TAG) in html
    assert htmllib.escape(IMAGE + " " + ANCHOR) in html
    assert htmllib.escape(ANCHOR + CLOSE_SCRIPT) in html


def test_chart_labels_from_data_carry_no_markup(hostile_html):
    """Plotly draws a subset of HTML in labels (<a href> among it): a segment's name in the mix
    chart and an initiative's name must reach it with < and > escaped."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", hostile_html, re.S)
    charts = "".join(s for s in scripts if "Plotly.newPlot" in s)
    assert charts, "the report has charts"
    for raw in ("<a href", "\\u003ca href", "<img", "\\u003cimg"):
        assert raw not in charts, raw
