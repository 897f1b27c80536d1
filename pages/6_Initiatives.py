"""Initiatives: what each CRM project moved after go-live, against a control, and what it returned."""
import streamlit as st

from ui import initiatives, page

page.page_setup("Initiatives", ":material/rocket_launch:", with_filters=False)
st.title("Initiatives")
st.caption("Each CRM project judged by what moved after it went live: its KPI before and after go-live "
           "in its scope (treated) against the rest (control), difference-in-differences, incremental "
           "revenue over the window, cost against budget and first-year ROI (the window's incremental "
           "revenue annualised).")

window_days = st.slider("Days before and after go-live", 14, 365, 90, step=7, key="impact_window",
                        help="before = [go-live − w, go-live − 1], after = [go-live, go-live + w − 1]")
table = initiatives.impact_table(window_days)
if table is not None:
    choice = st.selectbox("Initiative", table["initiative_id"], key="impact_pick",
                          format_func=lambda i: f"{i} · {initiatives.initiative_name(table, i)}")
    initiatives.initiative_detail(table, choice, window_days)
