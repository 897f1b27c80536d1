"""The frame of every page: page config, style, the sidebar navigation, the sign-in gate and the
banner saying whose data it is. Every page calls :func:`page_setup` first."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from crm_metrics.data.store import Store

from . import auth, own_data, state, upload_guard

APP_TITLE = "CRM Success"

# (script, label, icon): every page, declared once. app.py hands this list to Streamlit's router
# (st.navigation), and the sidebar links are drawn from it. The first page is the home page (at /).
PAGES: tuple[tuple[str, str, str], ...] = (
    ("pages/1_Scorecard.py", "Scorecard", ":material/target:"),
    ("pages/2_Channels.py", "Channels", ":material/call:"),
    ("pages/3_Segments.py", "Segments", ":material/group_work:"),
    ("pages/4_Relationships.py", "Relationships", ":material/handshake:"),
    ("pages/5_Customers_and_value.py", "Customers & value", ":material/payments:"),
    ("pages/6_Initiatives.py", "Initiatives", ":material/rocket_launch:"),
    ("pages/7_Data.py", "Data", ":material/database:"),
    ("pages/8_Strategy.py", "Strategy", ":material/explore:"),
    ("pages/9_Why.py", "Why did it move?", ":material/troubleshoot:"),
)

# session-state keys: the navigation's reserved container, and this session's last filter choices
_NAV = "_crm_nav"
REMEMBERED_FILTERS = "_crm_filters"


def page_setup(title: str, icon: str = ":material/insights:", *, with_filters: bool = True) -> Store:
    """Call first on every page (each page stands on its own, so its URL works when opened directly).
    A page without filters gets its navigation links now; otherwise ``filters.sidebar`` fills them
    in once this run's filters are known."""
    state.new_run()
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    _style()
    _navigation()
    auth.sign_in_gate(APP_TITLE)
    ctx = get_script_run_ctx()
    upload_guard.register(ctx.session_id if ctx else None, auth.can_write())
    s = state.store()
    own_data.banner()  # whose numbers these are: the sample company's, the analyst's, or both
    if not with_filters:
        fill_navigation(st.session_state.get(REMEMBERED_FILTERS))
    return s


def _navigation() -> None:
    """Reserve the navigation's place at the top of the sidebar; links are filled in by
    :func:`fill_navigation` once this run's filters are known, so they carry the current view."""
    with st.sidebar:
        st.markdown(f"### :material/insights: {APP_TITLE}")
        st.session_state[_NAV] = st.container()
        st.divider()


def fill_navigation(params: dict[str, str] | None) -> None:
    nav = st.session_state.pop(_NAV, None)
    if nav is None:
        return
    with nav:
        for script, label, icon in PAGES:
            try:
                st.page_link(script, label=label, icon=icon, query_params=params or None)
            except st.errors.StreamlitPageNotFoundError:
                # Only when a page file itself is the entry point (AppTest): a plain link instead.
                url = "/" if script == PAGES[0][0] else "/" + script.split("_", 1)[1].removesuffix(".py")
                st.markdown(f"[{label}]({url})")


def _style() -> None:
    st.markdown(
        """<style>
        div[data-testid="stMetric"] {background: rgba(128,128,128,0.07); border: 1px solid rgba(128,128,128,0.25);
             border-radius: 10px; padding: 12px 14px;}
        div[data-testid="stMetricLabel"] p {font-size: 0.85rem; opacity: 0.8;}
        .crm-badge {display:inline-block; padding:2px 10px; border-radius:12px; color:white;
             font-weight:600; font-size:0.8rem;}
        .crm-finding {border-left: 6px solid; padding: 8px 12px; margin: 6px 0; background: rgba(128,128,128,0.07);
             border-radius: 4px;}
        .crm-muted {opacity: 0.75;}
        /* a laptop's width: less padding and a narrower sidebar leave the tables room */
        @media (max-width: 1400px) {
            [data-testid="stMainBlockContainer"] {padding-left: 2rem; padding-right: 2rem;}
        }
        @media (max-width: 1100px) {
            section[data-testid="stSidebar"] {width: 240px !important; min-width: 240px !important;}
        }
        </style>""",
        unsafe_allow_html=True,
    )
