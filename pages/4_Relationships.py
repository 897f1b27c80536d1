"""Relationships vs encounters: continuity indices, the relationship mix by segment and over time,
misaligned segments, and advisors' caseload continuity."""
import streamlit as st

from ui import cards, charts, filters, page, tables

page.page_setup("Relationships", ":material/handshake:")
st.title("Relationships vs encounters")
st.caption("In a relationship the customer comes back to the same advisor; in an encounter they take "
           "whoever is free. A segment run on a relationship strategy but served by chance contacts "
           "is doomed. Measured over assisted contacts with an advisor recorded.")
f = filters.sidebar()

CARDS = ["upc", "coc", "secon", "relationship_share", "pseudo_relationship_share", "encounter_share"]
cards.kpi_cards(CARDS, f)

left, right = st.columns(2)
with left:
    charts.relationship_mix_chart(f)
with right:
    charts.trend_chart("relationship_share", f, by="segment", title="Relationship customers by segment")

st.subheader("Misaligned segments")
tables.alignment_table(f, only_misaligned=True)

st.subheader("Continuity by segment and channel")
# one above the other: side by side, half-width columns hid the last two KPIs behind a scrollbar
tables.kpi_matrix_table(["upc", "coc", "secon", "relationship_share"], f, by="segment", name="continuity_by_segment")
tables.kpi_matrix_table(["upc", "coc", "secon", "relationship_share"], f, by="channel", name="continuity_by_channel")

st.subheader("Advisors' caseload continuity")
tables.advisor_continuity_table(f)
