"""Why did it move? A KPI's change split into mix and rate by group, and the records behind it.

URL: /Why?kpi=fcr_rate&by=channel&from=2026-09-01&to=2026-09-30[&vs-from=..&vs-to=..][&channel=..][&segment=..]
"""
import datetime as dt

import streamlit as st

from crm_metrics.metrics.kpis import KPIS
from ui import filters, formatting, page, why

page.page_setup("Why did it move?", ":material/troubleshoot:")
# read the view's own parameters before the sidebar rewrites the URL with the filters
qp = {k: st.query_params.get(k) for k in ("kpi", "by", "vs-from", "vs-to")}
st.title("Why did it move?")
st.caption("A KPI's change against the previous period, split into mix (units moving between groups) and "
           "rate (each group's own value moving); the contributions add up to the change exactly.")
f = filters.sidebar(show_grain=False)


def _day(text):
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


ids = list(KPIS)
kpi_id = qp["kpi"] if qp["kpi"] in KPIS else "fcr_rate"
kpi_id = st.selectbox("KPI", ids, index=ids.index(kpi_id), format_func=formatting.kpi_label, key="why_kpi")
splits = why.splits_for(kpi_id)
by = None
if splits:
    by = st.selectbox("Split by", splits, index=splits.index(qp["by"]) if qp["by"] in splits else 0,
                      format_func=lambda s: s.replace(",", " × "), key="why_by")
vs_start, vs_end = _day(qp["vs-from"]), _day(qp["vs-to"])
# keep the view in the URL (shareable)
st.query_params["kpi"] = kpi_id
if by:
    st.query_params["by"] = by
if vs_start and vs_end:
    st.query_params["vs-from"], st.query_params["vs-to"] = vs_start.isoformat(), vs_end.isoformat()

tab_why, tab_records = st.tabs(["Why", "Records"])
with tab_why:
    if by is None:
        st.info(f"{formatting.kpi_label(kpi_id)} cannot be decomposed: only ratio KPIs (mix and rate) and sum KPIs "
                "(contributions) split into groups that add up to the change. See its records instead.",
                icon=":material/block:")
    else:
        why.explain_panel(kpi_id, tuple(by.split(",")), f, vs_start, vs_end)
with tab_records:
    why.records_panel(kpi_id, f)
