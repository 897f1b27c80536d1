"""Entry point (`streamlit run app.py`): Streamlit's router over the pages declared in ui.page.PAGES.

The Scorecard (the first page) is the home page at /; every other page has the URL of its file's
name (/Channels, /Customers_and_value, ...). Streamlit's own menu is hidden: the sidebar draws its
own links (ui.page.fill_navigation) because they carry the current filters in the URL. Each page
still stands on its own (it calls ui.page.page_setup), so a page file also runs when opened directly
(AppTest.from_file("pages/2_Channels.py")).
"""
import streamlit as st

from ui.page import PAGES

# The tables' own toolbar download writes cells raw (formula injection); .streamlit/config.toml says
# so too, this covers a start from another folder. Each table has an escaped "Download CSV" button.
st.set_option("client.disableDataExport", True)

home = PAGES[0][0]
st.navigation([st.Page(script, title=label, icon=icon, default=script == home) for script, label, icon in PAGES],
              position="hidden").run()
