"""Alerts (foresight.md, "Alerts: what changed since last time") on tiny hand-made stores.

The webhook is a real HTTP server on 127.0.0.1 (an ephemeral port, in a thread); the store is a
real DuckDB file. Every expected change is written out literally, with the arithmetic beside it.
The goals' periods (March 2026) end before the data does (a contact on 2026-04-05), so their
rows are final: met / at_risk / missed.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import fill_store

from crm_metrics.data.store import close_all
from crm_metrics.delivery.cli import main
from crm_metrics.judgement import alert_state, alerts

D = dt.date
MARCH = {"period_start": D(2026, 3, 1), "period_end": D(2026, 3, 31)}


def ts(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} {hour:02d}:00:00")


def contact(i: str, day: str, handle: float | None) -> dict:
    return {"interaction_id": i, "customer_id": "c1", "occurred_at": ts(day), "channel": "phone",
            "advisor_id": "a1", "reason": "service", "handle_seconds": handle}


CUSTOMERS = [{"customer_id": "c1", "segment": "Gold", "joined_on": D(2025, 1, 1)}]
# March: three contacts of 300 s -> average handle time 900 / 3 = 300.0 s. The April contact (no
# handle time) only makes the data reach past March, so March is over.
CONTACTS = [contact("i1", "2026-03-02", 300), contact("i2", "2026-03-05", 300),
            contact("i3", "2026-03-10", 300), contact("i0", "2026-04-05", None)]
# G1: <= 300 s, tolerance 5 % -> met up to 300, at_risk up to 315, missed above.
G1 = {"goal_id": "G1", "kpi": "avg_handle_time", "target": 300, **MARCH}
# G2: <= 250 s: 300 > 250 + 0.05 x 250 = 262.5 -> missed from the start.
G2 = {"goal_id": "G2", "kpi": "avg_handle_time", "target": 250, **MARCH}
# G3: NPS >= 20 with no survey loaded -> no_data, and the health check no_measurement warns about it.
G3 = {"goal_id": "G3", "kpi": "nps", "target": 20, **MARCH}

G2_MISSED = {"kind": "goal_changed", "id": "G2", "scope": "all", "period": "2026-03", "from": None,
             "to": "missed", "value": 300.0, "target": 250.0,
             "text": "Average handle time ≤ 250.0 s (all, 2026-03): missed (new); actual 300.0 s"}


@pytest.fixture
def db(make_store):
    """make(goals) -> the path of a store with the contacts and those goals."""
    def make(*goals: dict) -> str:
        return make_store(customers=CUSTOMERS, interactions=CONTACTS, goals=list(goals)).path
    yield make
    close_all()


def run(capsys, *args: str) -> tuple[int, dict | str, str]:
    code = main(["alerts", *args])
    got = capsys.readouterr()
    out = json.loads(got.out) if "json" in args else got.out
    return code, out, got.err


def add(store_path: str, **tables: list[dict]) -> None:
    from crm_metrics.data.store import open_store
    fill_store(open_store(store_path), tables)


# -- a real webhook ------------------------------------------------------------------------------------------
class Hook:
    """An HTTP server on 127.0.0.1 that keeps the bodies POSTed to it and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.bodies = status, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                hook.bodies.append((self.headers.get("Content-Type"), json.loads(self.rfile.read(n))))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def free_port_url() -> str:
    """A URL on a port nothing listens on (bound, then released): connection refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/hook"


# -- the webhook receives the body; the state advances only then ---------------------------------------------
def test_webhook_receives_the_body_and_the_state_advances(db, hook, capsys):
    path = db(G1, G2)
    code, out, err = run(capsys, "--db", path, "--webhook", hook.url, "--format", "json")
    assert code == 0
    # G1 is met (300.0 <= 300): not bad, not reported; G2 is missed and reported as new.
    assert out == {"changes": [G2_MISSED], "state_version": 1}
    assert hook.bodies == [("application/json; charset=utf-8", {"text": G2_MISSED["text"], "changes": [G2_MISSED]})]
    assert "state version 1 recorded, 1 change(s) sent to the webhook" in err
    # the next run has nothing to say, and sends nothing
    code, out, _ = run(capsys, "--db", path, "--webhook", hook.url, "--format", "json")
    assert (code, out, len(hook.bodies)) == (0, {"changes": [], "state_version": 2}, 1)


@pytest.mark.parametrize("failure, reason", [
    ("http500", "the webhook answered HTTP 500 Internal Server Error"),
    ("down", "cannot reach the webhook: [Errno 111] Connection refused"),
])
def test_failed_delivery_exits_1_and_the_next_run_reports_the_same_changes(db, hook, capsys, failure, reason):
    path = db(G1, G2)
    if failure == "http500":
        bad = Hook(status=500)
        url = bad.url
    else:
        bad, url = None, free_port_url()
    code, out, err = run(capsys, "--db", path, "--webhook", url, "--format", "json")
    if bad is not None:
        assert len(bad.bodies) == 1  # it did arrive, and was refused
        bad.close()
    assert code == 1
    assert out == {"changes": [G2_MISSED], "state_version": 0}
    assert f"refused: {reason}; the alert state was not recorded" in err
    from crm_metrics.data.store import open_store
    assert alert_state.recorded(open_store(path)) == (0, {})
    # the webhook is back: the same change, delivered now
    code, out, _ = run(capsys, "--db", path, "--webhook", hook.url, "--format", "json")
    assert (code, out) == (0, {"changes": [G2_MISSED], "state_version": 1})
    assert hook.bodies[0][1]["changes"] == [G2_MISSED]


def test_webhook_timeout_exits_1(db, capsys):
    # a socket that accepts (the kernel's backlog) but never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        code, out, err = run(capsys, "--db", db(G2), "--webhook", url, "--webhook-timeout", "0.3")
    finally:
        silent.close()
    assert code == 1
    assert "refused: the webhook did not answer within 0.3 s" in err
    assert out == G2_MISSED["text"] + "\n"


def test_bad_webhook_url_is_a_usage_error(db, capsys):
    with pytest.raises(SystemExit) as e:
        main(["alerts", "--db", db(G2), "--webhook", "file:///etc/passwd"])
    assert e.value.code == 2
    assert "--webhook needs an http:// or https:// URL with a host" in capsys.readouterr().err


# -- dry run, first vs every --------------------------------------------------------------------------------
def test_dry_run_records_nothing(db, hook, capsys):
    path = db(G1, G2)
    code, out, err = run(capsys, "--db", path, "--dry-run", "--webhook", hook.url, "--format", "json")
    assert (code, out) == (0, {"changes": [G2_MISSED], "state_version": 0})
    assert "dry run: nothing sent, nothing recorded" in err and hook.bodies == []
    from crm_metrics.data.store import open_store
    assert alert_state.recorded(open_store(path)) == (0, {})
    # so a real run still reports it
    code, out, _ = run(capsys, "--db", path, "--format", "json")
    assert (code, out) == (0, {"changes": [G2_MISSED], "state_version": 1})


def test_first_reports_once_every_repeats_what_is_still_bad(db, capsys):
    path = db(G1, G2)
    assert run(capsys, "--db", path)[1] == G2_MISSED["text"] + "\n"
    assert run(capsys, "--db", path)[1] == "no changes since the last run\n"
    code, out, _ = run(capsys, "--db", path, "--mode", "every", "--format", "json")
    # G1 (met) is not repeated; G2 is still missed
    assert code == 0
    assert out == {"changes": [{
        "kind": "goal_still_bad", "id": "G2", "scope": "all", "period": "2026-03", "from": "missed",
        "to": "missed", "value": 300.0, "target": 250.0,
        "text": "Average handle time ≤ 250.0 s (all, 2026-03): still missed; actual 300.0 s"}],
        "state_version": 3}
    assert run(capsys, "--db", path, "--mode", "every")[1] == \
        "Average handle time ≤ 250.0 s (all, 2026-03): still missed; actual 300.0 s\n"
    assert run(capsys, "--db", path)[1] == "no changes since the last run\n"


# -- the dead band ------------------------------------------------------------------------------------------
def test_dead_band_suppresses_a_flip_at_the_boundary(db, capsys):
    path = db(G1)
    assert run(capsys, "--db", path)[1] == "no changes since the last run\n"  # G1 met at 300.0
    # + 304 s: (900 + 304) / 4 = 301.0 -> at_risk (300 < 301 <= 315), but only 1.0 s past the
    # boundary 300, within the dead band 0.005 x 300 = 1.5 s: not reported
    add(path, interactions=[contact("i4", "2026-03-20", 304)])
    assert run(capsys, "--db", path, "--format", "json")[1] == {"changes": [], "state_version": 2}
    # + 330 s: (1204 + 330) / 5 = 306.8 -> at_risk, 6.8 s past the boundary (> 1.5): reported, and
    # as a change from met (the status last reported), not from the at_risk that was not reported
    add(path, interactions=[contact("i5", "2026-03-21", 330)])
    assert run(capsys, "--db", path, "--format", "json")[1] == {"changes": [{
        "kind": "goal_changed", "id": "G1", "scope": "all", "period": "2026-03", "from": "met",
        "to": "at_risk", "value": 306.8, "target": 300.0,
        "text": "Average handle time ≤ 300.0 s (all, 2026-03): met → at risk; actual 306.8 s"}],
        "state_version": 3}


def test_dead_band_zero_reports_the_flip(db, capsys):
    path = db(G1)
    from crm_metrics.data.store import open_store
    open_store(path).set_setting("alert_deadband", 0)
    run(capsys, "--db", path)
    add(path, interactions=[contact("i4", "2026-03-20", 304)])  # 301.0 as above
    assert run(capsys, "--db", path)[1] == \
        "Average handle time ≤ 300.0 s (all, 2026-03): met → at risk; actual 301.0 s\n"


def test_dead_band_setting_is_validated(make_store):
    from crm_metrics.judgement import strategy
    store = make_store()
    assert store.settings()["alert_deadband"] == 0.005
    with pytest.raises(strategy.StrategyError, match="alert_deadband: must be at most 1, got 2"):
        strategy.set_setting(store, "alert_deadband", 2)
    with pytest.raises(ValueError, match="must be >= 0"):
        store.set_setting("alert_deadband", -0.1)


def _entry(status: str, value: float, final: bool = True, low=None, high=None) -> alerts.Entry:
    return alerts.Entry("k", "goal", "G", "all", "2026", "Churn ≤ 15.0%", status, final, value, 15.0,
                        {"direction": "at_most", "tolerance": 0.05, "forecast_low": low, "forecast_high": high})


@pytest.mark.parametrize("prev, cur, suppressed", [
    # final, at_most 15, tolerance 5 %: met <= 15, at_risk <= 15.75, band 0.005 x 15 = 0.075
    (_entry("met", 14.0), _entry("at_risk", 15.07), True),       # 0.07 past 15
    (_entry("met", 14.0), _entry("at_risk", 15.08), False),      # 0.08 past 15
    (_entry("at_risk", 15.5), _entry("missed", 15.8), True),     # 0.05 past 15.75
    (_entry("at_risk", 15.5), _entry("met", 14.95), True),       # 0.05 inside the met side
    (_entry("met", 14.0), _entry("missed", 15.8), False),        # two boundaries crossed
    # in progress: forecast 80 % interval 15 +- 1.2816 sd with sd = 1; on_track when the forecast is
    # at most 15 - 0.5244 sd (p_meet >= 0.7): 14.4756; band 0.075
    (_entry("on_track", 14.0, False, 12.0, 14.0), _entry("at_risk", 14.52, False, 13.2184, 15.7816), True),
    (_entry("on_track", 14.0, False, 12.0, 14.0), _entry("at_risk", 14.60, False, 13.2984, 15.9016), False),
    # a period that ended: pace -> final is never suppressed
    (_entry("on_track", 14.0, False, 12.0, 14.0), _entry("at_risk", 15.01), False),
])
def test_within_deadband(prev, cur, suppressed):
    assert alerts.within_deadband(prev, cur, 0.005, {}) is suppressed


# -- health findings ------------------------------------------------------------------------------------------
def test_new_and_resolved_finding(db, capsys):
    path = db(G3)
    code, out, _ = run(capsys, "--db", path, "--format", "json")
    # G3 has no data (not a bad status: not reported); the check no_measurement warns about it
    [new] = out["changes"]
    assert {k: v for k, v in new.items() if k != "text"} == {
        "kind": "finding_new", "id": "no_measurement", "scope": "G3", "period": None, "from": None,
        "to": "warning", "value": None, "target": None}
    # the finding's own words come from the health check; the line starts with ours
    assert new["text"].startswith("Health · No measurement (G3): new warning — goal G3 (Net Promoter Score, ")
    # one answer of 10: NPS = 100 % promoters - 0 % detractors = 100.0 >= 20 -> met; the warning goes
    add(path, surveys=[{"response_id": "s1", "customer_id": "c1", "answered_on": D(2026, 3, 10), "nps": 10}])
    code, out, _ = run(capsys, "--db", path, "--format", "json")
    assert (code, out) == (0, {"changes": [
        {"kind": "goal_changed", "id": "G3", "scope": "all", "period": "2026-03", "from": "no_data", "to": "met",
         "value": 100.0, "target": 20.0,
         "text": "Net Promoter Score ≥ 20.0 (all, 2026-03): no data → met; actual 100.0"},
        {"kind": "finding_resolved", "id": "no_measurement", "scope": "G3", "period": None, "from": "warning",
         "to": "ok", "value": None, "target": None,
         "text": "Health · No measurement (G3): resolved (was warning)"},
    ], "state_version": 2})


# -- words -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start, end, label", [
    (D(2026, 1, 1), D(2026, 12, 31), "2026"),
    (D(2026, 4, 1), D(2026, 6, 30), "2026 Q2"),
    (D(2026, 2, 1), D(2026, 2, 28), "2026-02"),
    (D(2026, 2, 1), D(2026, 3, 31), "2026-02-01..2026-03-31"),
    (D(2026, 1, 15), D(2026, 2, 14), "2026-01-15..2026-02-14"),
])
def test_period_label(start, end, label):
    assert alerts.period_label(start, end) == label


def test_pace_line_shows_the_forecast_and_its_interval():
    e = alerts.goal_entry({"goal_id": "G7", "kpi": "churn_rate", "channel": None, "segment": None,
                           "period_start": D(2026, 1, 1), "period_end": D(2026, 12, 31), "target": 15.0,
                           "direction": "at_most", "status": "off_track", "final": False, "actual": None,
                           "forecast": 16.2, "forecast_low": 15.1, "forecast_high": 17.4})
    assert alerts.goal_text(e, "on_track", "goal_changed") == \
        "Churn ≤ 15.0% (all, 2026): on track → off track; forecast 16.2% (80%: 15.1%–17.4%)"


# -- the Scorecard panel's consumer ("app") --------------------------------------------------------------------
def test_panel_shows_what_the_last_load_changed_without_consuming_the_cron_state(db, capsys):
    from crm_metrics.data.store import open_store
    path = db(G1)
    store = open_store(path)
    first = alert_state.changes_since_last_load(store)
    assert (first.changes, first.baseline) == ((), True)  # nothing to compare with yet
    # a load: (900 + 330) / 4 = 307.5 s -> at_risk, 7.5 s past 300 (> the dead band 1.5)
    add(path, interactions=[contact("i4", "2026-03-20", 330)])
    line = "Average handle time ≤ 300.0 s (all, 2026-03): met → at risk; actual 307.5 s"
    after = alert_state.changes_since_last_load(store)
    assert ([c.text for c in after.changes], after.baseline) == ([line], False)
    assert after.since is not None  # when the state before the load was recorded
    # every rerun until the next load shows the same changes (read back, not consumed)
    again = alert_state.changes_since_last_load(store)
    assert ([c.text for c in again.changes], again.data_version) == ([line], after.data_version)
    # the cron job's state is its own: its first run still reports the at_risk row (as new)
    assert run(capsys, "--db", path)[1] == \
        "Average handle time ≤ 300.0 s (all, 2026-03): at risk (new); actual 307.5 s\n"
    # a data change that changes no status: the panel is empty again
    add(path, interactions=[contact("i5", "2026-04-06", None)])
    assert alert_state.changes_since_last_load(store).changes == ()


def test_worsened_finding_is_reported_once(db, capsys):
    from crm_metrics.data.store import open_store
    path = db(G1)
    run(capsys, "--db", path)
    # advisor_logged_rate: assisted contacts with an advisor. + 1 phone contact without one: 4 of 5 =
    # 80.0 % (< 90: warning); + 3 more: 4 of 8 = 50.0 % (< 75: critical)
    bare = {"customer_id": "c1", "channel": "phone", "reason": "service"}
    add(path, interactions=[{"interaction_id": "x1", "occurred_at": ts("2026-04-06"), **bare}])
    [c] = run(capsys, "--db", path, "--format", "json")[1]["changes"]
    assert (c["kind"], c["id"], c["scope"], c["from"], c["to"]) == (
        "finding_new", "siloed_customer_data", None, None, "warning")
    assert c["text"] == "Health · Siloed customer data: new warning — Known customers 100.0%; " \
                        "Advisor recorded 80.0% (< 90)"
    add(path, interactions=[{"interaction_id": f"x{i}", "occurred_at": ts("2026-04-07"), **bare} for i in (2, 3, 4)])
    [c] = run(capsys, "--db", path, "--format", "json")[1]["changes"]
    assert (c["kind"], c["from"], c["to"]) == ("finding_worsened", "warning", "critical")
    assert c["text"].startswith("Health · Siloed customer data: warning → critical — ")
    assert run(capsys, "--db", path)[1] == "no changes since the last run\n"
    assert alert_state.recorded(open_store(path))[0] == 4


def test_panel_computes_its_inputs_only_when_the_data_changed(db):
    from crm_metrics.data.store import open_store
    from crm_metrics.judgement import health, scorecard
    store = open_store(db(G2))
    calls = []

    def inputs():
        calls.append(store.data_version())
        return scorecard.scorecard(store), health.run_checks(store)

    alert_state.changes_since_last_load(store, inputs)
    alert_state.changes_since_last_load(store, inputs)
    assert len(calls) == 1
    add(store.path, interactions=[contact("i4", "2026-04-06", None)])
    got = alert_state.changes_since_last_load(store, inputs)
    assert (len(calls), got.changes) == (2, ())  # G2 still missed: nothing changed


# -- cron while the app holds the store ----------------------------------------------------------------------
def test_alerts_run_inside_the_app_holding_the_store(make_store, hook):
    # DuckDB lets no other process open a file the app holds: the command runs inside the app
    # (crm_metrics.delivery.remote), the app POSTs and records, the output comes back here.
    from pathlib import Path

    from test_concurrency import cli as run_cli
    from test_concurrency import start_holder, stop
    store = make_store(customers=CUSTOMERS, interactions=CONTACTS, goals=[G1, G2])
    path = Path(store.path)
    store.close()
    close_all()
    holder = start_holder(path, "app")
    try:
        code, out, err = run_cli(path, "alerts", "--webhook", hook.url, "--format", "json")
        assert code == 0, err
        assert json.loads(out) == {"changes": [G2_MISSED], "state_version": 1}
        assert hook.bodies == [("application/json; charset=utf-8", {"text": G2_MISSED["text"], "changes": [G2_MISSED]})]
        code, out, err = run_cli(path, "alerts", "--format", "json")
        assert (code, json.loads(out)) == (0, {"changes": [], "state_version": 2}), err
    finally:
        stop(holder)


# -- the Scorecard page's panel (AppTest) ---------------------------------------------------------------------
def test_scorecard_page_shows_what_the_last_load_changed(make_store, monkeypatch):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    store = make_store(customers=CUSTOMERS, interactions=CONTACTS, goals=[{**G1, "objective": "Cost to serve"}])
    monkeypatch.setenv("CRM_DB", store.path)
    st.cache_data.clear()  # Streamlit's caches are process-wide
    st.cache_resource.clear()
    page = str(Path(__file__).resolve().parent.parent / "pages" / "1_Scorecard.py")
    try:
        at = AppTest.from_file(page, default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        assert "What changed since the last load" in [h.value for h in at.subheader]
        assert any(c.value.startswith("Nothing to compare with yet") for c in at.caption)
        # a load: (900 + 330) / 4 = 307.5 s -> G1 at_risk, 7.5 s past 300 (beyond the dead band 1.5 s)
        add(store.path, interactions=[contact("i4", "2026-03-20", 330)])
        # the app's background recompute (ui.precompute) records the app's state after the load,
        # before anyone opens the page again
        import time
        version = store.data_version()
        deadline = time.monotonic() + 60
        while (alert_state.last_run(store, "app") or {}).get("data_version") != version:
            assert time.monotonic() < deadline, "the app's state did not advance after the load"
            time.sleep(0.2)
        at = AppTest.from_file(page, default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        # the panel's lines are escaped HTML (names come from data): compare the text they show
        import html
        shown = html.unescape("\n".join(m.value for m in at.markdown))
        assert "Average handle time ≤ 300.0 s (all, 2026-03): met → at risk; actual 307.5 s" in shown
        assert any(c.value.startswith("Compared with the previous load (the state recorded ") for c in at.caption)
        # the page again, same data: the same change is still shown (read back, not consumed)
        at.run()
        assert "met → at risk; actual 307.5 s" in "\n".join(m.value for m in at.markdown)
    finally:
        from ui import precompute
        for t in list(precompute._THREADS.values()):  # the app's recompute thread: stop it before closing
            t.stop()
            t.join(30)
        st.cache_data.clear()
        st.cache_resource.clear()
        close_all()
