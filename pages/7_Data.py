"""Data: upload exports (several at once, with progress and column mapping), the load history,
and whether customer information is shared (data-quality KPIs)."""
import pandas as pd
import streamlit as st

from crm_metrics.data.ingest import LoadRefused, inspect_file, load_file
from crm_metrics.data.schema import TABLES
from crm_metrics.delivery.output import plain_text_markdown
from ui import auth, cards, charts, filters, loads, own_data, page, state, upload_guard, widgets

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
        plans = []
        files = files or []
        for up, name in zip(files, loads.upload_names([up.name for up in files])):
            path = loads.spool_upload(up)
            with st.container(border=True):
                guess = inspect_file(path, file_name=up.name)
                table_names = list(TABLES)
                idx = table_names.index(guess.table) if guess.table in table_names else 0
                c1, c2 = st.columns([2, 3])
                table = c1.selectbox(f"Table for {plain_text_markdown(name)}", table_names, index=idx,
                                     key=f"tbl_{name}")
                insp = inspect_file(path, file_name=up.name, table=table)
                c2.caption(f"{len(insp.headers)} columns · encoding {insp.encoding} · "
                           f"delimiter {insp.delimiter!r}")
                mapping = loads.column_mapping_editor(name, table, insp)
                plans.append((up.name, path, table, mapping))
        # files no longer selected leave the disk
        loads.drop_spooled(keep=[p[1] for p in plans])
        remove_sample = any(p[2] == "customers" for p in plans) and own_data.offer_before_customers()
        if plans and st.button(f"Load {len(plans)} file{'s' if len(plans) > 1 else ''}", type="primary"):
            bar = st.progress(0.0, text="Starting")
            results = []
            try:
                err = own_data.remove_before_load() if remove_sample else None
                if err:
                    st.error(plain_text_markdown(err))
                for i, (name, path, table, mapping) in enumerate(plans):
                    def progress(frac: float, msg: str, i=i) -> None:
                        bar.progress(min(1.0, (i + frac) / len(plans)), text=msg)
                    try:
                        rep = load_file(store, path, table=table, mode=mode, mapping=mapping, file_name=name,
                                        loaded_by=auth.user_name(), progress=progress)
                        results.append(("ok", rep))
                    except LoadRefused as e:
                        results.append(("refused", e.report))
            finally:
                # loaded or refused, the spooled copies go; a fresh uploader lets go of the uploads
                loads.drop_spooled()
                st.session_state["_upload_round"] = n_upload + 1
                upload_guard.release(files)
            bar.progress(1.0, text="Done")
            state.clear_caches()
            st.session_state["last_load"] = results
        for status, rep in st.session_state.get("last_load", []):
            if status == "ok":
                st.success(plain_text_markdown(rep.summary()), icon=":material/check_circle:")
            else:
                st.error(f"**{plain_text_markdown(rep.file_name)}** was refused; nothing changed in {rep.table}.",
                         icon=":material/block:")
                widgets.table(pd.DataFrame([{"line": p.line, "column": p.column, "value": p.value, "rule": p.rule}
                                            for p in rep.problems]))
                if rep.problem_count > len(rep.problems):
                    st.caption(f"... and {rep.problem_count - len(rep.problems)} more problems.")

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
