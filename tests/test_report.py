"""The executive report: the numbers of the scorecard API, offline HTML that draws its charts in
headless Chromium, a PDF with the same numbers, what is missing, and the CLI's exit codes.

One store (the committed sample company) is loaded once for the module, and Chromium is launched
once for the module (the offline HTML check and the PDF share it).
"""
from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import _STORES, open_store
from crm_metrics.delivery import report
from crm_metrics.delivery.cli import main
from crm_metrics.delivery.formatting import format_value
from crm_metrics.delivery.report import pdf as report_pdf
from crm_metrics.judgement.scorecard import scorecard

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample company in a store the in-process CLI shares (open_store), and its report."""
    db = tmp_path_factory.mktemp("report") / "crm.duckdb"
    store = open_store(db)
    load_sample(store)
    html = report.render_html(store)
    yield SimpleNamespace(store=store, db=db, html=html, currency=store.settings()["currency"])
    store.close()
    _STORES.pop(str(db.resolve()), None)


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (the HTML check and the PDF)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    p = sync_playwright().start()
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=report.CHROMIUM_ARGS)
    yield browser
    browser.close()
    p.stop()


def goal_row(html: str, goal_id: str) -> str:
    m = re.search(rf'<tr data-goal="{re.escape(goal_id)}"[^>]*>.*?</tr>', html, re.S)
    assert m, f"no scorecard row for goal {goal_id}"
    return m.group(0)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- content -----------------------------------------------------------------------------------------
def test_html_shows_every_goal_with_its_status_and_the_scorecard_numbers(sample):
    card = scorecard(sample.store)
    assert len(card) == 14
    assert report.TITLE in sample.html
    for g in card.to_dict(orient="records"):
        row = goal_row(sample.html, g["goal_id"])
        word = report.status_word(g["status"])
        assert f"{report.STATUS_STYLE[g['status']][1]} {word}" in row, (g["goal_id"], word)
        actual = format_value(g["actual"], g["unit"], sample.currency)
        assert htmllib.escape(actual) in row, (g["goal_id"], actual)
        assert f'data-status="{g["status"]}"' in row
        if g["low_confidence"]:
            assert report.LOW_CONFIDENCE_MARK in row
    # grouped by strategic objective, with the provenance and the appendix
    for objective in set(card["objective"].dropna()):
        assert f"<h3>{htmllib.escape(objective)} " in sample.html
    assert f" {sample.currency}" in sample.html
    for table in ("customers.csv", "interactions.csv", "goals.csv"):
        assert table in sample.html
    for section in ("Health checks", "Goal trends", "Relationship mix by segment", "Initiatives",
                    "Appendix: definitions"):
        assert section in sample.html
    assert "First-contact resolution" in sample.html and "Formula:" in sample.html


def test_initiative_section_shows_the_interval_the_verdict_and_annualised_roi(sample):
    # strategy.md, "How sure are we?": effect with its interval, the verdict in words, ROI annualised
    sec = sample.html[sample.html.index("Initiatives: what moved after go-live"):]
    sec = sec[:sec.index("</section>")]
    assert "first-year ROI (annualised)" in sec and "First-year ROI, annualised" in sec
    for word in ("improved", "worsened", "no detectable effect", "doubtful"):   # the sample's verdicts
        assert f"<b>{word}</b>" in sec
    assert sec.count("95 %: ") >= 12          # six effects and six ROIs with their intervals


def test_html_is_self_contained(sample):
    html = sample.html
    remote = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                        html, re.I)
    assert remote == []
    assert not re.search(r"<link\b", html, re.I)
    # plotly.js inline exactly once; every chart drawn by it
    big_scripts = [s for s in re.findall(r"<script>(.*?)</script>", html, re.S) if len(s) > 1_000_000]
    assert len(big_scripts) == 1
    assert html.count('class="plotly-graph-div"') == html.count("Plotly.newPlot(") > 10
    assert "@page" in html and "break-before: page" in html


def test_html_renders_offline_in_headless_chromium_without_errors(sample, chromium):
    errors: list[str] = []
    requests: list[str] = []

    def block(route):
        requests.append(route.request.url)
        route.abort()

    context = chromium.new_context(offline=True)
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", block)
        page.set_content(sample.html, wait_until="load", timeout=120_000)
        page.wait_for_function(report.WAIT_JS, timeout=120_000, polling=100)
        charts = page.locator(".plotly-graph-div").count()
        drawn = page.evaluate("() => document.querySelectorAll('.js-plotly-plot svg.main-svg').length")
        plots = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
        traces = page.evaluate("() => document.querySelectorAll('.js-plotly-plot .trace').length")
    finally:
        context.close()
    assert errors == []
    assert requests == [], "the report tried to fetch something"
    assert charts > 10 and plots == charts and drawn >= charts
    assert traces > charts


# -- PDF and CLI ------------------------------------------------------------------------------------------
def test_pdf_has_the_same_numbers_and_the_charts(sample, chromium, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "out" / "crm-report.pdf"
    assert report.write_report(sample.store, out, browser=chromium) == out
    assert out.read_bytes()[:5] == b"%PDF-"
    pdf = PdfReader(str(out))
    assert len(pdf.pages) >= 6
    # the PDF's text may set "ff" as one ligature glyph ("Oﬀ track")
    text = "\n".join(pg.extract_text() for pg in pdf.pages).replace("\ufb00", "ff")
    flat = squash(text)
    assert squash(report.TITLE) in flat
    for g in scorecard(sample.store).to_dict(orient="records"):
        assert g["goal_id"] in text
        assert squash(format_value(g["actual"], g["unit"], sample.currency)) in flat, g["goal_id"]
        assert report.status_word(g["status"]) in text
    # chart text (SVG, vector) made it into the PDF: go-live markers and axis ticks of the plots
    assert "go-live 2025-11-01" in text
    assert "alignment threshold" in text
    assert not list(out.parent.glob(".report-*")), "no temporary file left behind"


def test_cli_html_exit_0_bad_extension_exit_1_window_reversed_exit_2(sample, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["--db", str(sample.db), "report", "--out", str(out), "--from", "2026-01-01",
                 "--to", "2026-03-31"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    text = out.read_text(encoding="utf-8")
    assert "2026-01-01 – 2026-03-31" in text

    bad = tmp_path / "r.docx"
    assert main(["--db", str(sample.db), "report", "--out", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "refused:" in err and ".html" in err and ".pdf" in err and "'.docx'" in err
    assert "Traceback" not in err and not bad.exists()

    with pytest.raises(SystemExit) as e:
        main(["--db", str(sample.db), "report", "--out", str(out), "--from", "2026-03-01", "--to", "2026-01-01"])
    assert e.value.code == 2
    assert "after --to" in capsys.readouterr().err


def test_write_report_refuses_other_extensions_and_missing_chromium(sample, tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match=r"must end in \.html .* or \.pdf"):
        report.write_report(sample.store, tmp_path / "report.txt")
    with pytest.raises(ValueError, match="no extension"):
        report.write_report(sample.store, tmp_path / "report")

    monkeypatch.delenv("CRM_CHROMIUM", raising=False)
    monkeypatch.setattr(report_pdf.shutil, "which", lambda name: None)
    monkeypatch.setattr(report_pdf, "CHROMIUM_FALLBACKS", ())
    with pytest.raises(report.ReportError, match="apt-get install chromium"):
        report.write_report(sample.store, tmp_path / "report.pdf")
    assert main(["--db", str(sample.db), "report", "--out", str(tmp_path / "r.pdf")]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()


# -- missing data -------------------------------------------------------------------------------------------
def test_store_with_only_interactions_says_what_is_missing(make_store):
    t = dt.datetime(2026, 3, 2, 10)
    store = make_store(
        interactions=[{"interaction_id": f"i{i}", "customer_id": f"c{i % 7}", "occurred_at": t + dt.timedelta(days=i),
                       "channel": "phone" if i % 2 else "web", "advisor_id": f"a{i % 3}", "csat": 4 + i % 2,
                       "resolved": True} for i in range(40)],
        goals=[{"goal_id": "G1", "kpi": "nps", "target": 20, "objective": "Loyalty", "owner": "CCO"},
               {"goal_id": "G2", "kpi": "csat", "target": 80, "objective": "Service", "owner": "Ops"}],
    )
    html = report.render_html(store)
    assert "Load surveys.csv to see Net Promoter Score." in html
    assert "Load initiatives.csv" in html
    assert 'data-goal="G1" data-status="no_data"' in html
    row = goal_row(html, "G2")
    # spec change: G2 has no period, so it is the annual goal 2026, in progress on 2026-04-10; 100.0 % to
    # date, but with about a month of history nothing can be forecast: no data, and the row says why
    assert "100.0%" in row and "to date" in row and "too little history" in row and "No data" in row
    assert "Load customers.csv" in html  # not loaded: the provenance table and the missing list say so
    assert "not loaded" in html


def test_empty_store_yields_a_report(make_store):
    html = report.render_html(make_store())
    assert report.TITLE in html
    assert "no data loaded" in html
    assert "Load goals.csv" in html
    assert "Plotly.newPlot(" not in html  # no charts, so no plotly.js either
