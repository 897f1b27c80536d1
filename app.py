"""Entry point and home page (`streamlit run app.py`): the Scorecard.

Goals against actuals, grouped by strategic objective, with the health checks on top. The other
pages live in pages/ and each stands on its own (ui.page_setup), so any page's URL works when
opened directly."""
import streamlit as st

import ui

ui.page_setup("Scorecard", ":material/target:")
st.title("What did our CRM bring us?")
st.caption("Every goal your strategy states, measured against the data, and the known ways CRM "
           "programmes fail, checked on your data.")
f = ui.filters(show_grain=False)

ui.health_panel(f)
ui.scorecard_panel(f)
ui.report_download(f)
