"""Segments: KPIs by segment, and each segment's stated strategy against observed behaviour."""
import streamlit as st

from ui import charts, filters, formatting, page, tables

page.page_setup("Segments", ":material/group_work:")
st.title("Segments")
st.caption("Analytical CRM by customer segment, and whether each segment is served the way its "
           "strategy says.")
f = filters.sidebar()

st.subheader("Stated strategy vs observed behaviour")
tables.alignment_table(f)

st.subheader("KPIs by segment")
SEGMENT_KPIS = ["customer_base", "churn_rate", "clv", "revenue_per_customer", "cross_sell_rate", "nps", "csat",
                "fcr_rate", "relationship_share", "contacts_per_customer"]
tables.kpi_matrix_table(SEGMENT_KPIS, f, by="segment", name="kpis_by_segment")

choice = st.selectbox("Trend by segment", SEGMENT_KPIS, index=1, format_func=formatting.kpi_label, key="seg_trend_kpi")
charts.trend_chart(choice, f, by="segment")
