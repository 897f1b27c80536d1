"""Segments: KPIs by segment, and each segment's stated strategy against observed behaviour."""
import streamlit as st

import ui

ui.page_setup("Segments", ":material/group_work:")
st.title("Segments")
st.caption("Analytical CRM by customer segment, and whether each segment is served the way its "
           "strategy says.")
f = ui.filters()

st.subheader("Stated strategy vs observed behaviour")
ui.alignment_table(f)

st.subheader("KPIs by segment")
SEGMENT_KPIS = ["customer_base", "churn_rate", "clv", "revenue_per_customer", "cross_sell_rate", "nps", "csat",
                "fcr_rate", "relationship_share", "contacts_per_customer"]
ui.kpi_matrix_table(SEGMENT_KPIS, f, by="segment", name="kpis_by_segment")

choice = st.selectbox("Trend by segment", SEGMENT_KPIS, index=1, format_func=ui.kpi_label, key="seg_trend_kpi")
ui.trend_chart(choice, f, by="segment")
