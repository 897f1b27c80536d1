"""Channels: every service KPI by channel, the channel mix over time, self-service vs effort."""
import streamlit as st

from ui import cards, charts, filters, formatting, page, tables

page.page_setup("Channels", ":material/call:")
st.title("Channels")
st.caption("Operational CRM: how each channel serves customers. Hover a number for its definition.")
f = filters.sidebar()

CARDS = ["contacts", "fcr_rate", "csat", "ces", "avg_wait_time", "self_service_share"]
cards.kpi_cards(CARDS, f)

st.subheader("Service KPIs by channel")
SERVICE = ["contacts", "contacts_per_customer", "fcr_rate", "repeat_contact_rate", "avg_handle_time",
           "avg_wait_time", "sla_attainment", "csat", "ces", "complaint_rate", "advisor_logged_rate"]
tables.kpi_matrix_table(SERVICE, f, by="channel", name="service_kpis_by_channel")

left, right = st.columns(2)
with left:
    charts.mix_chart("contacts", f, by="channel", title="Channel mix over time (contacts)")
with right:
    charts.dual_trend_chart("self_service_share", "ces", f, title="Self-service share vs customer effort")

st.subheader("Trend by channel")
choice = st.selectbox("KPI", SERVICE, index=2, format_func=formatting.kpi_label, key="ch_trend_kpi")
charts.trend_chart(choice, f, by="channel")
