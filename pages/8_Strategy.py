"""Strategy: goals, segment strategies, channel kinds and settings; every change validated,
recorded and revertible; import and export as CSV."""
import streamlit as st

from ui import auth, page, strategy_editors

page.page_setup("Strategy", ":material/explore:", with_filters=False)
st.title("Strategy")
st.caption("Customer strategy derives from business strategy: every goal names the strategic objective "
           "it serves. Changes are validated, recorded with who and when, and can be undone.")
can_write = auth.can_write()
if not can_write:
    st.info("Viewers can read the strategy. Ask an analyst to change it.", icon=":material/lock:")

goals_tab, seg_tab, ch_tab, set_tab, log_tab = st.tabs(
    ["Goals", "Segment strategies", "Channel kinds", "Settings", "Change log"])
with goals_tab:
    strategy_editors.goals_editor(can_write)
with seg_tab:
    strategy_editors.segments_editor(can_write)
with ch_tab:
    strategy_editors.channels_editor(can_write)
with set_tab:
    strategy_editors.settings_editor(can_write)
with log_tab:
    strategy_editors.change_log(can_write)
