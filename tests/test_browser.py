"""`streamlit run` on a free port; headless Debian Chromium opens every page, finds no error, and
saves a screenshot per page (artifacts/screenshots/) as a test artifact."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = {
    "scorecard": ("", "What did our CRM bring us?"),
    "channels": ("Channels", "Channels"),
    "segments": ("Segments", "Segments"),
    "relationships": ("Relationships", "Relationships vs encounters"),
    "customers": ("Customers_and_value", "Customers & value"),
    "initiatives": ("Initiatives", "Initiatives"),
    "data": ("Data", "Data"),
    "strategy": ("Strategy", "Strategy"),
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# .streamlit/config.toml sets the light theme's colours, so the dark theme needs its own colours too
THEMES = {
    "light": ["--theme.base", "light"],
    "dark": ["--theme.base", "dark", "--theme.backgroundColor", "#0E1117", "--theme.secondaryBackgroundColor",
             "#262730", "--theme.textColor", "#FAFAFA"],
}


def _start(db: Path, theme: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "CRM_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *THEMES[theme]],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One app per theme (Streamlit's theme.base), started when first asked for, on one store."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    db = tmp_path_factory.mktemp("browser") / "crm.duckdb"  # empty: the app loads the sample itself
    running: dict[str, tuple[subprocess.Popen, str]] = {}

    def get(theme: str = "light") -> str:
        if theme not in running:
            # one process holds the store: the other theme's app starts after the first stops
            for other in list(running):
                _stop(running.pop(other)[0])
            running[theme] = _start(db, theme)
        return running[theme][1]

    yield get
    for proc, _ in running.values():
        _stop(proc)


@pytest.fixture(scope="module")
def server(servers):
    return servers("light")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _settle(page) -> None:
    """Wait until the script run has finished drawing: the title is there and no element is a
    skeleton placeholder any more (the toolbar's running indicator is hidden in viewer mode)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    # The first visit may load the sample company: wait for the page's title to be drawn.
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=120_000)
    quiet = 0
    for _ in range(480):
        busy = page.locator('[data-testid="stSkeleton"]').count() + page.locator(
            '[data-testid="stStatusWidget"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 4:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(1000)


# (width, theme): a wide screen and a small laptop on the light theme, and the dark theme; the
# screenshots are looked at, not only the assertions below
VIEWS = {"1440": (1440, "light"), "1024": (1024, "light"), "1440-dark": (1440, "dark")}


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_page_in_browser(servers, browser, name, view):
    path, title = PAGES[name]
    width, theme = VIEWS[view]
    page = browser.new_page(viewport={"width": width, "height": 2200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{servers(theme)}/{path}", timeout=60_000)
    _settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{view}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert title in body
    assert "Traceback" not in body
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, "an error message is shown"
    assert "Page not found" not in page.content()
    assert not errors, errors
    # nothing wider than the window: no horizontal scrolling of the page itself
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the window"
    page.close()


def test_link_with_filters_reproduces_the_view(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/Channels?from=2026-01-01&to=2026-03-31&channel=phone&grain=week", timeout=60_000)
    _settle(page)
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]', timeout=60_000)
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "phone" in text, text
    assert "2026\n-\n01\n-\n01" in text or "2026-01-01" in text, text
    assert "from=2026-01-01" in page.url and "channel=phone" in page.url
    page.close()
