"""Issue 16, the board pack: the PDF as a reader sees it. The sample company's report is printed
once by headless Chromium; its pages are rendered to images by poppler's pdftoppm and its words
located by pdftotext -bbox (poppler-utils, installed by .ci/run).

- page 1 is the summary: its four headings are there, no internal id (goal, initiative, KPI id) is,
  and the detail starts on page 2 (the summary did not spill over);
- no page but the last is more than 85 % blank;
- no two words on any page overlap (column headers that collide, a badge running into the next
  column's number);
- the load audit is the last section, an appendix.
"""
from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.store import Store
from crm_metrics.delivery import report
from crm_metrics.metrics.kpis import KPIS

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")
SUMMARY_HEADINGS = ("Strategic objectives", "Goals off track", "Top health findings", "Initiatives")
BLANK_LIMIT = 0.85
WHITE = 245          # a grey level at least this light is paper, not ink
DPI = 30             # coarse: a line of text is still a few rows of ink
# A4 in mm and the @page margins at top and bottom (html.CSS): the footer sits in the bottom margin
PAGE_MM, TOP_MM, BOTTOM_MM, SIDE_MM = 297, 14, 16, 13


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    """The sample company's report as PDF, with each page's text and word boxes."""
    if CHROMIUM is None or not POPPLER:
        pytest.fail("the board-pack tests need Chromium and poppler-utils (apt-get install chromium poppler-utils)")
    folder = tmp_path_factory.mktemp("pages")
    store = Store(folder / "crm.duckdb")
    try:
        load_sample(store)
        out = report.write_report(store, folder / "board-pack.pdf")
    finally:
        store.close()
    bbox = subprocess.run(["pdftotext", "-bbox", str(out), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages, widths = [], []
    for page in bbox.split("<page ")[1:]:
        widths.append(float(re.match(r'width="([\d.]+)"', page).group(1)))
        words = [(float(x0), float(y0), float(x1), float(y1), htmllib.unescape(w)) for x0, y0, x1, y1, w in
                 re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                            page)]
        pages.append(words)
    texts = [" ".join(w[4] for w in words) for words in pages]
    return SimpleNamespace(path=out, pages=pages, widths=widths, texts=texts, folder=folder)


def read_pgm(data: bytes) -> np.ndarray:
    """A binary greyscale PGM (P5, maxval 255) as a 2-D array."""
    magic, width, height, _maxval, rest = data.split(maxsplit=4)
    assert magic == b"P5"
    w, h = int(width), int(height)
    return np.frombuffer(rest[:w * h], dtype=np.uint8).reshape(h, w)


def blank_share(image: np.ndarray) -> float:
    """The share of the page's body (between the top and bottom margins) that is blank: pixel rows
    whose pixels are all near-white. Rows rather than single pixels: a page full of charts is mostly
    white paper between its lines, yet it is not an empty page; a page whose content stops a
    quarter of the way down is 75 % blank."""
    h = image.shape[0]
    body = image[round(h * TOP_MM / PAGE_MM): round(h * (PAGE_MM - BOTTOM_MM) / PAGE_MM)]
    return float((body >= WHITE).all(axis=1).mean())


def overlaps(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words on the same line less than half a point apart, or on top of each other: two
    cells' text running together ("28,012Chief") or colliding ("attainmentchange"). Words of one
    sentence are a space apart (2 points and more at the report's smallest type)."""
    found = []
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            dx = min(a[2], b[2]) - max(a[0], b[0])   # > 0: they overlap; > -0.5: less than half a point apart
            dy = min(a[3], b[3]) - max(a[1], b[1])
            if dx > -0.5 and dy > 1:
                found.append((a[4], b[4]))
    return found


def outside(words: list[tuple[float, float, float, float, str]], width: float) -> list[str]:
    """Words that run into the left or right page margin (a header wider than its table, clipped)."""
    margin = SIDE_MM * 72 / 25.4 - 1          # points, with a point of tolerance
    return [w[4] for w in words if w[0] < margin or w[2] > width - margin]


# -- the measures themselves, on hand-made pages ------------------------------------------------------------
def test_blank_share_counts_the_rows_without_ink():
    page = np.full((297, 210), 255, dtype=np.uint8)   # 1 px per mm: the body is rows 14..280, 267 rows
    assert blank_share(page) == 1.0
    page[14:81, 20:30] = 0                              # ink on the body's first 67 rows: 200 / 267 blank
    assert blank_share(page) == pytest.approx(200 / 267)
    page[285:290, :] = 0                                # a footer in the bottom margin does not count
    assert blank_share(page) == pytest.approx(200 / 267)


def test_overlaps_finds_words_on_top_of_each_other():
    attainment = (100.0, 50.0, 140.0, 60.0, "attainment")
    change = (131.0, 50.0, 160.0, 60.0, "change")          # 9 points into "attainment"
    touching = (140.2, 50.0, 170.0, 60.0, "Chief")         # 0.2 points of air: reads "attainmentChief"
    apart = (142.0, 50.0, 170.0, 60.0, "change")           # 2 points of air: a space
    below = (100.0, 61.0, 140.0, 71.0, "next")
    assert overlaps([attainment, change]) == [("attainment", "change")]
    assert overlaps([attainment, touching]) == [("attainment", "Chief")]
    assert overlaps([attainment, apart, below]) == []
    # A4 is 595 points wide; 13 mm margins are 36.9 points
    assert outside([attainment, (30.0, 5.0, 60.0, 9.0, "left"), (550.0, 5.0, 560.0, 9.0, "right")], 595.0) \
        == ["left", "right"]


# -- the sample company's board pack --------------------------------------------------------------------------
def test_page_one_is_the_summary_in_words(pdf):
    first = pdf.texts[0]
    for heading in SUMMARY_HEADINGS:
        assert heading in first, heading
    assert report.TITLE in first
    # words and labels, not ids: no goal id (G06), initiative id (INI-03) or KPI id (cross_sell_rate)
    assert re.findall(r"\bG\d{2}\b|\bINI-\d+", first) == []
    assert [k for k in KPIS if "_" in k and re.search(rf"\b{k}\b", first)] == []  # "contacts" is a word too
    # the sample's story (docs/sample-company.md): Net Promoter Score off track, a critical finding,
    # the initiatives by name with their verdicts and annualised ROI
    assert "Net Promoter Score ≥ 25.0 (all customers, 2026)" in first
    assert "Critical" in first
    for name in ("Phone first-call resolution programme", "Mobile app relaunch", "Premier welcome journey"):
        assert name in first.replace("\n", " "), name
    assert "annualised" in first and "Improved" in first and "Worsened" in first
    # the detail starts on page 2: the summary fits its page
    assert pdf.texts[1].startswith("Scorecard: goals against actuals"), pdf.texts[1][:80]


def test_no_page_but_the_last_is_more_than_85_percent_blank(pdf):
    subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(pdf.path), str(pdf.folder / "page")], check=True)
    images = sorted(pdf.folder.glob("page-*.pgm"))
    assert len(images) == len(pdf.pages) >= 6
    shares = [blank_share(read_pgm(p.read_bytes())) for p in images]
    near_empty = [(i + 1, round(s, 2)) for i, s in enumerate(shares[:-1]) if s > BLANK_LIMIT]
    assert near_empty == [], f"pages more than 85 % blank (page, share): {near_empty}; all: {shares}"


def test_no_two_words_overlap_on_any_page_nor_run_into_the_margin(pdf):
    bad = {i + 1: overlaps(words) for i, words in enumerate(pdf.pages)}
    assert {p: o for p, o in bad.items() if o} == {}
    clipped = {i + 1: outside(words, w) for i, (words, w) in enumerate(zip(pdf.pages, pdf.widths))}
    assert {p: o for p, o in clipped.items() if o} == {}
    # the scorecard's headers are among the words checked, each on its own
    scorecard_pages = [words for words in pdf.pages if any(w[4] == "attained" for w in words)]
    assert scorecard_pages


def test_the_load_audit_is_the_last_appendix(pdf):
    text = " ".join(pdf.texts)
    audit = text.index("Appendix: load audit, the data behind this report")
    assert audit > text.index("Appendix: definitions of the KPIs shown") > text.index("Scorecard: goals against")
    assert "customers.csv" in text[audit:]
    assert "customers.csv" not in pdf.texts[0]
