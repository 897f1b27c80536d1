"""The Scorecard's "What changed since the last load" panel (foresight.md, "Alerts").

The changes come from crm_metrics.judgement.alert_state.changes_since_last_load (consumer "app",
separate from the cron job's `alerts`): the first call after the data version moved (the app's
background recompute after a load, else the first view) compares with the state recorded at the
previous version and records the new one; later calls read the recorded changes back. The
scorecard and health findings it needs are this page's cached ones over the data's whole span
(the filters' default window), so the panel adds no computation when the filters are at their
default."""
from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from crm_metrics.delivery.presentation import SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.judgement import alert_state
from crm_metrics.judgement.scorecard import resolve_window

from . import precompute, state
from .formatting import html_text

# the Scorecard's own cached results: with the filters at their default (the data's span) the
# panel reuses what the health and scorecard panels computed
from .scorecard import _run_checks, _scorecard

TITLE = "What changed since the last load"


# Remembered: after a load the app's background thread (ui.precompute) computes it at once, so
# the app's state advances when the load commits, not when someone next opens the Scorecard.
@precompute.remembered("changes_since_last_load")
@st.cache_data(show_spinner=False, max_entries=16)
def _changes(path: str, version: int) -> dict[str, Any]:
    store = state.store_at(path)

    def inputs() -> tuple[Any, Any]:
        s, e = resolve_window(store)
        if s is None or e is None:
            return None, None
        return _scorecard(path, version, s, e), _run_checks(path, version, s, e)

    got = alert_state.changes_since_last_load(store, inputs)
    return {"changes": [c.record() for c in got.changes], "baseline": got.baseline, "since": got.since}


def _icon(change: dict[str, Any]) -> tuple[str, str]:
    to = change.get("to")
    if change["kind"].startswith("finding"):
        colour, icon, _ = SEVERITY_STYLE.get(to or "ok", SEVERITY_STYLE["ok"])
    else:
        colour, icon, _ = STATUS_STYLE.get(to or "no_data", ("#8C8C8C", "•", ""))
    return colour, icon


def changes_panel() -> None:
    got = _changes(*state.store_key())
    st.subheader(TITLE)
    if got["baseline"]:
        st.caption("Nothing to compare with yet: from the next load on, this lists the goals whose status "
                   "changed and the health findings that are new, worse or resolved.")
        return
    since = got["since"]
    when = f" (the state recorded {since:%Y-%m-%d %H:%M} UTC)" if isinstance(since, dt.datetime) else ""
    if not got["changes"]:
        st.caption(f"No goal changed status, and no health finding is new, worse or resolved since the "
                   f"previous load{when}.")
        return
    st.caption(f"Compared with the previous load{when}.")
    lines = []
    for c in got["changes"]:
        colour, icon = _icon(c)
        lines.append(f'<div style="margin:2px 0"><span style="color:{colour}">{icon}</span> '
                     f'{html_text(c["text"])}</div>')
    st.markdown("\n".join(lines), unsafe_allow_html=True)
