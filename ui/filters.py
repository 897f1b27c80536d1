"""The shared filters (window, channels, segments, grain): drawn in the sidebar, kept in the URL so
that a copied link reproduces the view, and handed to cached functions as plain arguments."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import streamlit as st

from crm_metrics.metrics.views import filter_choices

from . import page, precompute, state

GRAINS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    channels: tuple[str, ...]
    segments: tuple[str, ...]
    grain: str

    def kwargs(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "channels": self.channels, "segments": self.segments}


def cache_key(f: Filters) -> tuple[dt.date, dt.date, tuple[str, ...], tuple[str, ...], str]:
    """The filters as plain, cheaply hashed cache arguments (start, end, channels, segments, grain)."""
    return f.start, f.end, tuple(f.channels), tuple(f.segments), f.grain


@st.cache_data(show_spinner=False, max_entries=64)
def _choices(path: str, version: int) -> dict[str, Any]:
    return filter_choices(state.store_at(path))


def _bounds(path: str, version: int) -> tuple[dt.date | None, dt.date | None]:
    c = _choices(path, version)
    return c["first"], c["last"]


# The precompute remembers a window on the data's first or last day as that bound, and replays it
# on the data's bounds after a load (the default window follows the data).
precompute.set_bounds_source(_bounds)


def choices() -> dict[str, Any]:
    """The values the filters offer (channels, segments, first and last date), read once per run."""
    m = state.memo()
    c = m.get("choices")
    if c is None:
        c = m["choices"] = _choices(*state.store_key())
    return c


def _qp_list(name: str) -> list[str]:
    vals = st.query_params.get_all(name)
    out: list[str] = []
    for v in vals:
        out += [x for x in v.split(",") if x]
    return out


def _qp_date(name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def sidebar(*, show_channels: bool = True, show_segments: bool = True, show_grain: bool = True) -> Filters:
    """The sidebar filters. Initial values come from the URL (or this session), and every change
    is written back to the URL so that a copied link reproduces the view."""
    c = choices()
    today = dt.date.today()
    first, last = c["first"] or today, c["last"] or today
    remembered: dict[str, Any] = st.session_state.setdefault(page.REMEMBERED_FILTERS, {})
    if not st.query_params and remembered:  # arrived via page navigation: restore this session's view
        for k, v in remembered.items():
            st.query_params[k] = v
    start = min(max(_qp_date("from", first), first), last)
    end = max(min(_qp_date("to", last), last), start)
    sel_ch = [x for x in _qp_list("channel") if x in c["channels"]]
    sel_seg = [x for x in _qp_list("segment") if x in c["segments"]]
    grain = st.query_params.get("grain", "month")
    grain = grain if grain in GRAINS else "month"

    with st.sidebar:
        st.markdown("### Filters")
        window = st.date_input("Window", value=(start, end), min_value=first, max_value=last,
                               format="YYYY-MM-DD", key="f_window")
        if isinstance(window, (tuple, list)) and len(window) == 2:
            start, end = window
        ch = sel_ch
        if show_channels:
            ch = st.multiselect("Channels", c["channels"], default=sel_ch, placeholder="All channels", key="f_ch")
        seg = sel_seg
        if show_segments:
            seg = st.multiselect("Segments", c["segments"], default=sel_seg, placeholder="All segments", key="f_seg")
        if show_grain:
            grain = st.selectbox("Grain", GRAINS, index=GRAINS.index(grain), key="f_grain")
        st.caption(f"Data from {first} to {last}.")
    params = {"from": start.isoformat(), "to": end.isoformat(), "grain": grain}
    if ch:
        params["channel"] = ",".join(ch)
    if seg:
        params["segment"] = ",".join(seg)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
    st.session_state[page.REMEMBERED_FILTERS] = params
    page.fill_navigation(params)
    return Filters(start, end, tuple(ch), tuple(seg), grain)
