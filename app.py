"""Entry point: `streamlit run app.py`. Routes to the eight pages; every page also works alone."""
import streamlit as st

PAGES = [
    st.Page("pages/1_Scorecard.py", title="Scorecard", icon=":material/target:", default=True),
    st.Page("pages/2_Channels.py", title="Channels", icon=":material/call:", url_path="Channels"),
    st.Page("pages/3_Segments.py", title="Segments", icon=":material/group_work:", url_path="Segments"),
    st.Page("pages/4_Relationships.py", title="Relationships", icon=":material/handshake:", url_path="Relationships"),
    st.Page("pages/5_Customers_and_value.py", title="Customers & value", icon=":material/payments:", url_path="Customers_and_value"),
    st.Page("pages/6_Initiatives.py", title="Initiatives", icon=":material/rocket_launch:", url_path="Initiatives"),
    st.Page("pages/7_Data.py", title="Data", icon=":material/database:", url_path="Data"),
    st.Page("pages/8_Strategy.py", title="Strategy", icon=":material/explore:", url_path="Strategy"),
]

st.navigation(PAGES).run()
