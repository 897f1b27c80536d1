"""The README's sign-in, end to end: a real OpenID Connect provider (oidc-provider-mock, its own
process), `streamlit run app.py` with the README's [auth] section in .streamlit/secrets.toml, and
headless Chromium. Viewers see no write path, an analyst (verified email in the list, in another
case) can load, an unverified email in the list is a viewer, sign-out works; and the upload
endpoint takes no bytes from a signed-out or a viewer session (the server's memory stays put)."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _settle

ROOT = Path(__file__).resolve().parent.parent
ANALYSTS = ["ana@bank.example"]
MB = 1024 * 1024


@pytest.fixture(scope="module")
def app(oidc_provider, tmp_path_factory):
    """The app from a working folder of its own (Streamlit reads .streamlit/secrets.toml from the
    folder it is started in): the code copied, the shipped config, and secrets with [auth]."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    work = tmp_path_factory.mktemp("signin")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy(ROOT / "app.py", work / "app.py")
    for d in ("pages", "ui", "crm_metrics", "sample_data", ".streamlit"):
        shutil.copytree(ROOT / d, work / d, ignore=ignore)
    port = _free_port()
    # the README's sign-in section, with the provider's discovery URL
    (work / ".streamlit" / "secrets.toml").write_text(f"""
[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "{uuid.uuid4().hex}{uuid.uuid4().hex}"
client_id = "crm-success"
client_secret = "{uuid.uuid4().hex}"
server_metadata_url = "{oidc_provider.discovery_url}"

[roles]
analysts = {ANALYSTS!r}
""".replace("'", '"'))
    # small per-session upload limits, so that a test can reach them
    env = {**os.environ, "CRM_DB": str(work / "crm.duckdb"), "CRM_UPLOAD_FILES_PER_SESSION": "3",
           "CRM_UPLOAD_MB_PER_SESSION": "40"}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    log = open(work / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://localhost:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("streamlit did not start: " + (work / "streamlit.log").read_text()[-3000:]) from None
            time.sleep(0.5)
    yield base, proc, work
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--headless"], headless=True)
        yield b
        b.close()


def _watch_sessions(page) -> list[str]:
    """The Streamlit session ids this page is given (from the websocket's NewSession messages)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ids: list[str] = []

    def on_frame(payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            msg = ForwardMsg()
            try:
                msg.ParseFromString(bytes(payload))
            except Exception:  # noqa: BLE001  (not a ForwardMsg: ignore)
                return
            if msg.WhichOneof("type") == "new_session" and msg.new_session.initialize.session_id:
                sid = msg.new_session.initialize.session_id
                if sid not in ids:
                    ids.append(sid)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return ids


def _open(context, url: str):
    page = context.new_page()
    ids = _watch_sessions(page)
    page.goto(url, timeout=60_000)
    return page, ids


def _sign_in(browser, base: str, provider_url: str, subject: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    context.set_default_timeout(60_000)
    page, ids = _open(context, base + "/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("^" + re.escape(provider_url)))
    page.fill("#subject-input", subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(re.compile("^" + re.escape(base)))
    _settle(page)
    return context, page, ids


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _put_upload(base: str, session_id: str, cookies: dict[str, str], size: int) -> int:
    """PUT a file of ``size`` bytes to Streamlit's upload endpoint for ``session_id``, as a browser
    would (XSRF header from the cookie). The status, or 0 when the server closed the connection
    before taking the body."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + size + len(tail)),
               "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
               "X-Xsrftoken": cookies.get("_streamlit_xsrf", ""), "Host": f"{host}:{port}"}
    try:
        conn.putrequest("PUT", f"/_stcore/upload_file/{session_id}/{uuid.uuid4()}", skip_host=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(head)
        chunk = b"a," * (MB // 2)
        sent = 0
        while sent < size:
            conn.send(chunk[: size - sent])
            sent += min(len(chunk), size - sent)
        conn.send(tail)
        return conn.getresponse().status
    except (ConnectionError, http.client.HTTPException, OSError):
        return 0
    finally:
        conn.close()


def _cookies(context) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


def test_viewer_sees_no_write_path(app, browser, oidc_provider):
    base, _, _ = app
    oidc_provider.set_user("exec", {"email": "exec@bank.example", "email_verified": True})
    context, page, _ = _sign_in(browser, base, oidc_provider.url, "exec")
    assert "exec@bank.example" in _sidebar(page) and "viewer" in _sidebar(page)
    # the tables' toolbar has no CSV download (it would write formula cells raw); the escaped
    # "Download CSV" button is there
    table = page.locator('[data-testid="stDataFrame"]').first
    table.hover()
    page.wait_for_selector('[data-testid="stElementToolbar"] button', timeout=10_000)
    toolbar = [b.get_attribute("aria-label") or b.inner_text()
               for b in page.locator('[data-testid="stElementToolbar"] button').all()]
    assert toolbar and not [t for t in toolbar if "download" in t.lower()], toolbar
    assert page.get_by_role("button", name="Download CSV").count() >= 1
    page.goto(base + "/Data")
    _settle(page)
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert "Viewers can read and download" in page.locator('[data-testid="stMain"]').inner_text()
    page.goto(base + "/Strategy")
    _settle(page)
    assert page.get_by_role("button", name="Save goal").count() == 0
    assert page.locator('[data-testid="stForm"]').count() == 0
    context.close()


def test_analyst_with_verified_email_in_another_case_can_load(app, browser, oidc_provider, tmp_path):
    base, _, _ = app
    oidc_provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})
    context, page, _ = _sign_in(browser, base, oidc_provider.url, "ana")
    assert "analyst" in _sidebar(page), _sidebar(page)
    page.goto(base + "/Data")
    _settle(page)
    csv = tmp_path / "goals.csv"
    csv.write_text("goal_id,kpi,target,objective,owner\nG66,complaint_rate,1.0,Signed-in load,Ana\n")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
    page.get_by_role("button", name="Load 1 file").click()
    page.wait_for_selector('[data-testid="stAlertContentSuccess"]', timeout=120_000)
    assert "goals" in page.locator('[data-testid="stAlertContentSuccess"]').first.inner_text()
    context.close()


