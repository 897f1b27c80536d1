"""The command line while a REAL app holds the store: `streamlit run app.py` on a free port, a page
opened in headless Chromium (the first page view opens the store and starts the inbox worker), then
`python -m crm_metrics kpi`, `report` and `load` as subprocesses: the same output and exit codes as
without the app, and the load lands. A second app process on the same store says what is wrong."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, _start, _stop

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.inbox import inbox_dir, worker_alive
from crm_metrics.data.sample import generate
from crm_metrics.data.store import Store

ROOT = Path(__file__).resolve().parent.parent
KPI = ("kpi", "customer_base", "--format", "json")


def cli(db: Path, *args: str) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "crm_metrics", *args, "--db", str(db)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def store_file(tmp_path) -> Path:
    """A store holding a 500-customer sample company (small, so the commands are quick)."""
    generate(tmp_path / "sample", customers=500, seed=42)
    db = tmp_path / "crm.duckdb"
    s = Store(db)
    load_sample(s, tmp_path / "sample")
    s.close()
    return db


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    return page


def test_cli_reads_and_loads_while_a_streamlit_app_holds_the_store(store_file, tmp_path):
    from playwright.sync_api import sync_playwright

    db = store_file
    code, direct_kpi, err = cli(db, *KPI)  # nobody holds the store: runs directly
    assert code == 0, err
    assert 0 < json.loads(direct_kpi)["rows"][0]["value"] <= 500  # active customers among the sample's 500

    app, url = _start(db, "light")
    second = None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            # the first page view opens the store and starts the app's inbox worker (the Data page:
            # one of the lighter pages, so the app's own work competes little with the commands)
            page = _open(browser, url + "/Data")
            page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
            beat = worker_alive(inbox_dir(db), max_age=30)
            assert beat is not None and beat["pid"] == app.pid

            # reads: exit 0, the same output as without the app, and a note that the app answered
            code, out, err = cli(db, *KPI)
            assert code == 0, err
            assert out == direct_kpi
            assert "open in another process" in err and "Traceback" not in err
            report = tmp_path / "out" / "board-pack.html"
            # one month: the report's cost grows with its window, and this test times the hand-over
            code, out, err = cli(db, "report", "--out", str(report), "--from", "2026-10-01", "--to", "2026-10-31")
            assert code == 0, err
            assert out.strip() == str(report)  # the path asked for, as a direct run prints it
            html = report.read_text(encoding="utf-8")
            assert html.lstrip().lower().startswith("<!doctype html") and "</html>" in html.lower()

            # a load through the command line lands in the app's store
            new = tmp_path / "customers.csv"
            new.write_text("customer_id,segment,joined_on\nnew-1,Mass,2025-01-02\nnew-2,Mass,2025-01-03\n",
                           encoding="utf-8")
            code, out, err = cli(db, "load", str(new), "--wait", "60")
            assert code == 0, err
            assert "2 inserted" in out or "inserted 2" in out or "2 new" in out, out
            code, out, err = cli(db, "status", "--format", "json")
            assert code == 0 and json.loads(out)["tables"]["customers"] == 502, err

            # a second app process on the same store: a clear sentence naming the first one
            second, url2 = _start(db, "light")
            page2 = _open(browser, url2 + "/Data")
            page2.get_by_text("Another app process").wait_for(timeout=90_000)
            text = page2.locator('[data-testid="stMain"]').inner_text()
            assert f"Another app process (pid {app.pid}) already serves this store" in text
            assert "CRM_DB" in text
            # the first app still serves its viewers
            page.reload(wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
            browser.close()
    finally:
        if second is not None:
            _stop(second)
        _stop(app)
