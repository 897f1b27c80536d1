"""Data: upload exports (several at once, with progress and column mapping), the load history,
and whether customer information is shared (data-quality KPIs)."""
import streamlit as st

from crm_metrics.delivery.output import plain_text_markdown
from ui import auth, cards, charts, filters, load_results, loads, mapping, own_data, page, state, upload_guard, widgets

store = page.page_setup("Data", ":material/database:")
st.title("Data")
st.caption("Upload CSV exports from your CRM, contact centre and sales systems. Each file is checked "
           "completely before anything changes: a file with any invalid value is refused whole.")

can_write = auth.can_write()
f = filters.sidebar(show_grain=False)

tab_upload, tab_history, tab_quality = st.tabs(["Upload", "Load history", "Data quality"])

with tab_upload:
    if not can_write:
        st.info("Viewers can read and download. Ask an analyst to load data.", icon=":material/lock:")
    else:
        own_data.reset_panel(can_write)
        n_upload = st.session_state.get("_upload_round", 0)
        files = st.file_uploader("CSV files", type=["csv", "txt", "tsv"], accept_multiple_files=True,
                                 help="Name files after their table (customers.csv, interactions.csv, ...) "
                                      "or choose the table below.",
                                 key="upload_files" if n_upload == 0 else f"upload_files_{n_upload}")
        mode = st.radio("Mode", ["merge", "replace"], horizontal=True,
                        help="merge: new keys are added, changed rows replaced, identical rows left alone. "
                             "replace: the table is emptied first (the previous version is kept for undo).")
        files = files or []
        plans = []
        for up, name in zip(files, loads.upload_names([up.name for up in files])):
            with st.container(border=True):
                plans.append(mapping.file_plan(name, up.name, loads.spool_upload(up)))
        # files no longer selected leave the disk
        loads.drop_spooled(keep=[p.path for p in plans])
        remove_sample = any(p.table == "customers" for p in plans) and own_data.offer_before_customers()
        blocked = loads.load_blockers(plans, mode)
        label = f"Load {len(plans)} file{'s' if len(plans) > 1 else ''}"
        if plans and st.button(label, type="primary", disabled=bool(blocked)):
            bar = st.progress(0.0, text="Starting")
            try:
                err = own_data.remove_before_load() if remove_sample else None
                if err:
                    st.error(plain_text_markdown(err))
                outcomes = load_results.run(plans, mode, lambda f, m: bar.progress(f, text=m))
            finally:
                # loaded or refused, the spooled copies go; a fresh uploader lets go of the uploads
                loads.drop_spooled()
                st.session_state["_upload_round"] = n_upload + 1
                upload_guard.release(files)
            bar.progress(1.0, text="Done")
            state.clear_caches()
            st.session_state[load_results.RESULTS] = outcomes
        for b in blocked:
            st.caption(plain_text_markdown(b))
        load_results.show(st.session_state.get(load_results.RESULTS, []))

with tab_history:
    widgets.flash()
    loads.undo_panel(can_write)
    history = loads.load_history_frame()
    if history.empty:
        widgets.missing("No loads yet.")
    else:
        widgets.table(loads.load_history_view(history), column_config={
            "Unmatched": st.column_config.NumberColumn(help="Rows whose customer_id is not in customers.csv")})
        widgets.download(history, "load_history")
    st.markdown("#### Tables")
    widgets.table(loads.table_counts_frame(), width="content")

with tab_quality:
    st.markdown("Is customer information shared? Contacts and sales that cannot be tied to a known "
                "customer, and assisted contacts with no advisor recorded, are invisible to the "
                "relationship measures.")
    cards.kpi_cards(["customer_match_rate", "advisor_logged_rate", "multichannel_rate"], f, per_row=3)
    charts.trend_chart("customer_match_rate", f, title="Known customers over time")