@pytest.mark.parametrize("claims", [
    {"email": "ana@bank.example", "email_verified": False},
    None,  # a subject the provider knows nothing of: {"email": <subject>}, no email_verified
])
def test_unverified_email_in_the_list_is_a_viewer(app, browser, oidc_provider, claims):
    base, _, _ = app
    subject = "ana@bank.example"
    if claims is not None:
        subject = "mallory"
        oidc_provider.set_user(subject, claims)
    context, page, _ = _sign_in(browser, base, oidc_provider.url, subject)
    side = _sidebar(page)
    assert "ana@bank.example" in side and "viewer" in side and "analyst" not in side, side
    page.goto(base + "/Data")
    _settle(page)
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    context.close()


def test_sign_out(app, browser, oidc_provider):
    base, _, _ = app
    oidc_provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})
    context, page, _ = _sign_in(browser, base, oidc_provider.url, "ana")
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    # Streamlit ends the session at the provider too (RP-initiated logout); it asks to confirm
    page.wait_for_url(re.compile("^" + re.escape(oidc_provider.url)))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile("^" + re.escape(base)))
    page.wait_for_selector('button:has-text("Sign in")', timeout=60_000)
    page.goto(base + "/Data")
    page.wait_for_selector('button:has-text("Sign in")', timeout=60_000)
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert "Signed in as" not in page.content()
    context.close()


def test_upload_endpoint_takes_nothing_from_signed_out_or_viewer_sessions(app, browser, oidc_provider):
    base, proc, _ = app
    # a signed-out session: it shows the sign-in page only
    anon = browser.new_context()
    anon_page, anon_ids = _open(anon, base + "/")
    anon_page.wait_for_selector('button:has-text("Sign in")', timeout=60_000)
    # a viewer's session
    oidc_provider.set_user("exec", {"email": "exec@bank.example", "email_verified": True})
    viewer, _viewer_page, viewer_ids = _sign_in(browser, base, oidc_provider.url, "exec")
    # an analyst's session: the endpoint works for it (so the refusals below are the guard's)
    oidc_provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})
    analyst, _analyst_page, analyst_ids = _sign_in(browser, base, oidc_provider.url, "ana")
    assert anon_ids and viewer_ids and analyst_ids
    assert _put_upload(base, analyst_ids[-1], _cookies(analyst), 1 * MB) == 204

    before = _rss_kb(proc.pid)
    statuses = []
    # 4 x 64 MB from each: held, they would add 512 MB to the server's memory
    for sid, ctx in ((anon_ids[-1], anon), (viewer_ids[-1], viewer)):
        for _ in range(4):
            statuses.append(_put_upload(base, sid, _cookies(ctx), 64 * MB))
    time.sleep(1)
    after = _rss_kb(proc.pid)
    assert all(s != 204 and (s == 0 or s >= 400) for s in statuses), statuses
    assert after - before < 100 * 1024, f"RSS grew by {(after - before) // 1024} MB"
    # the sessions are still live (the refusal is not a dead session)
    assert anon_page.get_by_role("button", name="Sign in").count() == 1
    for c in (anon, viewer, analyst):
        c.close()


def test_analyst_session_upload_limits(app, browser, oidc_provider):
    """Even an analyst's session holds at most CRM_UPLOAD_FILES_PER_SESSION files and
    CRM_UPLOAD_MB_PER_SESSION MB (3 and 40 here)."""
    base, _, _ = app
    oidc_provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})
    analyst, _page, ids = _sign_in(browser, base, oidc_provider.url, "ana")
    cookies = _cookies(analyst)
    assert _put_upload(base, ids[-1], cookies, 30 * MB) == 204
    assert _put_upload(base, ids[-1], cookies, 20 * MB) == 413  # 30 + 20 > 40 MB
    assert _put_upload(base, ids[-1], cookies, 1 * MB) == 204
    assert _put_upload(base, ids[-1], cookies, 1 * MB) == 204
    assert _put_upload(base, ids[-1], cookies, 1 * MB) == 413  # a fourth file
    analyst.close()
