"""Own company first: the banner that says whose data the app shows, and the Data page's panel that
removes the sample company (with a confirmation) and offers to undo that."""
from __future__ import annotations

import streamlit as st

from crm_metrics.data.reset import Contents, ResetError, last_reset, reset_sample, store_contents
from crm_metrics.data.undo import UndoError, undo_load
from crm_metrics.delivery.output import plain_text_markdown

from . import auth, state

_MESSAGE = "_crm_reset_message"   # (kind, text) shown once in the panel after a rerun

SAMPLE_BANNER = ("You are looking at **Northwind Bank, a fictional sample company**. Load your own "
                 "exports on the **Data** page to measure your CRM.")
MIXED_BANNER = ("This store holds **your own data together with Northwind Bank**, a fictional company "
                "shipped as an example: the numbers mix both. An analyst can remove Northwind Bank on "
                "the **Data** page.")


@st.cache_data(show_spinner=False, max_entries=16)
def _contents(path: str, version: int) -> str:
    return store_contents(state.store())


@st.cache_data(show_spinner=False, max_entries=16)
def _last_reset(path: str, version: int) -> int | None:
    return last_reset(state.store())


def contents() -> Contents:
    """What the store holds (empty, sample, own, mixed), cached per data version."""
    return _contents(*state.store_key())  # type: ignore[return-value]


def banner() -> None:
    """Every page: say so when the numbers are (partly) the fictional company's; nothing otherwise."""
    c = contents()
    if c == "sample":
        st.info(SAMPLE_BANNER, icon=":material/science:")
    elif c == "mixed":
        st.warning(MIXED_BANNER, icon=":material/science:")


def _remove() -> str | None:
    """Remove the sample; returns the error text, or None when done."""
    try:
        rep = reset_sample(state.store(), user=auth.user_name())
    except ResetError as e:
        return str(e)
    state.clear_caches()
    st.session_state[_MESSAGE] = ("success", rep.summary())
    return None


def remove_before_load() -> str | None:
    """Called by the upload when the analyst chose to remove the sample before loading their own
    customers; returns the error text, or None."""
    return _remove()


def offer_before_customers() -> bool:
    """Shown beside an upload into ``customers`` while the store holds the sample: whether to remove
    the sample first (ticked by default: one's own customers beside fictional ones mean nothing)."""
    if contents() not in ("sample", "mixed"):
        return False
    return st.checkbox("Remove the sample company (Northwind Bank) first, so that your customers are not "
                       "mixed with fictional ones (undoable)", value=True, key="reset_before_load")


def reset_panel(can_write: bool) -> None:
    """Data page, analysts only: remove the sample company (after a confirmation); then offer the undo."""
    if not can_write:
        return
    msg = st.session_state.pop(_MESSAGE, None)
    if msg:
        kind, text = msg
        (st.error if kind == "error" else st.success)(plain_text_markdown(text))
    if contents() in ("sample", "mixed"):
        with st.container(border=True):
            st.markdown("**Start with your own company.** The store holds Northwind Bank, a fictional "
                        "sample company. Removing it takes its rows out of every table (its customers, "
                        "contacts, sales, surveys, initiatives, goals and strategy); rows you loaded or "
                        "edited stay. It can be undone.")
            sure = st.checkbox("Yes, remove the sample company", key="reset_confirm")
            if st.button("Remove the sample company", disabled=not sure, key="reset_sample"):
                err = _remove()
                if err:
                    st.session_state[_MESSAGE] = ("error", err)
                st.rerun()
    last = _last_reset(*state.store_key())
    if last is not None:
        if st.button("Undo: bring the sample company back", key="undo_reset"):
            try:
                rep = undo_load(state.store(), int(last), user=auth.user_name())
            except UndoError as e:
                st.session_state[_MESSAGE] = ("error", str(e))
            else:
                state.clear_caches()
                st.session_state[_MESSAGE] = ("success", rep.summary())
            st.rerun()


__all__ = ["MIXED_BANNER", "SAMPLE_BANNER", "banner", "contents", "offer_before_customers",
           "remove_before_load", "reset_panel"]
