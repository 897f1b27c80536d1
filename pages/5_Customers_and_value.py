"""Customers & value: base, new, retention and churn over time, cohort retention, revenue, products
per customer, cross-sell, NPS, CLV; predicted value and churn risk (ui.customer_value)."""
import streamlit as st

from ui import cards, charts, customer_value, filters, page

page.page_setup("Customers & value", ":material/payments:")
st.title("Customers & value")
st.caption("Analytical CRM: do we keep customers, and are they worth more over time?")
f = filters.sidebar()

cards.kpi_cards(["customer_base", "new_customers", "retention_rate", "churn_rate", "clv",
              "revenue", "revenue_per_customer", "products_per_customer", "cross_sell_rate", "nps"], f, per_row=5)

left, right = st.columns(2)
with left:
    charts.trend_chart("churn_rate", f, title="Churn")
with right:
    charts.trend_chart("customer_base", f, title="Customers")

st.subheader("Cohort retention")
charts.cohort_heatmap(f)

left, right = st.columns(2)
with left:
    charts.trend_chart("revenue", f, by="segment", title="Revenue by segment")
with right:
    charts.trend_chart("nps", f, title="Net Promoter Score")

customer_value.customer_value_section(f)
