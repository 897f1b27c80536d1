"""The home page: the Scorecard (the router in app.py opens it at /).

What changed since the last load, the health checks, and goals against actuals grouped by
strategic objective. Like every page it stands on its own (ui.page.page_setup), so it also runs
when opened as a script directly."""
import streamlit as st

from ui import changes, filters, page, scorecard

page.page_setup("Scorecard", ":material/target:")
st.title("What did our CRM bring us?")
st.caption("Every goal your strategy states, measured against the data, and the known ways CRM "
           "programmes fail, checked on your data.")
f = filters.sidebar(show_grain=False)

changes.changes_panel()
scorecard.health_panel(f)
scorecard.scorecard_panel(f)
scorecard.report_download(f)
